/**
 * A flood of Alertmanager notifications through `monitor --listen`, measured from outside on the built CLI:
 * a temp project with the seven built-in stories' flags on, a real monitor process (`--listen 127.0.0.1:<port>`,
 * a round every 200 ms, `monitor.action: alert`), and several concurrent HTTP clients posting version-4 webhook
 * payloads as fast as the listener answers, for N seconds.
 *
 * Why `action: alert` and not `--dry-run`: both decide without rolling anything back, but a dry run keeps no
 * state and counts each `would-act` against the cooldown and daily cap, so after the first few the gate answers
 * `cooldown`/`capped` without reaching the end of the path; with `action: alert` every round goes the whole way a
 * real monitor goes — alerts to samples, the decision core and its gate, the line in `logs/monitor.jsonl`, the
 * state saved atomically, the metrics — and only the rollback itself (which would stop the story being watched,
 * and end the flood's effect) is left out.
 *
 * The alerts: per story three alert groups as Alertmanager groups them (`group_by: [alertname, rollback_story]`)
 * of 1, 10 and 50 alerts; a notification carries one whole group. Each story's alerts fire and resolve in turn,
 * a phase every FLIP_MS (stories offset from each other), each firing phase a new occurrence (a new `startsAt`),
 * and the 50-alert group's alerts are new ones each time (a `pod` label that changes, as a crash-looping
 * deployment's do; past occurrences ride along, resolved, until a notification carrying them is answered), so
 * that the monitor's book of alerts fills up to its cap during the flood.
 *
 * Measured: requests and alerts accepted per second, request latency (p50, p99, max), the decisions written to
 * `logs/monitor.jsonl` beside the ones the alerts called for, rounds per second and the gaps between them (from
 * the monitor's `--json` lines), the monitor's CPU, and its resident memory (idle, over the flood, peak VmHWM).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { builtCli } from '../repo-root.js';
import { HZ, cpuTicks, decisionsOf, waitFor } from './process-probe.js';

const CLI = builtCli();

/** The built-in stories and their flags (src/stories). */
const STORIES: ReadonlyArray<readonly [string, string]> = [
  ['1.2', 'pyairbyte_integration'],
  ['1.3', 'duckdb_analytics'],
  ['1.4', 'dbt_transformations'],
  ['1.5', 'dagster_orchestration'],
  ['1.6', 'eda_automation'],
  ['1.7', 'evidence_publishing'],
  ['1.8', 'qa_framework'],
];

/** A story's alerts fire for this long, then are resolved for as long: 2.5 rounds each at 200 ms. */
const FLIP_MS = 500;
/** The alert groups of each story: name, size, and whether its alerts are new ones each firing phase. */
const GROUPS: ReadonlyArray<{ alertname: string; size: number; churn: boolean }> = [
  { alertname: 'HighErrorRate', size: 1, churn: false },
  { alertname: 'SlowQueries', size: 10, churn: false },
  { alertname: 'PodCrashLooping', size: 50, churn: true },
];

/** How the flood is run. */
export interface ListenerBenchOptions {
  /** How long the flood lasts. */
  seconds: number;
  /** Concurrent HTTP clients, each on one keep-alive connection, each sending its next request on the answer. */
  clients: number;
  /** The monitor's round interval. */
  intervalMs?: number;
  /** Leave the temp project (its logs/monitor.jsonl, its state) in place, and say where. */
  keep?: boolean;
}

/** What the flood cost and what came of it. */
export interface ListenerBenchResult {
  seconds: number;
  clients: number;
  intervalMs: number;
  stories: number;
  groupSizes: number[];
  flipMs: number;
  requests: { sent: number; ok: number; failed: number; failures: Record<string, number>; perSecond: number; p50Ms: number; p99Ms: number; maxMs: number };
  /** Requests answered per second, second by second. */
  requestsPerSecondSeries: number[];
  alerts: { accepted: number; perSecond: number; distinct: number; countedByMetrics: number | null };
  decisions: {
    /** Decision lines (with a decision id) of rule `alert` written with a time inside the flood. */
    alert: number;
    perSecond: number;
    /** The decisions the alerts' phases called for: each firing phase `alerted`, each resolved one after it `recovered`. */
    expected: number;
    /** Every decision line inside the flood, by `rule:outcome` (all rules). */
    byRuleOutcome: Record<string, number>;
  };
  rounds: { count: number; perSecond: number; expectedPerSecond: number; gapP50Ms: number; gapMaxMs: number; idleGapMaxMs: number };
  /** The machine's 1-minute load average before and after the flood: the bench shares it with whatever else runs. */
  loadAverage: [number, number];
  cpu: {
    monitorPercentOfCore: number;
    benchPercentOfCore: number;
    /** The monitor's CPU per request answered, over the whole flood and in each quarter of it (robust to a loaded machine). */
    monitorMsPerRequest: number;
    monitorMsPerRequestQuarters: number[];
  };
  memory: {
    idleRssMb: number;
    idleHwmMb: number;
    /** VmRSS at each quarter of the flood. */
    rssQuartersMb: number[];
    /** VmHWM at the end: the peak over the monitor's life. */
    peakRssMb: number;
    /** VmRSS a few seconds after the flood. */
    afterRssMb: number;
  };
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function newProject(intervalMs: number): string {
  const root = mkdtempSync(path.join(tmpdir(), 'rm-listener-bench-'));
  mkdirSync(path.join(root, 'config'), { recursive: true });
  writeFileSync(
    path.join(root, 'config', 'feature-flags.yaml'),
    ['features:', ...STORIES.flatMap(([, f]) => [`  ${f}:`, '    enabled: true', '    dependencies: []']), ''].join('\n'),
  );
  // The stories keep their own probes, log matches and memory rule, as a user's monitor would: only the timing,
  // the action and recover change. recover 1: one resolved round closes an episode, so that each phase of the
  // flood is one decision (the next firing phase opens a new episode).
  writeFileSync(path.join(root, 'config', 'rollback.yaml'), ['monitor:', `  interval: ${intervalMs}ms`, '  recover: 1', '  action: alert', ''].join('\n'));
  return root;
}

/** One alert group of one story. */
interface Group {
  story: string;
  storyIndex: number;
  alertname: string;
  size: number;
  churn: boolean;
  /**
   * A churning group's occurrences (by the phase they fired in) that no answered notification has yet said are
   * resolved: Alertmanager keeps a resolved alert in its group until a notification has carried it.
   */
  unresolved: Set<number>;
  /** The last body built, for the phase and unresolved occurrences it was built for. */
  cached: Notification | null;
}

/** A notification's body, the alerts in it, and the churning occurrences it says are resolved. */
interface Notification {
  key: string;
  body: string;
  alerts: number;
  resolves: number[];
}

function fingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u00ff${labels[k]}\u00ff`)
    .join('');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The flood's clock: each story's phases, offset from each other so that they do not all flip in one round. */
class Schedule {
  constructor(private readonly t0: number) {}

  private offset(storyIndex: number): number {
    return Math.round((storyIndex * FLIP_MS) / STORIES.length);
  }

  phase(storyIndex: number, now: number): number {
    return Math.floor((now - this.t0 + this.offset(storyIndex)) / FLIP_MS);
  }

  phaseStart(storyIndex: number, phase: number): number {
    return this.t0 - this.offset(storyIndex) + phase * FLIP_MS;
  }

  /** Each firing phase an `alerted`, each resolved phase after one a `recovered`: phases that start before `until`. */
  expectedDecisions(from: number, until: number): number {
    let n = 0;
    for (let s = 0; s < STORIES.length; s++) {
      let open = false;
      for (let p = this.phase(s, from); this.phaseStart(s, p) < until; p++) {
        if (p % 2 === 0) {
          n++;
          open = true;
        } else if (open) {
          n++;
          open = false;
        }
      }
    }
    return n;
  }
}

/**
 * The group's notification now (version 4, as Alertmanager's webhook sends it). A churning group's past
 * occurrences ride along, resolved, until a notification carrying them has been answered: a stall that swallowed
 * a whole resolved phase must not leave those alerts firing in the monitor for ever (Alertmanager would not).
 */
function notificationOf(g: Group, schedule: Schedule, now: number, distinct: Set<string>): Notification {
  const phase = schedule.phase(g.storyIndex, now);
  const firing = phase % 2 === 0;
  if (g.churn && firing) g.unresolved.add(phase);
  // In a resolved phase the occurrence that just fired is said resolved, like the stable groups' (the flood
  // sends every group again and again, where Alertmanager would say it once).
  const pending = new Set(g.churn ? g.unresolved : []);
  if (g.churn && !firing) pending.add(phase - 1);
  pending.delete(phase);
  const resolves = [...pending].sort((a, b) => a - b);
  const key = `${phase}|${resolves.join(',')}`;
  if (g.cached?.key === key) return g.cached;
  const groupLabels = { alertname: g.alertname, rollback_story: g.story };
  const iso = (p: number) => new Date(schedule.phaseStart(g.storyIndex, p)).toISOString();
  /** The group's alerts of the occurrence that fired in phase `firingPhase`, firing or (from the next phase) resolved. */
  const occurrence = (firingPhase: number, resolved: boolean) =>
    Array.from({ length: g.size }, (_, i) => {
      const who: Record<string, string> = g.churn ? { pod: `ingest-${firingPhase / 2}-${i}` } : { instance: `10.0.${g.storyIndex}.${i + 1}:9100` };
      const labels: Record<string, string> = { ...groupLabels, severity: 'page', ...who };
      const fp = fingerprint(labels);
      distinct.add(fp);
      return {
        status: resolved ? 'resolved' : 'firing',
        labels,
        annotations: { summary: `${g.alertname} on story ${g.story}`, description: `bench alert ${i + 1} of ${g.size}` },
        startsAt: iso(firingPhase),
        endsAt: resolved ? iso(firingPhase + 1) : '0001-01-01T00:00:00Z',
        generatorURL: `http://prometheus.bench:9090/graph?g0.expr=${encodeURIComponent(g.alertname)}`,
        fingerprint: fp,
      };
    });
  const alerts = [
    ...(firing ? occurrence(phase, false) : []),
    ...(g.churn ? resolves.flatMap((p) => occurrence(p, true)) : firing ? [] : occurrence(phase - 1, true)),
  ];
  const body = JSON.stringify({
    version: '4',
    groupKey: `{}:{alertname="${g.alertname}", rollback_story="${g.story}"}`,
    truncatedAlerts: 0,
    status: firing ? 'firing' : 'resolved',
    receiver: 'rollback-monitor',
    groupLabels,
    commonLabels: { ...groupLabels, severity: 'page' },
    commonAnnotations: {},
    externalURL: 'http://alertmanager.bench:9093',
    alerts,
  });
  g.cached = { key, body, alerts: alerts.length, resolves };
  return g.cached;
}

/** One POST on the client's keep-alive connection: the status, or the error's code. */
function post(agent: Agent, port: number, body: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      { agent, host: '127.0.0.1', port, path: '/alertmanager', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
        res.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end(body);
  });
}

function sumMetric(text: string, prefix: string): number {
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${prefix}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

interface DecisionLine {
  id?: unknown;
  type?: string;
  at: string;
  rule: string;
  outcome: string;
}

function decisionLines(root: string): DecisionLine[] {
  return decisionsOf<DecisionLine>(root).filter((d) => typeof d.id === 'string');
}

function gapsOf(times: readonly number[]): number[] {
  return times
    .slice(1)
    .map((t, i) => t - (times[i] as number))
    .sort((a, b) => a - b);
}

/** Runs the flood on a fresh project and monitor; everything it started is gone when it returns. */
export async function runListenerBench(opts: ListenerBenchOptions): Promise<ListenerBenchResult> {
  const intervalMs = opts.intervalMs ?? 200;
  const root = newProject(intervalMs);
  const port = await freePort();
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the monitor, written when it stops.
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const m = execa(process.execPath, [...prof, CLI, '--root', root, '--json', 'monitor', '--listen', `127.0.0.1:${port}`], {
    reject: false,
    stdin: 'ignore',
    buffer: false,
    // A token in the bench's environment would make every request need it.
    env: { ROLLBACK_MONITOR_TOKEN: '' },
  });
  const pid = m.pid as number;
  let stderr = '';
  m.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  // One JSON line per round: its `at` is when it started.
  const roundTimes: number[] = [];
  const lines = createInterface({ input: m.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    try {
      const at = Date.parse((JSON.parse(line) as { at: string }).at);
      if (Number.isFinite(at)) roundTimes.push(at);
    } catch {
      // not a round's line
    }
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(() => {
      if (m.exitCode !== null && m.exitCode !== undefined) throw new Error(`the monitor exited (${m.exitCode}): ${stderr}`);
      return /listening on http:\/\//.test(stderr) && roundTimes.length > 0 ? true : undefined;
    }, 30_000, 'the monitor to listen and run its first round');

    // Idle: a few seconds of rounds with nothing heard, the listener up.
    await sleep(3000);
    const idleGaps = gapsOf(roundTimes.slice(1));
    const idleRssMb = procStatus(pid, 'VmRSS');
    const idleHwmMb = procStatus(pid, 'VmHWM');

    // The flood.
    const loadBefore = loadavg()[0] as number;
    const start = Date.now();
    const end = start + opts.seconds * 1000;
    const schedule = new Schedule(start);
    const groups: Group[] = STORIES.flatMap(([story], storyIndex) => GROUPS.map((g) => ({ story, storyIndex, ...g, unresolved: new Set<number>(), cached: null })));
    const distinct = new Set<string>();
    const latencies: number[] = [];
    const failures: Record<string, number> = {};
    const perSecond: number[] = [];
    let accepted = 0;
    let answered = 0;
    let next = 0;
    const roundsBefore = roundTimes.length;
    // Every 250 ms: the monitor's RSS and CPU ticks, and the requests answered so far.
    const cpu0 = cpuTicks(pid);
    const probes: Array<{ rssMb: number; ticks: number; answered: number }> = [{ rssMb: idleRssMb, ticks: cpu0, answered: 0 }];
    const probeTimer = setInterval(() => probes.push({ rssMb: procStatus(pid, 'VmRSS'), ticks: cpuTicks(pid), answered }), 250);
    const benchCpu0 = process.cpuUsage();
    const client = async (): Promise<void> => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let now = Date.now(); now < end; now = Date.now()) {
          const g = groups[next++ % groups.length] as Group;
          const n = notificationOf(g, schedule, now, distinct);
          const t = performance.now();
          const status = await post(agent, port, n.body);
          latencies.push(performance.now() - t);
          answered++;
          const second = Math.floor((Date.now() - start) / 1000);
          perSecond[second] = (perSecond[second] ?? 0) + 1;
          if (status === '200') {
            accepted += n.alerts;
            for (const p of n.resolves) g.unresolved.delete(p);
          } else failures[status] = (failures[status] ?? 0) + 1;
        }
      } finally {
        agent.destroy();
      }
    };
    await Promise.all(Array.from({ length: opts.clients }, () => client()));
    const stopped = Date.now();
    const loadAfter = loadavg()[0] as number;
    const cpuSeconds = (cpuTicks(pid) - cpu0) / HZ;
    const benchCpu = process.cpuUsage(benchCpu0);
    clearInterval(probeTimer);
    probes.push({ rssMb: procStatus(pid, 'VmRSS'), ticks: cpu0 + cpuSeconds * HZ, answered });
    const wall = (stopped - start) / 1000;
    const floodRounds = roundTimes.slice(roundsBefore).filter((t) => t < stopped);

    // Settle: the last round's decisions written, the memory after.
    await sleep(3000);
    const afterRssMb = procStatus(pid, 'VmRSS');
    const peakRssMb = procStatus(pid, 'VmHWM');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const inFlood = decisionLines(root).filter((d) => {
      const at = Date.parse(d.at);
      return at >= start && at < stopped;
    });
    const byRuleOutcome: Record<string, number> = {};
    for (const d of inFlood) byRuleOutcome[`${d.rule}:${d.outcome}`] = (byRuleOutcome[`${d.rule}:${d.outcome}`] ?? 0) + 1;
    const alertDecisions = inFlood.filter((d) => d.rule === 'alert').length;
    const sorted = latencies.sort((a, b) => a - b);
    const floodGaps = gapsOf([roundTimes[roundsBefore - 1] as number, ...floodRounds]);
    const at = (q: number) => probes[Math.round(q * (probes.length - 1))] as (typeof probes)[number];
    const msPerRequest = (a: (typeof probes)[number], b: (typeof probes)[number]) => ((b.ticks - a.ticks) * (1000 / HZ)) / Math.max(1, b.answered - a.answered);
    const ok = sorted.length - Object.values(failures).reduce((a, b) => a + b, 0);
    return {
      seconds: wall,
      clients: opts.clients,
      intervalMs,
      stories: STORIES.length,
      groupSizes: GROUPS.map((g) => g.size),
      flipMs: FLIP_MS,
      requests: {
        sent: sorted.length,
        ok,
        failed: sorted.length - ok,
        failures,
        perSecond: ok / wall,
        p50Ms: quantile(sorted, 0.5),
        p99Ms: quantile(sorted, 0.99),
        maxMs: sorted.at(-1) ?? NaN,
      },
      requestsPerSecondSeries: Array.from({ length: Math.floor(wall) }, (_, i) => perSecond[i] ?? 0),
      alerts: { accepted, perSecond: accepted / wall, distinct: distinct.size, countedByMetrics: sumMetric(metrics, 'rollback_monitor_alerts_received_total') || null },
      decisions: { alert: alertDecisions, perSecond: alertDecisions / wall, expected: schedule.expectedDecisions(start, stopped - intervalMs), byRuleOutcome },
      rounds: {
        count: floodRounds.length,
        perSecond: floodRounds.length / wall,
        expectedPerSecond: 1000 / intervalMs,
        gapP50Ms: quantile(floodGaps, 0.5),
        gapMaxMs: floodGaps.at(-1) ?? NaN,
        idleGapMaxMs: idleGaps.at(-1) ?? NaN,
      },
      loadAverage: [loadBefore, loadAfter],
      cpu: {
        monitorPercentOfCore: (cpuSeconds / wall) * 100,
        benchPercentOfCore: ((benchCpu.user + benchCpu.system) / 1e6 / wall) * 100,
        monitorMsPerRequest: (cpuSeconds * 1000) / Math.max(1, answered),
        monitorMsPerRequestQuarters: [0, 0.25, 0.5, 0.75].map((q) => msPerRequest(at(q), at(q + 0.25))),
      },
      memory: { idleRssMb, idleHwmMb, rssQuartersMb: [0.25, 0.5, 0.75, 1].map((q) => at(q).rssMb), peakRssMb, afterRssMb },
    };
  } finally {
    m.kill('SIGTERM');
    await m;
    lines.close();
    if (opts.keep === true) process.stderr.write(`monitor-listener: the project is kept in ${root}\n`);
    else rmSync(root, { recursive: true, force: true });
  }
}

/** The result as the bench prints it. */
export function formatListenerBench(r: ListenerBenchResult): string {
  const f0 = (n: number) => n.toFixed(0);
  const f1 = (n: number) => n.toFixed(1);
  const failed = Object.entries(r.requests.failures)
    .map(([k, v]) => `${v} × ${k}`)
    .join(', ');
  return [
    `monitor --listen under a flood of Alertmanager notifications: ${r.stories} stories, a round every ${r.intervalMs} ms, ` +
      `${r.clients} clients for ${f1(r.seconds)} s, groups of ${r.groupSizes.join('/')} alerts, each story firing/resolved every ${r.flipMs} ms`,
    '',
    '| measure | value |',
    '| --- | --- |',
    `| webhook requests answered 200 | ${r.requests.ok} (${f0(r.requests.perSecond)}/s); failed: ${r.requests.failed}${failed ? ` (${failed})` : ''} |`,
    `| request latency p50 / p99 / max | ${r.requests.p50Ms.toFixed(2)} / ${r.requests.p99Ms.toFixed(2)} / ${f0(r.requests.maxMs)} ms |`,
    `| alerts accepted | ${r.alerts.accepted} (${f0(r.alerts.perSecond)}/s; /metrics counted ${r.alerts.countedByMetrics ?? '?'}); ${r.alerts.distinct} distinct fingerprints |`,
    `| alert decisions written | ${r.decisions.alert} (${f1(r.decisions.perSecond)}/s) of ${r.decisions.expected} the phases called for |`,
    `| all decisions in the flood, rule:outcome | ${Object.entries(r.decisions.byRuleOutcome).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'} |`,
    `| rounds | ${r.rounds.count} (${f1(r.rounds.perSecond)}/s of ${f1(r.rounds.expectedPerSecond)}); gap p50 ${f0(r.rounds.gapP50Ms)} ms, max ${f0(r.rounds.gapMaxMs)} ms (idle max ${f0(r.rounds.idleGapMaxMs)} ms) |`,
    `| CPU, % of one core | monitor ${f0(r.cpu.monitorPercentOfCore)} %, bench clients ${f0(r.cpu.benchPercentOfCore)} % (load average ${r.loadAverage.map((x) => x.toFixed(1)).join(' → ')}) |`,
    `| monitor CPU per request | ${r.cpu.monitorMsPerRequest.toFixed(3)} ms; in each quarter of the flood ${r.cpu.monitorMsPerRequestQuarters.map((x) => x.toFixed(3)).join(' / ')} ms |`,
    `| monitor RSS | idle ${f0(r.memory.idleRssMb)} MB (peak so far ${f0(r.memory.idleHwmMb)}); at each quarter of the flood ${r.memory.rssQuartersMb.map(f0).join(' / ')} MB; peak (VmHWM) ${f0(r.memory.peakRssMb)} MB; 3 s after ${f0(r.memory.afterRssMb)} MB |`,
    `| requests/s, second by second | ${r.requestsPerSecondSeries.join(' ')} |`,
  ].join('\n');
}
