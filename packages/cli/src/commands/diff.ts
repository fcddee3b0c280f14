import { diffPolicies, type PolicyChange } from '@scopeguard/core'
import { flag, formatOption, type Command } from '../command.js'
import { EXIT } from '../errors.js'
import type { Output } from '../io.js'
import { readPolicy, type LoadedPolicy } from '../read-policy.js'

const KINDS = ['widening', 'narrowing', 'neutral'] as const

/** `scopeguard diff <old> <new>`: every change classified, widening fails unless approved. */
export const diff: Command = {
  name: 'diff',
  summary: 'classify every change between two policies as widening or narrowing',
  arguments: [
    { name: '<old>', description: 'the policy before: a file, or git:REF:path' },
    { name: '<new>', description: 'the policy after: a file, or git:REF:path' },
  ],
  options: {
    format: { type: 'string', value: 'format', description: 'text (default), markdown or json' },
    json: { type: 'boolean', description: 'the same as --format json' },
    'allow-widening': {
      type: 'boolean',
      description: 'report widening changes without failing (a reviewer approved them)',
    },
  },
  description: [
    'Compares two policies with core diffPolicies, the classification hot reload reports:',
    'widening when access grows (a route needs less or was added under default deny, a route',
    'made public, a client may hold more, a stage moved up, enforce -> monitor, default deny',
    'relaxed), narrowing when it shrinks, neutral otherwise. It adds the catalog changes core',
    'does not classify: a scope that implies more (widening) or less, a scope made elevatable.',
    'git:REF:path reads the file with `git show REF:path` (the path from the repository root,',
    'or ./path from the current directory). Both policies must validate. --format markdown',
    'writes a table for a pull-request comment.',
  ].join('\n'),
  exitCodes: [
    [EXIT.ok, 'no widening change (or --allow-widening)'],
    [EXIT.failed, 'at least one widening change'],
    [EXIT.usage, 'bad arguments, or a policy cannot be read or does not validate'],
  ],
  examples: [
    'scopeguard diff git:origin/main:scopeguard.policy.yaml scopeguard.policy.yaml',
    'scopeguard diff old.yaml new.yaml --format markdown > policy-diff.md',
    'scopeguard diff old.yaml new.yaml --allow-widening --json',
  ],
  async run(args, { out, cwd }) {
    const format = formatOption(args, ['text', 'markdown', 'json'])
    // One after the other, so that the first of two unreadable policies is the one reported.
    const before = await readPolicy(args.positionals[0] ?? '', cwd)
    const after = await readPolicy(args.positionals[1] ?? '', cwd)
    const changes = diffPolicies(before.policy, after.policy).sort(
      (a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind),
    )
    const count = (kind: PolicyChange['kind']) => changes.filter((c) => c.kind === kind).length
    const summary = {
      widening: count('widening'),
      narrowing: count('narrowing'),
      neutral: count('neutral'),
    }
    const allowWidening = flag(args, 'allow-widening')
    const failed = summary.widening > 0 && !allowWidening
    if (format === 'json') {
      out.line(
        JSON.stringify(
          {
            old: { file: before.source.name, version: before.policy.version },
            new: { file: after.source.name, version: after.policy.version },
            changes,
            summary,
            allowWidening,
            ok: !failed,
          },
          null,
          2,
        ),
      )
    } else if (format === 'markdown') {
      printMarkdown(out, before, after, changes, summary, failed)
    } else {
      printText(out, before, after, changes, summary, failed)
    }
    return failed ? EXIT.failed : EXIT.ok
  },
}

type Summary = Record<PolicyChange['kind'], number>

function summaryText(summary: Summary): string {
  return `${summary.widening} widening, ${summary.narrowing} narrowing, ${summary.neutral} neutral`
}

function printText(
  out: Output,
  before: LoadedPolicy,
  after: LoadedPolicy,
  changes: readonly PolicyChange[],
  summary: Summary,
  failed: boolean,
): void {
  const { style } = out
  out.line(style.bold(`${before.source.name} -> ${after.source.name}`))
  if (changes.length === 0) {
    out.line(
      before.policy.version === after.policy.version
        ? 'no changes'
        : 'no changes to what the policy grants (only formatting or comments differ)',
    )
    return
  }
  const width = (pick: (change: PolicyChange) => string) =>
    Math.max(...changes.map((change) => pick(change).length))
  const kindWidth = width((c) => c.kind)
  const subjectWidth = width((c) => c.subject)
  for (const change of changes) {
    const kind = change.kind.padEnd(kindWidth)
    const painted =
      change.kind === 'widening'
        ? style.red(kind)
        : change.kind === 'narrowing'
          ? style.green(kind)
          : style.dim(kind)
    out.line(
      `${painted}  ${change.subject.padEnd(subjectWidth)}  ${change.name}: ${change.description}`,
    )
  }
  out.line('')
  out.line(summaryText(summary))
  if (failed) {
    out.line(
      style.red('widening changes fail this check: have them reviewed, then pass --allow-widening'),
    )
  }
}

function printMarkdown(
  out: Output,
  before: LoadedPolicy,
  after: LoadedPolicy,
  changes: readonly PolicyChange[],
  summary: Summary,
  failed: boolean,
): void {
  out.line('### scopeguard policy diff')
  out.line('')
  out.line(
    `${code(before.source.name)} → ${code(after.source.name)}: ` +
      (summary.widening > 0 ? `**${summary.widening} widening**` : '0 widening') +
      `, ${summary.narrowing} narrowing, ${summary.neutral} neutral`,
  )
  if (changes.length > 0) {
    out.line('')
    out.line('| Kind | Subject | Name | Change |')
    out.line('| --- | --- | --- | --- |')
    for (const change of changes) {
      const kind = change.kind === 'widening' ? '**widening**' : change.kind
      out.line(
        `| ${kind} | ${change.subject} | ${code(change.name)} | ${cell(change.description)} |`,
      )
    }
  }
  if (failed) {
    out.line('')
    out.line(
      '> [!WARNING]\n> This change widens access. It fails the check until a reviewer approves it ' +
        '(`scopeguard diff --allow-widening`).',
    )
  }
}

/** An inline code span that survives backticks and table pipes. */
function code(text: string): string {
  const fence = text.includes('`') ? '``' : '`'
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text.replace(/\|/g, '\\|')}${pad}${fence}`
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}
