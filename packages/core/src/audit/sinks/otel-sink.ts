import { logs, SeverityNumber, type AnyValueMap } from '@opentelemetry/api-logs'
import type { Sink } from '../sink.js'

/**
 * A sink that emits every event as an OpenTelemetry log record (logger `scopeguard`), with
 * the event's fields as attributes. Through `@opentelemetry/api-logs` it is a no-op until
 * the app installs an OpenTelemetry SDK with a logger provider.
 *
 * @example
 * scopeguard({ issuer, audience, sinks: [otelSink()] })
 */
export function otelSink(): Sink {
  const logger = logs.getLogger('scopeguard')
  return {
    name: 'opentelemetry',
    write(events) {
      for (const event of events) {
        const warn =
          event.type === 'violation' ||
          event.type === 'first_use' ||
          (event.type === 'decision' && !event.allowed)
        const attributes: AnyValueMap = {}
        for (const [key, value] of Object.entries(event)) {
          attributes[`scopeguard.${key}`] =
            typeof value === 'object' && value !== null
              ? JSON.stringify(value)
              : (value as string | number | boolean | undefined)
        }
        logger.emit({
          severityNumber: warn ? SeverityNumber.WARN : SeverityNumber.INFO,
          severityText: warn ? 'WARN' : 'INFO',
          body: `scopeguard ${event.type}`,
          attributes,
          timestamp: new Date(event.time),
        })
      }
    },
  }
}
