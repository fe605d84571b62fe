/**
 * A real Alertmanager (Debian's prometheus-alertmanager) for the e2e tests: started on a free loopback port with
 * a webhook receiver pointing at the monitor's listener, clustering off, its storage in a temp folder; and the
 * monitor started with `--listen`, its listener's address read from what it prints.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { CLI, alive } from './cli-helpers.js';
import { waitFor } from './monitor-helpers.js';
import { freePort } from '../helpers/servers.js';
export { freePort } from '../helpers/servers.js';

/** Where Debian (and upstream) put the binary, by name on the PATH. */
const NAMES = ['prometheus-alertmanager', 'alertmanager'];

/**
 * The Alertmanager binary. Missing, it throws: the test fails saying how to install it, it is never skipped
 * (.ci/run installs it).
 */
export async function alertmanagerBinary(): Promise<string> {
  for (const name of NAMES) {
    const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', name], { reject: false });
    if (r.exitCode === 0 && String(r.stdout).trim() !== '') return String(r.stdout).trim();
  }
  throw new Error(
    `Alertmanager is not installed (none of ${NAMES.join(', ')} on the PATH): apt-get install -y --no-install-recommends prometheus-alertmanager (.ci/run does it)`,
  );
}


/** A running Alertmanager. */
export interface Alertmanager {
  url: string;
  process: ResultPromise;
  stop(): Promise<void>;
}

/**
 * Starts Alertmanager in `dir` with one route to `webhookUrl` (no wait before the first notification, one second
 * between a group's), sending `token` as a bearer token; resolves once it is ready.
 */
export async function startAlertmanager(dir: string, webhookUrl: string, token: string): Promise<Alertmanager> {
  const bin = await alertmanagerBinary();
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const config = path.join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    [
      'route:',
      '  receiver: rollback-monitor',
      '  group_by: [alertname, rollback_story]',
      '  group_wait: 0s',
      '  group_interval: 1s',
      '  repeat_interval: 1h',
      'receivers:',
      '  - name: rollback-monitor',
      '    webhook_configs:',
      `      - url: ${JSON.stringify(webhookUrl)}`,
      '        send_resolved: true',
      '        http_config:',
      `          authorization: { type: Bearer, credentials: ${JSON.stringify(token)} }`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = execa(
    bin,
    [`--config.file=${config}`, `--storage.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
    { reject: false, stdin: 'ignore', timeout: 120_000 },
  );
  await waitFor(
    async () => {
      if (p.exitCode !== null && p.exitCode !== undefined) throw new Error(`alertmanager exited (${p.exitCode}): ${String((await p).stderr)}`);
      const r = await fetch(`${url}/-/ready`).catch(() => null);
      return r?.status === 200 ? true : undefined;
    },
    20_000,
    'alertmanager to be ready',
  );
  return {
    url,
    process: p,
    stop: async () => {
      if (p.pid !== undefined && alive(p.pid)) p.kill('SIGKILL');
      await p;
    },
  };
}

/** Posts alerts to Alertmanager's API, as Prometheus does. */
export async function postAlerts(amUrl: string, alerts: Array<{ labels: Record<string, string>; annotations?: Record<string, string>; startsAt?: string; endsAt?: string }>): Promise<void> {
  const r = await fetch(`${amUrl}/api/v2/alerts`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(alerts) });
  if (r.status !== 200) throw new Error(`alertmanager refused the alerts: ${r.status} ${await r.text()}`);
}

/** The monitor with `--listen` (and `args`) as a background process, and the listener's url once it prints it. */
export async function startListeningMonitor(root: string, args: string[], env: Record<string, string>): Promise<{ process: ResultPromise; url: string; stderr: () => string }> {
  const p = execa(process.execPath, [CLI, '--root', root, 'monitor', ...args], { reject: false, stdin: 'ignore', env, timeout: 120_000, buffer: false });
  let stderr = '';
  p.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  p.stdout?.resume();
  const url = await waitFor(
    () => {
      if (p.exitCode !== null && p.exitCode !== undefined) throw new Error(`the monitor exited (${p.exitCode}): ${stderr}`);
      return /listening on (http:\/\/\S+):/.exec(stderr)?.[1];
    },
    20_000,
    'the monitor to listen',
  );
  return { process: p, url, stderr: () => stderr };
}

/** One series of a Prometheus exposition text (`name{labels}`), or undefined when absent. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
