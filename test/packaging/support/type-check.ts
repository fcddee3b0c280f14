import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './publishable-packages.js'
import { describeFailure, runCommand } from './run-command.js'

/** The module resolutions a TypeScript user of an ESM package may choose. */
export type ResolutionMode = 'node16' | 'nodenext' | 'bundler'

/** The workspace's own compiler, run with node. */
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

/**
 * Type-checks the consumer files of the app in `dir` with the workspace's TypeScript under one
 * `module`/`moduleResolution` pair, with the strictest flags a user may have
 * (`exactOptionalPropertyTypes`, `noUncheckedIndexedAccess`, `verbatimModuleSyntax`) and
 * `skipLibCheck: false`, so that the shipped `.d.ts` files are compiled too. Under `nodenext`
 * a CommonJS consumer (`.cts`) is checked as well: like Node.js ≥ 20.19, TypeScript lets it
 * `require()` the ES modules. Returns the errors that concern the consumer or scopeguard's
 * declarations; errors inside other packages' declarations are not scopeguard's to fix (today
 * `@types/koa` does not compile against `content-disposition`'s own types) and are left out.
 *
 * @example
 * expect(await typeCheckConsumer(appDir, 'bundler')).toEqual([])
 */
export async function typeCheckConsumer(
  dir: string,
  mode: ResolutionMode,
): Promise<{ errors: string[] }> {
  const project = `tsconfig.${mode}.json`
  const tsconfig = {
    compilerOptions: {
      module: mode === 'bundler' ? 'esnext' : mode,
      moduleResolution: mode,
      target: 'es2023',
      lib: ['es2023'],
      types: ['node'],
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      skipLibCheck: false,
      noEmit: true,
    },
    files: mode === 'nodenext' ? ['consumer.ts', 'consumer-cjs.cts'] : ['consumer.ts'],
  }
  writeFileSync(join(dir, project), `${JSON.stringify(tsconfig, null, 2)}\n`)
  const result = await runCommand(process.execPath, [TSC, '-p', project, '--pretty', 'false'], {
    cwd: dir,
  })
  const diagnostics = readDiagnostics(result.stdout)
  if (result.code !== 0 && diagnostics.length === 0) return { errors: [describeFailure(result)] }
  return { errors: diagnostics.filter(concernsScopeguard) }
}

/** tsc's diagnostics, each with its continuation lines. */
function readDiagnostics(output: string): string[] {
  const diagnostics: string[] = []
  for (const line of output.split('\n')) {
    if (/^\S/.test(line)) diagnostics.push(line)
    else if (diagnostics.length > 0 && line.trim() !== '') {
      diagnostics[diagnostics.length - 1] += `\n${line}`
    }
  }
  return diagnostics
}

/** Whether a diagnostic is about the consumer or scopeguard, not another package. */
function concernsScopeguard(diagnostic: string): boolean {
  return (
    !diagnostic.startsWith('node_modules/') || diagnostic.startsWith('node_modules/@scopeguard/')
  )
}
