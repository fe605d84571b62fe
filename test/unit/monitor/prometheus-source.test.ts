/**
 * The monitor's Prometheus source (src/app/monitor-prometheus.ts) against a real HTTP server answering as
 * Prometheus does: one observation per watched story and query, judged against the story's threshold, with the
 * query, the server and the values as evidence; credentials from the environment, an unset one refused at open;
 * and the built-in samples its queries replace.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { prometheusSource } from '../../../src/app/monitor-prometheus.js';
import { withoutReplaced } from '../../../src/app/monitor-sources.js';
import { resolveMonitorSettings, type MonitorSettings } from '../../../src/config/monitor-settings.js';
import { BUILT_IN_THRESHOLDS } from '../../../src/config/monitor-units.js';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';
import { InvalidInputError } from '../../../src/model/errors.js';
import { judge, type Sample } from '../../../src/monitor/rules.js';
import type { Observation } from '../../../src/monitor/decide.js';
import type { StoryWatch } from '../../../src/monitor/observe.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';
import { trackedServers } from '../../helpers/servers.js';

const servers = trackedServers<http.Server>();

/** Answers each query from `values` (query → sample string, or an error status), recording the auth header. */
async function fakePrometheus(values: Record<string, string | number>): Promise<{ url: string; auth: Array<string | undefined> }> {
  const auth: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    auth.push(req.headers.authorization);
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    const v = values[q];
    if (typeof v === 'number') res.writeHead(v, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'execution', error: 'boom' }));
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: v === undefined ? [] : [{ metric: { job: 'qa' }, value: [1, v] }] } }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth };
}

function settings(prometheus: string[], stories: string[]): MonitorSettings {
  const text = ['monitor:', ...prometheus.map((l) => `  ${l}`), '  stories:', ...stories.map((l) => `    ${l}`)].join('\n');
  return resolveMonitorSettings(parseRollbackConfig(text, 'config/rollback.yaml').monitor, BUILTIN_STORIES, BUILT_IN_THRESHOLDS);
}

const watch = (s: MonitorSettings, id: string): StoryWatch => ({ id, thresholds: (s.stories[id] as MonitorSettings['stories'][string]).thresholds, logFiles: [], probes: false, since: 0 });

describe('the Prometheus source', () => {
  it("asks each watched story's queries and judges them like any sample of their rule", async () => {
    const p = await fakePrometheus({ 'qa:errors': '0.25', 'qa:p95_ms': '120', 'qa:mem': 'NaN', 'qa:bad': 422 });
    const s = settings(
      [`prometheus: { url: "${p.url}", bearerTokenEnv: RM_TEST_TOKEN }`],
      [
        '"1.8":',
        '  thresholds: { errorRate: 0.2, latencyMs: 100 }',
        '  queries: [{ rule: errorRate, query: "qa:errors" }, { rule: latencyP95, query: "qa:p95_ms" }, { rule: memory, query: "qa:mem" }]',
        '"1.3":',
        '  queries: [{ rule: errorRate, query: "qa:bad" }]',
        '"1.2":',
        '  queries: [{ rule: errorRate, query: "qa:errors" }]',
      ],
    );
    const source = prometheusSource(s, { RM_TEST_TOKEN: 'tok' });
    expect(source?.name).toBe(`prometheus:${p.url}`);
    expect(source?.replaces).toEqual([
      { story: '1.2', rule: 'errorRate' },
      { story: '1.3', rule: 'errorRate' },
      { story: '1.8', rule: 'errorRate' },
      { story: '1.8', rule: 'latencyP95' },
      { story: '1.8', rule: 'memory' },
    ]);
    // 1.2 is not watched (its flag is off): not asked.
    const obs = (await source?.observe(1_700_000_000_000, [watch(s, '1.8'), watch(s, '1.3')])) ?? [];
    expect(p.auth).toEqual(['Bearer tok', 'Bearer tok', 'Bearer tok', 'Bearer tok']);
    const verdicts = obs.map((o) => [o.story, o.rule.kind, o.rule.threshold, judge(o.samples[0] as Sample, o.rule).verdict]);
    expect(verdicts).toEqual([
      ['1.8', 'errorRate', 0.2, 'breached'],
      ['1.8', 'latencyP95', 100, 'breached'],
      ['1.8', 'memory', BUILT_IN_THRESHOLDS.memory, 'no-data'],
      ['1.3', 'errorRate', BUILT_IN_THRESHOLDS.errorRate, 'source-error'],
    ]);
    expect(obs[0]?.samples).toEqual([
      { at: 1_700_000_000_000, source: `prometheus:${p.url}`, value: 0.25, evidence: { server: p.url, query: 'qa:errors', values: [{ metric: { job: 'qa' }, value: 0.25 }] } },
    ]);
    expect(obs[2]?.samples[0]?.why).toMatch(/no finite value \(NaN\)/);
    expect(obs[3]?.samples[0]).toMatchObject({ value: null, sourceError: 'Prometheus: execution: boom (prometheus)', evidence: { server: p.url, query: 'qa:bad', status: 422 } });
  });

  it('reads basic credentials from the environment; an unset or empty variable is refused at open, naming it', async () => {
    const p = await fakePrometheus({ up: '1' });
    const s = settings([`prometheus: { url: "${p.url}", basicAuthEnv: { user: RM_TEST_USER, password: RM_TEST_PASSWORD } }`], ['"1.8":', '  queries: [{ rule: errorRate, query: up }]']);
    await prometheusSource(s, { RM_TEST_USER: 'qa', RM_TEST_PASSWORD: 'pw' })?.observe(Date.now(), [watch(s, '1.8')]);
    expect(p.auth).toEqual([`Basic ${Buffer.from('qa:pw').toString('base64')}`]);
    for (const env of [{ RM_TEST_USER: 'qa' }, { RM_TEST_USER: 'qa', RM_TEST_PASSWORD: '' }]) {
      let err: unknown;
      try {
        prometheusSource(s, env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err).toMatchObject({ exitCode: 2, keyPath: 'monitor.prometheus.basicAuthEnv.password', file: 'config/rollback.yaml' });
      expect((err as Error).message).toMatch(/names the environment variable RM_TEST_PASSWORD, which is (not set|empty) in the monitor's environment/);
    }
  });

  it('is no source without queries', () => {
    expect(prometheusSource(settings(['prometheus: { url: "http://127.0.0.1:9" }'], ['"1.8": {}']), {})).toBeNull();
    expect(prometheusSource(settings([], ['"1.8": {}']), {})).toBeNull();
  });
});

describe('withoutReplaced', () => {
  const sample = { at: 1, source: 'log:logs/security.log', value: 0.5 };
  const builtIn: Observation[] = [
    { story: '1.8', rule: { kind: 'errorRate', threshold: 0.1 }, samples: [sample] },
    { story: '1.8', rule: { kind: 'latencyP95', threshold: 5000 }, samples: [sample] },
    { story: '1.3', rule: { kind: 'errorRate', threshold: 0.1 }, samples: [sample] },
    { story: '1.8', rule: { kind: 'memory', threshold: 0.8 }, samples: [{ ...sample, source: 'proc:meminfo' }] },
    { story: null, rule: { kind: 'errorRate', threshold: 0.1 }, samples: [sample] },
  ];

  it("drops the built-in samples of the rules a source measures instead, one row per story and rule; host memory blamed on such a story stays, project-level", () => {
    const source = { name: 'prometheus:x', observe: async () => [], replaces: [{ story: '1.8', rule: 'errorRate' as const }, { story: '1.8', rule: 'memory' as const }] };
    const kept = withoutReplaced(builtIn, [source], 0.9);
    expect(kept.map((o) => `${o.story ?? '*'}|${o.rule.kind}|${o.rule.threshold}`)).toEqual(['1.8|latencyP95|5000', '1.3|errorRate|0.1', '*|memory|0.9', '*|errorRate|0.1']);
    expect(withoutReplaced(builtIn, [], 0.9)).toEqual(builtIn);
  });
});
