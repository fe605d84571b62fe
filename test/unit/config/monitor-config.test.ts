/**
 * `monitor:` of config/rollback.yaml and the pack's `rollback_triggers`, read from real YAML text: the defaults, the
 * documented example, every bad value as a located problem (exit 2, file, line, key path), and the rules of what
 * replaces what.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-problems.js';
import { resolveMonitorSettings, type MonitorSettings } from '../../../src/config/monitor-settings.js';
import { BUILT_IN_THRESHOLDS } from '../../../src/config/monitor-units.js';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';
import { PINO_FIELDS } from '../../../src/model/monitor-types.js';
import { monitorSettingsOf } from '../../../src/project/monitor-settings-of.js';
import { loadProject } from '../../../src/project/project.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const FILE = 'config/rollback.yaml';
const FLAGS = 'config/feature-flags.yaml';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** The settings of a config text for the built-in stories over the built-in thresholds. */
function settingsOf(lines: string[]): MonitorSettings {
  return resolveMonitorSettings(parseRollbackConfig(lines.join('\n'), FILE).monitor, BUILTIN_STORIES, BUILT_IN_THRESHOLDS);
}

/** The ConfigError `fn` throws. */
function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, got a value');
}

/** The one problem of a config text, as `line:column keyPath: message`. */
function problemOf(lines: string[]): string {
  const err = configErrorOf(() => parseRollbackConfig(lines.join('\n'), FILE));
  expect(err.exitCode).toBe(2);
  expect(err.problems).toHaveLength(1);
  const [p] = err.problems;
  return `${p?.line}:${p?.column} ${p?.keyPath}: ${p?.message}`;
}

/** A project with the pack's flags file (or `flags`) and `lines` as its config/rollback.yaml. */
function project(lines: string[], flags?: string): string {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'rm-monitor-config-')));
  dirs.push(root);
  mkdirSync(path.join(root, 'config'));
  if (flags === undefined) copyFileSync(path.join(REPO, FLAGS), path.join(root, FLAGS));
  else writeFileSync(path.join(root, FLAGS), flags);
  writeFileSync(path.join(root, FILE), `${lines.join('\n')}\n`);
  return root;
}

const EXAMPLE = [
  'monitor:',
  '  interval: 5s',
  '  window: 60s',
  '  consecutive: 3        # breached samples in a row before acting',
  '  recover: 3',
  '  minRequests: 20',
  '  cooldown: 10m',
  '  maxPerDay: 3',
  '  action: rollback      # rollback | flag-only | alert',
  '  cascade: false',
  '  sourceErrorsBeforeAlert: 3',
  '  memoryShare: 0.5',
  '  thresholds: { errorRate: 0.1, memory: 0.9, latencyMs: 5000, baseline: { latencyP95: "+10%", throughput: "-10%", minLatencyDeltaMs: 100 } }',
  '  logs:',
  '    - { file: logs/app.log, format: pino }',
  '  stories:',
  '    "1.2":',
  '      probes: [{ url: "http://127.0.0.1:3001/health", timeout: 2s }]',
  '      logs: [{ file: logs/security.log, match: { url: "^/api/v1/data-sources" } }]',
  '      thresholds: { errorRate: 0.05 }',
];

describe('monitor: in config/rollback.yaml', () => {
  it('without a monitor section: every default, and the built-in stories watched as they declare', () => {
    for (const s of [settingsOf([]), settingsOf(['monitor:']), resolveMonitorSettings(undefined, BUILTIN_STORIES, BUILT_IN_THRESHOLDS)]) {
      expect(s).toMatchObject({
        intervalMs: 5_000,
        windowMs: 60_000,
        consecutive: 3,
        recover: 3,
        minRequests: 20,
        cooldownMs: 600_000,
        maxPerDay: 3,
        action: 'rollback',
        cascade: false,
        sourceErrorsBeforeAlert: 3,
        memoryShare: 0.5,
        thresholds: BUILT_IN_THRESHOLDS,
        logFiles: [{ file: 'logs/security.log', format: { kind: 'pack' } }],
      });
      expect(Object.keys(s.stories)).toEqual(BUILTIN_STORIES.map((st) => st.id));
      expect(s.stories['1.2']?.probes).toEqual([{ url: 'http://127.0.0.1:3001/health', timeoutMs: 2000 }]);
      expect(s.stories['1.3']?.logs.map((l) => l.match)).toEqual([
        { url: '^/api/v1/analytics(?:[/?]|$)' },
        { service: '^analytical-engine$' },
        { event: '^analytics_query$' },
      ]);
      expect(s.stories['1.5']?.probes.map((p) => p.url)).toEqual(['http://127.0.0.1:3003/health']);
      // A story that declares nothing to watch is still there, with the project's thresholds and no sources.
      expect(s.stories['1.4']).toEqual({ probes: [], logs: [], thresholds: BUILT_IN_THRESHOLDS, queries: [] });
      expect(s.prometheus).toBeNull();
    }
    expect(BUILT_IN_THRESHOLDS.latencyMinDeltaMs).toBe(100);
  });

  it('reads the documented example', () => {
    const s = settingsOf([...EXAMPLE.slice(0, 1), '  interval: 1.5s', '  cooldown: 90s', '  memoryShare: "40%"', '  action: flag-only', '  cascade: true', ...EXAMPLE.slice(1).filter((l) => !/^ {2}(interval|cooldown|memoryShare|action|cascade):/.test(l))]);
    expect(s).toMatchObject({ intervalMs: 1500, windowMs: 60_000, cooldownMs: 90_000, memoryShare: 0.4, action: 'flag-only', cascade: true });
    const exact = settingsOf(EXAMPLE);
    expect(exact.thresholds).toEqual({ errorRate: 0.1, memory: 0.9, latencyMs: 5000, latencyP95Change: 0.1, throughputChange: -0.1, latencyMinDeltaMs: 100 });
    expect(exact.stories['1.2']).toEqual({
      probes: [{ url: 'http://127.0.0.1:3001/health', timeoutMs: 2000 }],
      logs: [{ file: 'logs/security.log', match: { url: '^/api/v1/data-sources' } }],
      thresholds: { ...exact.thresholds, errorRate: 0.05 },
      queries: [],
    });
    // logs/app.log has a format but no story reads it: only the files the stories read are watched.
    expect(exact.logFiles).toEqual([{ file: 'logs/security.log', format: { kind: 'pack' } }]);
  });

  it('gives a watched file the format monitor.logs names: pino, or field paths of its own', () => {
    const s = settingsOf([
      'monitor:',
      '  logs:',
      '    - { file: ./logs/app.log, format: pino }',
      '    - { file: logs/worker.log, format: { time: ts, status: http.status, url: path } }',
      '  stories:',
      '    "1.7":',
      '      logs: [{ file: logs/app.log, match: { url: "^/reports" } }]',
      '    "1.8":',
      '      logs: [{ file: logs/worker.log, match: { url: "^/qa" } }]',
    ]);
    expect(s.logFiles).toEqual([
      { file: 'logs/security.log', format: { kind: 'pack' } },
      { file: 'logs/app.log', format: { kind: 'generic', fields: PINO_FIELDS } },
      { file: 'logs/worker.log', format: { kind: 'generic', fields: { time: 'ts', status: 'http.status', url: 'path' } } },
    ]);
  });

  it("a story's probes or logs in the config replace its defaults of that kind only; thresholds are laid key by key", () => {
    const s = resolveMonitorSettings(
      parseRollbackConfig(
        [
          'monitor:',
          '  thresholds: { latencyMs: 2s, baseline: { throughput: "-20%" } }',
          '  stories:',
          '    "1.2":',
          '      probes: [{ url: "https://127.0.0.1:4001/ready" }]',
          '    "1.3":',
          '      logs: [{ file: logs/analytics.log, match: { event: "^q$" } }]',
          '      thresholds: { memory: "80%", baseline: { latencyP95: "+25%", minLatencyDeltaMs: 1s } }',
        ].join('\n'),
        FILE,
      ).monitor,
      BUILTIN_STORIES,
      { ...BUILT_IN_THRESHOLDS, errorRate: 0.2 },
    );
    // 1.2: its probe replaced (default timeout), its log matches kept.
    expect(s.stories['1.2']?.probes).toEqual([{ url: 'https://127.0.0.1:4001/ready', timeoutMs: 2000 }]);
    expect(s.stories['1.2']?.logs).toEqual(BUILTIN_STORIES.find((st) => st.id === '1.2')?.monitor?.logs);
    // 1.3: its log matches replaced, its probe kept.
    expect(s.stories['1.3']?.logs).toEqual([{ file: 'logs/analytics.log', match: { event: '^q$' } }]);
    expect(s.stories['1.3']?.probes).toEqual([{ url: 'http://127.0.0.1:3002/health', timeoutMs: 2000 }]);
    // base (rollback_triggers) < monitor.thresholds < the story's own.
    const project = { ...BUILT_IN_THRESHOLDS, errorRate: 0.2, latencyMs: 2000, throughputChange: -0.2 };
    expect(s.thresholds).toEqual(project);
    expect(s.stories['1.2']?.thresholds).toEqual(project);
    expect(s.stories['1.3']?.thresholds).toEqual({ ...project, memory: 0.8, latencyP95Change: 0.25, latencyMinDeltaMs: 1000 });
    expect(s.logFiles.map((f) => f.file)).toEqual(['logs/security.log', 'logs/analytics.log']);
  });

  it('refuses every bad value with its file, line, column and key path', () => {
    expect(problemOf(['monitor:', '  interval: 5'])).toBe(
      '2:13 monitor.interval: must be a duration with a unit (500ms, 1s, 5m, 1h), found 5: a bare number could mean seconds or milliseconds',
    );
    expect(problemOf(['monitor:', '  window: 0s'])).toBe('2:11 monitor.window: must be a duration with a unit (500ms, 1s, 5m, 1h) above 0, found "0s"');
    expect(problemOf(['monitor:', '  thresholds:', '    errorRate: 10'])).toBe(
      '3:16 monitor.thresholds.errorRate: must be a fraction in 0..1 (0.1) or a percentage ("10%"), found 10: a number above 1 is ambiguous: write 0.1 or "10%" for 10 %',
    );
    expect(problemOf(['monitor:', '  thresholds: { baseline: { latencyP95: "10%" } }'])).toMatch(
      /^2:41 monitor\.thresholds\.baseline\.latencyP95: must be a change from the baseline with its sign, such as "\+10%", found "10%": the sign is required/,
    );
    expect(problemOf(['monitor:', '  thresholds: { baseline: { throughput: "+10%" } }'])).toMatch(/^2:41 monitor\.thresholds\.baseline\.throughput: .*improvement/);
    expect(problemOf(['monitor:', '  stories:', '    "1.2":', '      probes:', '        - url: "ftp://127.0.0.1/health"'])).toBe(
      '5:16 monitor.stories.1.2.probes[0].url: must be an http:// or https:// URL, found "ftp://127.0.0.1/health"',
    );
    expect(problemOf(['monitor:', '  stories:', '    "1.2":', '      probes: [{ url: localhost:3001 }]'])).toMatch(/^4:23 monitor\.stories\.1\.2\.probes\[0\]\.url: must be an http/);
    expect(problemOf(['monitor:', '  stories:', '    "1.3":', '      logs:', '        - file: logs/security.log', '          match: { url: "^/api/(" }'])).toMatch(
      /^6:25 monitor\.stories\.1\.3\.logs\[0\]\.match\.url: is not a valid regular expression: .*Unterminated group/,
    );
    expect(problemOf(['monitor:', '  intervall: 5s'])).toMatch(/^2:3 monitor\.intervall: is not a known key \(interval, window, /);
    expect(problemOf(['monitor:', '  stories:', '    "1.2":', '      probes: [{ url: "http://x/", timeot: 1s }]'])).toBe(
      '4:36 monitor.stories.1.2.probes[0].timeot: is not a known key (url, timeout)',
    );
    expect(problemOf(['monitor:', '  thresholds: { baseline: { latency: "+10%" } }'])).toBe(
      '2:29 monitor.thresholds.baseline.latency: is not a known key (latencyP95, throughput, minLatencyDeltaMs)',
    );
    expect(problemOf(['monitor:', '  logs:', '    - { file: logs/app.log, format: { time: t, sttus: s } }'])).toBe(
      '3:48 monitor.logs[0].format.sttus: is not a known key (time, status, duration, url, method, service, event)',
    );
    expect(problemOf(['monitor:', '  logs:', '    - { file: logs/app.log, format: bunyan }'])).toBe(
      '3:37 monitor.logs[0].format: must be pack, pino or a mapping of field paths (time, status, duration, …), found "bunyan"',
    );
    expect(problemOf(['monitor:', '  logs:', '    - { file: ../app.log, format: pino }'])).toMatch(/^3:15 monitor\.logs\[0\]\.file: "\.\.\/app\.log" points outside/);
    expect(problemOf(['monitor:', '  logs:', '    - { file: logs/a.log, format: pino }', '    - { file: ./logs/a.log, format: pack }'])).toBe(
      '4:15 monitor.logs[1].file: names "logs/a.log" a second time',
    );
    expect(problemOf(['monitor:', '  action: rollback-all'])).toBe('2:11 monitor.action: must be rollback, flag-only, alert or propose, found "rollback-all"');
    expect(problemOf(['monitor:', '  stories:', '    "1.2":', '      logs: [{ file: logs/security.log, match: {} }]'])).toMatch(/^4:48 monitor\.stories\.1\.2\.logs\[0\]\.match: must name at least one field/);
  });

  it('reports every bad value of the section at once, in file order', () => {
    const err = configErrorOf(() => parseRollbackConfig(['monitor:', '  interval: 5', '  cooldown: 10', '  memoryShare: 50'].join('\n'), FILE));
    expect(err.problems.map((p) => `${p.line} ${p.keyPath}`)).toEqual(['2 monitor.interval', '3 monitor.cooldown', '4 monitor.memoryShare']);
  });

  it('refuses a story in monitor.stories that is not a story, at its line, with the other problems of the file', async () => {
    const root = project(['monitor:', '  interval: 5', '  stories:', '    "1.2":', '      thresholds: { errorRate: 0.05 }', '    "1.99":', '      thresholds: { errorRate: 0.05 }']);
    const err = await loadProject(root).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.keyPath}: ${p.message}`)).toEqual([
      `${FILE}:2:13 monitor.interval: must be a duration with a unit (500ms, 1s, 5m, 1h), found 5: a bare number could mean seconds or milliseconds`,
      `${FILE}:6:5 monitor.stories.1.99: names an unknown story "1.99"`,
    ]);
    expect((err as ConfigError).exitCode).toBe(2);
    // Without a registry check in between (a library caller), resolving still refuses it.
    const section = parseRollbackConfig(['monitor:', '  stories:', '    "1.99": {}'].join('\n'), FILE).monitor;
    expect(configErrorOf(() => resolveMonitorSettings(section, BUILTIN_STORIES, BUILT_IN_THRESHOLDS))).toMatchObject({ keyPath: 'monitor.stories.1.99', exitCode: 2 });
  });

  it("a story of the user's own is watched through monitor.stories", async () => {
    const root = project(['stories:', '  "1.9":', '    feature: sqlmesh', 'monitor:', '  stories:', '    "1.9":', '      probes: [{ url: "http://127.0.0.1:8000/", timeout: 500ms }]']);
    const flags = readFileSync(path.join(root, FLAGS), 'utf8').replace(/^features:\n/m, 'features:\n  sqlmesh:\n    enabled: true\n');
    writeFileSync(path.join(root, FLAGS), flags);
    const s = monitorSettingsOf(await loadProject(root));
    expect(s.stories['1.9']).toEqual({ probes: [{ url: 'http://127.0.0.1:8000/', timeoutMs: 500 }], logs: [], thresholds: BUILT_IN_THRESHOLDS, queries: [] });
  });
});

describe('monitor.prometheus and a story\'s queries', () => {
  const QUERY = "sum(rate(qa_errors_total[1m])) / sum(rate(qa_requests_total[1m]))";

  it('reads the server, its time-out, the names of its credentials and each story\'s queries', () => {
    const s = settingsOf([
      'monitor:',
      '  prometheus: { url: "http://127.0.0.1:9090/", timeout: 1500ms, bearerTokenEnv: PROM_TOKEN }',
      '  stories:',
      '    "1.8":',
      '      thresholds: { latencyMs: 800 }',
      '      queries:',
      '        - rule: errorRate',
      `          query: '${QUERY}'`,
      '        - { rule: latencyP95, query: "histogram_quantile(0.95, sum by (le) (rate(qa_seconds_bucket[1m]))) * 1000" }',
      '        - { rule: memory, query: "  qa_memory_fraction  " }',
    ]);
    // The trailing slash goes: the API path is appended to it.
    expect(s.prometheus).toEqual({ url: 'http://127.0.0.1:9090', timeoutMs: 1500, auth: { kind: 'bearer', tokenEnv: 'PROM_TOKEN' } });
    expect(s.stories['1.8']?.queries).toEqual([
      { rule: 'errorRate', query: QUERY },
      { rule: 'latencyP95', query: 'histogram_quantile(0.95, sum by (le) (rate(qa_seconds_bucket[1m]))) * 1000' },
      { rule: 'memory', query: 'qa_memory_fraction' },
    ]);
    expect(s.stories['1.8']?.thresholds.latencyMs).toBe(800);
    // Its probes and log matches are the story's own still.
    expect(s.stories['1.8']?.logs).toEqual(BUILTIN_STORIES.find((st) => st.id === '1.8')?.monitor?.logs ?? []);
    expect(s.stories['1.2']?.queries).toEqual([]);
  });

  it('basic auth by two variables, no auth, the default time-out; a path prefix is kept', () => {
    const basic = settingsOf(['monitor:', '  prometheus:', '    url: https://prom.example:8443/prometheus', '    basicAuthEnv: { user: PROM_USER, password: PROM_PASSWORD }']);
    expect(basic.prometheus).toEqual({ url: 'https://prom.example:8443/prometheus', timeoutMs: 2000, auth: { kind: 'basic', userEnv: 'PROM_USER', passwordEnv: 'PROM_PASSWORD' } });
    expect(settingsOf(['monitor:', '  prometheus: { url: "http://127.0.0.1:9090" }']).prometheus).toEqual({ url: 'http://127.0.0.1:9090', timeoutMs: 2000, auth: null });
  });

  it('refuses every bad value at its line', () => {
    const story = (...lines: string[]) => ['monitor:', '  prometheus: { url: "http://127.0.0.1:9090" }', '  stories:', '    "1.8":', ...lines.map((l) => `      ${l}`)];
    expect(problemOf(['monitor:', '  prometheus: { url: "ftp://127.0.0.1:9090" }'])).toBe('2:22 monitor.prometheus.url: must be an http:// or https:// URL, found "ftp://127.0.0.1:9090"');
    expect(problemOf(['monitor:', '  prometheus: { url: "http://admin:secret@127.0.0.1:9090" }'])).toMatch(/^2:22 monitor\.prometheus\.url: must not hold credentials: name their environment variables in bearerTokenEnv or basicAuthEnv$/);
    expect(problemOf(['monitor:', '  prometheus: { url: "http://127.0.0.1:9090/api/v1/query?query=up" }'])).toMatch(/^2:22 monitor\.prometheus\.url: must be the server's base URL, without \?query/);
    expect(problemOf(['monitor:', '  prometheus: { url: "http://127.0.0.1:9090", timeout: 2 }'])).toMatch(/^2:56 monitor\.prometheus\.timeout: must be a duration with a unit/);
    expect(problemOf(['monitor:', '  prometheus: { url: "http://127.0.0.1:9090", bearerTokenEnv: "Bearer abc.def" }'])).toBe(
      '2:63 monitor.prometheus.bearerTokenEnv: must be the name of an environment variable (letters, digits, _), not its value',
    );
    expect(problemOf(['monitor:', '  prometheus:', '    url: "http://127.0.0.1:9090"', '    bearerTokenEnv: T', '    basicAuthEnv: { user: U, password: P }'])).toBe(
      '5:19 monitor.prometheus.basicAuthEnv: is set beside bearerTokenEnv: choose one way to authenticate',
    );
    expect(problemOf(['monitor:', '  prometheus: { url: "http://127.0.0.1:9090", basicAuthEnv: { user: U } }'])).toMatch(/^2:\d+ monitor\.prometheus\.basicAuthEnv\.password: /);
    expect(problemOf(['monitor:', '  prometheus: { url: "http://127.0.0.1:9090", token: T }'])).toMatch(/^2:47 monitor\.prometheus\.token: is not a known key \(url, timeout, bearerTokenEnv, basicAuthEnv\)$/);
    expect(problemOf(story('queries: [{ rule: latencyBaseline, query: up }]'))).toBe(
      '5:25 monitor.stories.1.8.queries[0].rule: must be errorRate, latencyP95, memory (a rule judged on one number against a threshold), found "latencyBaseline"',
    );
    expect(problemOf(story('queries: [{ rule: errorRate, query: "  " }]'))).toBe('5:43 monitor.stories.1.8.queries[0].query: must be a PromQL expression, found "  "');
    expect(problemOf(story('queries: [{ rule: errorRate, query: up, step: 1m }]'))).toBe('5:47 monitor.stories.1.8.queries[0].step: is not a known key (rule, query)');
    expect(problemOf(story('queries:', '  - { rule: errorRate, query: up }', '  - { rule: errorRate, query: "vector(1)" }'))).toBe(
      '7:19 monitor.stories.1.8.queries[1].rule: is a second query for errorRate: one query per rule and story',
    );
    expect(problemOf(story('queries: { rule: errorRate, query: up }'))).toBe('5:16 monitor.stories.1.8.queries: must be a list of { rule, query }, found a mapping');
  });

  it('refuses queries with no server to send them to, at their line, with the other problems of the file', async () => {
    const root = project(['monitor:', '  interval: 5', '  stories:', '    "1.8":', '      queries: [{ rule: errorRate, query: up }]', '    "1.99": {}']);
    const err = await loadProject(root).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => `${p.line}:${p.column} ${p.keyPath}: ${p.message}`)).toEqual([
      expect.stringMatching(/^2:13 monitor\.interval: must be a duration/),
      '5:7 monitor.stories.1.8.queries: need a valid monitor.prometheus: { url } to be sent to',
      '6:5 monitor.stories.1.99: names an unknown story "1.99"',
    ]);
    expect((err as ConfigError).exitCode).toBe(2);
    // A library caller that resolves the section itself is refused too.
    const section = parseRollbackConfig(['monitor:', '  stories:', '    "1.8":', '      queries: [{ rule: memory, query: up }]'].join('\n'), FILE).monitor;
    expect(configErrorOf(() => resolveMonitorSettings(section, BUILTIN_STORIES, BUILT_IN_THRESHOLDS))).toMatchObject({ keyPath: 'monitor.stories.1.8.queries', exitCode: 2 });
  });
});

describe('monitor.alerts and alertConsecutive (Alertmanager, monitor --listen)', () => {
  it('default to no mapping and one sample; a mapping is read with its labels', () => {
    expect(settingsOf([])).toMatchObject({ alerts: [], alertConsecutive: 1 });
    const s = settingsOf(['monitor:', '  alertConsecutive: 2', '  alerts:', '    - { alertname: AnalyticsDown, labels: { severity: page }, story: "1.3" }', '    - { alertname: IngestSlow, story: "1.2" }']);
    expect(s.alertConsecutive).toBe(2);
    expect(s.alerts).toEqual([
      { alertname: 'AnalyticsDown', labels: { severity: 'page' }, story: '1.3' },
      { alertname: 'IngestSlow', labels: {}, story: '1.2' },
    ]);
  });

  it('refuses a bad mapping at its line, and a story that is not one', () => {
    expect(problemOf(['monitor:', '  alerts: [{ alertname: X, labels: { 1bad: v }, story: "1.3" }]'])).toMatch(/^2:\d+ monitor\.alerts\[0\]\.labels\.1bad: is not a label name/);
    expect(problemOf(['monitor:', '  alerts: [{ alertname: X }]'])).toMatch(/^2:\d+ monitor\.alerts\[0\]\.story: /);
    expect(problemOf(['monitor:', '  alerts: [{ alertname: X, story: "1.3", for: 5m }]'])).toMatch(/monitor\.alerts\[0\]\.for: is not a known key \(alertname, labels, story\)/);
    expect(problemOf(['monitor:', '  alertConsecutive: 0'])).toMatch(/^2:\d+ monitor\.alertConsecutive: must be a whole number of at least 1/);
    const section = parseRollbackConfig(['monitor:', '  alerts: [{ alertname: X, story: "1.99" }]'].join('\n'), FILE).monitor;
    expect(configErrorOf(() => resolveMonitorSettings(section, BUILTIN_STORIES, BUILT_IN_THRESHOLDS))).toMatchObject({ keyPath: 'monitor.alerts[0].story', exitCode: 2 });
  });
});

describe("the pack's rollback_triggers", () => {
  /** The pack's flags file with its rollback_triggers replaced by `triggers` (lines after `rollback_triggers:`). */
  const flagsWith = (triggers: string[]): string =>
    readFileSync(path.join(REPO, FLAGS), 'utf8').replace(/^rollback_triggers:\n(?: {2}- .*\n)*/m, ['rollback_triggers:', ...triggers, ''].join('\n'));
  const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

  it('give the base thresholds, under monitor.thresholds; unknown triggers are left alone', async () => {
    const flags = flagsWith(['  - error_rate_threshold: 0.2', '  - memory_usage_threshold: "80%"', '  - response_time_threshold: 3000', '  - disk_threshold: 0.5']);
    const root = project(['monitor:', '  thresholds: { latencyMs: 4s }'], flags);
    const s = monitorSettingsOf(await loadProject(root));
    expect(s.thresholds).toEqual({ ...BUILT_IN_THRESHOLDS, errorRate: 0.2, memory: 0.8, latencyMs: 4000 });
    // The pack's own file, as shipped.
    expect(monitorSettingsOf(await loadProject(project([]))).thresholds).toEqual(BUILT_IN_THRESHOLDS);
  });

  it('a bad value there is exit 2 naming config/feature-flags.yaml, its line and key', async () => {
    const flags = flagsWith(['  - error_rate_threshold: 0.1', '  - memory_usage_threshold: 90', '  - response_time_threshold: 5s']);
    const loaded = await loadProject(project([], flags));
    const err = configErrorOf(() => monitorSettingsOf(loaded));
    expect(err).toMatchObject({ exitCode: 2, file: FLAGS, line: lineOf(flags, 'memory_usage_threshold: 90'), column: 29, keyPath: 'rollback_triggers[1].memory_usage_threshold' });
    expect(err.message).toMatch(/^config\/feature-flags\.yaml:\d+:29: rollback_triggers\[1\]\.memory_usage_threshold must be a fraction .*found 90: a number above 1 is ambiguous/);
  });

  it('an entry that is not a single-key mapping, or a list that is not one, is located too', async () => {
    const two = flagsWith(['  - error_rate_threshold: 0.1', '    memory_usage_threshold: 0.9']);
    const e1 = configErrorOf(monitorSettingsOf.bind(null, await loadProject(project([], two))));
    expect(e1).toMatchObject({ file: FLAGS, line: lineOf(two, 'error_rate_threshold: 0.1'), keyPath: 'rollback_triggers[0]' });
    expect(e1.message).toContain('must be a mapping with one key');
    const notList = flagsWith([]).replace(/^rollback_triggers:\n/m, 'rollback_triggers:\n  error_rate_threshold: 0.1\n');
    const e2 = configErrorOf(monitorSettingsOf.bind(null, await loadProject(project([], notList))));
    expect(e2).toMatchObject({ file: FLAGS, keyPath: 'rollback_triggers', line: lineOf(notList, 'error_rate_threshold') });
  });
});
