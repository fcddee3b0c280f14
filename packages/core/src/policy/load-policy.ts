import { createReporter, sortProblems } from './check-report.js'
import { checkPolicy } from './check-policy.js'
import { checkSchema } from './check-schema.js'
import { parsePolicySource, type ParsePolicyOptions } from './parse-policy.js'
import { PolicyValidationError, type PolicyDocument, type PolicyProblem } from './types.js'

/** The outcome of validating a policy source: the document when it has no error, and every problem. */
export interface PolicyValidation {
  /** The validated document, or undefined when any problem is an error. */
  readonly document: PolicyDocument | undefined
  /** Every error and warning, sorted by line and column. */
  readonly problems: readonly PolicyProblem[]
}

/**
 * Parses and validates a policy source and returns every problem at once, errors and
 * warnings, sorted by position: syntax errors and duplicate keys first of all (a source with
 * syntax errors goes no further), then the JSON Schema (`policy.schema.json`) and the
 * semantic checks of checkPolicy together. For `scopeguard validate` and hot reload, which
 * show warnings too; loadPolicyDocument throws instead.
 *
 * @example
 * const { document, problems } = validatePolicySource(text, { file: 'scopeguard.policy.yaml' })
 * for (const problem of problems) console.error(formatProblem(problem))
 */
export function validatePolicySource(
  text: string,
  options: ParsePolicyOptions = {},
): PolicyValidation {
  const source = parsePolicySource(text, options)
  if (source.document === undefined) {
    return { document: undefined, problems: sortProblems(source.problems) }
  }
  const report = createReporter(source.locate, options.file)
  checkSchema(source.document, report)
  const problems = sortProblems([
    ...source.problems,
    ...report.problems,
    ...checkPolicy(source.document, { locate: source.locate, file: options.file }),
  ])
  const valid = !problems.some((problem) => problem.severity === 'error')
  return { document: valid ? (source.document as PolicyDocument) : undefined, problems }
}

/**
 * Reads a policy from its text (YAML, or JSON when `file` ends in `.json` or `format` says
 * so) and returns the validated document. Any error, of syntax, of the schema or of the
 * semantic checks, throws a {@link PolicyValidationError} listing every problem at once
 * (errors and warnings, sorted by line and column, each with its JSON pointer). The caller
 * reads the file; this function does no I/O.
 *
 * @example
 * const document = loadPolicyDocument(await readFile(path, 'utf8'), { file: path })
 * const policy = compilePolicy(document, text, path)
 */
export function loadPolicyDocument(text: string, options: ParsePolicyOptions = {}): PolicyDocument {
  const { document, problems } = validatePolicySource(text, options)
  if (document === undefined) throw new PolicyValidationError(problems)
  return document
}
