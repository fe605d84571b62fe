import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import { readLogLines } from '../../../src/monitor/log-reader.js';
import {
  attributionTable,
  DEFAULT_LOG_MATCHES,
  lineClassifier,
  PINO_FIELDS,
  type LogEvent,
} from '../../../src/monitor/pack-events.js';

const SAMPLE = path.join(import.meta.dirname, '../../fixtures/pack-logs/security.sample.jsonl');
const REF = { file: 'logs/security.log', start: 0, end: 1 };
const T = '2026-12-03T02:18:23.014Z';
const pack = lineClassifier('logs/security.log', { kind: 'pack' }, DEFAULT_LOG_MATCHES);
const brief = (es: LogEvent[]) => es.map((e) => `${e.kind}:${e.story ?? '-'}${e.valueMs === undefined ? '' : `:${e.valueMs}`}`);

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true });
});

describe('pack events', () => {
  it("classifies the real ingestion service's lines: /health is no request, 401 a client error, the body-parser 500 unattributed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rm-packev-'));
    dirs.push(dir);
    copyFileSync(SAMPLE, path.join(dir, 'security.log'));
    const read = await readLogLines(path.join(dir, 'security.log'), undefined);
    if (!read.ok) throw new Error(read.error.message);
    expect(read.lines).toHaveLength(9);
    const events = read.lines.flatMap((l) => pack(l.value, l));
    expect(brief(events)).toEqual(['excluded:-', 'request:1.2', 'client-error:-', 'server-error:-', 'request:1.2', 'client-error:-']);
    expect(events[0]?.excluded).toBe('health');
    // The evidence points at the lines' bytes in the file they were read from.
    const err = events[3] as LogEvent;
    expect(err.time).toBe(Date.parse('2026-12-03T02:18:23.027Z'));
    expect(err.source.file).toBe(path.join(dir, 'security.log'));
    expect(err.source.end).toBeGreaterThan(err.source.start);
  });

  it('a failed Python run logged at INFO is a python error; a success or a start line is nothing', () => {
    const line = (status?: string) => ({ timestamp: T, level: 'INFO', event: 'python_execution', script: 's.py', ...(status ? { status } : {}) });
    expect(brief(pack(line('error'), REF))).toEqual(['python-error:-']);
    expect(brief(pack(line('spawn_error'), REF))).toEqual(['python-error:-']);
    expect(pack(line('success'), REF)).toEqual([]);
    expect(pack(line(), REF)).toEqual([]);
  });

  it("analytics_query's execution_time is 1.3's latency; the analytical engine's api_error is 1.3's by its service", () => {
    expect(brief(pack({ timestamp: T, event: 'analytics_query', execution_time: 812, success: true }, REF))).toEqual(['latency:1.3:812']);
    expect(brief(pack({ timestamp: T, event: 'api_error', service: 'analytical-engine', message: 'x' }, REF))).toEqual(['server-error:1.3']);
    expect(brief(pack({ timestamp: T, event: 'api_request', method: 'GET', url: '/api/v1/orchestration/runs' }, REF))).toEqual(['request:1.5']);
    expect(brief(pack({ timestamp: T, event: 'permission_denied', path: '/x' }, REF))).toEqual(['client-error:-']);
    const options = pack({ timestamp: T, event: 'api_request', method: 'OPTIONS', url: '/api/v1/analytics/q' }, REF);
    expect(options.map((e) => [e.kind, e.excluded])).toEqual([['excluded', 'options']]);
    expect(pack({ timestamp: 'not a time', event: 'api_error' }, REF)).toEqual([]);
  });

  it("a story's configured logs replace its defaults; a line two stories claim is nobody's", () => {
    const table = attributionTable({ '1.2': [{ file: 'logs/security.log', match: { url: '^/api/v1/data-sources/connectors' } }] });
    const c = lineClassifier('logs/security.log', { kind: 'pack' }, table);
    const req = (url: string) => ({ timestamp: T, event: 'api_request', method: 'GET', url });
    expect(brief(c(req('/api/v1/data-sources/connectors'), REF))).toEqual(['request:1.2']);
    expect(brief(c(req('/api/v1/data-sources/discover'), REF))).toEqual(['request:-']);
    expect(brief(c(req('/api/v1/analytics/q'), REF))).toEqual(['request:1.3']);
    // A match bound to another file does not apply here.
    const other = lineClassifier('logs/other.log', { kind: 'pack' }, table);
    expect(brief(other(req('/api/v1/data-sources/connectors'), REF))).toEqual(['request:-']);
    const overlap = lineClassifier('logs/security.log', { kind: 'pack' }, attributionTable({ '1.6': [{ match: { url: '^/api/v1/analytics' } }] }));
    expect(brief(overlap(req('/api/v1/analytics/q'), REF))).toEqual(['request:-']);
  });

  it('a generic JSON-lines file: status >= 500 is a server error, 4xx a client error, durations are latencies', () => {
    // `url` goes through the file's field paths (pino's req.url); any other key is a path into the line.
    const table = attributionTable({ '1.7': [{ file: 'logs/app.log', match: { url: '^/reports', 'req.method': '^GET$' } }] });
    const c = lineClassifier('logs/app.log', { kind: 'generic', fields: PINO_FIELDS }, table);
    const line = (statusCode: number, url: string, responseTime?: number) => ({
      time: 1_700_000_000_000,
      req: { method: 'GET', url },
      res: { statusCode },
      ...(responseTime === undefined ? {} : { responseTime }),
    });
    expect(brief(c(line(503, '/reports/1', 40), REF))).toEqual(['request:1.7', 'server-error:1.7', 'latency:1.7:40']);
    expect(brief(c(line(404, '/other'), REF))).toEqual(['request:-', 'client-error:-']);
    expect(brief(c(line(200, '/reports'), REF))).toEqual(['request:1.7']);
    expect(brief(c(line(200, '/health'), REF))).toEqual(['excluded:-']);
  });

  it('a match that is not a regex is bad config, naming the story and field', () => {
    const table = attributionTable({ '1.2': [{ match: { url: '^/api/(' } }] });
    expect(() => lineClassifier('logs/security.log', { kind: 'pack' }, table)).toThrow(InvalidInputError);
    expect(() => lineClassifier('logs/security.log', { kind: 'pack' }, table)).toThrow(/1\.2.*url/);
  });
});
