/**
 * One HTTP(S) GET of a story's endpoint, as a source of the monitor: pure I/O, no judgement beyond naming what
 * happened. Never rejects: a refused, hung or broken endpoint is a result, because the monitor must measure a dead
 * service, not die of it.
 *
 * Built on node's `http`/`https` rather than global fetch so that the probe owns its socket: a single deadline
 * covers connect, request and headers (the socket-idle `timeout` option alone would let a server that accepted
 * the connection and never answers, or one that trickles bytes, hold us past `timeoutMs`), and on that deadline
 * the request and its socket are destroyed, not left to a shared keep-alive pool. `agent: false` gives every probe
 * its own connection, closed after the answer, so no handle outlives the call.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { ProbeSpec } from '../model/monitor-types.js';
import { describeRequestError } from './request-error.js';

/**
 * Why a probe failed:
 * - `refused`: nothing listens (ECONNREFUSED);
 * - `timeout`: no status line and headers within `timeoutMs` (a hung, stopped or overloaded server);
 * - `server-error`: answered with a 5xx (the latency is recorded);
 * - `error`: anything else (DNS, reset, TLS, a bad URL, the caller's abort).
 */
export type ProbeFailure = 'refused' | 'timeout' | 'server-error' | 'error';

/** What one probe saw. Plain JSON, so that it can be kept as a sample's evidence. */
export interface ProbeResult {
  /** The probed URL, as the spec gave it. */
  url: string;
  /** When the request was sent, in epoch milliseconds. */
  at: number;
  /** Answered with a status below 500: a 4xx still says the service is up. */
  ok: boolean;
  /** Milliseconds from sending to the response headers; null when there was no answer. */
  latencyMs: number | null;
  /** The HTTP status, when there was an answer. */
  status?: number;
  /** Set exactly when `ok` is false. */
  failure?: ProbeFailure;
  /** What failed, in words (the system error and its code); absent on success. */
  message?: string;
}

/** Options of a probe. */
export interface ProbeOptions {
  /** Stops the probe early (the monitor shutting down): it then resolves with `failure: 'error'`, `aborted`. */
  signal?: AbortSignal;
}

/**
 * Bytes of a body read before the connection is dropped. The body is read and discarded rather than cut at the
 * headers so that a service sending a small answer finishes its write cleanly: a probe that resets connections
 * could put errors into the very logs the monitor judges. Past this, the status is all we need.
 */
const BODY_CAP_BYTES = 64 * 1024;

const HEADERS = { accept: '*/*', connection: 'close', 'user-agent': 'rollback-manager-monitor' };

/**
 * Probe one endpoint once: a GET, judged only by its status line. Resolves on every outcome; see {@link ProbeResult}.
 * A spec that cannot be probed (a bad URL, a non-HTTP scheme, a timeout that is not a positive number) resolves
 * with `failure: 'error'` too, so that one bad spec never sinks {@link probeAll}.
 */
export function probe(spec: ProbeSpec, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const at = Date.now();
  const url = spec.url;
  const failed = (failure: ProbeFailure, message: string, latencyMs: number | null = null): ProbeResult => ({
    url,
    at,
    ok: false,
    latencyMs,
    failure,
    message,
  });

  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.resolve(failed('error', `not a URL: ${JSON.stringify(url)}`));
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.resolve(failed('error', `not an http(s) URL: ${url}`));
  }
  if (!(Number.isFinite(spec.timeoutMs) && spec.timeoutMs > 0)) {
    return Promise.resolve(failed('error', `timeoutMs must be a positive number of milliseconds, got ${spec.timeoutMs}`));
  }
  const signal = opts.signal;
  if (signal?.aborted) return Promise.resolve(failed('error', 'aborted before it was sent'));

  return new Promise<ProbeResult>((resolve) => {
    const started = performance.now();
    let settled = false;
    /** The answer once headers are in; the probe then only waits for the body to be drained. */
    let answered: ProbeResult | undefined;

    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(target, { method: 'GET', agent: false, headers: HEADERS });

    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Destroys the socket too. A no-op when the response already ended and the socket closed on its own.
      req.destroy();
      resolve(result);
    };
    // Headers in time decide the result; a body still coming at the deadline is cut off, not held against it.
    const timer = setTimeout(
      () => finish(answered ?? failed('timeout', `no answer within ${spec.timeoutMs} ms`)),
      spec.timeoutMs,
    );
    const onAbort = (): void => finish(answered ?? failed('error', 'aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });

    req.on('response', (res) => {
      const latencyMs = performance.now() - started;
      const status = res.statusCode ?? 0;
      const result: ProbeResult =
        status >= 500
          ? { ...failed('server-error', `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, latencyMs), status }
          : { url, at, ok: true, latencyMs, status };
      answered = result;
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > BODY_CAP_BYTES) finish(result);
      });
      res.on('end', () => finish(result));
      // A body broken off after the headers: the status already answered the question.
      res.on('error', () => finish(result));
      res.on('close', () => finish(result));
    });
    req.on('error', (err) => finish(answered ?? classify(err, failed)));
    req.end();
  });
}

/**
 * Probe every spec at once; the results come in the specs' order. Like {@link probe}, never rejects.
 */
export function probeAll(specs: readonly ProbeSpec[], opts: ProbeOptions = {}): Promise<ProbeResult[]> {
  return Promise.all(specs.map((spec) => probe(spec, opts)));
}

/** Names a request error: refused when any address tried refused. */
function classify(err: Error, failed: (failure: ProbeFailure, message: string) => ProbeResult): ProbeResult {
  const { refused, message } = describeRequestError(err);
  return failed(refused ? 'refused' : 'error', message);
}
