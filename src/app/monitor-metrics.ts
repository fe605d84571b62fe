/**
 * The monitor's own metrics, in Prometheus' text format (`GET /metrics` of `monitor --listen`): how many rounds
 * it ran, what it decided, what it rolled back, which sources failed, when it last looked, each story's state per
 * rule, and the Alertmanager notifications it took in or turned away. Updated from each round's report, so the
 * figures are the ones `logs/monitor.jsonl` and `status` tell.
 *
 * prom-client is loaded only with `--listen`: this module is reached through a dynamic import, so `status` and
 * `rollback` never load it.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Verdict } from '../monitor/rules.js';
import type { RoundReport } from './monitor-session.js';

/** A story's state per rule as the gauge says it. */
export const STATE_VALUE: Readonly<Record<Verdict, number>> = { breached: 1, healthy: 0, 'no-data': -1, 'source-error': -2 };

/** Why a notification was turned away (the `reason` label). */
export type RejectReason = 'bad-payload' | 'unauthorized' | 'too-large';

/** The metrics of one monitor, in a registry of their own (never prom-client's global one). */
export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly evaluations: Counter;
  private readonly decisions: Counter<'outcome' | 'rule'>;
  private readonly rollbacks: Counter<'story' | 'mode'>;
  private readonly sourceErrors: Counter<'source'>;
  private readonly lastEvaluation: Gauge;
  private readonly state: Gauge<'story' | 'rule'>;
  private readonly received: Counter<'status'>;
  private readonly rejected: Counter<'reason'>;

  constructor() {
    const registers = [this.registry];
    this.evaluations = new Counter({ name: 'rollback_monitor_evaluations_total', help: 'Rounds the monitor ran (a round that waited on a manual run included).', registers });
    this.decisions = new Counter({ name: 'rollback_monitor_decisions_total', help: 'Decisions recorded in logs/monitor.jsonl, by outcome and rule.', labelNames: ['outcome', 'rule'], registers });
    this.rollbacks = new Counter({
      name: 'rollback_monitor_automatic_rollbacks_total',
      help: 'Automatic rollbacks started, by story and mode (rollback, mitigate, flag-only), whatever their end.',
      labelNames: ['story', 'mode'],
      registers,
    });
    this.sourceErrors = new Counter({ name: 'rollback_monitor_source_errors_total', help: 'Rounds in which a source could not be read, by source.', labelNames: ['source'], registers });
    this.lastEvaluation = new Gauge({ name: 'rollback_monitor_last_evaluation_timestamp_seconds', help: 'When the last round ran (Unix time, seconds).', registers });
    this.state = new Gauge({
      name: 'rollback_monitor_story_rule_state',
      help: "Each watched story's last verdict per rule: 1 breached, 0 healthy, -1 no data, -2 source error.",
      labelNames: ['story', 'rule'],
      registers,
    });
    this.received = new Counter({ name: 'rollback_monitor_alerts_received_total', help: 'Alerts in the Alertmanager notifications taken in, by status (firing, resolved).', labelNames: ['status'], registers });
    this.rejected = new Counter({
      name: 'rollback_monitor_alert_notifications_rejected_total',
      help: 'Requests to the Alertmanager webhook turned away, by reason (bad-payload, unauthorized, too-large).',
      labelNames: ['reason'],
      registers,
    });
  }

  /** Counts one round: its decisions, the rollbacks it started, its source errors, each story's state. */
  observeRound(r: RoundReport): void {
    this.evaluations.inc();
    this.lastEvaluation.set(Date.parse(r.at) / 1000);
    if (r.waiting !== undefined) return;
    for (const d of r.decisions) this.decisions.inc({ outcome: d.outcome, rule: d.rule });
    for (const a of r.acted) this.rollbacks.inc({ story: a.story, mode: a.mode });
    for (const source of new Set((r.sourceErrors ?? []).map((e) => e.source))) this.sourceErrors.inc({ source });
    // Series of rules a story no longer has (rolled back, restored: its counts start over) must go, not linger.
    this.state.reset();
    for (const [story, s] of Object.entries(r.stories)) {
      if (!s.watched) continue;
      for (const [rule, v] of Object.entries(s.rules)) if (v !== undefined) this.state.set({ story, rule }, STATE_VALUE[v.verdict]);
    }
  }

  /** Counts the alerts of a notification taken in. */
  alertsReceived(statuses: ReadonlyArray<'firing' | 'resolved'>): void {
    for (const status of statuses) this.received.inc({ status });
  }

  /** Counts a request turned away. */
  notificationRejected(reason: RejectReason): void {
    this.rejected.inc({ reason });
  }

  /** The exposition text and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
