import { applyPlan, type RunRequest } from '../app/apply-plan.js';
import { ExitCode, InvalidInputError } from '../model/errors.js';
import { runStarting } from './interrupt.js';
import type { Project } from '../project/project.js';
import type { Plan } from '../model/types.js';
import type { ExecEvent, RunOutcome } from '../engine/executor.js';
import type { RunReport } from '../report/run-report.js';
import { canAsk, confirm } from './confirm.js';
import { printJson, type GlobalOptions } from './global-options.js';
import { plainProgress, terminalProgress, type Progress } from './progress.js';
import { renderPlan } from './render-plan.js';

/**
 * What every changing command does after planning: a dry run prints the plan and stops; otherwise the
 * plan is shown and confirmed in a terminal (or --force is required without one), applied with progress
 * on stderr, and the outcome printed. Returns the exit code.
 */
export async function runPlan(
  g: GlobalOptions,
  project: Project,
  plan: Plan,
  req: RunRequest,
  opts: { dryRun: boolean; force: boolean; replan?: () => Promise<Plan> },
): Promise<number> {
  if (opts.dryRun) {
    if (g.json) printJson({ ...plan, dryRun: true });
    else process.stdout.write(renderPlan(plan, { verbose: g.verbose, dryRun: true }));
    return 0;
  }
  const work = plan.stories.some((s) => s.installed);
  if (work && !opts.force) {
    if (!canAsk()) {
      throw new InvalidInputError('refusing to change anything without --force when not in a terminal (use --dry-run to see the plan)', { code: 'E_NEEDS_FORCE' });
    }
    process.stderr.write(renderPlan(plan, { verbose: g.verbose, dryRun: false }));
    const answer = await confirm(`${plan.operation === 'restore' ? 'Restore' : 'Roll back'} as planned?`);
    if (answer === 'interrupted') {
      process.stderr.write('Nothing changed.\n');
      return ExitCode.interrupted;
    }
    if (!answer) {
      process.stderr.write('Nothing changed.\n');
      return 0;
    }
  }
  return runWithProgress(g, async (signal, onPlanned) => ({
    plan,
    ...(await applyPlan(project, plan, { ...req, signal }, await onPlanned(plan), opts.replan)),
  }));
}

/**
 * Carries a run out with progress on stderr (a task list on a terminal, plain lines otherwise), then prints
 * its outcome. `run` calls `onPlanned` once the plan names the stories (a `--force` rollback plans under the
 * lock) and gets the signal that a first Ctrl-C aborts; with `stoppable` false (an abort) a first Ctrl-C
 * lets the run finish. Returns the exit code.
 */
export async function runWithProgress(
  g: GlobalOptions,
  run: (signal: AbortSignal, onPlanned: (plan: Plan) => Promise<(e: ExecEvent) => void>) => Promise<{ plan: Plan; outcome: RunOutcome; report: RunReport }>,
  stoppable = true,
): Promise<number> {
  let progress: Progress | null = null;
  const done = await run(runStarting(stoppable), async (plan) => {
    const p = !g.json && process.stderr.isTTY === true ? await terminalProgress(plan.stories.map((s) => s.id)) : plainProgress(plan.operation);
    progress = p;
    return (e) => p.onEvent(e);
  }).catch(async (err: unknown) => {
    await (progress as Progress | null)?.done({ status: 'failed', exitCode: 3, stories: [], startedAt: '', finishedAt: '' });
    throw err;
  });
  await (progress as Progress | null)?.done(done.outcome);
  printOutcome(g, done.plan, done.outcome, done.report);
  return done.outcome.exitCode;
}

/** The outcome of a run on stdout: one JSON document with --json, a few lines for people otherwise. */
export function printOutcome(g: GlobalOptions, plan: Plan, outcome: RunOutcome, report: RunReport): void {
  if (g.json) {
    printJson({
      runId: plan.runId,
      operation: plan.operation,
      status: outcome.status,
      exitCode: outcome.exitCode,
      stories: outcome.stories.map((s) => ({
        id: s.id,
        feature: s.feature,
        status: s.status,
        why: s.why,
        backup: s.backup ? { id: s.backup.id, path: s.backup.path, files: s.backup.files, bytes: s.backup.bytes, verified: s.backup.verified } : null,
        ...(s.error ? { error: s.error } : {}),
      })),
      report: report.files,
      undo: report.undo,
      warnings: report.warnings,
      ...(report.recovery ? { recovery: report.recovery } : {}),
    });
  } else {
    process.stdout.write(outcomeText(plan, outcome, report));
  }
}

/** The outcome of a run in a few lines for people: each story, the report, the undo commands. */
export function outcomeText(plan: Plan, outcome: RunOutcome, report: RunReport): string {
  const how = report.recovery ? `, ${report.recovery.mode === 'resume' ? 'resumed' : 'aborted'} after an interruption` : '';
  const lines = [`Run ${plan.runId} (${plan.operation}${how}): ${outcome.status}`];
  for (const s of outcome.stories) lines.push(`  ${s.id} ${s.feature}: ${s.status}${s.backup ? ` (backup ${s.backup.path}/)` : ''}${s.error ? ` — ${s.error}` : ''}`);
  lines.push(`Report: ${report.files.markdown}`);
  for (const u of report.undo) lines.push(`Undo ${u.story}: ${u.command}`);
  return `${lines.join('\n')}\n`;
}

/** Who started the run: the wrapper scripts and the monitor say so in the environment; anyone else is a person. */
export function triggerFromEnv(): RunRequest['trigger'] {
  const t = process.env.ROLLBACK_TRIGGER;
  return t === 'script' || t === 'monitor' ? t : 'manual';
}
