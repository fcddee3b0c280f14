import type { Command } from '../command.js'
import { checkClient } from './check-client.js'
import { coverage } from './coverage.js'
import { diff } from './diff.js'
import { explain } from './explain.js'
import { test } from './test.js'
import { validate } from './validate.js'

/**
 * Every command of `scopeguard`, in the order `scopeguard --help` lists them. A new command
 * (`inventory`, `revoke`, `elevate`) is a file of this folder exporting a {@link Command},
 * added here.
 */
export const COMMANDS: readonly Command[] = [validate, diff, coverage, explain, test, checkClient]
