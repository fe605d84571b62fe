/**
 * The Prometheus query client against a real HTTP server of ours that answers as Prometheus' API does (canned
 * answers): a number, no data (empty vector, NaN) and source errors (Prometheus' error JSON, 5xx, refused, hung),
 * and the request it sends (path, query, time, time-out, credentials).
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MAX_KEPT_SERIES, queryPrometheus, type PrometheusTarget, type QueryResult } from '../../../src/monitor/prometheus-query.js';
import { closeServer, trackedServers } from '../../helpers/servers.js';

interface Seen {
  path: string;
  params: URLSearchParams;
  authorization: string | undefined;
}

interface FakePrometheus {
  url: string;
  seen: Seen[];
  /** Settles when each accepted connection is closed. */
  closed: Array<Promise<void>>;
}

const servers = trackedServers<http.Server>();

async function fake(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<FakePrometheus> {
  const f: FakePrometheus = { url: '', seen: [], closed: [] };
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    f.seen.push({ path: u.pathname, params: u.searchParams, authorization: req.headers.authorization });
    handler(req, res);
  });
  server.on('connection', (socket: Socket) => f.closed.push(new Promise<void>((resolve) => socket.on('close', () => resolve()))));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  f.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return f;
}

/** Answers every request with `status` and `body` (JSON unless a string). */
const answer = (status: number, body: unknown) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' }).end(text);
};

const vector = (...series: Array<[Record<string, string>, string]>) => ({
  status: 'success',
  data: { resultType: 'vector', result: series.map(([metric, v]) => ({ metric, value: [1700000000.5, v] })) },
});

const target = (url: string, extra: Partial<PrometheusTarget> = {}): PrometheusTarget => ({ url, timeoutMs: 2000, auth: null, ...extra });
const AT = Date.parse('2026-12-03T10:00:00.250Z');
const QUERY = 'sum(rate(qa_errors_total[5s])) / sum(rate(qa_requests_total[5s]))';

function ok(r: QueryResult): Extract<QueryResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected an answer, got ${r.failure}: ${r.error}`);
  return r;
}
function failed(r: QueryResult): Extract<QueryResult, { ok: false }> {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
  return r;
}

describe('queryPrometheus: values', () => {
  it('sends the instant query at the given time with its time-out, and reads a vector: the largest value, every series kept', async () => {
    const p = await fake(answer(200, vector([{ route: '/a' }, '0.05'], [{ route: '/b' }, '0.25'], [{ route: '/c' }, 'NaN'], [{ route: '/d' }, '0'])));
    const r = ok(await queryPrometheus(target(p.url), QUERY, AT));
    expect(p.seen).toHaveLength(1);
    const [seen] = p.seen;
    expect(seen?.path).toBe('/api/v1/query');
    expect(seen?.params.get('query')).toBe(QUERY);
    expect(seen?.params.get('time')).toBe('1796292000.250');
    expect(seen?.params.get('timeout')).toBe('2000ms');
    expect(seen?.authorization).toBeUndefined();
    expect(r.value).toBe(0.25);
    expect(r.resultType).toBe('vector');
    expect(r.series).toBe(4);
    // Largest first; a NaN series is kept as Prometheus wrote it, last.
    expect(r.values).toEqual([
      { metric: { route: '/b' }, value: 0.25 },
      { metric: { route: '/a' }, value: 0.05 },
      { metric: { route: '/d' }, value: 0 },
      { metric: { route: '/c' }, value: 'NaN' },
    ]);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('reads a scalar', async () => {
    const p = await fake(answer(200, { status: 'success', data: { resultType: 'scalar', result: [1700000000, '312.5'] } }));
    expect(ok(await queryPrometheus(target(p.url), 'scalar(vector(312.5))', AT))).toMatchObject({ value: 312.5, resultType: 'scalar', series: 1, values: [{ value: 312.5 }] });
  });

  it('an empty vector is no data, with why', async () => {
    const p = await fake(answer(200, vector()));
    const r = ok(await queryPrometheus(target(p.url), 'qa_missing_total', AT));
    expect(r).toMatchObject({ value: null, series: 0, values: [] });
    expect(r.why).toMatch(/matched no series/);
  });

  it('NaN (0/0: no requests) or an infinity alone is no data, never a number', async () => {
    for (const v of ['NaN', '+Inf']) {
      const p = await fake(answer(200, vector([{}, v])));
      const r = ok(await queryPrometheus(target(p.url), QUERY, AT));
      expect(r.value).toBeNull();
      expect(r.why).toContain(`no finite value (${v === 'NaN' ? 'NaN' : 'Infinity'})`);
      expect(r.values).toEqual([{ metric: {}, value: v }]);
    }
    const scalar = await fake(answer(200, { status: 'success', data: { resultType: 'scalar', result: [1700000000, 'NaN'] } }));
    expect(ok(await queryPrometheus(target(scalar.url), 'scalar(x)', AT)).value).toBeNull();
  });

  it(`keeps the ${MAX_KEPT_SERIES} largest values of a query that matched more, and says how many there were`, async () => {
    const many = Array.from({ length: 250 }, (_, i): [Record<string, string>, string] => [{ pod: `p${i}` }, String(i / 1000)]);
    const p = await fake(answer(200, vector(...many)));
    const r = ok(await queryPrometheus(target(p.url), 'qa_ratio', AT));
    expect(r.value).toBe(0.249);
    expect(r.series).toBe(250);
    expect(r.values).toHaveLength(MAX_KEPT_SERIES);
    expect(r.values[0]).toEqual({ metric: { pod: 'p249' }, value: 0.249 });
  });

  it("keeps Prometheus' warnings, and a base URL's path prefix", async () => {
    const p = await fake(answer(200, { ...vector([{}, '1']), warnings: ['PromQL info: metric might not be a counter'] }));
    const r = ok(await queryPrometheus(target(`${p.url}/prometheus/`), 'x', AT));
    expect(p.seen[0]?.path).toBe('/prometheus/api/v1/query');
    expect(r.warnings).toEqual(['PromQL info: metric might not be a counter']);
  });
});

describe('queryPrometheus: source errors', () => {
  it("Prometheus' own error answer, with its type and words", async () => {
    const p = await fake(answer(400, { status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:6: parse error: unexpected <EOF>' }));
    const r = failed(await queryPrometheus(target(p.url), 'rate(', AT));
    expect(r).toMatchObject({ failure: 'prometheus', status: 400 });
    expect(r.error).toBe('Prometheus: bad_data: invalid parameter "query": 1:6: parse error: unexpected <EOF>');
    const timeout = await fake(answer(503, { status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' }));
    expect(failed(await queryPrometheus(target(timeout.url), 'x', AT))).toMatchObject({ failure: 'prometheus', status: 503, error: expect.stringContaining('timeout: query timed out') });
  });

  it('an HTTP 500 (a proxy, a crash) with the start of its body', async () => {
    const p = await fake(answer(500, 'upstream exploded'));
    expect(failed(await queryPrometheus(target(p.url), 'x', AT))).toEqual({ ok: false, failure: 'http', status: 500, error: 'HTTP 500 Internal Server Error: upstream exploded' });
  });

  it("an answer that is not Prometheus' JSON, or a range vector, is refused with what it was", async () => {
    const html = await fake(answer(200, '<html>login</html>'));
    expect(failed(await queryPrometheus(target(html.url), 'x', AT))).toMatchObject({ failure: 'bad-answer', error: expect.stringContaining('<html>login</html>') });
    const matrix = await fake(answer(200, { status: 'success', data: { resultType: 'matrix', result: [] } }));
    expect(failed(await queryPrometheus(target(matrix.url), 'x[1m]', AT)).error).toMatch(/gave a matrix \(a range vector: wrap it in rate\(\)/);
    const bad = await fake(answer(200, { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, 'lots'] }] } }));
    expect(failed(await queryPrometheus(target(bad.url), 'x', AT)).failure).toBe('bad-answer');
  });

  it('connection refused', async () => {
    const p = await fake(answer(200, vector()));
    await closeServer(servers.pop() as http.Server);
    const r = failed(await queryPrometheus(target(p.url), 'x', AT));
    expect(r.failure).toBe('refused');
    expect(r.error).toContain('ECONNREFUSED');
  });

  it('a server that never answers, or stops half-way through its answer, times out, and its connection is closed', async () => {
    const hung = await fake(() => undefined);
    expect(failed(await queryPrometheus(target(hung.url, { timeoutMs: 200 }), 'x', AT))).toEqual({ ok: false, failure: 'timeout', error: 'no answer within 200 ms' });
    await Promise.all(hung.closed);
    const trickle = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":');
    });
    expect(failed(await queryPrometheus(target(trickle.url, { timeoutMs: 200 }), 'x', AT)).failure).toBe('timeout');
    await Promise.all(trickle.closed);
  });
});

describe('queryPrometheus: credentials', () => {
  it('sends a bearer token or basic credentials, and never puts them in an error', async () => {
    const p = await fake(answer(200, vector([{}, '1'])));
    await queryPrometheus(target(p.url, { auth: { kind: 'bearer', token: 's3cr3t-token' } }), 'x', AT);
    await queryPrometheus(target(p.url, { auth: { kind: 'basic', user: 'qa', password: 'pa:ss' } }), 'x', AT);
    expect(p.seen.map((s) => s.authorization)).toEqual(['Bearer s3cr3t-token', `Basic ${Buffer.from('qa:pa:ss').toString('base64')}`]);
    const denied = await fake(answer(401, 'Unauthorized'));
    const r = failed(await queryPrometheus(target(denied.url, { auth: { kind: 'bearer', token: 's3cr3t-token' } }), 'x', AT));
    expect(r).toMatchObject({ failure: 'http', status: 401 });
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
  });
});
