/**
 * The Why section of a report the monitor started: the rule, the threshold, the baseline, the window, and the
 * samples that counted as a table, with a sparkline so that a person sees the trend before reading the numbers.
 */
import { isAlertEvidence, type AlertEvidence } from '../monitor/alert-book.js';
import type { Decision } from '../monitor/decision-log.js';
import { fmtSampleValue } from '../monitor/decision-log.js';
import { comparatorIsComplete, type Sample } from '../monitor/rules.js';
import { mdInline } from '../util/format.js';

const BARS = '▁▂▃▄▅▆▇█';

/** One bar per value, scaled between the smallest and the largest (a flat row when they are equal). */
export function sparkline(values: ReadonlyArray<number | null>): string {
  const nums = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (nums.length === 0) return '';
  const lo = Math.min(...nums);
  const hi = Math.max(...nums);
  return values
    .map((v) => {
      if (v === null || !Number.isFinite(v)) return ' ';
      const i = hi === lo ? BARS.length - 1 : Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1));
      return BARS[i] ?? ' ';
    })
    .join('');
}

/** mdInline escapes `|` already: escaping it twice (`\\|`) would end the cell there. */
function cell(text: string): string {
  return mdInline(text);
}

/**
 * An Alertmanager alert in words: `firing since <startsAt>; labels alertname=X, rollback_story=1.3; annotations
 * summary="…"; fingerprint f`. Labels and annotations are what a person reads to know which alert it was.
 */
function alertsInWords(e: AlertEvidence): string {
  const pairs = (o: Record<string, string>, quote: boolean) => Object.entries(o).map(([k, v]) => `${k}=${quote ? JSON.stringify(v) : v}`).join(', ');
  const one = e.alerts.map((a) =>
    [
      a.status === 'firing' ? `firing since ${a.startsAt}` : `resolved at ${a.endsAt ?? '?'} (since ${a.startsAt})`,
      `labels ${pairs(a.labels, false) || '(none)'}`,
      ...(Object.keys(a.annotations).length > 0 ? [`annotations ${pairs(a.annotations, true)}`] : []),
      `fingerprint ${a.fingerprint}`,
      ...(a.why !== undefined ? [a.why] : []),
    ].join('; '),
  );
  return [...one, ...(e.more !== undefined ? [`and ${e.more} more`] : [])].join(' / ');
}

function evidenceOf(s: Sample, rule: Decision['rule']): string {
  const parts: string[] = [];
  if (rule === 'alert' && isAlertEvidence(s.evidence)) parts.push(alertsInWords(s.evidence));
  else if (s.evidence !== undefined) parts.push(JSON.stringify(s.evidence));
  if (s.excluded !== undefined && Object.keys(s.excluded).length > 0) parts.push(`excluded ${JSON.stringify(s.excluded)}`);
  if (s.why !== undefined) parts.push(s.why);
  return parts.join('; ');
}

/** The Markdown lines of the Why section. */
export function renderMonitorWhy(d: Decision): string[] {
  const value = (v: number | null) => (v === null ? 'no data' : fmtSampleValue(d.rule, v));
  const baseline = d.samples.find((s) => s.baseline !== undefined)?.baseline;
  const out = [
    '## Why the monitor acted',
    '',
    `- **Decision:** \`${d.id}\` at ${d.at} (\`rollback-manager monitor explain ${d.id}\`)`,
    `- **Rule:** ${d.rule} ${d.comparator} ${comparatorIsComplete(d.rule) ? '' : fmtSampleValue(d.rule, d.threshold)}`.trimEnd(),
    ...(baseline !== undefined ? [`- **Baseline:** ${fmtSampleValue(d.rule, baseline)} (the story's last healthy window)`] : []),
    `- **Window:** ${d.windowMs / 1000} s; **samples in a row:** ${d.samples.length}`,
    `- **In words:** ${mdInline(d.reason)}`,
    ...(Object.keys(d.excluded).length > 0 ? [`- **Left out of the measurements:** ${Object.entries(d.excluded).map(([k, n]) => `${k} ${n}`).join(', ')}`] : []),
    '',
    `Trend: \`${sparkline(d.samples.map((s) => s.value))}\``,
    '',
    '| time | value | baseline | source | evidence |',
    '| --- | --- | --- | --- | --- |',
    ...d.samples.map((s) => {
      const at = typeof s.at === 'number' ? new Date(s.at).toISOString() : s.at;
      return `| ${at} | ${value(s.value)} | ${s.baseline === undefined ? '' : fmtSampleValue(d.rule, s.baseline)} | ${cell(s.source)} | ${cell(evidenceOf(s, d.rule))} |`;
    }),
    '',
  ];
  return out;
}
