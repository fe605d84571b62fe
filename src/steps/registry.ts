import type { ActionHandler } from './step.js';
import type { ActionKind } from '../model/types.js';
import { backup } from './backup.js';
import { disableFlag } from './disable-flag.js';
import { packages } from './packages.js';
import { removePaths } from './remove-paths.js';
import { stopServices } from './stop-services.js';
import { validate } from './validate.js';
import { restoreFiles } from './restore-files.js';
import { enableFlags } from './enable-flags.js';
import { editEnv, editYaml } from './edit-shared-files.js';
import { restoreEdits } from './restore-edits.js';

/** One handler per action kind, in the order a story's rollback runs them: the executor's whole vocabulary. */
export const HANDLERS = {
  'disable-flag': disableFlag,
  'stop-services': stopServices,
  backup,
  'remove-paths': removePaths,
  packages,
  validate,
  'restore-files': restoreFiles,
  'enable-flags': enableFlags,
  'edit-env': editEnv,
  'edit-yaml': editYaml,
  'restore-edits': restoreEdits,
} satisfies { [K in ActionKind]: ActionHandler<Extract<import('../model/types.js').PlannedAction, { kind: K }>, never> | { kind: K } };

/** The handler for an action kind, widened for the executor, which only passes each handler its own kind. */
export function handlerFor(kind: ActionKind): ActionHandler {
  return HANDLERS[kind] as unknown as ActionHandler;
}
