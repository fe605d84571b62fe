/**
 * What `monitor.prometheus` and a story's `queries` resolve to. Credentials are never in the config: it names the
 * environment variables that hold them, and the monitor reads those when it opens.
 */

/** How to authenticate to Prometheus: the names of environment variables, never their values. */
export type PrometheusAuthEnv = { kind: 'bearer'; tokenEnv: string } | { kind: 'basic'; userEnv: string; passwordEnv: string };

/** The Prometheus server the stories' queries are sent to. */
export interface PrometheusSettings {
  /** Base URL without a trailing slash (`http://127.0.0.1:9090`, or a path prefix behind a proxy). */
  url: string;
  /** One query's deadline: connect, evaluation and answer. */
  timeoutMs: number;
  /** Null: no authentication. */
  auth: PrometheusAuthEnv | null;
}

/**
 * The rules a query may feed: those whose value is one number compared with a threshold. The baseline rules need
 * a healthy window of the same measurement, and `probeFailure` is the monitor's own probes.
 */
export const QUERY_RULES = ['errorRate', 'latencyP95', 'memory'] as const;

/** A rule a query may feed (see {@link QUERY_RULES}). */
export type QueryRule = (typeof QUERY_RULES)[number];

/**
 * An instant PromQL query of one story, whose value is that story's sample of `rule`, in the rule's unit: a
 * fraction for errorRate and memory, milliseconds for latencyP95.
 */
export interface StoryQuery {
  rule: QueryRule;
  query: string;
}

/** A query's deadline when `monitor.prometheus.timeout` says none. */
export const DEFAULT_PROMETHEUS_TIMEOUT_MS = 2_000;
