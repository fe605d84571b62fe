/**
 * Sources of samples beyond the built-in ones (logs, probes, memory): each is asked once per round for its
 * observations, which go through the same decision core as the rest — consecutive rounds, mute, cooldown, daily
 * cap, evidence. Prometheus queries and Alertmanager alerts come in this way.
 */
import type { MonitorSettings } from '../config/monitor-settings.js';
import type { Observation } from '../monitor/decide.js';
import type { StoryWatch } from '../monitor/observe.js';

/** One extra source of a monitor. */
export interface RoundSource {
  /** For records and errors: `prometheus:http://127.0.0.1:9090`. */
  name: string;
  /** This round's observations of the watched stories (a failure is a sample with `sourceError`, never a throw). */
  observe(now: number, watched: readonly StoryWatch[]): Promise<Observation[]>;
  /** Releases what it holds (connections, servers) when the monitor stops. */
  close?(): Promise<void>;
}

/** The sources the settings call for (none yet: each integration adds its own here). */
export function sourcesFromSettings(_settings: MonitorSettings): RoundSource[] {
  return [];
}
