/**
 * Kill -9 from outside at random instants inside 1.3's backup and removal (3 000 extra small files make
 * them last), then `resume` or `abort`: two of each per step. The seed is printed; CRASH_SEED=n replays a run.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { beforeAll, expect, it } from 'vitest';
import { CLI } from './cli-helpers.js';
import { CRASH_RUN, crashAndRecover, referenceRun, type Reference } from './crash-helpers.js';
import { prngFor } from '../../dev/sandbox/prng.js';

const EXTRA = 3000;
const KILLS = 8;
let ref: Reference;
beforeAll(async () => {
  ref = await referenceRun(EXTRA);
}, 60_000);

/** Resolves once the run's journal shows the intent of 1.3's step `kind`. */
async function stepStarted(root: string, kind: string): Promise<void> {
  const dir = path.join(root, '.rollback-manager/journal');
  for (;;) {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    if (files.some((f) => readFileSync(path.join(dir, f), 'utf8').includes(`"event":"intent","story":"1.3","kind":"${kind}"`))) return;
    await sleep(1);
  }
}

it('a kill at random instants of backup and removal ends consistent after resume or abort', async () => {
  expect(ref.backupMs).toBeGreaterThan(20);
  const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
  console.log(`crash-random: seed ${seed} (CRASH_SEED=${seed} replays it); 1.3's backup takes ${ref.backupMs} ms, its removal ${ref.removeMs} ms`);
  const rand = prngFor(`crash-${seed}`);
  const failures: string[] = [];
  const landings: string[] = [];
  for (let k = 0; k < KILLS; k++) {
    const mode = k % 2 === 0 ? 'resume' : 'abort';
    // Half the kills aim at the backup, half at the removal (both modes at each).
    const step = k % 4 < 2 ? 'backup' : 'remove-paths';
    const delay = rand.int(0, step === 'backup' ? ref.backupMs : ref.removeMs);
    const problems = await crashAndRecover(
      ref,
      mode,
      async (root) => {
        const run = execa(process.execPath, [CLI, '--root', root, ...CRASH_RUN], { reject: false, stdin: 'ignore' });
        await Promise.race([stepStarted(root, step), run]);
        await sleep(delay);
        run.kill('SIGKILL');
        const r = await run;
        return { code: r.signal === 'SIGKILL' ? -1 : (r.exitCode ?? -1), stdout: String(r.stdout), stderr: String(r.stderr) };
      },
      { extraFiles: EXTRA, landed: (last) => landings.push(`${step} +${delay} ms: ${last}`) },
    );
    failures.push(...problems.map((p) => `seed ${seed}, kill ${k} at +${delay} ms into 1.3's ${step}, then ${mode}: ${p}`));
  }
  console.log(`crash-random: killed after ${landings.join('; ')}`);
  expect(failures).toEqual([]);
  // The kills are meant to land inside a step, not between two: most land in the backup or the removal.
  expect(landings.filter((l) => /intent 1\.3 (backup|remove-paths)$/.test(l)).length).toBeGreaterThanOrEqual(KILLS / 2);
}, 300_000);
