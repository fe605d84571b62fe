/**
 * Sources of samples beyond the built-in ones (logs, probes, memory): each is asked once per round for its
 * observations, which go through the same decision core as the rest — consecutive rounds, mute, cooldown, daily
 * cap, evidence. Prometheus queries and Alertmanager alerts come in this way.
 */
import type { MonitorSettings } from '../config/monitor-settings.js';
import type { Observation } from '../monitor/decide.js';
import type { StoryWatch } from '../monitor/observe.js';
import type { RuleKind } from '../monitor/rules.js';
import { prometheusSource } from './monitor-prometheus.js';

/** One extra source of a monitor. */
export interface RoundSource {
  /** For records and errors: `prometheus:http://127.0.0.1:9090`. */
  name: string;
  /** This round's observations of the watched stories (a failure is a sample with `sourceError`, never a throw). */
  observe(now: number, watched: readonly StoryWatch[]): Promise<Observation[]>;
  /** Releases what it holds (connections, servers) when the monitor stops. */
  close?(): Promise<void>;
  /**
   * The rules of stories this source measures instead of the built-in sources (a story's Prometheus query for
   * its errorRate). The decision core keeps one row per story and rule: two samples of one rule a round, one
   * from the logs and one from here, would break each other's rows.
   */
  replaces?: ReadonlyArray<{ story: string; rule: RuleKind }>;
}

/** The sources the settings call for (each integration adds its own here). */
export function sourcesFromSettings(settings: MonitorSettings): RoundSource[] {
  return [prometheusSource(settings)].filter((s): s is RoundSource => s !== null);
}

/**
 * The built-in observations less those the extra sources replace. Host memory blamed on a story whose memory a
 * source measures is kept, as a project-level signal (it alerts): the host is still short of memory.
 */
export function withoutReplaced(builtIn: readonly Observation[], sources: readonly RoundSource[], projectMemory: number): Observation[] {
  const replaced = new Set(sources.flatMap((s) => s.replaces ?? []).map((r) => `${r.story}|${r.rule}`));
  if (replaced.size === 0) return [...builtIn];
  return builtIn.flatMap((o): Observation[] => {
    if (o.story === null || !replaced.has(`${o.story}|${o.rule.kind}`)) return [o];
    return o.rule.kind === 'memory' ? [{ ...o, story: null, rule: { ...o.rule, threshold: projectMemory } }] : [];
  });
}
