/** The worker hash pipeline must give exactly the digests of plain in-thread hashing. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalHashPipeline, WorkerHashPipeline, type HashPipeline } from '../../../src/backup/hash-pipeline.js';

/**
 * Feed `files` through a pipeline the way the tar writer does: content packed into slots one after
 * another, some of it copied in from other buffers, every stream ended. Returns the digests in order.
 */
async function run(p: HashPipeline, files: Buffer[], placement: 'auto' | 'worker' | 'local'): Promise<string[]> {
  const streams: number[] = [];
  let slot = p.acquire();
  let pos = 0;
  for (const [i, f] of files.entries()) {
    const s = p.open(placement);
    streams.push(s);
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
    p.end(s);
  }
  const digests = await p.finish();
  return streams.map((s) => digests.get(s) as string);
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

  it('local pipeline matches plain hashing', async () => {
    const p = new LocalHashPipeline(64 * 1024);
    expect(await run(p, files, 'auto')).toEqual(expected);
    await p.close();
  });
});
