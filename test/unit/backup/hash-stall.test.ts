/**
 * The hash worker's stall watch, with sources and sinks that really are slow: named pipes fed or drained
 * by a child process (throttled-fifo.ts). A large file copied into a backup (copyIn) or out of one in a
 * restore (copy) is one record for the worker however long it takes, so the watch must go by the bytes
 * moved: a slow copy that keeps moving is waited for past the limit, one that stops moving fails with
 * E_IO_STALLED and its worker is stopped. The limit is lowered to keep the tests short.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { E_IO_STALLED, WorkerHashPipeline } from '../../../src/backup/hash-pipeline.js';
import { ExitCode, StepFailedError } from '../../../src/model/errors.js';
import { drain, feed, fedBytes, openFifo, sha256 } from './throttled-fifo.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** This process's threads: a running worker is one of them, until it has really stopped. */
const threads = (): number => readdirSync('/proc/self/task').length;

/** Whether descriptor `fd` of this process is (still) `path` open. */
function holds(fd: number, path: string): boolean {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`) === path;
  } catch {
    return false;
  }
}

/** Wait for `done`; the test's own timeout bounds it. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}

/** Run `f`, which must throw; return what it threw. */
function thrownBy(f: () => void): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('hash worker stall watch, with throttled pipes', () => {
  let dir: string;
  let fifo: string;
  const children: ResultPromise[] = [];
  beforeEach(async () => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'rbm-stall-'))); // as /proc shows it
    fifo = join(dir, 'fifo');
    await execa('mkfifo', [fifo]);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await c;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies into a backup a source slower in all than the limit, as long as its bytes keep coming', async () => {
    // 100 pieces of 16 KiB, one every 25 ms: at least 2.5 s for the one record, never a second without a byte.
    const feeder = feed(fifo, { piece: 16 * KiB, pieces: 100, everyMs: 25 });
    children.push(feeder);
    const src = await openFifo(fifo, 'r');
    const archive = join(dir, 'archive');
    const out = openSync(archive, 'w');
    const back = openSync(archive, 'r');
    const p = await WorkerHashPipeline.start(64 * KiB, 8, { stallMs: 1000 });
    try {
      let got: string[] = [];
      p.copyIn(out, back, src, 512, 100 * 16 * KiB, 'data/big.db', (source, readBack) => (got = [source, readBack]));
      await p.finish();
      const expected = fedBytes(16 * KiB, 100);
      expect(got).toEqual([sha256(expected), sha256(expected)]);
      expect(readFileSync(archive).subarray(512).equals(expected)).toBe(true);
      expect((await feeder).failed).toBe(false);
    } finally {
      await p.close();
      closeSync(out);
      closeSync(back);
    }
  });

  it('fails with E_IO_STALLED when the source stops delivering, and its worker stops', async () => {
    const feeder = feed(fifo, { piece: 16 * KiB, pieces: 4, everyMs: 25, hold: true });
    children.push(feeder);
    const src = await openFifo(fifo, 'r');
    const archive = join(dir, 'archive');
    const out = openSync(archive, 'w');
    const back = openSync(archive, 'r');
    const before = threads();
    const p = await WorkerHashPipeline.start(64 * KiB, 8, { stallMs: 500 });
    try {
      p.copyIn(out, back, src, 0, 64 * MiB, 'data/big.db', () => undefined);
      const err = thrownBy(() => p.settle());
      expect(err).toBeInstanceOf(StepFailedError);
      expect(err).toMatchObject({ code: E_IO_STALLED, exitCode: ExitCode.failedReverted });
      // The pipeline is done for: a later wait fails at once, with the same error.
      expect(thrownBy(() => p.settle())).toBe(err);
      // Does not wait for the worker, still stuck in its read of the silent pipe (the test would time out).
      await p.close();
      expect(holds(src, fifo)).toBe(true);
      feeder.kill('SIGKILL');
      // Its read returns at the end of the pipe; it runs no further, and the pipeline closes the source.
      await until(() => threads() === before && !holds(src, fifo));
    } finally {
      feeder.kill('SIGKILL');
      await p.close();
      closeSync(out);
      closeSync(back);
    }
  });

  it('copies out of a backup into a sink slower in all than the limit, as long as it keeps taking bytes', async () => {
    const content = randomBytes(12 * MiB);
    writeFileSync(join(dir, 'archive'), content);
    const src = openSync(join(dir, 'archive'), 'r');
    // 64 KiB every 20 ms: at least 3.8 s for the one record; each MiB the worker writes at once is taken in about 0.3 s.
    const drainer = drain(fifo, { piece: 64 * KiB, everyMs: 20 });
    children.push(drainer);
    const sink = await openFifo(fifo, 'w');
    const p = await WorkerHashPipeline.start(64 * KiB, 8, { stallMs: 2000 });
    try {
      p.copy(sink, src, 0, content.length);
      await p.finish();
    } finally {
      await p.close();
      closeSync(sink);
      closeSync(src);
    }
    const drained = await drainer;
    expect(drained.failed).toBe(false);
    expect(JSON.parse(String(drained.stdout))).toEqual({ bytes: content.length, sha256: sha256(content) });
  });

  it('fails with E_IO_STALLED when the sink stops taking bytes, and its worker stops', async () => {
    writeFileSync(join(dir, 'archive'), randomBytes(8 * MiB));
    const src = openSync(join(dir, 'archive'), 'r');
    const drainer = drain(fifo, { piece: 64 * KiB, everyMs: 20, stopAfter: 256 * KiB });
    children.push(drainer);
    const sink = await openFifo(fifo, 'w');
    const before = threads();
    const p = await WorkerHashPipeline.start(64 * KiB, 8, { stallMs: 500 });
    try {
      p.copy(sink, src, 0, 8 * MiB);
      const err = thrownBy(() => p.settle());
      expect(err).toBeInstanceOf(StepFailedError);
      expect(err).toMatchObject({ code: E_IO_STALLED, exitCode: ExitCode.failedReverted });
      await p.close();
      drainer.kill('SIGKILL');
      // Its write fails (no reader any more) and returns; it runs no further.
      await until(() => threads() === before);
    } finally {
      drainer.kill('SIGKILL');
      await p.close();
      closeSync(sink);
      closeSync(src);
    }
  });
});
