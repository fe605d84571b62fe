/** The tar format layer and the streaming parser, on buffers. */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIZE,
  TarFormatError,
  decodeHeader,
  encodePaxRecords,
  headerLength,
  parsePaxRecords,
  writeHeader,
  type TarHeader,
} from '../../../src/backup/tar-format.js';
import { type TarEntry, TarParser } from '../../../src/backup/tar-reader.js';
import { type ArchiveSink } from '../../../src/backup/archive-sink.js';
import { TarWriter } from '../../../src/backup/tar-writer.js';
import { LocalHashPipeline } from '../../../src/backup/hash-pipeline.js';
import { LayoutHash } from '../../../src/backup/layout-hash.js';
import { fixChecksum, layoutSha256 } from './helpers.js';

function header(path: string, over: Partial<TarHeader> = {}): TarHeader {
  return { path, type: 'file', size: 0, mode: 0o640, mtime: 1_700_000_123, uid: 1000, gid: 1000, linkTarget: '', ...over };
}

/** A sink collecting everything in memory. */
class MemorySink implements ArchiveSink {
  chunks: Buffer[] = [];
  write(buf: Buffer, len: number): void {
    this.chunks.push(Buffer.from(buf.subarray(0, len)));
  }
  async close(): Promise<number> {
    return this.bytes().length;
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

async function build(entries: Array<[TarHeader, Buffer?]>, bufferSize = 64 * 1024): Promise<Buffer> {
  const sink = new MemorySink();
  const w = new TarWriter(sink, new LocalHashPipeline(bufferSize));
  for (const [h, c] of entries) await w.addEntry(h, c);
  await w.finish();
  return sink.bytes();
}

function parseInChunks(data: Buffer, sizes: number[]): Array<{ entry: TarEntry; content: Buffer }> {
  const out: Array<{ entry: TarEntry; content: Buffer }> = [];
  let parts: Buffer[] = [];
  const p = new TarParser({
    entry(e) {
      parts = [];
      return (c) => parts.push(Buffer.from(c));
    },
    entryEnd(e) {
      out.push({ entry: e, content: Buffer.concat(parts) });
    },
  });
  let i = 0;
  let k = 0;
  while (i < data.length) {
    const n = sizes[k++ % sizes.length] as number;
    p.push(data.subarray(i, i + n));
    i += n;
  }
  expect(p.end()).toEqual({ ended: true, truncated: false, trailingData: false });
  return out;
}

describe('headers', () => {
  it('round-trips short, prefix-split and pax paths, long link targets and big ids', () => {
    const cases: TarHeader[] = [
      header('a.txt', { size: 12 }),
      header(`${'p'.repeat(120)}/${'n'.repeat(90)}`), // ustar prefix + name
      header(`x/${'n'.repeat(150)}`), // a 150-byte name: pax path
      header('dir', { type: 'dir', mode: 0o755 }),
      header('link', { type: 'symlink', linkTarget: 't'.repeat(300) }),
      header('big-ids', { uid: 4_000_000_000, gid: 3_000_000, mtime: 9_000_000_000 }),
      header('ünïcödé/名前.txt'),
    ];
    for (const h of cases) {
      const buf = Buffer.alloc(8192);
      const n = writeHeader(h, buf, 0);
      expect(n).toBe(headerLength(h));
      expect(n % BLOCK_SIZE).toBe(0);
      const entries = parseInChunks(Buffer.concat([buf.subarray(0, n), Buffer.alloc(h.size + (BLOCK_SIZE - (h.size % BLOCK_SIZE)) % BLOCK_SIZE), Buffer.alloc(1024)]), [n + 4096]);
      expect(entries).toHaveLength(1);
      const got = entries[0]!.entry;
      expect({ path: got.path, type: got.type, size: got.size, mode: got.mode, mtime: got.mtime, uid: got.uid, gid: got.gid, linkTarget: got.linkTarget }).toEqual(h);
    }
  });

  it('uses a plain 512-byte header when ustar holds everything', () => {
    expect(headerLength(header('a'.repeat(100)))).toBe(512);
    expect(headerLength(header(`${'p'.repeat(155)}/${'n'.repeat(100)}`))).toBe(512);
    expect(headerLength(header('a'.repeat(101)))).toBeGreaterThan(512);
  });

  it('refuses a header whose checksum does not match', () => {
    const buf = Buffer.alloc(512);
    writeHeader(header('a.txt'), buf, 0);
    expect(decodeHeader(buf, 0, 0)?.path).toBe('a.txt');
    buf[3] = 0x41;
    expect(() => decodeHeader(buf, 0, 0)).toThrow(TarFormatError);
  });

  it('encodes pax record lengths that include their own digits', () => {
    // Bodies around the 9/10 and 99/100 length boundaries.
    for (let n = 1; n < 120; n++) {
      const value = 'v'.repeat(n);
      const rec = encodePaxRecords([['path', value]]);
      expect(Number(rec.toString().split(' ')[0])).toBe(rec.length);
      expect(parsePaxRecords(rec).get('path')).toBe(value);
    }
    expect(() => parsePaxRecords(Buffer.from('99 path=x\n'))).toThrow();
  });
});

describe('parser', () => {
  it('yields the same entries and content whatever the chunk sizes', async () => {
    const big = randomBytes(200_000);
    const data = await build(
      [
        [header('d', { type: 'dir', mode: 0o755 })],
        [header('d/empty')],
        [header('d/one', { size: 1 }), Buffer.from('1')],
        [header('d/block', { size: 512 }), Buffer.alloc(512, 7)],
        [header('d/big', { size: big.length }), big],
        [header(`d/${'n'.repeat(200)}`, { size: 3 }), Buffer.from('abc')],
        [header('d/l', { type: 'symlink', linkTarget: 'big' })],
      ],
      65536,
    );
    expect(data.length % 10240).toBe(0);
    const whole = parseInChunks(data, [data.length]);
    expect(whole.map((e) => e.entry.path)).toEqual(['d', 'd/empty', 'd/one', 'd/block', 'd/big', `d/${'n'.repeat(200)}`, 'd/l']);
    expect(whole[4]!.content.equals(big)).toBe(true);
    for (const sizes of [[1], [7, 511, 513], [512], [4096, 3]]) {
      const parts = parseInChunks(data, sizes);
      expect(parts.map((e) => [e.entry.path, e.entry.type, e.content.toString('hex')])).toEqual(
        whole.map((e) => [e.entry.path, e.entry.type, e.content.toString('hex')]),
      );
    }
  });

  it("hands every byte but regular files' content to `layout`, in order, whatever the chunk sizes", async () => {
    const big = randomBytes(100_000);
    const data = await build([
      [header('d', { type: 'dir', mode: 0o755 })],
      [header('d/one', { size: 1 }), Buffer.from('1')],
      [header('d/big', { size: big.length }), big],
      [header(`d/${'n'.repeat(200)}`, { size: 3 }), Buffer.from('abc')], // pax record before it
      [header('d/l', { type: 'symlink', linkTarget: 'big' })],
      [header('d/h', { type: 'hardlink', linkTarget: 'd/one', size: 5 }), Buffer.from('hello')], // not a file: its bytes are layout
    ]);
    // What layout must get: the stream with each regular file's content cut out.
    const files = parseInChunks(data, [data.length]).filter((e) => e.entry.type === 'file');
    const expected: Buffer[] = [];
    let at = 0;
    for (const { entry } of files) {
      expected.push(data.subarray(at, entry.dataOffset));
      at = entry.dataOffset + entry.size;
    }
    expected.push(data.subarray(at));
    const want = Buffer.concat(expected);
    expect(want.length).toBe(data.length - 1 - big.length - 3);
    expect(want.includes('hello')).toBe(true);
    expect(createHash('sha256').update(want).digest('hex')).toBe(layoutSha256(data));

    for (const sizes of [[data.length], [1], [7, 511, 513], [4096, 3]]) {
      const got: Buffer[] = [];
      const p = new TarParser({ entry: () => undefined, layout: (buf, off, len) => got.push(Buffer.from(buf.subarray(off, off + len))) });
      for (let i = 0, k = 0; i < data.length; ) {
        const n = sizes[k++ % sizes.length] as number;
        p.push(data.subarray(i, i + n));
        i += n;
      }
      expect(Buffer.concat(got).equals(want)).toBe(true);
    }
  });

  it('LayoutHash hashes pieces of any size as one stream (batched small ones, large ones straight)', () => {
    const data = randomBytes(300_000);
    for (const sizes of [[512], [1, 70_000], [65_535, 65_537, 3], [data.length]]) {
      const h = new LayoutHash();
      for (let i = 0, k = 0; i < data.length; ) {
        const n = Math.min(sizes[k++ % sizes.length] as number, data.length - i);
        h.update(data, i, n);
        i += n;
      }
      expect(h.digest()).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('reports hardlinks, devices and unknown typeflags as such', async () => {
    const data = await build([
      [header('h', { type: 'hardlink', linkTarget: 'x' })],
      [header('c', { type: 'char-device' })],
      [header('f', { type: 'fifo' })],
    ]);
    data[2 * 512 + 156] = 'Z'.charCodeAt(0); // third header: unknown typeflag
    fixChecksum(data, 2 * 512);
    expect(parseInChunks(data, [data.length]).map((e) => [e.entry.path, e.entry.type, e.entry.typeflag])).toEqual([
      ['h', 'hardlink', '1'],
      ['c', 'char-device', '3'],
      ['f', 'unknown', 'Z'],
    ]);
  });

  it('applies pax global headers to later entries', () => {
    const g = encodePaxRecords([['mtime', '1234.5']]);
    const buf = Buffer.alloc(8192);
    let at = writeHeader(header('PaxGlobal', { size: g.length }), buf, 0);
    buf.write('g', 156, 'latin1');
    fixChecksum(buf, 0);
    g.copy(buf, at);
    at += 512;
    at += writeHeader(header('after'), buf, at);
    const entries = parseInChunks(Buffer.concat([buf.subarray(0, at), Buffer.alloc(1024)]), [100]);
    expect(entries.map((e) => [e.entry.path, e.entry.mtime])).toEqual([['after', 1234.5]]);
  });

  it('flags a truncated stream and garbage after the end', async () => {
    const data = await build([[header('a', { size: 1000 }), Buffer.alloc(1000, 1)]]);
    const p = new TarParser({ entry: () => undefined });
    p.push(data.subarray(0, 700));
    expect(p.end()).toMatchObject({ ended: false, truncated: true });
    const q = new TarParser({ entry: () => undefined });
    q.push(Buffer.concat([data, Buffer.from([1])]));
    expect(q.end()).toEqual({ ended: true, truncated: false, trailingData: true });
  });
});
