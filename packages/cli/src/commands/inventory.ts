import { formatOption, type Command } from '../command.js'
import { buildInventory, type Inventory } from '../audit-inventory.js'
import { EXIT } from '../errors.js'
import type { Output } from '../io.js'
import { readSource } from '../read-source.js'

/** `scopeguard inventory <audit.jsonl…>`: granted, used and unused scopes per client. */
export const inventory: Command = {
  name: 'inventory',
  summary: 'per client, the scopes granted, used and unused, from audit logs',
  arguments: [
    {
      name: '<audit.jsonl…>',
      description: 'JSONL audit logs written by fileSink or consoleSink',
      variadic: true,
    },
  ],
  options: {
    format: {
      type: 'string',
      value: 'format',
      description: 'text (default), json, or markdown (a pull-request comment)',
    },
    json: { type: 'boolean', description: 'the same as --format json' },
  },
  description: [
    "Reads the JSON lines of core's fileSink and consoleSink (rotated files too, any number,",
    'from any instance) and reports per client: the scopes its tokens were granted, the ones',
    "its allowed requests used (a token scope that the decision's requirement names), the",
    'granted-but-unused ones (candidates for removal), how many decisions, when first and last',
    'seen, and its routes. Elevated scopes do not count as granted. A line that is not a JSON',
    'object or not a scopeguard event is reported on stderr as file:line and skipped.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'the report was printed (skipped lines included)'],
    [EXIT.usage, 'bad arguments, or a file that cannot be read'],
  ],
  examples: [
    'scopeguard inventory /var/log/items-api/audit.jsonl /var/log/items-api/audit.jsonl.1',
    'scopeguard inventory audit-*.jsonl --format markdown > scope-review.md',
  ],
  async run(args, { out, err, cwd }) {
    const format = formatOption(args, ['text', 'json', 'markdown'])
    const sources = []
    for (const file of args.positionals) sources.push(await readSource(file, cwd))
    const report = buildInventory(sources)
    for (const { file, line, reason } of report.skipped)
      err.line(`${file}:${line}: ${reason}, skipped`)
    if (format === 'json') out.line(JSON.stringify(report, null, 2))
    else if (format === 'markdown') printMarkdown(out, report)
    else printText(out, report)
    return EXIT.ok
  },
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

function summary(report: Inventory): string {
  const withUnused = report.clients.filter((client) => client.unused.length > 0).length
  return (
    `${plural(report.clients.length, 'client')}, ${withUnused} with unused scopes; ` +
    `${plural(report.decisions, 'decision')} in ${plural(report.events, 'event')} from ` +
    `${plural(report.files.length, 'file')}; ${plural(report.skipped.length, 'line')} skipped`
  )
}

function printText(out: Output, report: Inventory): void {
  const { style } = out
  const list = (scopes: readonly string[]) => (scopes.length === 0 ? '-' : scopes.join(' '))
  for (const client of report.clients) {
    out.line(
      `${style.bold(`client ${client.clientId}`)}: ${plural(client.decisions, 'decision')} ` +
        `(${client.allowed} allowed, ${client.denied} denied), ` +
        `${client.firstSeen ?? '?'} to ${client.lastSeen ?? '?'}`,
    )
    out.line(`  granted  ${list(client.granted)}`)
    out.line(`  used     ${list(client.used)}`)
    out.line(
      `  unused   ${client.unused.length === 0 ? '-' : style.yellow(client.unused.join(' '))}`,
    )
    out.line(
      `  routes   ${client.routes.map(({ route, count }) => `${route} (${count})`).join(', ') || '-'}`,
    )
  }
  out.line(summary(report))
}

function printMarkdown(out: Output, report: Inventory): void {
  const code = (scopes: readonly string[]) =>
    scopes.length === 0 ? '—' : scopes.map((scope) => `\`${scope}\``).join(' ')
  out.line('### Scope inventory')
  out.line()
  if (report.clients.length === 0) {
    out.line('No client decisions in the audit logs.')
  } else {
    out.line(
      '| client | decisions | allowed | denied | granted | used | unused (remove?) | first seen | last seen |',
    )
    out.line('| --- | ---: | ---: | ---: | --- | --- | --- | --- | --- |')
    for (const client of report.clients) {
      out.line(
        `| \`${client.clientId.replaceAll('|', '\\|')}\` | ${client.decisions} | ${client.allowed} | ` +
          `${client.denied} | ${code(client.granted)} | ${code(client.used)} | ` +
          `${client.unused.length === 0 ? '—' : `**${code(client.unused)}**`} | ` +
          `${client.firstSeen ?? '—'} | ${client.lastSeen ?? '—'} |`,
      )
    }
  }
  out.line()
  out.line(`_${summary(report)}._`)
}
