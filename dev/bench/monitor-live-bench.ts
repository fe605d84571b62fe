/**
 * The live monitor's costs and speed, measured from outside on the built CLI:
 * - idle CPU: `monitor` on a sandbox with the seven stories installed and configured (their default probes, logs
 *   and memory), nothing going wrong, at the default timing; CPU seconds from /proc/<pid>/stat over the period,
 *   start-up excluded;
 * - detection latency: a real service (test/fixtures/monitor/flaky-service.mjs) told to answer 5xx, N times; for
 *   each, from the moment it went bad to the decision that acted, beside the bound interval × (consecutive + 1).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { builtCli, repoRoot } from '../repo-root.js';
import { HZ, cpuTicks, decisionsOf, waitFor } from './process-probe.js';
import { buildSandbox } from '../sandbox/build-sandbox.js';

const CLI = builtCli();

/** CPU of an idle monitor. */
export interface IdleCpuResult {
  seconds: number;
  intervalMs: number;
  stories: number;
  cpuSeconds: number;
  /** Of one core. */
  percentOfCore: number;
  rounds: number;
}

/** Detection latency over N induced failures. */
export interface DetectionResult {
  runs: number;
  intervalMs: number;
  consecutive: number;
  boundMs: number;
  /** From "went bad" to the acting decision, each run. */
  latenciesMs: number[];
  medianMs: number;
  maxMs: number;
  /** From the first bad sample (the acting decision's first) to the decision: what the bound is about. */
  fromFirstSampleMs: number[];
  fromFirstSampleMedianMs: number;
  fromFirstSampleMaxMs: number;
}

/** `monitor` idle for `seconds` on a sandbox with every story installed and running. */
export async function runIdleCpu(seconds: number): Promise<IdleCpuResult> {
  const sb = await buildSandbox({ services: true });
  try {
    const m = execa(process.execPath, [CLI, '--root', sb.root, 'monitor'], { reject: false, stdin: 'ignore' });
    const pid = m.pid as number;
    // Start-up (loading the bundle, the config, the first round) is not idling.
    await waitFor(() => (existsSync(path.join(sb.root, '.rollback-manager', 'monitor', 'state.json')) ? true : undefined), 30_000, 'the first round');
    const t0 = cpuTicks(pid);
    const w0 = Date.now();
    await sleep(seconds * 1000);
    const cpuSeconds = (cpuTicks(pid) - t0) / HZ;
    const wall = (Date.now() - w0) / 1000;
    m.kill('SIGTERM');
    await m;
    const state = JSON.parse(readFileSync(path.join(sb.root, '.rollback-manager', 'monitor', 'state.json'), 'utf8')) as { decide: { rules: Record<string, unknown> } };
    return { seconds: wall, intervalMs: 5000, stories: 7, cpuSeconds, percentOfCore: (cpuSeconds / wall) * 100, rounds: Object.keys(state.decide.rules).length };
  } finally {
    await sb.cleanup();
  }
}

interface Project {
  root: string;
  service: ResultPromise;
  port: number;
}

/** Starts the service; on `port` when given (after a restore, so that the probe's url stays right). */
async function startService(root: string, port?: number): Promise<{ service: ResultPromise; port: number }> {
  const portFile = path.join(root, 'run', 'svc.port');
  rmSync(portFile, { force: true });
  const env = port === undefined ? {} : { PORT: String(port) };
  const service = execa(process.execPath, ['tools/svc/server.mjs', portFile, 'healthy'], { cwd: root, reject: false, stdin: 'ignore', env });
  const listening = await waitFor(() => (existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) || undefined : undefined), 10_000, 'the service');
  return { service, port: listening };
}

function writeConfig(root: string, port: number, intervalMs: number, consecutive: number): void {
  writeFileSync(
    path.join(root, 'config', 'rollback.yaml'),
    [
      'stories:',
      '  "9.1": { feature: flaky_service, code: [tools/svc/], services: [{ name: flaky, argv: [node, tools/svc/server.mjs], stopTimeoutMs: 1000 }] }',
      'monitor:',
      `  interval: ${intervalMs}ms`,
      '  window: 1s',
      `  consecutive: ${consecutive}`,
      '  minRequests: 3',
      '  cooldown: 0s',
      '  maxPerDay: 1000',
      '  stories:',
      `    "9.1": { probes: [{ url: "http://127.0.0.1:${port}/api/v1/things", timeout: 1s }], logs: [{ file: logs/security.log, match: { service: "^test-svc$" } }] }`,
      '',
    ].join('\n'),
  );
}

async function newProject(): Promise<Project> {
  const root = mkdtempSync(path.join(tmpdir(), 'rm-detect-'));
  mkdirSync(path.join(root, 'config'), { recursive: true });
  mkdirSync(path.join(root, 'tools', 'svc'), { recursive: true });
  mkdirSync(path.join(root, 'run'), { recursive: true });
  copyFileSync(path.join(repoRoot(), 'test', 'fixtures', 'monitor', 'flaky-service.mjs'), path.join(root, 'tools', 'svc', 'server.mjs'));
  writeFileSync(path.join(root, 'config', 'feature-flags.yaml'), 'features:\n  flaky_service:\n    enabled: true\n    dependencies: []\n');
  const { service, port } = await startService(root);
  return { root, service, port };
}

interface DecisionLine {
  type?: string;
  at: string;
  samples: Array<{ at: string | number }>;
  outcome: string;
  story: string | null;
}

function actedDecisions(root: string): DecisionLine[] {
  return decisionsOf<DecisionLine>(root).filter((d) => d.outcome === 'acted');
}

function probeHealthy(root: string): boolean {
  try {
    const s = JSON.parse(readFileSync(path.join(root, '.rollback-manager', 'monitor', 'state.json'), 'utf8')) as { decide: { rules: Record<string, { last: { verdict: string } | null }> } };
    return s.decide.rules['9.1|probeFailure']?.last?.verdict === 'healthy';
  } catch {
    return false;
  }
}

/**
 * `runs` induced failures on one monitor: each time the service answers 5xx from a known instant, the monitor
 * rolls the story back, the bench restores it and starts the service again, healthy.
 */
export async function runDetection(runs: number, intervalMs = 200, consecutive = 3): Promise<DetectionResult> {
  const p = await newProject();
  writeConfig(p.root, p.port, intervalMs, consecutive);
  const m = execa(process.execPath, [CLI, '--root', p.root, 'monitor'], { reject: false, stdin: 'ignore' });
  const latencies: number[] = [];
  const fromFirst: number[] = [];
  let service = p.service;
  const port = p.port;
  try {
    for (let i = 0; i < runs; i++) {
      await waitFor(() => (probeHealthy(p.root) ? true : undefined), 30_000, 'a healthy probe');
      const before = actedDecisions(p.root).length;
      const wentBad = Date.now();
      await fetch(`http://127.0.0.1:${port}/control/5xx`, { method: 'POST' });
      const acted = await waitFor(() => actedDecisions(p.root)[before], 30_000, 'the acting decision');
      latencies.push(Date.parse(acted.at) - wentBad);
      const first = acted.samples[0]?.at;
      fromFirst.push(Date.parse(acted.at) - (typeof first === 'number' ? first : Date.parse(String(first))));
      // Wait for the rollback to end (its report), then bring the story back.
      await waitFor(() => (existsSync(path.join(p.root, 'rollback_reports')) && readFileSync(path.join(p.root, 'logs', 'monitor.jsonl'), 'utf8').split('"type":"action"').length - 1 > i ? true : undefined), 60_000, 'the rollback');
      await service;
      const r = await execa(process.execPath, [CLI, '--root', p.root, 'restore', '9.1', '--force'], { reject: false, stdin: 'ignore' });
      if (r.exitCode !== 0) throw new Error(`restore failed: ${r.stderr}`);
      ({ service } = await startService(p.root, port));
    }
  } finally {
    m.kill('SIGTERM');
    service.kill('SIGKILL');
    await m;
    rmSync(p.root, { recursive: true, force: true });
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const sortedFirst = [...fromFirst].sort((a, b) => a - b);
  return {
    fromFirstSampleMs: fromFirst,
    fromFirstSampleMedianMs: sortedFirst[Math.floor(sortedFirst.length / 2)] ?? NaN,
    fromFirstSampleMaxMs: sortedFirst.at(-1) ?? NaN,
    runs,
    intervalMs,
    consecutive,
    boundMs: intervalMs * (consecutive + 1),
    latenciesMs: latencies,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? NaN,
    maxMs: sorted.at(-1) ?? NaN,
  };
}
