/**
 * Taking over a dead run's lock (#12 point 5): processes that all find the holder dead must not each
 * delete the others' fresh lock and all proceed. Real processes, started together at a barrier, each
 * calling the built acquireLock.
 */
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const LOCK_MODULE = pathToFileURL(path.resolve(import.meta.dirname, '../../../dist/engine/lock.js')).href;

/**
 * Says it is ready, waits at the barrier, takes the lock and holds it until told to release: exit 0 when it
 * took the lock, 3 when refused (LockedError), 1 otherwise.
 */
const CONTENDER = `
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const { acquireLock } = await import(process.argv[2]);
const [stateDir, dir, id] = process.argv.slice(3);
const nap = new Int32Array(new SharedArrayBuffer(4));
writeFileSync(join(dir, 'ready-' + id), '');
while (!existsSync(join(dir, 'go'))) Atomics.wait(nap, 0, 0, 1);
let lock;
try {
  lock = acquireLock(stateDir, 'run-' + id);
} catch (err) {
  process.exit(err && err.exitCode === 3 ? 3 : 1);
}
writeFileSync(join(dir, 'won-' + id), '');
while (!existsSync(join(dir, 'release'))) Atomics.wait(nap, 0, 0, 5);
lock.release();
process.exit(0);
`;

/** Resolves once `done()` holds, checking every few milliseconds. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
}

let dir: string | null = null;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe('the lock of a dead run', () => {
  it('is taken over by exactly one of eight processes racing for it; the other seven exit 3', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rm-lock-race-'));
    const stateDir = path.join(dir, '.rollback-manager');
    mkdirSync(stateDir);
    const deadRun = execa(process.execPath, ['-e', '']);
    const deadPid = deadRun.pid as number;
    await deadRun;
    writeFileSync(path.join(stateDir, 'lock'), JSON.stringify({ pid: deadPid, host: hostname(), runId: 'dead-run', startedAt: new Date(0).toISOString() }));
    const script = path.join(dir, 'contender.mjs');
    writeFileSync(script, CONTENDER);
    const d = dir;
    let exited = 0;
    const contenders = Array.from({ length: 8 }, (_, i) =>
      execa(process.execPath, [script, LOCK_MODULE, stateDir, d, String(i)], { reject: false }).finally(() => {
        exited += 1;
      }),
    );
    const count = (prefix: string): number => readdirSync(d).filter((n) => n.startsWith(prefix)).length;
    // Every contender at the barrier, then all at once; a winner holds the lock until all have decided.
    await until(() => count('ready-') === 8);
    writeFileSync(path.join(d, 'go'), '');
    await until(() => exited + count('won-') >= 8);
    writeFileSync(path.join(d, 'release'), '');
    const codes = (await Promise.all(contenders)).map((r) => r.exitCode);
    expect(codes.filter((c) => c === 0)).toHaveLength(1);
    expect(codes.filter((c) => c === 3)).toHaveLength(7);
  });
});
