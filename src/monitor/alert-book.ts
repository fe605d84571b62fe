/**
 * What the monitor knows of Alertmanager's alerts: the last word on each (by fingerprint), which story each is
 * about, and the samples they make each round. No I/O and no clock (times are given), so that it is tested
 * without a listener.
 *
 * - An alert is about a story by its `rollback_story` label, else by the first `monitor.alerts` mapping whose
 *   alertname and labels it carries. One naming no story, or a story that is not one, is a project-level alert:
 *   recorded, alerted on, never acted on.
 * - Per watched story, one sample a round: 1 while any of its alerts fires, 0 once all are resolved; a story no
 *   alert was heard of in its current life (since it was watched, enabled or restored) gets none — no data, never
 *   a breach. Alertmanager debounced the alert (`for:`) already, so its rule may act on one sample.
 */
import type { AlertRoute } from '../config/monitor-settings.js';
import type { AlertmanagerAlert, AlertmanagerNotification } from './alert-payload.js';
import type { Observation } from './decide.js';
import type { StoryWatch } from './observe.js';
import type { Rule } from './rules.js';

/** The label that names the story an alert is about: `rollback_story: "1.3"`. */
export const STORY_LABEL = 'rollback_story';

/** Resolved alerts are forgotten this long after their last notification. */
const RESOLVED_KEEP_MS = 60 * 60_000;
/** The most alerts kept: past it, the resolved ones heard of longest ago go first, then the firing ones. */
const MAX_ALERTS = 10_000;
/** The most alerts one sample's evidence lists (the rest are counted). */
const MAX_EVIDENCE = 10;

/** Which story an alert is about, or why none. */
export type AlertStory = { story: string } | { story: null; why: string };

/** One alert as a sample's evidence shows it. */
export interface AlertEvidenceItem {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** Only once resolved. */
  endsAt?: string;
  fingerprint: string;
  /** Project-level only: why no story was given this alert. */
  why?: string;
}

/** The evidence of an alert sample. */
export interface AlertEvidence {
  alerts: AlertEvidenceItem[];
  /** Alerts left out of `alerts` to keep the record short. */
  more?: number;
}

/** Whether a sample's evidence is an alert sample's (for the report, which shows it as text). */
export function isAlertEvidence(e: unknown): e is AlertEvidence {
  return typeof e === 'object' && e !== null && Array.isArray((e as { alerts?: unknown }).alerts);
}

/** The story `alert` is about: its `rollback_story` label, else the first mapping it matches; known stories only. */
export function storyOfAlert(alert: Pick<AlertmanagerAlert, 'labels'>, routes: readonly AlertRoute[], known: ReadonlySet<string>): AlertStory {
  const named = alert.labels[STORY_LABEL];
  if (named !== undefined) {
    return known.has(named) ? { story: named } : { story: null, why: `${STORY_LABEL} names "${named}", which is not a story of this project` };
  }
  const route = routes.find((r) => r.alertname === alert.labels.alertname && Object.entries(r.labels).every(([k, v]) => alert.labels[k] === v));
  if (route === undefined) return { story: null, why: `no ${STORY_LABEL} label, and no monitor.alerts mapping matches it` };
  // The config's stories were checked when the project loaded; a mapping naming another is refused there.
  return known.has(route.story) ? { story: route.story } : { story: null, why: `monitor.alerts maps it to "${route.story}", which is not a story of this project` };
}

/** How the book turns alerts into samples. */
export interface AlertBookSettings {
  routes: readonly AlertRoute[];
  /** Every story of the project (watched or not). */
  known: ReadonlySet<string>;
  /** Firing samples in a row before acting. */
  consecutive: number;
  /** The samples' source, e.g. `alertmanager:127.0.0.1:9095`. */
  source: string;
}

interface Entry {
  alert: AlertmanagerAlert;
  /** Epoch ms of the notification that said it last. */
  receivedAt: number;
}

/**
 * The alerts heard of, by fingerprint, the firing and the resolved apart. Each map is in the order the alerts were
 * last heard of (receive() re-inserts), so that forgetting is done from the front of a map and costs what it
 * forgets, not the size of the book: a flood of notifications must not pay for every alert known at each one.
 */
export class AlertBook {
  private readonly firing = new Map<string, Entry>();
  private readonly resolved = new Map<string, Entry>();

  /** Takes in a notification received at `at` (epoch ms): each alert's latest word replaces the one before. */
  receive(n: AlertmanagerNotification, at: number): void {
    for (const alert of n.alerts) {
      const fp = alert.fingerprint;
      const prev = this.resolved.get(fp);
      // A firing word about the very occurrence already resolved is a late retry; a new one starts anew.
      if (prev !== undefined && alert.status === 'firing' && prev.alert.startsAt === alert.startsAt) continue;
      this.firing.delete(fp);
      this.resolved.delete(fp);
      (alert.status === 'firing' ? this.firing : this.resolved).set(fp, { alert, receivedAt: at });
    }
    this.trim(at);
  }

  /** How many alerts it knows, and how many of them fire. */
  get size(): { known: number; firing: number } {
    return { known: this.firing.size + this.resolved.size, firing: this.firing.size };
  }

  /**
   * This round's samples: one per watched story an alert of this life is about, and one project-level sample
   * when an alert is about no story. Alerts of a story not watched (rolled back, disabled) say nothing.
   */
  observe(now: number, watched: readonly StoryWatch[], s: AlertBookSettings): Observation[] {
    this.trim(now);
    const since = new Map(watched.map((w) => [w.id, w.since]));
    const byStory = new Map<string, Entry[]>();
    const orphans: Array<Entry & { why: string }> = [];
    for (const map of [this.firing, this.resolved]) {
      for (const e of map.values()) {
        const to = storyOfAlert(e.alert, s.routes, s.known);
        if (to.story === null) {
          orphans.push({ ...e, why: to.why });
          continue;
        }
        const from = since.get(to.story);
        if (from === undefined || e.receivedAt < from) continue;
        let list = byStory.get(to.story);
        if (list === undefined) byStory.set(to.story, (list = []));
        list.push(e);
      }
    }
    const rule = (alertOnly: boolean): Rule => ({ kind: 'alert', threshold: 0, consecutive: s.consecutive, ...(alertOnly ? { alertOnly } : {}) });
    const out: Observation[] = [];
    for (const w of watched) {
      const list = byStory.get(w.id);
      if (list !== undefined) out.push({ story: w.id, rule: rule(false), samples: [sampleOf(now, s.source, list)] });
    }
    if (orphans.length > 0) out.push({ story: null, rule: rule(true), samples: [sampleOf(now, s.source, orphans)] });
    return out;
  }

  /**
   * Resolved alerts heard of long ago go; past the cap, the resolved ones heard of longest ago, and only then
   * the firing ones: a storm of alerts that come and go must not push out one that still fires, which
   * Alertmanager may not repeat for hours (`repeat_interval`). Both walks stop at the first alert they keep.
   */
  private trim(now: number): void {
    for (const [fp, e] of this.resolved) {
      if (e.receivedAt >= now - RESOLVED_KEEP_MS) break;
      this.resolved.delete(fp);
    }
    let over = this.firing.size + this.resolved.size - MAX_ALERTS;
    for (const map of [this.resolved, this.firing]) {
      for (const fp of map.keys()) {
        if (over <= 0) return;
        map.delete(fp);
        over--;
      }
    }
  }
}

/** 1 while any alert fires (the firing ones as evidence), 0 once all are resolved (the resolved ones). */
function sampleOf(now: number, source: string, entries: ReadonlyArray<Entry & { why?: string }>) {
  const firing = entries.filter((e) => e.alert.status === 'firing');
  const shown = (firing.length > 0 ? firing : entries).slice().sort((a, b) => Date.parse(a.alert.startsAt) - Date.parse(b.alert.startsAt));
  const evidence: AlertEvidence = {
    alerts: shown.slice(0, MAX_EVIDENCE).map(({ alert: a, why }) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      ...(a.status === 'resolved' ? { endsAt: a.endsAt } : {}),
      fingerprint: a.fingerprint,
      ...(why !== undefined ? { why } : {}),
    })),
    ...(shown.length > MAX_EVIDENCE ? { more: shown.length - MAX_EVIDENCE } : {}),
  };
  return { at: now, value: firing.length > 0 ? 1 : 0, source, evidence };
}
