/** The worker hash pipeline must give exactly the digests of plain in-thread hashing. */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { E_FILE_CHANGED } from '../../../src/backup/file-changed-error.js';
import { E_SHORT_SOURCE, LocalHashPipeline, startHashPipeline, WorkerHashPipeline, type HashPipeline } from '../../../src/backup/hash-pipeline.js';

/**
 * Feed `files` through a pipeline the way the tar writer does: content packed into slots one after
 * another, some of it copied in from other buffers, every stream ended. Returns the digests in order
 * (as delivered to each stream's callback by the time `finish` resolves).
 */
async function run(p: HashPipeline, files: Buffer[], placement: 'auto' | 'worker' | 'local'): Promise<string[]> {
  const digests: string[] = [];
  let slot = p.acquire();
  let pos = 0;
  for (const [i, f] of files.entries()) {
    const s = p.open(placement);
    if (i % 5 === 4) {
      // Not a slot: the pipeline copies it into one.
      p.update(s, f, 0, f.length);
    } else {
      let off = 0;
      while (off < f.length) {
        if (pos === slot.length) {
          slot = p.acquire();
          pos = 0;
        }
        const n = Math.min(f.length - off, slot.length - pos);
        f.copy(slot, pos, off, off + n);
        p.update(s, slot, pos, n);
        pos += n;
        off += n;
      }
    }
    p.end(s, (hex) => {
      digests[i] = hex;
    });
  }
  await p.finish();
  return digests;
}

describe('hash pipeline', () => {
  const files = [
    Buffer.alloc(0),
    randomBytes(1),
    randomBytes(70_000),
    randomBytes(64 * 1024),
    randomBytes(300_000), // spans several 64 KiB slots
    ...Array.from({ length: 300 }, (_, i) => randomBytes(i * 37)),
  ];
  const expected = files.map((f) => createHash('sha256').update(f).digest('hex'));

  it.each(['auto', 'worker', 'local'] as const)('worker pipeline matches plain hashing (%s)', async (placement) => {
    // Small slots and only 8 of them: the main thread keeps waiting for the worker to free slots.
    const p = await WorkerHashPipeline.start(64 * 1024, 8);
    try {
      expect(await run(p, files, placement)).toEqual(expected);
      // Usable again after finish().
      expect(await run(p, files.slice(0, 20), placement)).toEqual(expected.slice(0, 20));
    } finally {
      await p.close();
    }
  });

  it('delivers every digest with more files than the ring holds records', async () => {
    // 20 000 one-byte files: 40 000 records, more than the ring's 16 384, so digests are taken from the
    // shared area while the ring wraps (and none is left behind in the worker).
    const many = Array.from({ length: 20_000 }, (_, i) => Buffer.from([i & 0xff, i >> 8]));
    const p = await WorkerHashPipeline.start(64 * 1024, 8);
    try {
      expect(await run(p, many, 'worker')).toEqual(many.map((f) => createHash('sha256').update(f).digest('hex')));
    } finally {
      await p.close();
    }
  });

  it('writes slot bytes to files in order, and runs whenDone callbacks after the writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbm-pipe-'));
    const p = await WorkerHashPipeline.start(64 * 1024, 8);
    try {
      const contents = [randomBytes(300_000), randomBytes(10), randomBytes(200_000)];
      const fds = contents.map((_, i) => openSync(join(dir, `f${i}`), 'w'));
      const closed: number[] = [];
      // Interleaved: a piece of each file in turn, every piece from a fresh slot.
      const offs = contents.map(() => 0);
      while (offs.some((o, i) => o < (contents[i] as Buffer).length)) {
        contents.forEach((c, i) => {
          const o = offs[i] as number;
          if (o >= c.length) return;
          const slot = p.acquire();
          const n = Math.min(40_000, c.length - o);
          c.copy(slot, 0, o, o + n);
          p.write(fds[i] as number, slot, 0, n);
          offs[i] = o + n;
          if (offs[i] === c.length) {
            const fd = fds[i] as number;
            p.whenDone(() => {
              closeSync(fd);
              closed.push(i);
            });
          }
        });
      }
      await p.finish();
      expect(closed.sort()).toEqual([0, 1, 2]);
      contents.forEach((c, i) => expect(readFileSync(join(dir, `f${i}`)).equals(c)).toBe(true));
    } finally {
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a failed write with its errno code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbm-pipe-'));
    const p = await WorkerHashPipeline.start(64 * 1024, 8);
    const fd = openSync(join(dir, 'ro'), 'w+');
    closeSync(fd);
    const ro = openSync(join(dir, 'ro'), 'r'); // writing to it fails with EBADF
    try {
      const slot = p.acquire();
      p.write(ro, slot, 0, 100);
      expect(() => p.settle()).toThrow(expect.objectContaining({ code: 'EBADF' }));
    } finally {
      closeSync(ro);
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe.each([
    ['worker', () => WorkerHashPipeline.start(64 * 1024, 8)],
    ['local', async () => new LocalHashPipeline(64 * 1024)],
  ] as const)('copy and copyIn (%s pipeline)', (_kind, start) => {
    let dir: string;
    let p: HashPipeline;
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'rbm-pipe-'));
      p = await start();
    });
    afterEach(async () => {
      await p.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('copies ranges of a source file, beyond 4 GiB too, and reads the copies back', async () => {
      // A sparse 5 GiB source: offsets past 2^31 and 2^32 must survive the hand-over to the worker.
      const src = openSync(join(dir, 'src'), 'w+');
      const far = 4 * 1024 ** 3 + 12345;
      const pieces = [randomBytes(300_000), randomBytes(70_000)];
      writeSync(src, pieces[0] as Buffer, 0, 300_000, 1000);
      writeSync(src, pieces[1] as Buffer, 0, 70_000, far);
      ftruncateSync(src, 5 * 1024 ** 3);
      const outs = [openSync(join(dir, 'a'), 'w+'), openSync(join(dir, 'b'), 'w+')];
      const digests: string[] = [];
      try {
        p.copy(outs[0] as number, src, 1000, 300_000);
        p.copy(outs[1] as number, src, far, 70_000);
        outs.forEach((fd, i) => p.hashFile(fd, (hex) => (digests[i] = hex)));
        await p.finish();
        expect(readFileSync(join(dir, 'a')).equals(pieces[0] as Buffer)).toBe(true);
        expect(readFileSync(join(dir, 'b')).equals(pieces[1] as Buffer)).toBe(true);
        expect(digests).toEqual(pieces.map((b) => createHash('sha256').update(b).digest('hex')));
      } finally {
        closeSync(src);
      }
    });

    it('sets the file times after reading it back, and leaves it open when asked', async () => {
      const content = randomBytes(200_000);
      const fd = openSync(join(dir, 'f'), 'w+');
      let digest = '';
      try {
        writeSync(fd, content);
        p.hashFile(fd, (hex) => (digest = hex), true, { atime: 1_700_000_000, mtime: 1_600_000_000.5 });
        await p.finish();
        expect(digest).toBe(createHash('sha256').update(content).digest('hex'));
        const st = fstatSync(fd); // still open: fstat would throw EBADF otherwise
        expect(st.mtimeMs).toBe(1_600_000_000_500);
        expect(st.atimeMs).toBe(1_700_000_000_000);
      } finally {
        closeSync(fd);
      }
    });

    it('fails with E_SHORT_SOURCE when the source ends before the range', async () => {
      const src = openSync(join(dir, 'src'), 'w+');
      writeSync(src, randomBytes(1000));
      const out = openSync(join(dir, 'out'), 'w+');
      try {
        const copied = (async () => {
          p.copy(out, src, 500, 1000);
          p.settle();
        })();
        await expect(copied).rejects.toMatchObject({ code: E_SHORT_SOURCE });
      } finally {
        closeSync(src);
        closeSync(out);
      }
    });

    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    /** A source file holding `content`, open for reading from its start. */
    function source(name: string, content: Buffer): number {
      const path = join(dir, name);
      writeFileSync(path, content);
      return openSync(path, 'r');
    }

    it('copies whole files to positions of another, beyond 4 GiB too, closes them and reads the ranges back', async () => {
      const contents = [randomBytes(300_000), randomBytes(70_000)];
      const out = openSync(join(dir, 'archive'), 'w');
      const back = openSync(join(dir, 'archive'), 'r');
      const srcs = contents.map((c, i) => source(`s${i}`, c));
      const far = 4 * 1024 ** 3 + 12345; // positions past 2^31 and 2^32 must survive the hand-over
      const got: Array<[string, string]> = [];
      try {
        p.copyIn(out, back, srcs[0] as number, 1000, 300_000, 's0', (a, b) => (got[0] = [a, b]));
        p.copyIn(out, back, srcs[1] as number, far, 70_000, 's1', (a, b) => (got[1] = [a, b]));
        await p.finish();
        expect(got).toEqual(contents.map((c) => [sha(c), sha(c)]));
        const fd = openSync(join(dir, 'archive'), 'r');
        const at = (position: number, length: number): Buffer => {
          const piece = Buffer.alloc(length);
          readSync(fd, piece, 0, length, position);
          return piece;
        };
        expect(at(1000, 300_000).equals(contents[0] as Buffer)).toBe(true);
        expect(at(far, 70_000).equals(contents[1] as Buffer)).toBe(true);
        closeSync(fd);
        for (const src of srcs) expect(() => fstatSync(src)).toThrow(/EBADF/); // closed by the copy
      } finally {
        closeSync(out);
        closeSync(back);
      }
    });

    it.each([
      ['shrank', 999],
      ['grew', 1001],
    ] as const)('fails naming the file when the source %s since its size was taken', async (how, have) => {
      const src = source('big.db', randomBytes(have));
      const out = openSync(join(dir, 'archive'), 'w');
      const back = openSync(join(dir, 'archive'), 'r');
      try {
        const copied = (async () => {
          p.copyIn(out, back, src, 0, 1000, 'data/big.db', () => undefined);
          await p.finish();
        })();
        await expect(copied).rejects.toMatchObject({ code: E_FILE_CHANGED, message: `data/big.db ${how} while it was being backed up` });
        expect(() => fstatSync(src)).toThrow(/EBADF/);
      } finally {
        closeSync(out);
        closeSync(back);
      }
    });
  });

  it('starts its worker from the sources under vitest, not the in-thread fallback', async () => {
    const p = await startHashPipeline(true, 64 * 1024);
    try {
      expect(p).toBeInstanceOf(WorkerHashPipeline);
    } finally {
      await p.close();
    }
  });

  it('starts from dist/ in a process run with --input-type=module (Node refuses that flag for a worker file)', async () => {
    // The built module, whose worker is the hash-worker.mjs tsc emitted beside it: the parent must be
    // plain node, as a user's would be. start() rejects instead of falling back.
    const mod = pathToFileURL(resolve('dist/backup/hash-pipeline.js')).href;
    const script = [
      `import { WorkerHashPipeline } from ${JSON.stringify(mod)};`,
      'const p = await WorkerHashPipeline.start(65536, 2);',
      "const b = p.acquire(); b.write('abc'); const s = p.open('worker'); p.update(s, b, 0, 3);",
      'p.end(s, (hex) => console.log(hex)); await p.finish(); await p.close();',
    ].join('\n');
    const { stdout, stderr } = await execa(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000, env: { NODE_DEBUG: 'hash-pipeline' } });
    expect(stdout.trim()).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(stderr).toContain(`worker ready: ${pathToFileURL(resolve('dist/backup/hash-worker.mjs')).href}`);
  });

  it('local pipeline matches plain hashing', async () => {
    const p = new LocalHashPipeline(64 * 1024);
    expect(await run(p, files, 'auto')).toEqual(expected);
    await p.close();
  });
});
