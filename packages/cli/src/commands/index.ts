import type { Command } from '../command.js'
import { checkClient } from './check-client.js'
import { coverage } from './coverage.js'
import { diff } from './diff.js'
import { drill } from './drill.js'
import { elevate } from './elevate.js'
import { elevations } from './elevations.js'
import { explain } from './explain.js'
import { inventory } from './inventory.js'
import { killSwitch } from './kill-switch.js'
import { revoke } from './revoke.js'
import { test } from './test.js'
import { unrevoke } from './unrevoke.js'
import { validate } from './validate.js'

/**
 * Every command of `scopeguard`, in the order `scopeguard --help` lists them. A new command
 * is a file of this folder exporting a {@link Command}, added here.
 */
export const COMMANDS: readonly Command[] = [
  validate,
  diff,
  coverage,
  explain,
  test,
  checkClient,
  inventory,
  revoke,
  unrevoke,
  killSwitch,
  elevate,
  elevations,
  drill,
]
