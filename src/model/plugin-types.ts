/**
 * What a story plugin is: a module whose default export is a story, as the pack's own stories are written (the
 * seven built-ins are plugins too), plus steps of its own. These are the types a plugin author imports
 * (`import type { StoryPlugin } from 'rollback-manager'`); the core turns a plugin into a {@link Story}.
 */
import type { StoryMonitorDefaults } from './monitor-types.js';
import type { ServiceSpec, SharedEdit, StepPhase, Trigger } from './types.js';

/**
 * A data path as a story declares it: a path (removed with the story, after its backup), or `{ path, keep: true,
 * why }` for records and history a rollback leaves in place (backed up all the same).
 */
export type DataEntry = string | { path: string; keep?: boolean; why?: string };

/** What a step of a plugin is given: where it runs, for what, and the only ways it may act. */
export interface StepContext {
  /** The project root (real path). */
  root: string;
  /** The story's id. */
  story: string;
  runId: string;
  reason: string;
  trigger: Trigger;
  /** True in `preview`: the context cannot write, and `run` refuses. */
  dryRun: boolean;
  /** A line for the run's log and the report. */
  log(message: string): void;
  /** Aborted when the step's time-out passes or the run is interrupted; pass it on to long work. */
  signal: AbortSignal;
  /**
   * Runs a program (argv, no shell) in `cwd`, a folder inside the root (default the root). Its output is
   * captured for the report; a non-zero exit throws. Stopped when `signal` aborts.
   */
  run(argv: readonly string[], opts?: { cwd?: string }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
}

/**
 * A step of a plugin. `apply` must be idempotent (after a crash in it, `resume` runs it again); `undo` gets what
 * `apply` returned (after a crash, what is known of it: `{}`), and is run when a later step of the story fails
 * or on `abort`. A step without `undo` is reported "not undone" with what to do by hand.
 */
export interface PluginStep<R extends object = object> {
  name: string;
  phase: StepPhase;
  /** What `--dry-run` prints: it must change nothing, and its context cannot write. */
  preview?(ctx: StepContext): string[] | Promise<string[]>;
  apply(ctx: StepContext): Promise<R | void> | R | void;
  undo?(ctx: StepContext, result: R): Promise<void> | void;
  /** What a person should do when it cannot be undone (no `undo`), shown in the report. */
  manualUndo?: string;
  /** Default 5 minutes. */
  timeoutMs?: number;
}

/** A story plugin: the default export of a module under `tools/rollback/plugins/`, or named in `plugins:`. */
export interface StoryPlugin {
  id: string;
  /** Its flag in `config/feature-flags.yaml`; required for a story of one's own, may not change a built-in's. */
  feature?: string;
  title?: string;
  dependsOn?: string[];
  code?: string[];
  config?: string[];
  tests?: string[];
  docs?: string[];
  data?: DataEntry[];
  caches?: string[];
  npm?: string[];
  python?: string[];
  npmUses?: string[];
  pythonUses?: string[];
  containers?: Array<{ name?: string; label?: string }>;
  yamlKeys?: Array<{ file: string; key: string[] }>;
  services?: ServiceSpec[];
  envPrefixes?: string[];
  sharedEdits?: SharedEdit[];
  notes?: string;
  monitor?: StoryMonitorDefaults;
  /** Each step's result type is its own: `undo`'s parameter is checked against its `apply` in {@link PluginStep}. */
  steps?: PluginStep[];
  /** Runs when the story is restored, after its files and flag are back. */
  onRestore?(ctx: StepContext): Promise<void> | void;
}

/** Declares a story plugin with its types checked (it returns what it is given). */
export function defineStory<P extends StoryPlugin>(plugin: P): P {
  return plugin;
}

/** The plugin modules a run loaded, by file (relative to the root), as a story's steps name them. */
export type PluginModules = ReadonlyMap<string, StoryPlugin>;
