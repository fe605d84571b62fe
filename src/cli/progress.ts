import type { ExecEvent, RunOutcome } from '../engine/executor.js';
import { setNoticeSink } from './interrupt.js';

/** Renders executor events; `done` resolves when rendering has finished. */
export interface Progress {
  onEvent(e: ExecEvent): void;
  /** Settles the rows no event reached, with the story's final status. */
  done(outcome: RunOutcome): Promise<void>;
}

/** Plain progress lines on stderr: for logs, pipes and CI (stdout stays free for --json). */
export function plainProgress(operation: 'rollback' | 'restore'): Progress {
  const w = (s: string): void => {
    process.stderr.write(`${s}\n`);
  };
  return {
    onEvent(e) {
      if (e.type === 'story-start') w(`[${e.story.id}] ${operation === 'restore' ? 'restoring' : 'rolling back'} ${e.story.feature}`);
      else if (e.type === 'step-end') w(`[${e.story.id}]   ${e.record.status === 'done' ? 'ok  ' : 'FAIL'} ${e.record.description}${e.record.error ? ` — ${e.record.error}` : ''} (${e.record.note ? `${e.record.note}, ` : ''}${e.record.durationMs} ms)`);
      else if (e.type === 'revert-start') w(`[${e.story.id}]   reverting finished steps: ${e.error}`);
      else if (e.type === 'story-end') w(`[${e.story.id}] ${e.outcome.status}`);
    },
    async done() {},
  };
}

/**
 * A listr2 task list on a terminal: one task per story, its title following the current step. listr2 is
 * only a renderer here: the engine owns execution and rollback, so behaviour is the same without a TTY.
 */
export async function terminalProgress(storyIds: string[]): Promise<Progress> {
  const { Listr } = await import('listr2');
  interface Row {
    settle: (error?: string) => void;
    task: { title: string; output: string; skip(message?: string): void };
    settled: boolean;
  }
  const rows = new Map<string, Row>();
  // listr2 starts a task's function a little after run(); events that arrive before it wait here.
  const pending = new Map<string, ExecEvent[]>();
  const apply = (row: Row, e: ExecEvent): void => {
    if (e.type === 'story-start') row.task.title = `story ${e.story.id} ${e.story.feature}`;
    else if (e.type === 'step-start') row.task.output = e.description;
    else if (e.type === 'revert-start') row.task.output = `reverting: ${e.error}`;
    else if (e.type === 'story-end') {
      row.task.title = `story ${e.story.id} ${e.story.feature}: ${e.outcome.status}`;
      row.settle(e.outcome.status === 'rolled-back' || e.outcome.status === 'restored' ? undefined : e.outcome.error ?? e.outcome.status);
    }
  };
  const list = new Listr(
    storyIds.map((id) => ({
      title: `story ${id}: waiting`,
      task: (_ctx: unknown, task: Row['task']) =>
        new Promise<void>((resolve, reject) => {
          const row: Row = { task, settled: false, settle: (error) => {
            row.settled = true;
            if (error) reject(new Error(error));
            else resolve();
          } };
          rows.set(id, row);
          for (const e of pending.get(id) ?? []) apply(row, e);
          pending.delete(id);
        }),
    })),
    // Concurrent only so every row exists from the start; the engine still runs stories one by one.
    // The CLI owns SIGINT (cli/interrupt.ts): listr2's own listener would exit 127 mid-step.
    { concurrent: true, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: false } },
  );
  const running = list.run().catch(() => undefined);
  // listr2 holds stderr back while it draws: a notice (a signal was heard) goes under the story in progress.
  let current: string | null = null;
  setNoticeSink((message) => {
    const row = current === null ? undefined : rows.get(current);
    if (row && !row.settled) row.task.output = message;
    else for (const r of rows.values()) if (!r.settled) r.task.output = message;
  });
  return {
    onEvent(e) {
      if (e.type === 'story-start') current = e.story.id;
      const row = rows.get(e.story.id);
      if (row) apply(row, e);
      else pending.set(e.story.id, [...(pending.get(e.story.id) ?? []), e]);
    },
    async done(outcome) {
      // Let listr2 start every row before settling the ones no event reached (not installed, skipped).
      while (rows.size < storyIds.length) await new Promise((r) => setTimeout(r, 10));
      for (const [id, row] of rows) {
        if (row.settled) continue;
        const s = outcome.stories.find((x) => x.id === id);
        row.task.title = `story ${id} ${s?.feature ?? ''}: ${s?.status ?? 'not run'}${s?.error ? ` (${s.error})` : ''}`;
        if (s?.status === 'skipped') row.task.skip(row.task.title);
        row.settle();
      }
      await running;
      setNoticeSink(null);
    },
  };
}
