import { previewRecovery, recoverRun, type RecoveryPreview } from '../../app/recover.js';
import { loadProject } from '../../project/project.js';
import { liveHolder } from '../../engine/lock.js';
import { pickInterruptedRun, readRunState, type RunState } from '../../engine/run-state.js';
import { oneLine } from '../../util/format.js';
import { printJson, type GlobalOptions } from '../global-options.js';
import { runWithProgress, triggerFromEnv } from '../run-plan.js';

/** Options of `resume` and `abort`. */
export interface RecoverFlags {
  dryRun?: boolean;
  /** Go on although a plugin the run loaded changed since. */
  force?: boolean;
}

/**
 * `resume [run-id]` finishes a run a crash or kill cut short; `abort [run-id]` undoes what it had done.
 * Both read the run's journal; `--dry-run` shows, step by step, what each would do, and changes nothing.
 * No confirmation: typing either is the decision, and neither deletes anything not in a verified backup.
 */
export async function recoverCommand(g: GlobalOptions, mode: 'resume' | 'abort', runId: string | undefined, opts: RecoverFlags, argv: string[]): Promise<number> {
  const project = await loadProject(g.root);
  const live = liveHolder(project.stateDir);
  const id = pickInterruptedRun(project.stateDir, runId, live?.runId ?? null);
  const state = readRunState(project.stateDir, id);
  if (opts.dryRun) {
    const steps = previewRecovery(state, mode);
    if (g.json) printJson({ runId: id, mode, dryRun: true, interruptedAfter: state.lastRecord, stories: steps });
    else process.stdout.write(renderPreview(state, mode, steps));
    return 0;
  }
  return runWithProgress(
    g,
    async (signal, onPlanned) => ({
      plan: state.plan,
      ...(await recoverRun(project, mode, id, { command: argv, trigger: triggerFromEnv(), signal, force: opts.force === true }, await onPlanned(state.plan))),
    }),
    mode === 'resume',
  );
}

function renderPreview(state: RunState, mode: 'resume' | 'abort', stories: RecoveryPreview[]): string {
  const out = [
    `Run ${state.runId} (${state.plan.operation}${state.plan.reason ? `, reason: ${oneLine(state.plan.reason)}` : ''}) was interrupted after: ${state.lastRecord}`,
    `${mode === 'resume' ? 'resume would finish it' : 'abort would undo it'} (dry run: nothing changed):`,
  ];
  for (const s of mode === 'abort' ? [...stories].reverse() : stories) {
    out.push(`  ${s.id} ${s.feature}`);
    const steps = mode === 'abort' ? [...s.steps].reverse() : s.steps;
    for (const st of steps) out.push(`    ${st.kind.padEnd(15)} ${st.state.padEnd(12)} → ${st.then}   (${st.description})`);
  }
  return `${out.join('\n')}\n`;
}
