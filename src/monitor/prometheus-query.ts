/**
 * One instant PromQL query to Prometheus' HTTP API (`GET /api/v1/query?query=…&time=…`), as a source of the
 * monitor. Never rejects: a refused, hung or failing server is a result, because the monitor must report that it
 * cannot see, never die of it nor call it a breach.
 *
 * Three outcomes, kept apart because the decision core treats them apart:
 * - a number: the largest finite value of the answer;
 * - no data: an empty vector, or only NaN or infinite values (`0/0` when a story had no requests);
 * - a source error: refused, timed out, an HTTP error, an answer that is not Prometheus' JSON, or Prometheus'
 *   own `status: "error"` (a bad expression, an evaluation time-out).
 *
 * Built on node's `http`/`https` like the HTTP probe, for the same reason: one deadline covers connect,
 * evaluation and the whole body, and on it the request and its socket are destroyed. `agent: false` gives every
 * query its own connection, closed after the answer, so nothing outlives a round.
 */
import http from 'node:http';
import https from 'node:https';
import { describeRequestError } from './request-error.js';

/** Credentials as read from the environment when the monitor opened. */
export type PrometheusCredentials = { kind: 'bearer'; token: string } | { kind: 'basic'; user: string; password: string };

/** A Prometheus server and how to ask it. */
export interface PrometheusTarget {
  /** Base URL, without a trailing slash: `http://127.0.0.1:9090`. */
  url: string;
  /** The deadline of one query, from connect to the last byte of the answer. */
  timeoutMs: number;
  auth: PrometheusCredentials | null;
}

/**
 * One value of the answer, for the evidence. `value` is a number when finite, else the string Prometheus wrote
 * (`NaN`, `+Inf`), which JSON could not hold as a number. A scalar answer has no `metric`.
 */
export interface SeriesValue {
  metric?: Record<string, string>;
  value: number | string;
}

/** Why a query failed. */
export type QueryFailure = 'refused' | 'timeout' | 'http' | 'prometheus' | 'bad-answer' | 'error';

/** What one query got. Plain JSON. */
export type QueryResult =
  | {
      ok: true;
      /** The largest finite value; null is no data, with `why`. */
      value: number | null;
      why?: string;
      resultType: 'vector' | 'scalar';
      /** The values returned, largest first, at most {@link MAX_KEPT_SERIES}. */
      values: SeriesValue[];
      /** How many series the answer had (more than `values` holds when it was cut). */
      series: number;
      /** Prometheus' warnings, when it gave any. */
      warnings?: string[];
    }
  | {
      ok: false;
      failure: QueryFailure;
      /** What failed, in words; never a credential. */
      error: string;
      /** The HTTP status, when there was an answer. */
      status?: number;
    };

/**
 * Series kept in a result. A query that forgot its `sum()` can match thousands of series, and every decision
 * copies its samples' evidence into the record and the report: the largest values (the one that counted first)
 * are kept, and `series` says how many there were.
 */
export const MAX_KEPT_SERIES = 100;

/** Bytes of an answer read at most: past this it is not a query a threshold can be judged on. */
const BODY_CAP_BYTES = 4 * 1024 * 1024;

/**
 * Sends `query` evaluated at `at` (epoch ms) to `target`; resolves on every outcome (see {@link QueryResult}).
 * The evaluation time-out Prometheus is asked for is the request's own, so a slow query stops on both sides.
 */
export function queryPrometheus(target: PrometheusTarget, query: string, at: number): Promise<QueryResult> {
  const fail = (failure: QueryFailure, error: string, status?: number): QueryResult => ({ ok: false, failure, error, ...(status !== undefined ? { status } : {}) });
  let url: URL;
  try {
    url = new URL(`${target.url.replace(/\/+$/, '')}/api/v1/query`);
  } catch {
    return Promise.resolve(fail('error', `not a URL: ${JSON.stringify(target.url)}`));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.resolve(fail('error', `not an http(s) URL: ${target.url}`));
  if (!(Number.isFinite(target.timeoutMs) && target.timeoutMs > 0)) return Promise.resolve(fail('error', `timeoutMs must be a positive number, got ${target.timeoutMs}`));
  url.searchParams.set('query', query);
  url.searchParams.set('time', (at / 1000).toFixed(3));
  url.searchParams.set('timeout', `${Math.max(1, Math.floor(target.timeoutMs))}ms`);
  const headers: Record<string, string> = { accept: 'application/json', connection: 'close', 'user-agent': 'rollback-manager-monitor' };
  if (target.auth?.kind === 'bearer') headers.authorization = `Bearer ${target.auth.token}`;
  if (target.auth?.kind === 'basic') headers.authorization = `Basic ${Buffer.from(`${target.auth.user}:${target.auth.password}`).toString('base64')}`;

  return new Promise<QueryResult>((resolve) => {
    let settled = false;
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, { method: 'GET', agent: false, headers });
    const finish = (result: QueryResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(fail('timeout', `no answer within ${target.timeoutMs} ms`)), target.timeoutMs);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > BODY_CAP_BYTES) finish(fail('bad-answer', `an answer over ${BODY_CAP_BYTES} bytes`, status));
        else chunks.push(chunk);
      });
      res.on('end', () => finish(readAnswer(status, res.statusMessage ?? '', Buffer.concat(chunks).toString('utf8'), fail)));
      res.on('error', (err) => finish(fail('error', `the answer broke off: ${err.message}`, status)));
    });
    req.on('error', (err) => finish(requestFailure(err, fail)));
    req.end();
  });
}

type Fail = (failure: QueryFailure, error: string, status?: number) => QueryResult;

/** An answer as Prometheus' API documents it: `{ status, data: { resultType, result } }` or `{ status: "error", … }`. */
function readAnswer(status: number, statusMessage: string, body: string, fail: Fail): QueryResult {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  const doc = isRecord(json) ? json : undefined;
  // Prometheus answers a bad query with 400 or 422 and a JSON error: its words say more than the status.
  if (doc?.status === 'error') {
    const kind = typeof doc.errorType === 'string' ? `${doc.errorType}: ` : '';
    return fail('prometheus', `Prometheus: ${kind}${typeof doc.error === 'string' ? doc.error : 'an error without a message'}`, status);
  }
  if (status < 200 || status >= 300) return fail('http', `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ''}${excerpt(body)}`, status);
  if (doc?.status !== 'success' || !isRecord(doc.data)) return fail('bad-answer', `not an answer of Prometheus' query API${excerpt(body)}`, status);
  const warnings = Array.isArray(doc.warnings) ? doc.warnings.filter((w): w is string => typeof w === 'string') : [];
  const withWarnings = warnings.length > 0 ? { warnings } : {};
  const { resultType, result } = doc.data;
  if (resultType === 'scalar') {
    const v = sampleValue(result);
    if (v === undefined) return fail('bad-answer', 'a scalar without a [time, "value"] pair', status);
    return { ok: true, resultType, series: 1, values: [{ value: keep(v) }], ...judgeValues([v]), ...withWarnings };
  }
  if (resultType !== 'vector') {
    const hint = resultType === 'matrix' ? ' (a range vector: wrap it in rate(), avg_over_time() or the like)' : '';
    return fail('bad-answer', `an instant query must give a vector or a scalar, this one gave a ${String(resultType)}${hint}`, status);
  }
  if (!Array.isArray(result)) return fail('bad-answer', 'a vector whose result is not a list', status);
  const series: Array<{ metric: Record<string, string>; v: number }> = [];
  for (const s of result) {
    const v = isRecord(s) ? sampleValue(s.value) : undefined;
    if (!isRecord(s) || v === undefined) return fail('bad-answer', 'a vector with a series that has no [time, "value"] pair', status);
    series.push({ metric: labels(s.metric), v });
  }
  // Finite values first, largest first: the kept values always include the one that counted.
  series.sort((a, b) => {
    const fa = Number.isFinite(a.v);
    const fb = Number.isFinite(b.v);
    return fa !== fb ? (fa ? -1 : 1) : fa ? b.v - a.v : 0;
  });
  return {
    ok: true,
    resultType,
    series: series.length,
    values: series.slice(0, MAX_KEPT_SERIES).map((s) => ({ metric: s.metric, value: keep(s.v) })),
    ...judgeValues(series.map((s) => s.v)),
    ...withWarnings,
  };
}

/**
 * The value a rule is judged on. Several series (one per instance, route or pod of the story): the largest,
 * because a story is bad when any part of it is — an average would let one broken instance hide among healthy
 * ones, as one failed probe among several still counts. A query that wants an aggregate says so in PromQL
 * (`sum`, `avg`). NaN (`0/0`: no requests) and infinities (`x/0`) measure nothing: no data, never a breach.
 */
function judgeValues(values: readonly number[]): { value: number | null; why?: string } {
  if (values.length === 0) return { value: null, why: 'the query matched no series (an empty vector)' };
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { value: null, why: `the query gave no finite value (${[...new Set(values.map(String))].join(', ')})` };
  return { value: Math.max(...finite) };
}

/** `[1700000000.123, "0.25"]` → 0.25; Prometheus writes NaN and the infinities as `NaN`, `+Inf`, `-Inf`. */
function sampleValue(pair: unknown): number | undefined {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[1] !== 'string') return undefined;
  const text = pair[1].trim();
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const n = text === '' ? NaN : Number(text);
  return Number.isNaN(n) ? undefined : n;
}

function keep(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
}

function labels(m: unknown): Record<string, string> {
  if (!isRecord(m)) return {};
  return Object.fromEntries(Object.entries(m).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The start of a body, for an error message: enough to tell a proxy's page from Prometheus. */
function excerpt(body: string): string {
  const t = body.replace(/\s+/g, ' ').trim();
  return t === '' ? '' : `: ${t.length > 200 ? `${t.slice(0, 200)}…` : t}`;
}

/** Refused when any address tried refused. */
function requestFailure(err: Error, fail: Fail): QueryResult {
  const { refused, message } = describeRequestError(err);
  return fail(refused ? 'refused' : 'error', message);
}
