/**
 * Kill -9 at every journaled step of a two-story rollback (the tool kills itself right after its n-th
 * journal record is on disk: ROLLBACK_MANAGER_CRASH_AFTER), then `resume` or `abort`. Each must end
 * consistent: every original byte in place or in a verified backup, no temp file, no staging, no lock, no
 * half backup; resume leaves what an uninterrupted run leaves, abort what was there before.
 *
 * The points alternate between resume and abort to keep CI quick; CRASH_BOTH=1 runs both at every point.
 */
import { beforeAll, expect, it } from 'vitest';
import { cli } from './cli-helpers.js';
import { CRASH_RUN, crashAndRecover, referenceRun, type Reference } from './crash-helpers.js';

let ref: Reference;
beforeAll(async () => {
  ref = await referenceRun();
}, 60_000);

it('a kill at every journaled step ends consistent after resume or abort', async () => {
  expect(ref.records).toBeGreaterThan(25); // run-start, intent/done per step of two stories, run-end
  const both = process.env.CRASH_BOTH === '1';
  const failures: string[] = [];
  // The last record is run-end: nothing is left to recover after it.
  for (let n = 1; n < ref.records; n++) {
    const modes = both ? (['resume', 'abort'] as const) : ([n % 2 === 0 ? 'resume' : 'abort'] as const);
    for (const mode of modes) {
      const problems = await crashAndRecover(ref, mode, (root) => cli(root, CRASH_RUN, { ROLLBACK_MANAGER_CRASH_AFTER: String(n) }), {
        checkStatus: n % 7 === 1,
      });
      failures.push(...problems.map((p) => `killed after record ${n}, then ${mode}: ${p}`));
    }
  }
  expect(failures).toEqual([]);
}, 500_000);
