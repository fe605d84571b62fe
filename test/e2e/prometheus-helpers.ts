/**
 * A real Prometheus (the Debian package `prometheus`, which .ci/run installs) scraping a tiny metrics server of
 * ours every second, for the monitor's Prometheus source: the test drives the server's error counter, Prometheus
 * scrapes it, the monitor queries Prometheus.
 */
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { alive } from './cli-helpers.js';
import { waitFor } from './monitor-helpers.js';
import { freePort } from '../helpers/servers.js';
export { freePort } from '../helpers/servers.js';

/**
 * The prometheus binary on PATH. Missing, the test fails saying how to install it: a test that skips itself
 * would let the Prometheus source go untested without anyone noticing.
 */
export function prometheusBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'prometheus');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    'the prometheus binary is not on PATH: these tests run a real Prometheus. Install it with ' +
      '`apt-get install -y --no-install-recommends prometheus` (Debian package; .ci/run does it on CI)',
  );
}


/** A server of two counters in Prometheus' text format, as a service instrumented with a client library has. */
export interface MetricsServer {
  /** `127.0.0.1:<port>`, as a scrape target. */
  target: string;
  /** From now on, this share (0..1) of the requests fail. */
  setErrorShare(share: number): void;
  close(): Promise<void>;
}

/**
 * Serves `qa_requests_total` and `qa_errors_total` on /metrics. The counters advance with time, at
 * `requestsPerSecond`, `errorShare` of them errors: what a service under steady load would count.
 */
export async function metricsServer(requestsPerSecond = 50): Promise<MetricsServer> {
  let requests = 0;
  let errors = 0;
  let share = 0;
  let last = Date.now();
  const advance = (): void => {
    const now = Date.now();
    const served = (requestsPerSecond * (now - last)) / 1000;
    requests += served;
    errors += served * share;
    last = now;
  };
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    advance();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(
      [
        '# HELP qa_requests_total Requests served.',
        '# TYPE qa_requests_total counter',
        `qa_requests_total ${requests}`,
        '# HELP qa_errors_total Requests answered with a 5xx.',
        '# TYPE qa_errors_total counter',
        `qa_errors_total ${errors}`,
        '',
      ].join('\n'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    setErrorShare: (s: number) => {
      advance();
      share = s;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A running Prometheus with its own config and storage in a temp dir. */
export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>` */
  url: string;
  process: ResultPromise;
  /** Kills it (SIGKILL) and waits for it to be gone; its temp dir stays until {@link RunningPrometheus.cleanup}. */
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Starts Prometheus scraping `targets` every second; resolves once it is ready to answer queries. */
export async function startPrometheus(targets: readonly string[]): Promise<RunningPrometheus> {
  const bin = prometheusBinary();
  const dir = mkdtempSync(path.join(tmpdir(), 'rm-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: qa',
      `    static_configs: [{ targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = execa(bin, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
    reject: false,
    stdin: 'ignore',
    cleanup: true,
  });
  const stop = async (): Promise<void> => {
    if (child.pid !== undefined && alive(child.pid)) child.kill('SIGKILL');
    await child;
  };
  const running: RunningPrometheus = {
    url,
    process: child,
    stop,
    cleanup: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}) before it was ready:\n${String((await child).stderr)}`);
      return (await fetchOk(`${url}/-/ready`)) ? true : undefined;
    }, 30_000, 'prometheus to be ready');
  } catch (err) {
    await running.cleanup();
    throw err;
  }
  return running;
}

/** Resolves once every scrape target of `prom` is up and `query` gives a number (two scrapes are in). */
export async function waitForData(prom: RunningPrometheus, query: string): Promise<void> {
  await waitFor(async () => {
    const r = await fetchJson(`${prom.url}/api/v1/targets`);
    const targets = (r as { data?: { activeTargets?: Array<{ health: string }> } } | undefined)?.data?.activeTargets ?? [];
    return targets.length > 0 && targets.every((t) => t.health === 'up') ? true : undefined;
  }, 30_000, 'the scrape targets to be up');
  await waitFor(async () => {
    const r = (await fetchJson(`${prom.url}/api/v1/query?query=${encodeURIComponent(query)}`)) as { data?: { result?: Array<{ value: [number, string] }> } } | undefined;
    const v = r?.data?.result?.[0]?.value[1];
    return v !== undefined && Number.isFinite(Number(v)) ? true : undefined;
  }, 30_000, `${query} to give a number`);
}

/** The last verdict of a rule (`9.1|errorRate`) in the monitor's saved state, if any yet. */
export function lastVerdict(root: string, key: string): string | undefined {
  try {
    const s = JSON.parse(readFileSync(path.join(root, '.rollback-manager', 'monitor', 'state.json'), 'utf8')) as { decide: { rules: Record<string, { last: { verdict: string } | null }> } };
    return s.decide.rules[key]?.last?.verdict;
  } catch {
    return undefined;
  }
}

/** When the monitor's last round was, from its saved state. */
export function lastRoundAt(root: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(root, '.rollback-manager', 'monitor', 'state.json'), 'utf8')) as { lastRound?: { at: string } }).lastRound?.at;
  } catch {
    return undefined;
  }
}

/** Waits for `n` more rounds of the monitor. */
export async function moreRounds(root: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const before = lastRoundAt(root);
    await waitFor(() => (lastRoundAt(root) !== before ? true : undefined), 10_000, 'a round of the monitor');
  }
}

async function fetchOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

async function fetchJson(url: string): Promise<unknown> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return r.ok ? await r.json() : undefined;
  } catch {
    return undefined;
  }
}
