import type { PlannedStep, StoryPlan } from '../model/types.js';
import type { BackupInputs, Check, RunContext, RunEnvironment, StepRef, StepResults } from '../steps/step.js';
import { stepFor } from '../steps/registry.js';
import type { Journal } from './journal.js';

/** A finished step's result, under its step. */
interface Finished {
  index: number;
  action: PlannedStep;
  result: unknown;
}

/**
 * The results of one story's finished steps, each under its step (its index in the story's plan), and the
 * context each step runs with: it sees only the steps before it, so two steps of one kind never read each
 * other's result by mistake, and a revert reads the same results its apply did.
 */
export class StoryContext {
  /** By step index, so the steps before one are a prefix, in plan order. */
  private readonly finished: Array<Finished | undefined> = [];

  constructor(
    private readonly env: RunEnvironment,
    private readonly story: StoryPlan,
    private readonly journal: Journal | null,
  ) {}

  /** Records the result of the step at `index` (finished, or read back from the journal). */
  record(index: number, result: unknown): void {
    this.finished[index] = { index, action: this.story.actions[index] as PlannedStep, result };
  }

  /**
   * The context of the step at `index`. With `journaled`, its checkpoints go to the journal numbered like
   * its records (an apply or a resume); otherwise they are dropped (an undo needs none).
   */
  at(index: number, journaled: boolean): RunContext {
    const before = (): Finished[] => this.finished.slice(0, index).filter((f): f is Finished => f !== undefined);
    const ofKind = (step: StepRef<never, unknown>): Finished[] => before().filter((f) => f.action.kind === step.kind);
    const results: StepResults = {
      // The caller names the step whose result it wants; that step's definition carries the result type.
      of: <R>(step: StepRef<never, R>) => ofKind(step).at(-1)?.result as R | undefined,
      all: <R>(step: StepRef<never, R>) => ofKind(step).map((f) => f.result as R),
    };
    const kind = this.story.actions[index]?.kind ?? '';
    const journal = journaled ? this.journal : null;
    const ctx: RunContext = {
      ...this.env,
      results,
      checkpoint: journal ? (detail, opts) => journal.write({ event: 'progress', story: this.story.id, kind, step: index, detail }, opts) : () => undefined,
      verifyFinished: async () => {
        const checks: Check[] = [];
        for (const f of before()) {
          const step = stepFor(f.action);
          // Each step verifies itself in its own context: it sees the results it saw when it ran.
          if (step.verify) checks.push(...(await step.verify(this.at(f.index, false), this.story, f.action, f.result)));
        }
        return checks;
      },
      backupInputsOfLaterSteps: () =>
        this.story.actions.flatMap((a, j): BackupInputs[] => {
          const inputs = j > index ? stepFor(a).backupInputs?.(ctx, a) : undefined;
          return inputs ? [inputs] : [];
        }),
    };
    return ctx;
  }
}
