import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { actionsOf } from '../steps/step.js';
import type { DisableFlagAction } from '../steps/disable-flag.js';
import { planTheRest } from './rollback.js';
import { execOptions } from './apply-plan.js';
import type { Plan } from '../model/types.js';
import { isAtomicWriteTemp } from '../util/atomic-write.js';
import { abortRun, executePlan, type ExecEvent, type RunOutcome } from '../engine/executor.js';
import { acquireLock, liveHolder } from '../engine/lock.js';
import { pickInterruptedRun, readRunState, wasReverting, type RunState, type StepState } from '../engine/run-state.js';
import { stepFor } from '../steps/registry.js';
import type { Project } from '../project/project.js';
import type { RunReport } from '../report/run-report.js';
import { runUnderLock, type RunRequest } from './run-under-lock.js';

/**
 * `resume` / `abort` of an interrupted run, from its journal, under the lock: the run's leftovers (staging
 * folders, temp files of atomic writes) are cleared first, then its steps are finished or undone, and the
 * run gets the report it never wrote.
 */
export async function recoverRun(
  project: Project,
  mode: 'resume' | 'abort',
  runId: string | undefined,
  req: Omit<RunRequest, 'continueOnError'> & {
    /** Go on although a plugin the run loaded changed since (recorded in the report). */
    force?: boolean;
  },
  onEvent?: (e: ExecEvent) => void,
): Promise<{ outcome: RunOutcome; report: RunReport; state: RunState }> {
  const live = liveHolder(project.stateDir);
  const id = pickInterruptedRun(project.stateDir, runId, live?.runId ?? null);
  const lock = acquireLock(project.stateDir, id);
  try {
    // Under the lock: the run is not some other process's live one.
    pickInterruptedRun(project.stateDir, id, null);
    const state = readRunState(project.stateDir, id);
    if (mode === 'resume' && state.recovering === 'abort') {
      throw new InvalidInputError(`run ${id} is being aborted (an abort of it began and was cut short): finish that with \`rollback-manager abort ${id}\``, {
        code: 'E_ABORTING',
      });
    }
    const plan = state.plan;
    const pluginsChanged = changedPlugins(project, plan);
    if (pluginsChanged.length > 0 && req.force !== true) {
      const list = pluginsChanged.map((c) => `${c.file} (${c.now === null ? 'gone' : `sha256 ${c.was.slice(0, 12)}… is now ${c.now.slice(0, 12)}…`})`).join(', ');
      throw new InvalidInputError(
        `${mode} of run ${id} refused: plugin${pluginsChanged.length > 1 ? 's' : ''} the run loaded changed since: ${list}. ` +
          `Its steps would run code the run was not planned with. Put the plugin back as it was, or run \`rollback-manager ${mode} ${id} --force\` to go on with it as it is now (recorded in the report).`,
        { code: 'E_PLUGIN_CHANGED', file: pluginsChanged[0]?.file },
      );
    }
    clearLeftovers(project, plan);
    const runReq: RunRequest = { ...req, continueOnError: state.continueOnError };
    const { outcome, report } = await runUnderLock(
      project,
      plan,
      runReq,
      lock,
      onEvent,
      async (ctx, journal, emit) => {
        const opts = execOptions(runReq, journal, emit);
        // Not stopped by a first signal: an abort is already the way back, and stopping it half-way helps nobody.
        if (mode === 'abort') return abortRun(ctx, plan, state.steps, { continueOnError: false, journal, onEvent: emit });
        if (!plan.upFrontOnly) return executePlan(ctx, plan, { ...opts, resumeFrom: state.steps });
        // Stopped after the kill switch, before the rest was planned: plan it now, as it would have been.
        const { whole, refuse } = await planTheRestFromJournal(project, state);
        const steps = new Map(whole.stories.map((s) => [s.id, s.actions.map((_a, i): StepState => state.steps.get(s.id)?.[i] ?? { status: 'not-started' })]));
        const outcome = await executePlan({ ...ctx, plan: whole }, whole, { ...opts, resumeFrom: steps, planRecord: true, ...(refuse !== undefined ? { refuse } : {}) });
        return { ...outcome, plan: whole };
      },
      { mode, interruptedAfter: state.lastRecord, originalCommand: state.command, ...(pluginsChanged.length > 0 ? { pluginsChanged } : {}) },
    );
    return { outcome, report, state };
  } finally {
    lock.release();
  }
}

/** The plugins the run's plan recorded whose file is not the same now (or is gone). */
function changedPlugins(project: Project, plan: Plan): Array<{ file: string; was: string; now: string | null }> {
  const now = new Map(project.plugins.files.map((f) => [f.file, f.sha256]));
  return (plan.plugins ?? []).filter((p) => now.get(p.file) !== p.sha256).map((p) => ({ file: p.file, was: p.sha256, now: now.get(p.file) ?? null }));
}

/**
 * The whole plan of a rollback whose journal holds only its kill switch's: planned now, against the flags as
 * they were before the switch (the file shows which of its changes were made), with the run's own request.
 */
async function planTheRestFromJournal(project: Project, state: RunState): Promise<{ whole: Plan; refuse?: string }> {
  const first = state.plan;
  if (!state.rollback) return { whole: first, refuse: 'the journal does not say what the run was asked to roll back; every story is put back as it was' };
  const features = new Map([...project.flags.features].map(([name, f]) => [name, { ...f }]));
  for (const story of first.stories) {
    for (const c of actionsOf<DisableFlagAction>(story, 'disable-flag').flatMap((a) => a.changes)) {
      const f = features.get(c.feature);
      if (f && f.enabled === c.to) f.enabled = c.from;
    }
  }
  const req = {
    root: project.root,
    ids: state.rollback.ids,
    cascade: state.rollback.cascade,
    reason: first.reason,
    trigger: first.trigger,
    continueOnError: state.continueOnError,
    command: state.command,
    // The run's --keep-data or --purge-data, from its journaled plan: the rest is planned as it would have been.
    ...(first.data !== undefined ? { data: first.data } : {}),
  };
  return planTheRest(project, first, req, { features });
}

/**
 * What a killed run leaves besides its steps' own work: staging folders (their content is in a backup) and
 * temp files of atomic writes beside the files the plan edits. Only ever run under the lock, so no live run
 * owns them.
 */
function clearLeftovers(project: Project, plan: Plan): void {
  rmSync(path.join(project.stateDir, 'staging'), { recursive: true, force: true });
  // The flags file's folder and the root always; then wherever a step says it writes.
  const dirs = new Set<string>(['', 'config']);
  for (const s of plan.stories) for (const a of s.actions) for (const d of stepFor(a).writesIn?.(a) ?? []) dirs.add(d);
  for (const d of dirs) {
    const abs = path.join(project.root, d);
    let names: string[] = [];
    try {
      names = readdirSync(abs);
    } catch {
      continue;
    }
    for (const n of names) if (isAtomicWriteTemp(n)) rmSync(path.join(abs, n), { force: true });
  }
}

/** One step of an interrupted run, and what `resume` or `abort` would do with it. */
export interface RecoveryStepPreview {
  kind: string;
  description: string;
  state: StepState['status'];
  then: string;
}

/** One story of an interrupted run, step by step. */
export interface RecoveryPreview {
  id: string;
  feature: string;
  steps: RecoveryStepPreview[];
}

/** What `resume` or `abort` will do with each step, from its state in the journal. Changes nothing. */
export function previewRecovery(state: RunState, mode: 'resume' | 'abort'): RecoveryPreview[] {
  return state.plan.stories.map((s) => {
    const states = state.steps.get(s.id) ?? [];
    const undo = mode === 'abort' || wasReverting(states);
    return {
      id: s.id,
      feature: s.feature,
      steps: s.actions.map((a, i) => {
        const st = states[i]?.status ?? 'not-started';
        const then = undo
          ? { 'not-started': 'nothing (never ran)', 'in-progress': 'undo whatever part of it happened', done: 'revert', failed: 'undo whatever part of it happened', reverted: 'nothing (already reverted)', 'revert-failed': 'revert again' }[st]
          : { 'not-started': 'run', 'in-progress': 'finish it', done: 'keep (re-checked where later steps rely on it)', failed: '', reverted: '', 'revert-failed': '' }[st];
        return { kind: a.kind, description: stepFor(a).describe(a), state: st, then };
      }),
    };
  });
}
