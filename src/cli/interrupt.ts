/**
 * SIGINT and SIGTERM belong to the CLI, so that no library decides how the tool stops (listr2 would exit
 * 127 by itself). Before a run has begun nothing needs protecting, and a signal exits at once with 130.
 * Once a run is under way the first signal aborts {@link runSignal}: the engine finishes the step in
 * progress, reverts the story it belongs to, leaves the stories it has not reached as they were, writes
 * the report, and the CLI exits 130. A second signal exits at once, leaving the journal for `resume` or
 * `abort`. The handlers themselves are installed by the CLI entry, the only place that exits.
 */
const controller = new AbortController();

/** What a signal does now: exit (no run yet), stop the run after its step, or nothing but say so (abort). */
export type SignalMode = 'exit' | 'stop-after-step' | 'finish';

let mode: SignalMode = 'exit';

let sink: ((message: string) => void) | null = null;

/**
 * Where the tool's word on a signal goes while a run shows progress: a terminal renderer holds back what
 * is written to stderr until it ends, and the person who pressed Ctrl-C must see at once that it was heard.
 */
export function setNoticeSink(to: ((message: string) => void) | null): void {
  sink = to;
}

/** Says `message` to the person now: through the progress display when one is up, else on stderr. */
export function notice(message: string): void {
  if (sink) sink(message);
  else process.stderr.write(`\nrollback-manager: ${message}\n`);
}

/** Aborted by the first SIGINT/SIGTERM during a run; its reason is the signal's name. */
export const runSignal: AbortSignal = controller.signal;

/**
 * From here on a signal no longer exits at once. `stoppable`: the first one stops the run at its next
 * step boundary; otherwise (an abort, which is already the way back) the run finishes, and only a second
 * signal stops it.
 */
export function runStarting(stoppable = true): AbortSignal {
  mode = stoppable ? 'stop-after-step' : 'finish';
  return runSignal;
}

/**
 * What the entry does on a signal: `exit` with 130 after printing `message`, or keep going after it.
 * The first signal of a run aborts {@link runSignal} (when the run can stop after a step).
 */
export function onSignal(name: NodeJS.Signals): { exit: boolean; message: string } {
  if (mode === 'exit') return { exit: true, message: '' };
  if (controller.signal.aborted) {
    return {
      exit: true,
      message: `${name} again: stopping now. The journal keeps the run: \`rollback-manager resume\` finishes it, \`rollback-manager abort\` undoes it.`,
    };
  }
  controller.abort(name);
  const again = `${name === 'SIGINT' ? 'Ctrl-C' : name} again stops at once.`;
  return mode === 'finish'
    ? { exit: false, message: `${name}: the abort is putting things back and finishes first. ${again}` }
    : { exit: false, message: `${name}: stopping after the current step; the story in progress is put back as it was. ${again}` };
}
