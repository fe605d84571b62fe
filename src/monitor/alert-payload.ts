/**
 * Alertmanager's webhook notification (payload version "4"), checked field by field: a payload that is not one is
 * refused with the first thing wrong in it (the listener answers 400 with it and records it), and nothing in it
 * is acted on. Pure: text in, a notification or a reason out.
 */

/** One alert of a notification, as Alertmanager sends it. */
export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  /** RFC 3339; `0001-01-01T00:00:00Z` while the alert fires. */
  endsAt: string;
  generatorURL: string;
  /** Alertmanager's identity of the alert (a hash of its labels): a later notification of it replaces this one. */
  fingerprint: string;
}

/** A webhook notification, version 4. */
export interface AlertmanagerNotification {
  version: '4';
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

/** The notification, or why the payload is not one. */
export type PayloadReading = { ok: true; notification: AlertmanagerNotification } | { ok: false; why: string };

class Refused extends Error {}

const STATUSES = new Set(['firing', 'resolved']);

/** Reads a request body as an Alertmanager webhook notification (version 4). */
export function parseAlertmanagerPayload(body: string): PayloadReading {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (err) {
    return { ok: false, why: `not JSON: ${(err as Error).message}` };
  }
  try {
    return { ok: true, notification: notificationOf(raw) };
  } catch (err) {
    if (err instanceof Refused) return { ok: false, why: err.message };
    throw err;
  }
}

function notificationOf(raw: unknown): AlertmanagerNotification {
  const o = mapping(raw, 'the payload');
  if (!('version' in o)) throw new Refused('version: missing (an Alertmanager webhook payload has version "4")');
  if (o.version !== '4') throw new Refused(`version: must be "4" (Alertmanager's webhook payload), found ${show(o.version)}`);
  const alerts = field(o, 'alerts', 'alerts');
  if (!Array.isArray(alerts)) throw new Refused(`alerts: must be a list, found ${show(alerts)}`);
  return {
    version: '4',
    groupKey: text(field(o, 'groupKey', 'groupKey'), 'groupKey'),
    status: status(field(o, 'status', 'status'), 'status'),
    receiver: text(field(o, 'receiver', 'receiver'), 'receiver'),
    groupLabels: labels(field(o, 'groupLabels', 'groupLabels'), 'groupLabels'),
    commonLabels: labels(field(o, 'commonLabels', 'commonLabels'), 'commonLabels'),
    commonAnnotations: labels(field(o, 'commonAnnotations', 'commonAnnotations'), 'commonAnnotations'),
    externalURL: text(field(o, 'externalURL', 'externalURL'), 'externalURL'),
    alerts: alerts.map((a, i) => alertOf(a, `alerts[${i}]`)),
  };
}

function alertOf(raw: unknown, at: string): AlertmanagerAlert {
  const o = mapping(raw, at);
  const fingerprint = text(field(o, 'fingerprint', at), `${at}.fingerprint`);
  if (fingerprint === '') throw new Refused(`${at}.fingerprint: must not be empty`);
  return {
    status: status(field(o, 'status', at), `${at}.status`),
    labels: labels(field(o, 'labels', at), `${at}.labels`),
    annotations: labels(field(o, 'annotations', at), `${at}.annotations`),
    startsAt: time(field(o, 'startsAt', at), `${at}.startsAt`),
    endsAt: time(field(o, 'endsAt', at), `${at}.endsAt`),
    generatorURL: text(field(o, 'generatorURL', at), `${at}.generatorURL`),
    fingerprint,
  };
}

function mapping(v: unknown, at: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Refused(`${at}: must be a JSON object, found ${show(v)}`);
  return v as Record<string, unknown>;
}

function field(o: Record<string, unknown>, key: string, at: string): unknown {
  if (!(key in o)) throw new Refused(`${at === key ? key : `${at}.${key}`}: missing`);
  return o[key];
}

function text(v: unknown, at: string): string {
  if (typeof v !== 'string') throw new Refused(`${at}: must be a string, found ${show(v)}`);
  return v;
}

function status(v: unknown, at: string): 'firing' | 'resolved' {
  if (typeof v !== 'string' || !STATUSES.has(v)) throw new Refused(`${at}: must be "firing" or "resolved", found ${show(v)}`);
  return v as 'firing' | 'resolved';
}

function time(v: unknown, at: string): string {
  const s = text(v, at);
  if (!Number.isFinite(Date.parse(s))) throw new Refused(`${at}: must be an RFC 3339 time, found ${show(s)}`);
  return s;
}

function labels(v: unknown, at: string): Record<string, string> {
  const o = mapping(v, at);
  for (const [k, x] of Object.entries(o)) if (typeof x !== 'string') throw new Refused(`${at}.${k}: must be a string, found ${show(x)}`);
  return { ...(o as Record<string, string>) };
}

/** A value as the reason quotes it, short. */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
