/**
 * Prometheus as a source of the monitor: each round, every watched story's instant queries (`monitor.stories.<id>
 * .queries`), sent at once, each under the time-out, evaluated at the round's time. Each answer is one sample of
 * its rule, judged against the story's threshold like the built-in ones, with the query, the server and the
 * values returned as its evidence.
 *
 * An empty vector or NaN is no data; a refused or hung server, an HTTP error or Prometheus' own error is a source
 * error — the monitor cannot see, which alerts about the monitor after `sourceErrorsBeforeAlert` rounds and never
 * rolls a story back.
 */
import { InvalidInputError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import type { MonitorSettings } from '../config/monitor-settings.js';
import type { PrometheusAuthEnv, QueryRule } from '../config/prometheus-settings.js';
import type { Thresholds } from '../config/monitor-units.js';
import type { Observation } from '../monitor/decide.js';
import { queryPrometheus, type PrometheusCredentials, type PrometheusTarget, type QueryResult } from '../monitor/prometheus-query.js';
import type { Sample } from '../monitor/rules.js';
import type { RoundSource } from './monitor-sources.js';

/** What a Prometheus sample keeps as evidence. */
export interface PrometheusEvidence {
  server: string;
  query: string;
  /** The values returned (largest first); absent on a source error. */
  values?: Array<{ metric?: Record<string, string>; value: number | string }>;
  /** Series in the answer, when more than `values` holds. */
  series?: number;
  warnings?: string[];
  /** The HTTP status of a failed query, when there was an answer. */
  status?: number;
}

/**
 * The source the settings call for: null when no story has queries. The credentials are read from `env` now,
 * once: a variable the config names that is unset or empty is a config problem (exit 2) naming it, rather than a
 * monitor that runs and fails every query.
 */
export function prometheusSource(settings: MonitorSettings, env: NodeJS.ProcessEnv = process.env): RoundSource | null {
  const p = settings.prometheus;
  if (p === null) return null;
  const target: PrometheusTarget = { url: p.url, timeoutMs: p.timeoutMs, auth: credentials(p.auth, env) };
  const withQueries = Object.entries(settings.stories).filter(([, s]) => s.queries.length > 0);
  if (withQueries.length === 0) return null;
  const name = `prometheus:${p.url}`;
  return {
    name,
    replaces: withQueries.flatMap(([story, s]) => s.queries.map((q) => ({ story, rule: q.rule }))),
    async observe(now, watched) {
      const asked = watched.flatMap((w) => (settings.stories[w.id]?.queries ?? []).map((q) => ({ w, q })));
      return Promise.all(
        asked.map(async ({ w, q }): Promise<Observation> => {
          const result = await queryPrometheus(target, q.query, now);
          return { story: w.id, rule: { kind: q.rule, threshold: thresholdOf(w.thresholds, q.rule) }, samples: [sampleOf(result, now, name, p.url, q.query)] };
        }),
      );
    },
  };
}

/** The threshold of a story a query's rule is judged against: the same one the built-in sources use. */
function thresholdOf(t: Thresholds, rule: QueryRule): number {
  return rule === 'latencyP95' ? t.latencyMs : t[rule];
}

function sampleOf(r: QueryResult, at: number, source: string, server: string, query: string): Sample {
  if (!r.ok) {
    const evidence: PrometheusEvidence = { server, query, ...(r.status !== undefined ? { status: r.status } : {}) };
    return { at, source, value: null, sourceError: `${r.error} (${r.failure})`, evidence };
  }
  const evidence: PrometheusEvidence = {
    server,
    query,
    values: r.values,
    ...(r.series > r.values.length ? { series: r.series } : {}),
    ...(r.warnings !== undefined ? { warnings: r.warnings } : {}),
  };
  return { at, source, value: r.value, ...(r.value === null ? { why: r.why } : {}), evidence };
}

/** The credentials the config's variables hold; an unset or empty one is refused, naming it. */
function credentials(auth: PrometheusAuthEnv | null, env: NodeJS.ProcessEnv): PrometheusCredentials | null {
  if (auth === null) return null;
  const read = (variable: string, key: string): string => {
    const v = env[variable];
    if (v !== undefined && v !== '') return v;
    throw new InvalidInputError(`${LAYOUT.config}: monitor.prometheus.${key} names the environment variable ${variable}, which is ${v === undefined ? 'not set' : 'empty'} in the monitor's environment`, {
      code: 'E_PROMETHEUS_AUTH_ENV',
      file: LAYOUT.config,
      keyPath: `monitor.prometheus.${key}`,
    });
  };
  if (auth.kind === 'bearer') return { kind: 'bearer', token: read(auth.tokenEnv, 'bearerTokenEnv') };
  return { kind: 'basic', user: read(auth.userEnv, 'basicAuthEnv.user'), password: read(auth.passwordEnv, 'basicAuthEnv.password') };
}
