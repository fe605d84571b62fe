/**
 * A temp project with one story of its own whose service (a real HTTP server, test/fixtures/monitor/flaky-service.mjs)
 * logs in the pack's format and can be told to go bad; and the monitor run against it as a user runs it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterEach } from 'vitest';
import { CLI, alive } from './cli-helpers.js';

const SERVICE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'monitor', 'flaky-service.mjs');

/** A project and its service. */
export interface MonitorProject {
  root: string;
  port: number;
  service: ResultPromise;
  cleanup(): Promise<void>;
}

/** Extra lines for the config, indented under `monitor:` (the story 9.1's own block is written by us). */
export interface ProjectOptions {
  /** Lines under `monitor:`, e.g. `cooldown: 1h`. */
  monitor?: string[];
  /** Lines under `monitor.stories."9.1":`, replacing the probe and log defaults we write. */
  story?: string[];
  mode?: string;
  /** Add story 9.2, installed, which depends on 9.1 (as the pack's 1.5 depends on 1.2). */
  dependent?: boolean;
}

const children: ResultPromise[] = [];

/**
 * Starts the story's service (again, after a restore: on its old `port`, which the probe's url names) in `mode`;
 * resolves once it listens.
 */
export async function startService(root: string, mode = 'healthy', port?: number): Promise<{ service: ResultPromise; port: number }> {
  const portFile = path.join(root, 'run', 'svc.port');
  mkdirSync(path.dirname(portFile), { recursive: true });
  rmSync(portFile, { force: true });
  const env = port === undefined ? {} : { PORT: String(port) };
  const service = execa(process.execPath, ['tools/svc/server.mjs', portFile, mode], { cwd: root, reject: false, stdin: 'ignore', env });
  children.push(service);
  const listening = await waitFor(() => (existsSync(portFile) ? Number(readFileSync(portFile, 'utf8')) || undefined : undefined), 10_000, 'the service to listen');
  return { service, port: listening };
}

/** A project: flags, the story 9.1 (its code is the service), the monitor's config with a fast timing. */
export async function monitorProject(opts: ProjectOptions = {}): Promise<MonitorProject> {
  const root = mkdtempSync(path.join(tmpdir(), 'rm-monitor-'));
  mkdirSync(path.join(root, 'config'), { recursive: true });
  mkdirSync(path.join(root, 'tools', 'svc'), { recursive: true });
  copyFileSync(SERVICE, path.join(root, 'tools', 'svc', 'server.mjs'));
  const dependentFlag = opts.dependent === true ? '  flaky_reports:\n    enabled: true\n    dependencies: [flaky_service]\n' : '';
  writeFileSync(path.join(root, 'config', 'feature-flags.yaml'), `features:\n  flaky_service:\n    enabled: true\n    description: the test service\n    dependencies: []\n${dependentFlag}`);
  if (opts.dependent === true) writeFileSync(path.join(root, 'tools', 'reports.txt'), 'what 9.2 adds\n');
  const { service, port } = await startService(root, opts.mode);
  const story = opts.story ?? [
    `probes: [{ url: "http://127.0.0.1:${port}/api/v1/things", timeout: 600ms }]`,
    'logs: [{ file: logs/security.log, match: { service: "^test-svc$" } }]',
    'thresholds: { latencyMs: 250 }',
  ];
  writeFileSync(
    path.join(root, 'config', 'rollback.yaml'),
    [
      'stories:',
      '  "9.1":',
      '    feature: flaky_service',
      '    title: Flaky service',
      '    code: [tools/svc/]',
      '    services: [{ name: flaky, argv: [node, tools/svc/server.mjs], stopTimeoutMs: 1000 }]',
      ...(opts.dependent === true ? ['  "9.2":', '    feature: flaky_reports', '    dependsOn: ["9.1"]', '    code: [tools/reports.txt]'] : []),
      'monitor:',
      ...monitorLines(opts.monitor ?? []).map((l) => `  ${l}`),
      '  stories:',
      '    "9.1":',
      ...story.map((l) => `      ${l}`),
      '',
    ].join('\n'),
  );
  return {
    root,
    port,
    service,
    cleanup: async () => {
      for (const c of children.splice(0)) {
        if (c.pid !== undefined && alive(c.pid)) {
          try {
            process.kill(c.pid, 'SIGCONT');
            process.kill(c.pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        await c;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The fast timing the tests use, with `extra` lines replacing those of the same key. */
function monitorLines(extra: readonly string[]): string[] {
  const lines = new Map(['interval: 200ms', 'window: 1s', 'consecutive: 3', 'recover: 2', 'minRequests: 3', 'cooldown: 0s'].map((l) => [l.split(':')[0], l]));
  for (const l of extra) lines.set(l.split(':')[0], l);
  return [...lines.values()];
}

/** A `project()` for a test file: every project it made, and every process started, is cleaned up after each test. */
export function useMonitorProjects(): (opts?: ProjectOptions) => Promise<MonitorProject> {
  const made: MonitorProject[] = [];
  afterEach(async () => {
    while (made.length > 0) await made.pop()?.cleanup();
  });
  return async (opts = {}) => {
    const p = await monitorProject(opts);
    made.push(p);
    return p;
  };
}

/** The monitor as a background process: `rollback-manager --root <root> monitor …`. */
export function startMonitor(root: string, args: string[] = []): ResultPromise {
  const p = execa(process.execPath, [CLI, '--root', root, 'monitor', ...args], { reject: false, stdin: 'ignore', timeout: 120_000 });
  children.push(p);
  return p;
}

/** Polls until `probe` returns something, or fails naming `what`. */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One decision or action record of logs/monitor.jsonl. */
export interface DecisionLine {
  type?: 'action';
  id: string;
  at: string;
  story: string | null;
  rule: string;
  outcome: string;
  action: string;
  reason: string;
  samples: Array<{ at: string | number; value: number | null; why?: string; sourceError?: string; source: string }>;
  decision?: string;
  status?: string;
  mode?: string;
  report?: string;
}

/** Every line of logs/monitor.jsonl. */
export function decisions(root: string): DecisionLine[] {
  const file = path.join(root, 'logs', 'monitor.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as DecisionLine);
}

/** The run reports written so far (JSON), oldest first. */
export function reports(root: string): Array<Record<string, unknown> & { runId: string }> {
  const dir = path.join(root, 'rollback_reports');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Record<string, unknown> & { runId: string });
}

/** The reports of the runs the monitor started. */
export function autoRuns(root: string): Array<Record<string, unknown> & { runId: string }> {
  return reports(root).filter((r) => (r as { why?: { trigger?: string } }).why?.trigger === 'monitor');
}

/** Whether the story 9.1's flag is on in config/feature-flags.yaml. */
export function flagOn(root: string): boolean {
  return /flaky_service:\n\s+enabled: true/.test(readFileSync(path.join(root, 'config', 'feature-flags.yaml'), 'utf8'));
}

/** Whether the story's probe has been judged healthy (the service answered since the watch began). */
export function probeHealthy(root: string): boolean {
  return stateVerdict(root, '9.1|probeFailure') === 'healthy';
}

function stateVerdict(root: string, key: string): string | undefined {
  try {
    const s = JSON.parse(readFileSync(path.join(root, '.rollback-manager', 'monitor', 'state.json'), 'utf8')) as {
      decide: { rules: Record<string, { last: { verdict: string } | null }> };
    };
    return s.decide.rules[key]?.last?.verdict;
  } catch {
    return undefined;
  }
}
