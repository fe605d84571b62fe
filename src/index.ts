/**
 * rollback-manager as a library: the same planner and executor the CLI uses, for wrappers and monitors.
 */
export * from './model/errors.js';
export type * from './model/types.js';
export { prepareRollback, newRunId, type RollbackRequest } from './app/rollback.js';
export { applyPlan, type RunRequest } from './app/apply-plan.js';
export { loadProject, gatherSnapshot, type Project } from './project/project.js';
export { LAYOUT } from './model/layout.js';
export { assemblePlan, selectStories, packageDecisionsOf, type PlanRequest } from './engine/planner.js';
export { measurePackageRemovals } from './project/package-removals.js';
export type { Snapshot, StorySnapshot, PackageFootprint } from './model/snapshot.js';
export { STEPS, stepFor, type PlannedAction, type ActionKind } from './steps/registry.js';
export { defineStep, type StepDefinition, type RunContext, type PlanInput, type Check } from './steps/step.js';
export type { RunOutcome, StoryOutcome, StepRecord, ExecEvent } from './engine/executor.js';
export type { RunReport } from './report/run-report.js';
export { BUILTIN_STORIES } from './stories/index.js';
export { ConfigError, type ConfigProblem, type LocatedProblem } from './config/config-problems.js';
export type { RollbackConfig, StoryOverride } from './config/rollback-config.js';
export { defineStory, type StoryPlugin, type PluginStep, type StepContext, type DataEntry } from './model/plugin-types.js';
export { STEP_PHASES } from './model/types.js';
export { findProjectRoot, resolveRoot } from './project/find-root.js';
export { prepareInit, applyInit, type InitRequest, type InitPlan, type InitEntry, type InitAction, type InitResult } from './app/init.js';
export { restoreInitBackup, type InitRestore } from './app/init-restore.js';
export { renderRollbackDocs, writeRollbackDocs } from './app/rollback-docs.js';
export { packStatusOf, type PackStoryStatus } from './app/pack-status.js';
