/**
 * The monitor with Prometheus as its source (#14 point 1), all real: a metrics server whose error counter the test
 * drives, the real `prometheus` scraping it every second, and the built CLI's monitor querying it for story 9.1 of
 * a temp project. The error rate goes up: the story is rolled back with the query and its values in the report.
 * Prometheus goes away: source errors, an alert about the monitor, no rollback. A credential variable the config
 * names and the environment lacks stops the monitor from opening (exit 2).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli } from './cli-helpers.js';
import { autoRuns, decisions, monitorProject, reports, startMonitor, waitFor, type MonitorProject, flagOn } from './monitor-helpers.js';
import { freePort, lastVerdict, metricsServer, moreRounds, prometheusBinary, startPrometheus, waitForData, type MetricsServer, type RunningPrometheus } from './prometheus-helpers.js';

/** Over a few seconds of 1 s scrapes, so that a change shows within a scrape or two. */
const QUERY = 'sum(rate(qa_errors_total[3s])) / sum(rate(qa_requests_total[3s]))';

const TOKEN_ENV = 'RM_E2E_PROM_TOKEN';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
  delete process.env[TOKEN_ENV];
});

interface Setup {
  metrics: MetricsServer;
  prom: RunningPrometheus;
  p: MonitorProject;
}

/** Metrics server, Prometheus scraping it (data in), and a project whose 9.1 is judged by QUERY alone. */
async function setup(): Promise<Setup> {
  prometheusBinary();
  const metrics = await metricsServer();
  cleanups.push(() => metrics.close());
  const prom = await startPrometheus([metrics.target]);
  cleanups.push(() => prom.cleanup());
  await waitForData(prom, QUERY);
  const p = await monitorProject({
    // A token from the environment, as a real deployment would have (this Prometheus takes any).
    monitor: ['interval: 500ms', 'window: 2s', `prometheus: { url: "${prom.url}", timeout: 1s, bearerTokenEnv: ${TOKEN_ENV} }`],
    story: ['queries:', '  - rule: errorRate', `    query: '${QUERY}'`],
  });
  cleanups.push(() => p.cleanup());
  // The monitor started by startMonitor inherits this process's environment.
  process.env[TOKEN_ENV] = 'e2e-token';
  return { metrics, prom, p };
}

interface PromSample {
  at: number;
  value: number | null;
  source: string;
  sourceError?: string;
  evidence: { server: string; query: string; values?: Array<{ metric?: Record<string, string>; value: number | string }> };
}

describe('the monitor with Prometheus as its source', () => {
  it('rolls a story back when its query breaches in consecutive rounds, with the query and values in the report', async () => {
    const { metrics, prom, p } = await setup();
    const monitor = startMonitor(p.root);
    await waitFor(() => lastVerdict(p.root, '9.1|errorRate') === 'healthy', 20_000, 'a healthy error rate from Prometheus');
    const wentBad = Date.now();
    metrics.setErrorShare(0.6);

    const [report] = await waitFor(() => (autoRuns(p.root).length > 0 ? autoRuns(p.root) : undefined), 30_000, 'the automatic rollback');
    monitor.kill('SIGTERM');
    const m = await monitor;
    expect(m.exitCode, String(m.stderr)).toBe(0);

    const r = report as unknown as { runId: string; status: string; stories: Array<{ id: string; status: string }>; monitor: { rule: string; threshold: number; samples: PromSample[] } };
    expect(r.status).toBe('rolled-back');
    expect(r.stories.map((s) => [s.id, s.status])).toEqual([['9.1', 'rolled-back']]);
    expect(r.monitor.rule).toBe('errorRate');
    expect(r.monitor.samples).toHaveLength(3);
    for (const s of r.monitor.samples) {
      expect(s.at).toBeGreaterThanOrEqual(wentBad);
      expect(s.source).toBe(`prometheus:${prom.url}`);
      expect(s.evidence.server).toBe(prom.url);
      expect(s.evidence.query).toBe(QUERY);
      // One series (the query sums): its value is the sample's, over the threshold.
      expect(s.evidence.values).toEqual([{ metric: {}, value: s.value }]);
      expect(s.value).toBeGreaterThan(r.monitor.threshold);
    }
    const md = readFileSync(path.join(p.root, 'rollback_reports', `${r.runId}.md`), 'utf8');
    expect(md).toContain('## Why the monitor acted');
    // The query as evidence, Markdown-escaped.
    expect(md).toContain('sum(rate(qa\\_errors\\_total\\[3s\\])) / sum(rate(qa\\_requests\\_total\\[3s\\]))');
    expect(md).toContain(`prometheus:${prom.url}`);
    expect(flagOn(p.root)).toBe(false);
    const acted = decisions(p.root).find((d) => d.outcome === 'acted' && d.type === undefined);
    expect(acted).toMatchObject({ story: '9.1', rule: 'errorRate', action: 'rollback' });
  }, 90_000);

  it('Prometheus stopped: source errors and an alert about the monitor, never a rollback', async () => {
    const { metrics, prom, p } = await setup();
    const monitor = startMonitor(p.root);
    await waitFor(() => lastVerdict(p.root, '9.1|errorRate') === 'healthy', 20_000, 'a healthy error rate from Prometheus');
    await prom.stop();
    metrics.setErrorShare(1);

    const alert = await waitFor(() => decisions(p.root).find((d) => d.outcome === 'alerted' && d.rule === 'errorRate'), 20_000, 'the alert about the source');
    // Well past the rounds a breach would need.
    await moreRounds(p.root, 4);
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);

    expect(alert.story).toBe('9.1');
    expect(alert.reason).toMatch(/could not be read .* 3 times in a row: the monitor cannot see this signal; never a breach/);
    expect(alert.samples[0]?.source).toBe(`prometheus:${prom.url}`);
    expect(alert.samples[0]?.sourceError).toMatch(/ECONNREFUSED.*\(refused\)/);
    const all = decisions(p.root);
    expect(all.find((d) => d.outcome === 'source-error')?.reason).toContain('an error of the monitor, not a breach');
    expect(all.filter((d) => ['acted', 'would-act', 'not-sustained'].includes(d.outcome))).toEqual([]);
    expect(lastVerdict(p.root, '9.1|errorRate')).toBe('source-error');
    expect(reports(p.root)).toEqual([]);
    expect(flagOn(p.root)).toBe(true);
  }, 90_000);

  it('credentials come from the variables the config names: an unset one is exit 2 naming it', async () => {
    // Nothing listens there: this test is about opening the monitor, not about answers.
    const url = `http://127.0.0.1:${await freePort()}`;
    const p = await monitorProject({
      monitor: [`prometheus: { url: "${url}", timeout: 1s, bearerTokenEnv: ${TOKEN_ENV} }`],
      story: ['queries: [{ rule: errorRate, query: "vector(0)" }]'],
    });
    cleanups.push(() => p.cleanup());
    const unset = await cli(p.root, ['monitor', '--once']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain(`config/rollback.yaml: monitor.prometheus.bearerTokenEnv names the environment variable ${TOKEN_ENV}, which is not set`);
    expect(decisions(p.root)).toEqual([]);
    const set = await cli(p.root, ['--json', 'monitor', '--once'], { [TOKEN_ENV]: 'e2e-token' });
    expect(set.code, set.stderr).toBe(0);
    const round = JSON.parse(set.stdout) as { stories: Record<string, { rules: Record<string, { verdict: string }> }> };
    expect(round.stories['9.1']?.rules.errorRate?.verdict).toBe('source-error');
  }, 60_000);
});
