/**
 * What `monitor.notify` resolves to: where the monitor's automatic decisions are POSTed, which of them, and how
 * hard it tries. A module of its own (no zod) so that a project loads it without the schema.
 */

/** How much a decision matters, lowest first; a target receives its own severity and every higher one. */
export const NOTIFY_SEVERITIES = ['info', 'warning', 'critical'] as const;

/** A decision's severity, or the least a target wants to hear about. */
export type NotifySeverity = (typeof NOTIFY_SEVERITIES)[number];

/** `json`: the decision document as it is; `slack`: `{ text, blocks }` for an incoming webhook. */
export const NOTIFY_FORMATS = ['json', 'slack'] as const;

/** The body a target is sent. */
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/** One receiver of `monitor.notify`. */
export interface NotifyTarget {
  /** An http(s) URL; user:password in it becomes basic auth and is never logged. */
  url: string;
  /** The least severity it is sent. */
  severity: NotifySeverity;
  format: NotifyFormat;
  /** One attempt's deadline: connect, send, answer. */
  timeoutMs: number;
  /** Attempts after the first one failed, with exponential back-off between them. */
  retries: number;
}

/** `monitor.notify[]` when an entry leaves these out. */
export const DEFAULT_NOTIFY = { severity: 'warning', format: 'json', timeoutMs: 5_000, retries: 3 } as const;
