import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, interruptedRuns, readJournal } from '../../../src/engine/journal.js';
import { pickInterruptedRun, readRunState } from '../../../src/engine/run-state.js';
import type { Plan } from '../../../src/model/types.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'rbm-journal-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A plan with one story of three steps; only the kinds matter to the journal. */
const plan = {
  version: 1,
  runId: 'r1',
  stories: [{ id: '1.3', feature: 'duckdb_analytics', actions: [{ kind: 'disable-flag' }, { kind: 'backup' }, { kind: 'remove-paths' }] }],
} as unknown as Plan;

describe('journal', () => {
  it('a torn last line (a kill mid-write) is cut before a recovery appends, and nothing after it is lost', () => {
    const j = new Journal(dir, 'r1');
    j.write({ event: 'run-start', detail: { plan } });
    j.write({ event: 'intent', story: '1.3', kind: 'disable-flag', step: 0 });
    j.close();
    appendFileSync(j.file, '{"at":"2026-11-22T00:00:00Z","runId":"r1","event":"do'); // torn
    const again = new Journal(dir, 'r1');
    again.write({ event: 'recovery-start', detail: { mode: 'resume' } });
    again.close();
    const events = readJournal(j.file).map((r) => r.event);
    expect(events).toEqual(['run-start', 'intent', 'recovery-start']);
    expect(readFileSync(j.file, 'utf8')).not.toContain('"event":"do');
  });

  it('folds records into step states: done keeps its result, the step cut short keeps its checkpoints', () => {
    const j = new Journal(dir, 'r1');
    j.write({ event: 'run-start', detail: { plan, request: { continueOnError: true, command: ['rollback', '1.3'] } } });
    j.write({ event: 'intent', story: '1.3', kind: 'disable-flag', step: 0 });
    j.write({ event: 'progress', story: '1.3', kind: 'disable-flag', step: 0, detail: { flagChanges: ['a'] } });
    j.write({ event: 'done', story: '1.3', kind: 'disable-flag', step: 0, detail: { applied: ['a'] } });
    j.write({ event: 'intent', story: '1.3', kind: 'backup', step: 1 });
    j.write({ event: 'progress', story: '1.3', kind: 'backup', step: 1, detail: 'first' });
    j.write({ event: 'recovery-start', detail: { mode: 'resume' } });
    j.write({ event: 'intent', story: '1.3', kind: 'backup', step: 1 });
    j.write({ event: 'progress', story: '1.3', kind: 'backup', step: 1, detail: 'second' });
    j.close();
    expect(interruptedRuns(dir)).toEqual(['r1']);
    const state = readRunState(dir, 'r1');
    expect(state.continueOnError).toBe(true);
    expect(state.command).toEqual(['rollback', '1.3']);
    expect(state.recovering).toBe('resume');
    expect(state.steps.get('1.3')).toEqual([
      { status: 'done', result: { applied: ['a'] } },
      { status: 'in-progress', saved: ['first', 'second'] },
      { status: 'not-started' },
    ]);
    expect(state.lastRecord).toMatch(/^progress 1\.3 backup at /);
  });

  it('once an abort began, a later resume does not turn it back', () => {
    const j = new Journal(dir, 'r1');
    j.write({ event: 'run-start', detail: { plan } });
    j.write({ event: 'recovery-start', detail: { mode: 'abort' } });
    j.write({ event: 'recovery-start', detail: { mode: 'resume' } });
    j.close();
    expect(readRunState(dir, 'r1').recovering).toBe('abort');
  });

  it('names the interrupted run to recover, and refuses when there is none or the choice is not clear', () => {
    expect(() => pickInterruptedRun(dir, undefined, null)).toThrow(/no interrupted run/);
    for (const id of ['r1', 'r2']) {
      const j = new Journal(dir, id);
      j.write({ event: 'run-start', detail: { plan } });
      j.close();
    }
    expect(() => pickInterruptedRun(dir, undefined, null)).toThrow(/several interrupted runs \(r1, r2\)/);
    expect(pickInterruptedRun(dir, 'r2', null)).toBe('r2');
    // The run a live process holds the lock for is running, not interrupted.
    expect(pickInterruptedRun(dir, undefined, 'r1')).toBe('r2');
    expect(() => pickInterruptedRun(dir, 'r9', null)).toThrow(/r9 is not an interrupted run; interrupted: r1, r2/);
  });

  it('a journal without its plan is a clear error naming the file', () => {
    const j = new Journal(dir, 'r1');
    j.write({ event: 'intent', story: '1.3', kind: 'backup', step: 1 });
    j.close();
    expect(() => readRunState(dir, 'r1')).toThrow(/r1\.jsonl: the journal has no plan/);
  });
});
