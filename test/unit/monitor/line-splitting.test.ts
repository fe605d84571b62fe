import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogPosition } from '../../../src/monitor/log-position.js';
import { readLogLines, type LogReadOptions } from '../../../src/monitor/log-reader.js';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

function logFile(content: Buffer): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'rm-linesplit-'));
  dirs.push(dir);
  const file = path.join(dir, 'security.log');
  writeFileSync(file, content);
  return file;
}

type Seen = { start: number; end: number; value?: unknown; reason?: string };

/** What a reader must hand out for `bytes`, worked out the plain way: split on newlines, decode, trim, parse. */
function expected(bytes: Buffer, maxLine: number): { lines: Seen[]; skipped: Seen[] } {
  const lines: Seen[] = [];
  const skipped: Seen[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(10); nl !== -1; nl = bytes.indexOf(10, start)) {
    const end = nl + 1;
    if (nl - start > maxLine) skipped.push({ start, end, reason: `line longer than ${maxLine} bytes` });
    else {
      const text = bytes.toString('utf8', start, nl).trim();
      if (text !== '') {
        let value: unknown;
        try {
          value = JSON.parse(text);
          if (typeof value === 'object' && value !== null && !Array.isArray(value)) lines.push({ start, end, value });
          else skipped.push({ start, end, reason: 'not a JSON object' });
        } catch {
          skipped.push({ start, end, reason: 'not JSON' });
        }
      }
    }
    start = end;
  }
  return { lines, skipped };
}

/** Reads to the end; `stops` are the offsets each call ended at. */
async function drain(file: string, opts: LogReadOptions): Promise<{ lines: Seen[]; skipped: Seen[]; stops: number[] }> {
  const lines: Seen[] = [];
  const skipped: Seen[] = [];
  const stops: number[] = [];
  let pos: LogPosition | undefined;
  for (;;) {
    const r = await readLogLines(file, pos, opts);
    if (!r.ok) throw new Error(r.error.message);
    lines.push(...r.lines.map((l) => ({ start: l.start, end: l.end, value: l.value })));
    skipped.push(...r.skipped.map((s) => ({ start: s.start, end: s.end, reason: s.reason })));
    pos = r.position;
    stops.push(pos.offset);
    if (!r.more) return { lines, skipped, stops };
  }
}

/** Lines of every kind a reader must tell apart, ASCII and not, with and without a partial last line. */
function mixedLog(): Buffer {
  const parts = [
    '{"timestamp":"2026-12-03T02:18:23.005Z","event":"api_request","url":"/health"}\n',
    '{"event":"api_error","message":"Ünïcödé — 日本語 😀"}\n',
    '\n',
    '   \t \n',
    '\uFEFF{"bom":true}\n',
    '{"crlf":1}\r\n',
    '  {"spaced":1}  \n',
    '\u00A0{"nbsp":1}\n',
    'not json at all\n',
    '[1,2]\n',
    '42\n',
    `{"long":"${'x'.repeat(300)}"}\n`,
    `{"longé":"${'é'.repeat(200)}"}\n`,
    '{"broken":\n',
    '{"after":"é"}\n',
  ];
  const body = Array.from({ length: 6 }, () => parts.join('')).join('');
  return Buffer.concat([Buffer.from(body), Buffer.from([0xff, 0x7b, 0x7d, 10]), Buffer.from('{"partial":')]);
}

describe('line splitting', () => {
  it('hands out every line once, with its byte offsets, whatever the chunk size and the budget', async () => {
    const bytes = mixedLog();
    const file = logFile(bytes);
    const want = expected(bytes, 256);
    expect(want.lines.length).toBeGreaterThan(30);
    const lineEnds = [...bytes.entries()].filter(([, b]) => b === 10).map(([i]) => i + 1);
    for (const chunkBytes of [1, 3, 7, 64, 333, 4096, 1 << 20]) {
      for (const maxBytes of [1, 50, 500, 1 << 22]) {
        const { stops, ...got } = await drain(file, { chunkBytes, maxBytes, maxLineBytes: 256 });
        expect({ chunkBytes, maxBytes, ...got }).toEqual({ chunkBytes, maxBytes, ...want });
        // A budget smaller than any line: one line a call, never more (and the partial last line never).
        if (maxBytes === 1) expect(stops.slice(0, -1)).toEqual(lineEnds);
      }
    }
  });

  it('an ASCII log read in large chunks gives the same lines as read a few bytes at a time', async () => {
    const line = (n: number) => `${JSON.stringify({ timestamp: new Date(1_796_000_000_000 + n).toISOString(), event: 'api_request', n })}\n`;
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, n) => (n % 97 === 0 ? '\n' : line(n))).join(''));
    const file = logFile(bytes);
    const { stops: _bigStops, ...big } = await drain(file, {});
    const { stops: _smallStops, ...small } = await drain(file, { chunkBytes: 13, maxBytes: 777 });
    expect(big.lines).toEqual(expected(bytes, 1 << 20).lines);
    expect(small).toEqual(big);
    expect(big.skipped).toEqual([]);
  });
});
