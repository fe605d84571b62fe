import { InvalidInputError } from '../model/errors.js';
import type { PlannedStep } from '../model/types.js';
import type { ActionOf, AnyStep } from './step.js';
import { backup } from './backup.js';
import { customStep } from './custom-step.js';
import type { StepPhase } from '../model/types.js';
import { disableFlag } from './disable-flag.js';
import { editEnv, editYaml } from './edit-shared-files.js';
import { enableFlags } from './enable-flags.js';
import { packages } from './packages.js';
import { removePaths } from './remove-paths.js';
import { restoreEdits } from './restore-edits.js';
import { restoreFiles } from './restore-files.js';
import { stopServices } from './stop-services.js';
import { validate } from './validate.js';

/** Every step kind, in the order a story's rollback runs them, then a restore's: the engine's whole vocabulary. */
export const STEPS = [disableFlag, stopServices, backup, removePaths, packages, editEnv, editYaml, validate, restoreFiles, restoreEdits, enableFlags, customStep] as const;

/**
 * How a story's rollback is planned: each step plans itself in this order, and at each of the run's fixed points
 * (a phase) the story's own steps of that phase come in (`custom`). A restore places its own phases where it
 * builds its plan.
 */
export const ROLLBACK_ORDER: ReadonlyArray<AnyStep | StepPhase> = [
  disableFlag,
  'after-flag',
  stopServices,
  'after-stop',
  'before-backup',
  backup,
  'after-backup',
  removePaths,
  packages,
  editEnv,
  editYaml,
  'after-removal',
  validate,
] as ReadonlyArray<AnyStep | StepPhase>;

/** The action of any registered step: what a plan made by this version holds. */
export type PlannedAction = ActionOf<(typeof STEPS)[number]>;

/** The kind names of the registered steps. */
export type ActionKind = PlannedAction['kind'];

const byKind = new Map<string, AnyStep>(STEPS.map((s): [string, AnyStep] => [s.kind, s]));

/**
 * The step of an action's kind. A kind no step owns can only come from a plan this version did not make
 * (a journal or report of a newer one): an input error, before anything is done with it.
 */
export function stepFor(action: PlannedStep): AnyStep {
  const step = byKind.get(action.kind);
  if (!step) throw new InvalidInputError(`unknown step kind "${action.kind}": the plan was made by another version of rollback-manager`, { code: 'E_UNKNOWN_STEP' });
  return step;
}
