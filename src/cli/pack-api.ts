/**
 * The pack's programmatic API, as its own code calls `require('./tools/rollback/rollback-manager')`:
 * `rollbackStory`, `rollbackMultipleStories`, `getRollbackStatus`, `generateRollbackDocs`. The same
 * use-cases as the command line (one planner, one engine), in the shapes the pack's callers read, and the
 * CLI's words as their `output`. A run the caller asked for is never confirmed by a person: a call is a
 * script (`trigger: script`), as `--force` is on the command line.
 */
import path from 'node:path';
import { InvalidInputError, RollbackError, messageOf } from '../model/errors.js';
import type { FlagChange, Plan, StoryPlan } from '../model/types.js';
import { prepareRollback, rollbackNow, type RollbackRequest } from '../app/rollback.js';
import { writeRollbackDocs } from '../app/rollback-docs.js';
import type { PackStoryStatus } from '../app/pack-status.js';
import type { Check } from '../steps/step.js';
import type { RunOutcome, StoryOutcome } from '../engine/executor.js';
import type { RunReport } from '../report/run-report.js';
import { renderPlan } from './render-plan.js';
import { outcomeText } from './run-plan.js';
import { plainProgress } from './progress.js';

/** Options of {@link PackApi.rollbackStory}, as the pack's code passes them. */
export interface PackRollbackOptions {
  /** Why, recorded in the report and the audit log. */
  reason?: string;
  /** Progress on stderr, and the outcome on stdout, as the command line prints them. */
  verbose?: boolean;
  /** Plan only: nothing changes; `output` is the plan. */
  dryRun?: boolean;
  /** Accepted for the pack's callers: a call is never asked to confirm, so it always acts as `--force`. */
  force?: boolean;
  /** Also roll back the installed stories that depend on this one (else they make it refuse). */
  cascade?: boolean;
}

/** Options of {@link PackApi.rollbackMultipleStories}. */
export interface PackRollbackManyOptions extends PackRollbackOptions {
  /** A failed story does not stop the others (the stories it needs are skipped). */
  continueOnError?: boolean;
}

/** What became of one story, in the pack's shape plus the run's own words. */
export interface PackRollbackResult {
  /** The story is rolled back, or had nothing to roll back (or, in a dry run, the plan was made). */
  success: boolean;
  storyId: string;
  feature: string;
  /** Every flag the run turned off (or would turn off), the cascade included. */
  featuresDisabled: string[];
  /** The validation step's checks; `errors` are the failed ones and the story's error, if any. */
  validation: { success: boolean; errors: string[]; warnings: string[]; checks: Check[] };
  /** What the command line prints: the plan of a dry run, else the outcome with the undo commands. */
  output: string;
  /** The run's Markdown report (absolute path); null for a dry run. */
  reportPath: string | null;
  /** The story's status: rolled-back, not-installed, reverted, revert-failed, skipped; `planned` in a dry run. */
  status: string;
  /** The run's id; its JSON report is beside the Markdown one. */
  runId: string;
  /** Why the story failed or was refused. */
  error?: string;
  /** The error's code when the run was refused (E_DEPENDENTS, E_LOCKED, E_UNKNOWN_STORY…). */
  code?: string;
}

/** The four functions the pack's code requires. */
export interface PackApi {
  rollbackStory(storyId: string, options?: PackRollbackOptions): Promise<PackRollbackResult>;
  rollbackMultipleStories(storyIds: string[], options?: PackRollbackManyOptions): Promise<PackRollbackResult[]>;
  getRollbackStatus(): Record<string, PackStoryStatus>;
  generateRollbackDocs(outputPath: string): Promise<void>;
}

/**
 * The API for the project `root()` names at each call (so requiring the file never fails, even outside a
 * project). `statusSync` answers getRollbackStatus, which must not return a promise.
 */
export function packApi(root: () => string, statusSync: (root: string) => Record<string, PackStoryStatus>): PackApi {
  return {
    /**
     * Rolls back one story. Resolves with `success: false` when the run failed (and was reverted: the report
     * says so); rejects with a RollbackError when it was refused and nothing changed (unknown story,
     * installed dependents without `cascade`, another run holding the lock, a bad config).
     */
    async rollbackStory(storyId, options = {}) {
      const id = storyIdOf(storyId, 'rollbackStory');
      const results = await rollback(root(), id, options, false);
      const mine = results.find((r) => r.storyId === id) ?? results[0];
      if (mine === undefined) throw new RollbackError(`rollbackStory: the run of ${id} reported no story`, { exitCode: 1, code: 'E_UNEXPECTED' });
      return mine;
    },
    /**
     * Rolls back several stories in one run, dependents first, and resolves with one result per story of the
     * run in that order. A refused run resolves too: every story named, `success: false`, with the reason.
     */
    async rollbackMultipleStories(storyIds, options = {}) {
      if (!Array.isArray(storyIds) || storyIds.length === 0) {
        throw new InvalidInputError('rollbackMultipleStories: storyIds must be a non-empty array of story ids', { code: 'E_USAGE' });
      }
      const ids = storyIds.map((s) => storyIdOf(s, 'rollbackMultipleStories'));
      try {
        return await rollback(root(), ids.join(','), options, options.continueOnError === true);
      } catch (err) {
        if (!(err instanceof RollbackError)) throw err;
        return ids.map((storyId) => refused(storyId, err));
      }
    },
    getRollbackStatus() {
      return statusSync(root());
    },
    async generateRollbackDocs(outputPath) {
      if (typeof outputPath !== 'string' || outputPath === '') throw new InvalidInputError('generateRollbackDocs: outputPath must be a file path', { code: 'E_USAGE' });
      await writeRollbackDocs(root(), outputPath);
    },
  };
}

function storyIdOf(value: unknown, fn: string): string {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidInputError(`${fn}: a story id such as "1.3" is needed, got ${JSON.stringify(value)}`, { code: 'E_USAGE' });
  return value.trim();
}

async function rollback(root: string, ids: string, o: PackRollbackOptions, continueOnError: boolean): Promise<PackRollbackResult[]> {
  const reason = o.reason ?? '';
  const req: RollbackRequest = {
    root,
    ids,
    cascade: o.cascade === true,
    continueOnError,
    reason,
    trigger: 'script',
    // The command line that does the same, for the journal and the report.
    command: ['rollback', ids, ...(o.dryRun === true ? ['--dry-run'] : ['--force']), ...(o.cascade === true ? ['--cascade'] : []), ...(continueOnError ? ['--continue-on-error'] : []), ...(reason ? ['--reason', reason] : [])],
  };
  if (o.dryRun === true) {
    const { plan } = await prepareRollback(req);
    const output = renderPlan(plan, { verbose: o.verbose === true, dryRun: true });
    if (o.verbose === true) process.stdout.write(output);
    const off = plannedFlagsOff(plan);
    return plan.stories.map((s) => planned(plan, s, off, output));
  }
  const { plan, outcome, report } = await rollbackNow(req, async (p) => (o.verbose === true ? onEvent(p) : undefined));
  const output = outcomeText(plan, outcome, report);
  if (o.verbose === true) process.stdout.write(output);
  const off = flagsTurnedOff(outcome);
  const reportPath = path.join(report.root, report.files.markdown);
  return outcome.stories.map((s) => finished(plan, outcome, s, off, output, reportPath));
}

function onEvent(plan: Plan): (e: Parameters<ReturnType<typeof plainProgress>['onEvent']>[0]) => void {
  const p = plainProgress(plan.operation);
  return (e) => p.onEvent(e);
}

function planned(plan: Plan, s: StoryPlan, off: string[], output: string): PackRollbackResult {
  return {
    success: true,
    storyId: s.id,
    feature: s.feature,
    featuresDisabled: off,
    validation: { success: true, errors: [], warnings: s.warnings, checks: [] },
    output,
    reportPath: null,
    status: s.installed ? 'planned' : 'not-installed',
    runId: plan.runId,
  };
}

function finished(plan: Plan, outcome: RunOutcome, s: StoryOutcome, off: string[], output: string, reportPath: string): PackRollbackResult {
  const checks = (s.steps.find((r) => r.kind === 'validate')?.result as { checks?: Check[] } | undefined)?.checks ?? [];
  const failed = checks.filter((c) => !c.ok).map((c) => `${c.check}: ${c.detail}`);
  const success = s.status === 'rolled-back' || s.status === 'not-installed';
  const errors = [...failed, ...(s.error !== undefined && !failed.some((f) => s.error?.includes(f)) ? [s.error] : [])];
  return {
    success,
    storyId: s.id,
    feature: s.feature,
    featuresDisabled: off,
    validation: { success: success && failed.length === 0, errors, warnings: s.warnings, checks },
    output,
    reportPath,
    status: s.status,
    runId: plan.runId,
    ...(success ? {} : { error: s.error ?? `${s.status} (run ${outcome.status})` }),
  };
}

function refused(storyId: string, err: RollbackError): PackRollbackResult {
  return {
    success: false,
    storyId,
    feature: '',
    featuresDisabled: [],
    validation: { success: false, errors: [messageOf(err)], warnings: [], checks: [] },
    output: '',
    reportPath: null,
    status: 'refused',
    runId: '',
    error: messageOf(err),
    code: err.code,
  };
}

/** The flags a plan's flag steps would turn off, in plan order. */
function plannedFlagsOff(plan: Plan): string[] {
  return unique(plan.stories.flatMap((s) => s.actions.flatMap((a) => (a.kind === 'disable-flag' && 'changes' in a ? (a.changes as FlagChange[]) : []))).filter((c) => !c.to).map((c) => c.feature));
}

/** The flags the run's flag steps did turn off (a flag already off needed no change), minus those a revert turned back on. */
function flagsTurnedOff(outcome: RunOutcome): string[] {
  return unique(
    outcome.stories.flatMap((s) =>
      s.steps
        .filter((r) => r.kind === 'disable-flag' && r.status === 'done')
        .flatMap((r) => ((r.result as { applied?: FlagChange[] } | undefined)?.applied ?? []).filter((c) => !c.to).map((c) => c.feature)),
    ),
  );
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
