export type { Log } from '../model/log.js';
import type { Plan, PlannedAction, ServiceSpec, StoryPlan } from '../model/types.js';
import type { Log } from '../model/log.js';
import type { RollbackConfig } from '../config/rollback-config.js';

/** Everything an action may read while it runs. Actions share results only through `results`. */
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
  /** Results of the finished actions of the current story, by kind, so later steps can use earlier ones. */
  results: Map<PlannedAction['kind'], unknown>;
  /**
   * Journals what the running step is about to do, before it does it (fsynced), so that after a crash its
   * `salvage` knows what its partial work may be. Only steps whose own effects cannot be read from the
   * disk alone need it.
   */
  checkpoint(detail: unknown): void;
}

/**
 * One kind of step: the forward action and its undo side by side (as umzug's `{ up, down }`), so the
 * executor alone decides when to revert. `apply` must leave things as they were when it throws, or say so
 * in the error; `revert` undoes a completed `apply` using the result it returned.
 */
export interface ActionHandler<A extends PlannedAction = PlannedAction, R = unknown> {
  kind: A['kind'];
  /** One line for progress output and the journal. */
  describe(action: A): string;
  apply(ctx: RunContext, story: StoryPlan, action: A): Promise<R>;
  /** Returns a note for the report when the undo is partial (e.g. services are not restarted). */
  revert(ctx: RunContext, story: StoryPlan, action: A, result: R): Promise<string | undefined>;

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
