export type { Log } from '../model/log.js';
import type { FlagView, PackageDecision, Plan, PlannedStep, ServiceSpec, Story, StoryPlan } from '../model/types.js';
import type { PackageFootprint, StorySnapshot } from '../model/snapshot.js';
import type { EnvRemovalRecord, YamlRemovalRecord } from '../edits/index.js';
import type { NpmRemovalPlan } from '../packages/npm-index.js';
import type { Log } from '../model/log.js';
import type { RollbackConfig } from '../config/rollback-config.js';
import type { PluginModules } from '../model/plugin-types.js';

/**
 * The results of the finished steps of the running story, each under its own step (its index in the
 * story's plan), so two steps of one kind never overwrite each other. A step reads another's result through that step's own
 * definition, which types it: `ctx.results.of(backup)` is a `BackupStepResult`.
 */
export interface StepResults {
  /** The result of the nearest finished step of this kind before the running one; undefined when none. */
  of<R>(step: StepRef<never, R>): R | undefined;
  /** Every finished result of this kind, in plan order. */
  all<R>(step: StepRef<never, R>): R[];
}

/** What names a step kind and carries its action and result types: any step definition is one. */
export interface StepRef<A extends PlannedStep, R> {
  readonly kind: string;
  apply(ctx: RunContext, story: StoryPlan, action: A): Promise<R>;
}

/** Everything a step may read while it runs. Steps share results only through `results`. */
export interface RunContext {
  root: string;
  plan: Plan;
  config: RollbackConfig;
  /** Absolute path of the flags file. */
  flagsAbs: string;
  /** Absolute path of the tool's hidden state folder (journal, lock, staging). */
  stateDir: string;
  log: Log;
  /** Each story's declared services (for per-service stop timeouts). */
  services: Map<string, ServiceSpec[]>;
  /** The plugin modules the run loaded, whose functions the stories' own steps call. */
  plugins?: PluginModules;
  results: StepResults;
  /** Every finished step of the running story verifies its own effect (its `verify`), in plan order. */
  verifyFinished(): Promise<Check[]>;
  /** What the story's steps after the running one will remove (each step's `backupInputs`), in plan order. */
  backupInputsOfLaterSteps(): BackupInputs[];
  /**
   * Journals what the running step is about to do, before it does it (fsynced), so that after a crash its
   * `salvage` knows what its partial work may be. Only steps whose own effects cannot be read from the
   * disk alone need it. `sync: false` defers the fsync to the next synced record: only for several
   * checkpoints written back to back, the last of them synced, before the one change they announce.
   */
  checkpoint(detail: unknown, opts?: { sync?: boolean }): void;
}

/** What a run gives every step; the engine adds, per step, its results, verification and checkpoints. */
export type RunEnvironment = Omit<RunContext, 'results' | 'verifyFinished' | 'backupInputsOfLaterSteps' | 'checkpoint'>;

/**
 * What a story's rollback removes from files it shares with others, recorded in the backup's manifest
 * before any of it is edited, so that the backup alone can put it back.
 */
export interface SharedRemovals {
  env: EnvRemovalRecord | null;
  yaml: YamlRemovalRecord[];
  /** The npm removal planned against the files as they are now, and those files' text before the edit. */
  npm: { plan: NpmRemovalPlan; packageJson: string | null; lockfile: string | null } | null;
  /** Distributions to uninstall from the project's venv, and their files (all in the archive). */
  python: { venv: string; dists: Array<{ name: string; version: string; files: string[] }> } | null;
}

/**
 * What a step's removal needs in the backup taken before it: the paths (relative to the root) it will
 * delete, and what it will cut from shared files. Read at the backup's turn, from the files as they are then.
 */
export interface BackupInputs {
  paths?: string[];
  /** Data the step leaves in place, with why: in the backup all the same, and named in its manifest. */
  kept?: Array<{ path: string; why: string }>;
  shared?: Partial<SharedRemovals>;
}

/** One check a step makes of its own effect after the story's steps ran, and what was observed. */
export interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

/** A run's backup as the story's outcome and the report name it. */
export interface BackupSummary {
  id: string;
  path: string;
  files: number;
  bytes: number;
  verified: boolean;
}

/** An audit event a finished step asks the run to record in `logs/security.log` (the pack's shape). */
export interface StepAudit {
  event: 'feature_flag_changed';
  detail: Record<string, unknown>;
}

/**
 * What a step sees when it plans itself into a story's rollback: the story, what of it is on disk now,
 * and what the run has planned so far. Planning is pure: every input is data, read before planning began.
 */
export interface PlanInput {
  story: Story;
  snap: StorySnapshot;
  flags: FlagView;
  /** Relative to the root. */
  flagsFile: string;
  backupsDir: string;
  now: Date;
  /** Flag values as they will be when this story's turn comes; a flag step records its changes here. */
  enabled: Map<string, boolean>;
  /** Backup folder names taken: those on disk and those of earlier stories of the run. */
  takenBackupIds: Set<string>;
  /** The package decisions the planner made for the story, and what the removals take along. */
  packages: { decisions: PackageDecision[]; footprint: PackageFootprint | null };
  /** The checks the steps planned so far will make of themselves (each step's `checks`). */
  checksSoFar(): string[];
}

/** How the plan is shown. */
export interface RenderOptions {
  verbose: boolean;
}

/**
 * One kind of step: everything about it in one module, so the engine, the plan renderer, the validator
 * and the report ask the step instead of switching on kinds. The forward action and its undo stand side
 * by side (as umzug's `{ up, down }`), so the executor alone decides when to revert: `apply` must leave
 * things as they were when it throws, or say so in the error; `revert` undoes a completed `apply` using
 * the result it returned. Both are required: a step without an undo does not compile.
 */
export interface StepDefinition<A extends PlannedStep, R> {
  readonly kind: A['kind'];
  /**
   * Plans this step into a story's rollback (the registry's order is the order of a story's steps): none,
   * one or several actions. Absent: the step is never part of a rollback (a restore's steps).
   */
  plan?(input: PlanInput): A[];
  /** Bytes this step's action needs on the backups' disk (checked before the run begins). */
  diskNeeded?(action: A): number;
  /** One line for progress output and the journal. */
  describe(action: A): string;
  /** Its lines in the plan a person reads before saying yes: a heading, then indented detail. */
  render(action: A, opts: RenderOptions): string[];
  apply(ctx: RunContext, story: StoryPlan, action: A): Promise<R>;
  /**
   * Applies this step of every story of the run at once, before any story's other steps, and returns each
   * item's result in order: the kill switch, every flag of the run off in one write. Each item's context
   * journals under its own story's step, so a crash inside is recovered per story as usual, and a story
   * the run then does not finish has it reverted. Absent: each story applies the step in its turn.
   */
  applyFirst?(items: ReadonlyArray<{ ctx: RunContext; story: StoryPlan; action: A }>): Promise<R[]>;
  /** Returns a note for the report when the undo is partial (e.g. services are not restarted). */
  revert(ctx: RunContext, story: StoryPlan, action: A, result: R): Promise<string | undefined>;
  /** The checks `verify` will make, named in the plan; absent: it checks nothing. */
  checks?(action: A, story: Pick<Story, 'id' | 'feature'>): string[];
  /** After the story's steps ran: the evidence that this step's effect holds (a failed check reverts the story). */
  verify?(ctx: RunContext, story: StoryPlan, action: A, result: R): Promise<Check[]>;
  /** Its section of the Markdown report; `result` is undefined when the step did not finish. */
  report?(action: A, result: R | undefined): string[];
  /**
   * What this step will delete or cut, for the backup that runs before it: everything a rollback removes
   * sits in a verified backup first, whichever step removes it. Absent: the step removes nothing.
   */
  backupInputs?(ctx: RunContext, action: A): BackupInputs;
  /** The backup this step made or restored from, for the story's outcome. */
  backupOf?(action: A, result: R): BackupSummary;
  /** Audit events for a finished step (not for one finished before an interruption). */
  audit?(action: A, result: R): StepAudit[];
  /** What of the action decides what a run does, for the plan's fingerprint; absent: the whole action. */
  fingerprint?(action: A): unknown;
  /** Folders (relative to the root) where a killed apply may leave temp files of atomic writes. */
  writesIn?(action: A): string[];

  // After a crash (resume / abort, from the journal). `saved` holds every checkpoint the step wrote in this
  // run, oldest first (a resume that crashed again adds its own).

  /**
   * What an apply cut short by a crash (or whose own undo was cut short) may have done, as a result that
   * `revert` undoes; revert must then be safe on work that was only partly done. Null: nothing to undo.
   * Also removes the step's own leftovers (a half-written backup folder). Absent: the step changes nothing.
   */
  salvage?(ctx: RunContext, story: StoryPlan, action: A, saved: readonly unknown[]): Promise<R | null>;
  /**
   * Finishes an apply cut short by a crash and returns its whole result. Absent: undo the partial work
   * (salvage, revert), then apply again.
   */
  resume?(ctx: RunContext, story: StoryPlan, action: A, saved: readonly unknown[]): Promise<R>;
  /**
   * A finished step's result from its journal record, which leaves out bulky parts (a backup's manifest)
   * and may be stale; re-checks what later steps rely on. Absent: the record as it is.
   */
  rehydrate?(ctx: RunContext, story: StoryPlan, action: A, journaled: unknown): Promise<R>;
}

/** Any step, as the engine holds it: it hands each step only actions of its own kind. */
export type AnyStep = StepDefinition<PlannedStep, unknown>;

/** The action type of a step definition. */
export type ActionOf<S> = S extends StepRef<infer A extends PlannedStep, unknown> ? A : never;

/** Declares a step kind; the type parameters tie its action to its result everywhere it is used. */
export function defineStep<A extends PlannedStep, R>(step: StepDefinition<A, R>): StepDefinition<A, R> {
  return step;
}

/**
 * The story's actions of one kind, typed as that step's own (`actionsOf<EditEnvAction>(story, 'edit-env')`).
 * Steps name each other's actions by kind and type, not by importing each other's modules, so the step
 * modules stay free of import cycles.
 */
export function actionsOf<A extends PlannedStep>(story: Pick<StoryPlan, 'actions'>, kind: A['kind']): A[] {
  // The kind is the type's discriminant: an action of this kind was planned as that step's action.
  return story.actions.filter((a): a is A => a.kind === kind);
}
