import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLogPosition, type LogPosition } from '../../../src/monitor/log-position.js';
import { readLogLines, type LogReadOptions, type LogReadResult } from '../../../src/monitor/log-reader.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

function logDir(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rm-logread-'));
  dirs.push(dir);
  return { dir, file: path.join(dir, 'security.log') };
}

const line = (n: number) => `${JSON.stringify({ timestamp: new Date(1_796_000_000_000 + n).toISOString(), event: 'api_request', n })}\n`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i)).join('');

/** Reads until the reader says there is no more, through a JSON round trip of the position as the monitor keeps it. */
async function drain(file: string, pos: LogPosition | undefined, opts?: LogReadOptions): Promise<{ ns: number[]; pos: LogPosition; notes: string[]; last: LogReadResult }> {
  const ns: number[] = [];
  const notes: string[] = [];
  let p = pos;
  for (;;) {
    const r = await readLogLines(file, p, opts);
    if (!r.ok) throw new Error(r.error.message);
    ns.push(...r.lines.map((l) => l.value['n'] as number));
    notes.push(...r.notes.map((n) => n.kind));
    p = parseLogPosition(JSON.parse(JSON.stringify(r.position)));
    if (p === undefined) throw new Error('position did not survive JSON');
    if (!r.more) return { ns, pos: p, notes, last: r };
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('log reader', () => {
  it('returns each line once across calls and across a saved position, with its byte offsets', async () => {
    const { file } = logDir();
    writeFileSync(file, lines(0, 5));
    const a = await drain(file, undefined, { chunkBytes: 7 });
    expect(a.ns).toEqual(range(0, 5));
    const r = a.last;
    if (!r.ok) throw new Error('not ok');
    const bytes = readFileSync(file);
    const third = r.lines[2];
    expect(bytes.subarray(third?.start, third?.end).toString()).toBe(line(2));
    appendFileSync(file, lines(5, 300));
    // Small chunks and a small budget: many calls, each resuming from the position the last one returned.
    const b = await drain(file, a.pos, { chunkBytes: 64, maxBytes: 500 });
    expect(b.ns).toEqual(range(5, 300));
    expect((await drain(file, b.pos)).ns).toEqual([]);
  });

  it('a partial last line waits for its newline', async () => {
    const { file } = logDir();
    const whole = line(1);
    writeFileSync(file, line(0) + whole.slice(0, 20));
    const a = await drain(file, undefined);
    expect(a.ns).toEqual([0]);
    expect(a.pos.offset).toBe(Buffer.byteLength(line(0)));
    appendFileSync(file, whole.slice(20));
    expect((await drain(file, a.pos)).ns).toEqual([1]);
  });

  it('a line that is not JSON is skipped and counted with its offsets', async () => {
    const { file } = logDir();
    writeFileSync(file, `${line(0)}not json at all\n[1,2]\n${line(1)}`);
    const r = await readLogLines(file, undefined);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.lines.map((l) => l.value['n'])).toEqual([0, 1]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['not JSON', 'not a JSON object']);
    const first = r.skipped[0];
    expect(readFileSync(file).subarray(first?.start, first?.end).toString()).toBe('not json at all\n');
  });

  it('rotation by rename mid-stream loses nothing and duplicates nothing', async () => {
    const { dir, file } = logDir();
    writeFileSync(file, lines(0, 10));
    const a = await drain(file, undefined);
    appendFileSync(file, lines(10, 15));
    renameSync(file, path.join(dir, 'security.log.2026-12-03T02-18-20.000Z'));
    writeFileSync(file, lines(15, 20));
    const b = await drain(file, a.pos, { chunkBytes: 16 });
    expect(b.ns).toEqual(range(10, 20));
    expect(b.notes).toContain('rotated');
    appendFileSync(file, lines(20, 22));
    expect((await drain(file, b.pos)).ns).toEqual([20, 21]);
  });

  it('two rotations between reads, the older one gzipped: every line once, in order', async () => {
    const { dir, file } = logDir();
    writeFileSync(file, lines(0, 10));
    const a = await drain(file, undefined);
    appendFileSync(file, lines(10, 12));
    const first = path.join(dir, 'security.log.2026-12-03T01:00:00.000Z');
    renameSync(file, first);
    writeFileSync(`${first}.gz`, gzipSync(readFileSync(first)));
    unlinkSync(first); // gzip leaves only the .gz: the inode we saved is gone
    writeFileSync(path.join(dir, 'security.log.2026-12-03T02:00:00.000Z'), lines(12, 15));
    writeFileSync(path.join(dir, 'security.log.bak'), lines(100, 101)); // not a rotation: never read
    writeFileSync(file, lines(15, 17));
    const b = await drain(file, a.pos, { chunkBytes: 16, maxBytes: 100 });
    expect(b.ns).toEqual(range(10, 17));
    expect((await drain(file, b.pos)).ns).toEqual([]);
  });

  it('a gzipped rotation read across calls resumes inside the uncompressed stream', async () => {
    const { dir, file } = logDir();
    writeFileSync(file, lines(0, 3));
    const a = await drain(file, undefined);
    appendFileSync(file, lines(3, 40));
    const gz = path.join(dir, 'security.log.2026-12-03T01:00:00.000Z.gz');
    writeFileSync(gz, gzipSync(readFileSync(file)));
    unlinkSync(file);
    // No new file yet: the rest of the rotated one is read, the position stays on it.
    const r = await readLogLines(file, a.pos, { maxBytes: 200 });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.more).toBe(true);
    expect(r.lines[0]?.file).toBe(gz);
    const done = r.lines.map((l) => l.value['n']);
    const rest = await drain(file, r.position);
    expect([...done, ...rest.ns]).toEqual(range(3, 40));
    writeFileSync(file, lines(40, 42));
    expect((await drain(file, rest.pos)).ns).toEqual([40, 41]);
  });

  it('a cut-short .gz is a source error that keeps the position, and nothing it returned comes twice', async () => {
    const { dir, file } = logDir();
    writeFileSync(file, lines(0, 2));
    const a = await drain(file, undefined);
    appendFileSync(file, lines(2, 200));
    const whole = gzipSync(readFileSync(file));
    const gz = path.join(dir, 'security.log.2026-12-03T01:00:00.000Z.gz');
    writeFileSync(gz, whole.subarray(0, whole.length - 200));
    unlinkSync(file);
    writeFileSync(file, lines(200, 201));
    const bad = await readLogLines(file, a.pos);
    expect(bad).toMatchObject({ ok: false, error: { kind: 'unreadable', file: gz }, lines: [] });
    expect(bad.position).toEqual(a.pos);
    writeFileSync(gz, whole);
    expect((await drain(file, a.pos)).ns).toEqual(range(2, 201));
  });

  it('truncation starts again at 0 and says so', async () => {
    const { file } = logDir();
    writeFileSync(file, lines(0, 10));
    const a = await drain(file, undefined);
    truncateSync(file, 0);
    appendFileSync(file, lines(50, 52));
    const b = await drain(file, a.pos);
    expect(b.ns).toEqual([50, 51]);
    expect(b.notes).toEqual(['truncated']);
  });

  it('a file cut below our offset is read again from 0 even when its first bytes are unchanged', async () => {
    const { file } = logDir();
    writeFileSync(file, lines(0, 10));
    const a = await drain(file, undefined);
    truncateSync(file, Buffer.byteLength(lines(0, 5)));
    const b = await drain(file, a.pos);
    expect(b.ns).toEqual(range(0, 5));
    expect(b.notes).toEqual(['truncated']);
  });

  it('a file that was empty when last read and then renamed is still finished, by its inode', async () => {
    const { dir, file } = logDir();
    writeFileSync(file, '');
    const a = await drain(file, undefined);
    expect(a.pos.head.length).toBe(0);
    appendFileSync(file, lines(0, 3));
    renameSync(file, path.join(dir, 'security.log.2026-12-03T01:00:00.000Z'));
    writeFileSync(file, lines(3, 4));
    expect((await drain(file, a.pos)).ns).toEqual(range(0, 4));
  });

  it('an unreadable or missing file is a source error, not an exception', async () => {
    const { dir, file } = logDir();
    const missing = await readLogLines(file, undefined);
    expect(missing).toMatchObject({ ok: false, error: { kind: 'missing', file } });
    mkdirSync(file); // root reads through chmod 000: a directory is unreadable as a log for everyone
    const r = await readLogLines(file, undefined);
    expect(r).toMatchObject({ ok: false, error: { kind: 'unreadable', code: 'EISDIR', file } });
    expect(path.dirname(file)).toBe(dir);
  });

  it('a line longer than the limit is skipped without being held', async () => {
    const { file } = logDir();
    writeFileSync(file, `${line(0)}${JSON.stringify({ big: 'x'.repeat(5000) })}\n${line(1)}`);
    const r = await readLogLines(file, undefined, { chunkBytes: 256, maxLineBytes: 1000 });
    if (!r.ok) throw new Error(r.error.message);
    expect(r.lines.map((l) => l.value['n'])).toEqual([0, 1]);
    expect(r.skipped).toHaveLength(1);
    expect(r.skipped[0]?.reason).toMatch(/longer than 1000/);
  });
});
