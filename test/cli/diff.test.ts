// `scopeguard diff`: core's classification plus catalog changes, formats, git sources.
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, REPO_ROOT, lines, scopeguard, writeBrokenYaml } from './run-cli.js'

const OLD = `${FIXTURES}/items.policy.yaml`
const WIDER = `${FIXTURES}/items-widened.policy.yaml`
const NARROWER = `${FIXTURES}/items-narrowed.policy.yaml`

describe('scopeguard diff', () => {
  it('classifies every widening change and exits 1', async () => {
    const result = await scopeguard(['diff', OLD, WIDER])
    expect(result.code).toBe(1)
    expect(lines(result.stdout)).toEqual([
      `${OLD} -> ${WIDER}`,
      'widening  route     GET /api/v1/items: made public',
      'widening  route     GET /api/v1/items: requirement read:items → (none)',
      'widening  route     POST /api/v1/items: requirement write:items → read:items',
      'widening  route     GET /api/v1/items/:id: mode enforce → monitor',
      'widening  client    reader: baseline widened: read:items write:items',
      'widening  contract  billing-rollout: stage read-only → read-write',
      'widening  defaults  unmatched: deny → allow',
      'widening  catalog   ops: now implies delete:items: tokens holding it satisfy more rules',
      '8 widening, 0 narrowing, 0 neutral',
      'widening changes fail this check: have them reviewed, then pass --allow-widening',
    ])
  })

  it('passes widening changes with --allow-widening', async () => {
    const result = await scopeguard(['diff', OLD, WIDER, '--allow-widening'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('8 widening, 0 narrowing, 0 neutral')
    expect(result.stdout).not.toContain('fail this check')
  })

  it('passes narrowing changes', async () => {
    const result = await scopeguard(['diff', OLD, NARROWER])
    expect(result.code).toBe(0)
    expect(lines(result.stdout).slice(1)).toEqual([
      'narrowing  client  ops-console: baseline narrowed: read:items ops',
      // admin implies delete:items, so `or admin` accepted no more tokens: neither wider nor narrower.
      'neutral    route   DELETE /api/v1/items/:id: requirement delete:items or admin → delete:items',
      '0 widening, 1 narrowing, 1 neutral',
    ])
  })

  it('says when nothing changed', async () => {
    const result = await scopeguard(['diff', OLD, OLD])
    expect(result.code).toBe(0)
    expect(lines(result.stdout)).toEqual([`${OLD} -> ${OLD}`, 'no changes'])
  })

  it('writes a markdown table for a pull-request comment', async () => {
    const result = await scopeguard(['diff', OLD, WIDER, '--format', 'markdown'])
    expect(result.code).toBe(1)
    const out = lines(result.stdout)
    expect(out[0]).toBe('### scopeguard policy diff')
    expect(out[1]).toBe(`\`${OLD}\` → \`${WIDER}\`: **8 widening**, 0 narrowing, 0 neutral`)
    expect(out[2]).toBe('| Kind | Subject | Name | Change |')
    expect(out).toContain('| **widening** | defaults | `unmatched` | deny → allow |')
    expect(out.at(-1)).toMatch(
      /^> This change widens access\. It fails the check until a reviewer approves it/,
    )
  })

  it('writes JSON', async () => {
    const result = await scopeguard(['diff', OLD, NARROWER, '--json'])
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as Record<string, unknown>
    expect(report).toMatchObject({
      old: { file: OLD, version: expect.stringMatching(/^sha256:[0-9a-f]{16}$/) as unknown },
      summary: { widening: 0, narrowing: 1, neutral: 1 },
      allowWidening: false,
      ok: true,
    })
    expect(report['changes']).toContainEqual({
      kind: 'narrowing',
      subject: 'client',
      name: 'ops-console',
      description: 'baseline narrowed: read:items ops',
    })
  })

  it('refuses a policy that does not validate: its problems, then one line, exit 2', async () => {
    const result = await scopeguard(['diff', OLD, `${FIXTURES}/invalid.policy.yaml`])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    const err = lines(result.stderr)
    expect(err).toHaveLength(4)
    expect(err[0]).toMatch(/invalid\.policy\.yaml:4:20 \/scopes\/ops\/implies\/0: /)
    expect(err[3]).toBe(
      `scopeguard diff: ${FIXTURES}/invalid.policy.yaml does not validate (3 errors); ` +
        `see scopeguard validate ${FIXTURES}/invalid.policy.yaml`,
    )
  })

  it('refuses a policy with a YAML syntax error in one line with its position, exit 2', async () => {
    const dir = writeBrokenYaml()
    try {
      const result = await scopeguard(['diff', 'syntax-error.policy.yaml', join(REPO_ROOT, OLD)], {
        cwd: dir,
      })
      expect(result.code).toBe(2)
      expect(result.stderr).toMatch(
        /^scopeguard diff: syntax-error\.policy\.yaml:6:1: invalid YAML: [^\n]+\n$/,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  describe('with git:REF:path', () => {
    let repo: string
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {
        cwd: repo,
        stdio: 'pipe',
      })

    beforeAll(() => {
      repo = mkdtempSync(join(tmpdir(), 'scopeguard-cli-git-'))
      git('init', '--quiet')
      copyFileSync(join(REPO_ROOT, OLD), join(repo, 'scopeguard.policy.yaml'))
      git('add', '.')
      git('commit', '--quiet', '-m', 'policy')
      copyFileSync(join(REPO_ROOT, WIDER), join(repo, 'scopeguard.policy.yaml'))
    })
    afterAll(() => rmSync(repo, { recursive: true, force: true }))

    it('reads the old policy with git show', async () => {
      const result = await scopeguard(
        ['diff', 'git:HEAD:scopeguard.policy.yaml', 'scopeguard.policy.yaml', '--json'],
        { cwd: repo },
      )
      expect(result.code).toBe(1)
      const report = JSON.parse(result.stdout) as { old: { file: string }; summary: object }
      expect(report.old.file).toBe('git:HEAD:scopeguard.policy.yaml')
      expect(report.summary).toEqual({ widening: 8, narrowing: 0, neutral: 0 })
    })

    it('says in one line that git cannot show the file: exit 2', async () => {
      const result = await scopeguard(['diff', 'git:HEAD:missing.yaml', 'scopeguard.policy.yaml'], {
        cwd: repo,
      })
      expect(result.code).toBe(2)
      expect(result.stderr).toBe(
        "scopeguard diff: cannot read git:HEAD:missing.yaml: path 'missing.yaml' does not exist in 'HEAD'\n",
      )
      const badRef = await scopeguard(
        ['diff', 'git:no-such-ref:scopeguard.policy.yaml', 'scopeguard.policy.yaml'],
        {
          cwd: repo,
        },
      )
      expect(badRef.code).toBe(2)
      expect(lines(badRef.stderr)).toHaveLength(1)
      expect(badRef.stderr).toMatch(
        /^scopeguard diff: cannot read git:no-such-ref:scopeguard\.policy\.yaml: /,
      )
    })
  })
})
