/**
 * Writes a large `logs/security.log` in the pack's format for the ingestion bench: the events the pack's services
 * really log (see test/fixtures/pack-logs/security.sample.jsonl and the pack's monitoring notes), mixed in a fixed
 * proportion, with timestamps that only increase. Deterministic: the same seed and size give the same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** What {@link writePackLog} wrote. */
export interface PackLogStats {
  bytes: number;
  lines: number;
  /** Lines whose event is `api_error`: what `grep -c api_error` must count (no other line holds those letters). */
  apiErrors: number;
  /** Milliseconds of log time from the first line to the last. */
  spanMs: number;
}

/** Small, fast, seeded PRNG (mulberry32): the bench must not depend on Math.random's sequence. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const IPS = ['::ffff:127.0.0.1', '::ffff:10.0.3.17', '::ffff:10.0.3.42', '::ffff:192.168.1.20'];
const AGENTS = ['curl/7.88.1', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36', 'python-requests/2.32.3', 'node-fetch/1.0'];
const STACK =
  'SyntaxError: Expected property name or \'}\' in JSON at position 1\\n    at JSON.parse (<anonymous>)\\n    at parse (<root>/node_modules/body-parser/lib/types/json.js:96:19)\\n' +
  '    at <root>/node_modules/body-parser/lib/read.js:146:18\\n    at AsyncResource.runInAsyncScope (node:async_hooks:206:9)\\n' +
  '    at invokeCallback (<root>/node_modules/raw-body/index.js:238:16)\\n    at done (<root>/node_modules/raw-body/index.js:227:7)\\n' +
  '    at IncomingMessage.onEnd (<root>/node_modules/raw-body/index.js:287:7)\\n    at IncomingMessage.emit (node:events:524:28)\\n' +
  '    at endReadableNT (node:internal/streams/readable:1698:12)\\n    at process.processTicksAndRejections (node:internal/process/task_queues:82:21)';

/** One line (without its newline) for a draw `r` in [0, 1), at time `ts`. */
function packLine(r: number, rnd: () => number, ts: string): { text: string; apiError: boolean } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const id = Math.floor(rnd() * 100_000);
  const head = `{"timestamp":"${ts}","level":`;
  const client = `"ip":"${pick(IPS)}","userAgent":"${pick(AGENTS)}"`;
  if (r < 0.2) return { text: `${head}"INFO","event":"api_request","method":"GET","url":"/api/v1/data-sources/connectors",${client}}`, apiError: false };
  if (r < 0.3) {
    const method = pick(['POST', 'GET', 'DELETE']);
    return { text: `${head}"INFO","event":"api_request","method":"${method}","url":"/api/v1/data-sources/${id}/sync?full=${id % 2 === 0}",${client}}`, apiError: false };
  }
  if (r < 0.42) {
    return { text: `${head}"INFO","event":"api_request","method":"POST","url":"/api/v1/analytics/query","service":"analytical-engine",${client}}`, apiError: false };
  }
  if (r < 0.47) return { text: `${head}"INFO","event":"api_request","method":"GET","url":"/api/v1/orchestration/pipelines/${id}",${client}}`, apiError: false };
  if (r < 0.49) return { text: `${head}"INFO","event":"api_request","method":"GET","url":"/api/v2/unknown/${id}",${client}}`, apiError: false };
  if (r < 0.59) return { text: `${head}"INFO","event":"api_request","method":"GET","url":"/health",${client}}`, apiError: false };
  if (r < 0.64) {
    const reason = pick(['missing_api_key', 'invalid_api_key']);
    return { text: `${head}"WARN","event":"auth_failure","reason":"${reason}","ip":"${pick(IPS)}","path":"/","method":"GET"}`, apiError: false };
  }
  if (r < 0.65) return { text: `${head}"WARN","event":"permission_denied","reason":"role","ip":"${pick(IPS)}","path":"/api/v1/orchestration","method":"POST"}`, apiError: false };
  if (r < 0.665) {
    // The ingestion service's 500: no service, no url; half of them with the body parser's stack.
    const stack = rnd() < 0.5 ? `,"stack":"${STACK}"` : '';
    return { text: `${head}"ERROR","event":"api_error","message":"Internal server error","error":"Expected property name or '}' in JSON at position 1"${stack}}`, apiError: true };
  }
  if (r < 0.675) {
    return { text: `${head}"ERROR","event":"api_error","service":"analytical-engine","message":"Query failed","error":"Catalog Error: Table with name t${id} does not exist!"}`, apiError: true };
  }
  if (r < 0.85) {
    const ms = Math.round(5 + rnd() * rnd() * 2000);
    const ok = rnd() < 0.97;
    return { text: `${head}"INFO","event":"analytics_query","service":"analytical-engine","execution_time":${ms},"success":${ok},"memory_delta":${id * 37},"result_count":${id % 500}}`, apiError: false };
  }
  if (r < 0.93) {
    const script = `bmad-temp-${1_796_264_300_000 + id}.py`;
    const tail = pick([`"args":0,"timeout":10000`, `"status":"success","duration":${id % 900}`, `"status":"error","duration":${id % 900},"exitCode":1`]);
    return { text: `${head}"INFO","event":"python_execution","script":"${script}",${tail}}`, apiError: false };
  }
  if (r < 0.96) return { text: `${head}"INFO","event":"feature_flag_changed","feature":"story_1_${2 + (id % 7)}","action":"enabled","cascade":false}`, apiError: false };
  if (r < 0.97) return { text: `${head}"INFO","event":"service_start","service":"data-ingestion","port":${30_000 + (id % 9000)},"pyairbyte_available":true}`, apiError: false };
  return { text: `${head}"INFO","event":"cache_refresh","service":"analytical-engine","entries":${id},"source":"duckdb"}`, apiError: false };
}

/**
 * Write at least `bytes` of pack-format lines to `file` (whole lines: it ends with a newline). One line every
 * 0–2 ms of log time (about 1 000 a second, a busy pack), from 2026-12-03T00:00:00Z.
 */
export function writePackLog(file: string, bytes: number, seed = 1): PackLogStats {
  const rnd = prng(seed);
  const fd = openSync(file, 'w');
  const start = Date.parse('2026-12-03T00:00:00.000Z');
  let t = start;
  let written = 0;
  let lines = 0;
  let apiErrors = 0;
  try {
    while (written < bytes) {
      const batch: string[] = [];
      let batchBytes = 0;
      while (batchBytes < 4 * 1024 * 1024 && written + batchBytes < bytes) {
        t += Math.floor(rnd() * 3);
        const line = packLine(rnd(), rnd, new Date(t).toISOString());
        batch.push(line.text);
        batchBytes += line.text.length + 1; // ASCII only: characters are bytes
        lines++;
        if (line.apiError) apiErrors++;
      }
      batch.push('');
      written += writeSync(fd, batch.join('\n'));
    }
  } finally {
    closeSync(fd);
  }
  return { bytes: written, lines, apiErrors, spanMs: t - start };
}
