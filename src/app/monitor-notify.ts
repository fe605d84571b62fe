/**
 * Notifications of the monitor's automatic decisions (`monitor.notify`): each acted-on (with how the run ended),
 * capped, alerted, would-act or held-back decision is POSTed to every target whose severity admits it, as the
 * decision document (`json`) or a readable summary (`slack`).
 *
 * Delivery is in the background: `notify` returns at once, so a receiver that is down never delays a round or a
 * rollback. Each attempt has its own time-out; failures are retried with exponential back-off, and each one is a
 * `type: "notify-failed"` line in `logs/monitor.jsonl`. When every target of a decision gave up, `warn` says so
 * too: an automatic rollback is never silent. `close` waits for what is in flight, bounded by the targets' own
 * worst case, and then abandons the rest (recorded as given up).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../model/errors.js';
import { NOTIFY_SEVERITIES, type NotifySeverity, type NotifyTarget } from '../config/notify-settings.js';
import type { Decision, Outcome } from '../monitor/decision-log.js';
import { fmtSampleValue } from '../monitor/decision-log.js';
import { comparatorIsComplete } from '../monitor/rules.js';
import type { ActResult } from './monitor-act.js';
import { appendRecord, DECISIONS_LOG } from './monitor-store.js';

/**
 * The severity of a decision's outcome, or null for what is only recorded (no data, source errors, recoveries,
 * spikes): a rollback or a cap needs a person now; an alert or a dry run's would-act is worth a look; a breach
 * held back is for those who want everything.
 */
export function severityOf(outcome: Outcome): NotifySeverity | null {
  switch (outcome) {
    case 'acted':
    case 'capped':
      return 'critical';
    case 'alerted':
    case 'would-act':
    case 'proposed': // a person has to approve it: they must hear of it
      return 'warning';
    case 'muted':
    case 'cooldown':
      return 'info';
    default:
      return null;
  }
}

/** Whether a target of severity `least` is sent a decision of `severity`. */
export function admits(least: NotifySeverity, severity: NotifySeverity): boolean {
  return NOTIFY_SEVERITIES.indexOf(severity) >= NOTIFY_SEVERITIES.indexOf(least);
}

/** What a `json` target receives: one automatic decision, what was done about it and how to undo it. */
export interface NotifyDocument {
  type: 'rollback-manager.monitor.decision';
  version: 1;
  severity: NotifySeverity;
  /** The project root and the host the monitor runs on: which installation this is about. */
  project: string;
  host: string;
  story: { id: string; feature?: string; title?: string } | null;
  /** The decision as in `logs/monitor.jsonl`: rule, threshold, comparator, samples (with their evidence), reason. */
  decision: Decision;
  /** The action's result, once the run ended: run id, status, report (relative to the project). */
  result: ActResult | null;
  /** The commands that undo the run, from its report's `undo`. */
  undo: Array<{ story: string; command: string }>;
  /** For a capped decision: the rollback to run by hand. */
  byHand?: string;
  /** After a mitigation: what finishes the job. */
  next?: string;
}

/** What a `slack` target receives (an incoming webhook's message). */
export interface SlackMessage {
  text: string;
  blocks?: Array<Record<string, unknown>>;
}

/** Options of a {@link Notifier}. */
export interface NotifierOptions {
  /** The project root: where `logs/monitor.jsonl` is, and the reports' paths are relative to. */
  root: string;
  /** Told when every target of a decision gave up (the CLI writes it to stderr). */
  warn: (line: string) => void;
  /** The first back-off, doubled at each retry (default 500 ms). */
  backoffMs?: number;
}

const DEFAULT_BACKOFF_MS = 500;
/** Added to the worst case of a delivery when the monitor stops and waits for it. */
const CLOSE_SLACK_MS = 1_000;

/** The monitor's notifications: a queue of background deliveries with retries. */
export class Notifier {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stop = new AbortController();

  constructor(
    private readonly targets: readonly NotifyTarget[],
    private readonly opts: NotifierOptions,
  ) {}

  /** The document of a decision (with its run's result when it was acted on), or null when it is not notified. */
  documentOf(d: Decision, result: ActResult | null, story?: { feature?: string; title?: string }): NotifyDocument | null {
    const severity = severityOf(d.outcome);
    if (severity === null) return null;
    const doc: NotifyDocument = {
      type: 'rollback-manager.monitor.decision',
      version: 1,
      severity,
      project: this.opts.root,
      host: hostname(),
      story: d.story === null ? null : { id: d.story, ...story },
      decision: d,
      result,
      undo: result?.report === undefined ? [] : undoOf(this.opts.root, result.report),
    };
    if (d.outcome === 'capped' && d.story !== null) doc.byHand = `rollback-manager rollback ${d.story} --force --root ${this.opts.root}`;
    if (result?.next !== undefined) doc.next = result.next;
    return doc;
  }

  /** Starts delivering `doc` to every target its severity admits, and returns at once. */
  notify(doc: NotifyDocument): void {
    const targets = this.targets.filter((t) => admits(t.severity, doc.severity));
    if (targets.length === 0) return;
    // deliver never throws by design; a bug in it must still not become an unhandled rejection that ends the monitor.
    const tries = targets.map((t) =>
      this.deliver(t, doc).catch((err: unknown) => {
        this.record({ decision: doc.decision.id, url: safeUrl(t.url), attempt: 0, error: messageOf(err), gaveUp: true });
        return false;
      }),
    );
    const all = Promise.all(tries).then((ok) => {
      if (!ok.includes(true)) {
        const what = doc.story === null ? `project-level ${doc.decision.rule}` : `story ${doc.story.id} ${doc.decision.rule}`;
        this.opts.warn(
          `rollback-manager: notification of decision ${doc.decision.id} (${what}: ${doc.decision.outcome}) not delivered: ` +
            `every target failed (${targets.map((t) => safeUrl(t.url)).join(', ')}); see type "notify-failed" in ${DECISIONS_LOG}`,
        );
      }
    });
    this.inFlight.add(all);
    void all.finally(() => this.inFlight.delete(all));
  }

  /** How many deliveries are still in flight (retries included). */
  get pending(): number {
    return this.inFlight.size;
  }

  /**
   * Waits for the deliveries in flight, at most as long as the slowest target's attempts and back-offs can
   * take; what is still in flight then is abandoned and recorded as given up.
   */
  async close(): Promise<void> {
    if (this.inFlight.size === 0) return;
    // A little slack: timers fire late, and a delivery on its last attempt should not be cut off for that.
    const bound = Math.max(...this.targets.map((t) => worstCaseMs(t, this.backoff))) + CLOSE_SLACK_MS;
    const deadline = new AbortController();
    const timer = sleep(bound, undefined, { signal: deadline.signal }).then(
      () => this.stop.abort(new Error('the monitor stopped before it was delivered')),
      () => undefined,
    );
    await Promise.all([...this.inFlight]);
    deadline.abort();
    await timer;
  }

  private get backoff(): number {
    return this.opts.backoffMs ?? DEFAULT_BACKOFF_MS;
  }

  /** One target, with retries; true once a 2xx answered. Never throws. */
  private async deliver(t: NotifyTarget, doc: NotifyDocument): Promise<boolean> {
    const { url, headers } = requestOf(t.url);
    const body = JSON.stringify(t.format === 'slack' ? slackMessage(doc) : doc);
    const attempts = t.retries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let error: string;
      let retryable = true;
      // Our own timer rather than AbortSignal.any([AbortSignal.timeout(…)]): Node 20 may collect that timeout
      // signal before it fires, and the attempt then hangs.
      const ac = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ac.abort();
      }, t.timeoutMs);
      const onStop = (): void => ac.abort();
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      try {
        if (this.stop.signal.aborted) throw new Error('stopped');
        const res = await fetch(url, { method: 'POST', headers, body, signal: ac.signal, redirect: 'error' });
        await res.body?.cancel();
        if (res.ok) return true;
        error = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
        // A receiver refusing the request as such will refuse it again; busy or failing ones may not.
        retryable = res.status >= 500 || res.status === 408 || res.status === 429;
      } catch (err) {
        error = timedOut ? `no answer within ${t.timeoutMs} ms` : this.stop.signal.aborted ? messageOf(this.stop.signal.reason) : errorOf(err);
      } finally {
        clearTimeout(timer);
        this.stop.signal.removeEventListener('abort', onStop);
      }
      const gaveUp = attempt === attempts || !retryable || this.stop.signal.aborted;
      this.record({ decision: doc.decision.id, url: safeUrl(t.url), attempt, error, ...(gaveUp ? { gaveUp: true } : {}) });
      if (gaveUp) return false;
      try {
        await sleep(this.backoff * 2 ** (attempt - 1), undefined, { signal: this.stop.signal });
      } catch {
        // stopped during the back-off: the next attempt records the give-up
      }
    }
    return false;
  }

  private record(line: { decision: string; url: string; attempt: number; error: string; gaveUp?: true }): void {
    try {
      appendRecord(this.opts.root, { type: 'notify-failed', ...line });
    } catch (err) {
      this.opts.warn(`rollback-manager: could not record a failed notification in ${DECISIONS_LOG}: ${messageOf(err)}`);
    }
  }
}

/** The longest one delivery to `t` can take: every attempt timing out, and every back-off between them. */
function worstCaseMs(t: NotifyTarget, backoffMs: number): number {
  let ms = (t.retries + 1) * t.timeoutMs;
  for (let i = 0; i < t.retries; i++) ms += backoffMs * 2 ** i;
  return ms;
}

/** The URL as it may be logged: no user, password or query (where webhooks keep their tokens). */
export function safeUrl(u: string): string {
  try {
    const url = new URL(u);
    // Webhook URLs (Slack's among them) carry their secret in the path: only its first segment is shown.
    const [first, ...rest] = url.pathname.split('/').filter(Boolean);
    const pathShown = first === undefined ? '/' : `/${first}${rest.length > 0 ? '/…' : ''}`;
    return `${url.origin}${pathShown}${url.search === '' ? '' : '?…'}`;
  } catch {
    return '(not a URL)';
  }
}

/** fetch refuses a URL with credentials: they become an Authorization header. */
function requestOf(u: string): { url: string; headers: Record<string, string> } {
  const url = new URL(u);
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': 'rollback-manager-monitor' };
  if (url.username !== '' || url.password !== '') {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  return { url: url.toString(), headers };
}

function errorOf(err: unknown): string {
  const e = err as { cause?: { code?: string; message?: string } };
  // fetch says "fetch failed"; what failed is in its cause (ECONNREFUSED, ENOTFOUND…).
  if (e.cause !== undefined) return `${messageOf(err)}: ${e.cause.code ?? e.cause.message ?? String(e.cause)}`;
  return messageOf(err);
}

/** The report's `undo` commands; none when the report cannot be read (a run that failed to start wrote none). */
function undoOf(root: string, report: string): Array<{ story: string; command: string }> {
  try {
    const r = JSON.parse(readFileSync(path.resolve(root, report), 'utf8')) as { undo?: unknown };
    if (!Array.isArray(r.undo)) return [];
    return r.undo.filter(
      (u): u is { story: string; command: string } => typeof u === 'object' && u !== null && typeof (u as { story?: unknown }).story === 'string' && typeof (u as { command?: unknown }).command === 'string',
    ).map((u) => ({ story: u.story, command: u.command }));
  } catch {
    return [];
  }
}

/** A Slack message for a person: what happened, why, what was done, how to undo it. */
export function slackMessage(doc: NotifyDocument): SlackMessage {
  const d = doc.decision;
  const who = doc.story === null ? 'project-level signal' : `story ${doc.story.id}${doc.story.title ? ` (${doc.story.title})` : ''}`;
  const last = d.samples.at(-1)?.value;
  const value = last === undefined || last === null ? 'no value' : fmtSampleValue(d.rule, last);
  const r = doc.result;
  const headline = headlineOf(doc, who);
  const icon = doc.severity === 'critical' ? ':rotating_light:' : doc.severity === 'warning' ? ':warning:' : ':information_source:';
  const lines = [`${icon} *${headline}*`, `${d.rule} ${comparatorIsComplete(d.rule) ? d.comparator : `${d.comparator} ${fmtSampleValue(d.rule, d.threshold)}`}: last value ${value} (${d.samples.length} samples)`, d.reason];
  if (r?.runId !== undefined) lines.push(`Run \`${r.runId}\`${r.report !== undefined ? `, report \`${r.report}\`` : ''}`);
  if (r?.error !== undefined) lines.push(`Error: ${r.error}`);
  for (const u of doc.undo) lines.push(`Undo: \`${u.command}\``);
  if (doc.byHand !== undefined) lines.push(`Roll back by hand: \`${doc.byHand}\``);
  if (doc.next !== undefined) lines.push(`To finish the job: \`${doc.next}\``);
  const text = lines.join('\n');
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `decision \`${d.id}\` · ${doc.host} · ${doc.project}` }] },
    ],
  };
}

function headlineOf(doc: NotifyDocument, who: string): string {
  const d = doc.decision;
  const r = doc.result;
  switch (d.outcome) {
    case 'acted':
      if (r === null) return `${who}: automatic ${d.action}`;
      return r.error !== undefined ? `${who}: automatic ${r.mode} could not start` : `${who}: automatic ${r.mode}, ${r.status}`;
    case 'capped':
      return `${who}: breached, NOT rolled back (daily cap reached)`;
    case 'alerted':
      return `${who}: alert`;
    case 'would-act':
      return `${who}: dry run, would act (nothing done)`;
    case 'cooldown':
    case 'muted':
      return `${who}: breach held back (${d.outcome})`;
    default:
      return `${who}: ${d.outcome}`;
  }
}
