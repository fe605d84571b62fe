/**
 * rollback-manager as a library: the same planner and executor the CLI uses, for wrappers and monitors.
 */
export * from './core/errors.js';
export type * from './core/types.js';
export { prepareRollback, newRunId, type RollbackRequest } from './core/rollback.js';
export { applyPlan, type RunRequest } from './core/apply-plan.js';
export { loadProject, gatherSnapshot, LAYOUT, type Project } from './core/project.js';
export { assemblePlan, type PlanRequest } from './core/planner.js';
export type { RunOutcome, StoryOutcome, StepRecord, ExecEvent } from './core/executor.js';
export type { RunReport } from './report/run-report.js';
export { BUILTIN_STORIES } from './stories/index.js';
