// The dispatcher: help, version, usage errors, exit codes, and color only on a terminal.
import { describe, expect, it } from 'vitest'
import { run, type OutputStream } from '../../packages/cli/dist/index.js'
import { FIXTURES, REPO_ROOT, lines, scopeguard } from './run-cli.js'

const COMMANDS = ['validate', 'diff', 'coverage', 'explain', 'test', 'check-client']

describe('the scopeguard binary', () => {
  it('lists every command with --help', async () => {
    const result = await scopeguard(['--help'])
    expect(result.code).toBe(0)
    for (const name of COMMANDS) expect(result.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'))
    expect(result.stdout).toContain('Exit codes: 0 ok, 1 a check failed, 2 usage or input error.')
  })

  it.each(COMMANDS)('has --help for %s, with options, exit codes and examples', async (name) => {
    const result = await scopeguard([name, '--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(new RegExp(`^Usage: scopeguard ${name} `))
    expect(result.stdout).toContain('\nOptions:\n')
    expect(result.stdout).toMatch(/\nExit codes:\n {2}0 +\S.*\n {2}(1 +\S.*\n {2})?2 +\S/)
    expect(result.stdout).toMatch(new RegExp(`\\nExamples:\\n  scopeguard ${name} `))
    expect(result.stdout).toContain('--json')
    expect((await scopeguard(['help', name])).stdout).toBe(result.stdout)
  })

  it('prints its version', async () => {
    const result = await scopeguard(['--version'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })

  it('exits 2 with one line on stderr for usage errors', async () => {
    const none = await scopeguard([])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('Usage: scopeguard <command>')
    const unknown = await scopeguard(['valdate', 'x.yaml'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toBe(
      'scopeguard: unknown command "valdate" (did you mean validate?); see scopeguard --help\n',
    )
    const option = await scopeguard(['validate', `${FIXTURES}/items.policy.yaml`, '--colour'])
    expect(option.code).toBe(2)
    expect(option.stderr).toBe(
      "scopeguard validate: Unknown option '--colour' (see scopeguard validate --help)\n",
    )
    const extra = await scopeguard(['validate', 'a.yaml', 'b.yaml'])
    expect(extra.code).toBe(2)
    expect(extra.stderr).toBe(
      'scopeguard validate: unexpected argument "b.yaml" (see scopeguard validate --help)\n',
    )
    const format = await scopeguard(['diff', 'a.yaml', 'b.yaml', '--format', 'html'])
    expect(format.code).toBe(2)
    expect(format.stderr).toBe(
      'scopeguard diff: --format must be text, markdown or json, not "html" (see scopeguard diff --help)\n',
    )
  })
})

describe('color', () => {
  /** A stream that keeps what is written, on a terminal or not. */
  function stream(isTTY: boolean): OutputStream & { text: string } {
    return {
      isTTY,
      text: '',
      write(chunk: string) {
        this.text += chunk
        return true
      },
    }
  }
  const ESC = '\u001b['
  const args = ['validate', `${FIXTURES}/invalid.policy.yaml`]

  it('is used on a terminal', async () => {
    const stdout = stream(true)
    expect(await run(args, { stdout, stderr: stream(true), env: {}, cwd: REPO_ROOT })).toBe(1)
    expect(stdout.text).toContain(`${ESC}31merror${ESC}39m`)
  })

  it('is never used with NO_COLOR, with --no-color, or off a terminal', async () => {
    for (const [env, extra, tty] of [
      [{ NO_COLOR: '1' }, [], true],
      [{}, ['--no-color'], true],
      [{}, [], false],
    ] as const) {
      const stdout = stream(tty)
      expect(
        await run([...args, ...extra], { stdout, stderr: stream(tty), env, cwd: REPO_ROOT }),
      ).toBe(1)
      expect(stdout.text).not.toContain(ESC)
      expect(lines(stdout.text)[0]).toMatch(
        /^error test\/cli\/fixtures\/invalid\.policy\.yaml:4:20 /,
      )
    }
  })
})
