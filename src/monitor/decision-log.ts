/**
 * The monitor's decisions as records: one JSON object each (a line of `logs/monitor.jsonl`), and the words
 * `monitor explain` prints for one. Every decision is written, acted on or not, so that "why did it (not) roll
 * back?" is always answered by the log, with the samples that counted.
 */
import type { RuleKind, Sample, Verdict } from './rules.js';
import { comparatorIsComplete } from './rules.js';

/**
 * What the settings tell the monitor to do when a story breaches. `propose`: write a proposal that a person
 * approves (the rollback runs then) or rejects, instead of acting.
 */
export type Action = 'rollback' | 'flag-only' | 'alert' | 'propose';

/**
 * What became of a judgement:
 * - `acted`: the action was taken (rollback or flag-only); `would-act`: the same, in a dry run;
 * - `proposed`: a proposal was written for a person to approve (`action: propose`); counts like an act;
 * - `alerted`: an alert instead of an act (project-level signal, `action: alert`, a source failing in a row);
 * - `capped`: the story reached `maxPerDay` automatic rollbacks, so an alert with the command to run by hand;
 * - `cooldown`, `muted`: a breach held back by the gate;
 * - `no-data`, `source-error`: recorded, never counted as a breach; `recovered`: a breach cleared;
 * - `not-sustained`: breached samples in a row that ended before `consecutive` (a spike, a flap): never acted on.
 */
export type Outcome =
  | 'acted'
  | 'proposed'
  | 'would-act'
  | 'alerted'
  | 'capped'
  | 'cooldown'
  | 'muted'
  | 'no-data'
  | 'source-error'
  | 'recovered'
  | 'not-sustained';

/** One decision of the monitor, plain JSON. */
export interface Decision {
  /** Unique and sortable: UTC time, then the state's sequence number (which survives restarts). */
  id: string;
  /** ISO time of the decision. */
  at: string;
  /** The story, or null for a project-level signal (never rolls a story back). */
  story: string | null;
  rule: RuleKind;
  /** The rule's threshold in canonical units (see Rule). */
  threshold: number;
  /** How the value is compared with the threshold, e.g. `>` or `> baseline + 10%`. */
  comparator: string;
  /** The observation window the samples were measured over, in milliseconds. */
  windowMs: number;
  /** The samples that counted: the streak for a breach, the one sample otherwise. */
  samples: Sample[];
  /** Sum of the samples' excluded counts (health checks, OPTIONS, 4xx…). */
  excluded: Record<string, number>;
  /** The judgement of the last sample. */
  verdict: Verdict;
  outcome: Outcome;
  /** What the caller must do now: `none` for everything that is only recorded (dry run included). */
  action: Action | 'none';
  /** For a rollback (or a proposed one): whether installed dependents may go with it. */
  cascade?: boolean;
  /** In words, for people; callers branch on `outcome` and `action`, never on this. */
  reason: string;
}

/** A decision id: `20261203T074000.123Z-000042`. The sequence number keeps two decisions of one instant apart. */
export function decisionId(atMs: number, seq: number): string {
  return `${new Date(atMs).toISOString().replace(/[-:]/g, '')}-${String(seq).padStart(6, '0')}`;
}

/** The excluded counts of several samples, added up key by key. */
export function sumExcluded(samples: readonly Sample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) for (const [k, n] of Object.entries(s.excluded ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** A value in the rule's unit, for people: `12.5%`, `830.2 ms`, `4.2 req/s`, `firing`. */
export function fmtSampleValue(rule: RuleKind, v: number): string {
  if (rule === 'alert') return v > 0 ? 'firing' : 'resolved';
  if (rule === 'errorRate' || rule === 'memory' || rule === 'probeFailure') return `${Math.round(v * 10000) / 100}%`;
  if (rule === 'latencyP95' || rule === 'latencyBaseline') return `${Math.round(v * 10) / 10} ms`;
  return `${Math.round(v * 1000) / 1000} req/s`;
}

function fmtThreshold(d: Decision): string {
  if (comparatorIsComplete(d.rule)) return d.comparator;
  return `${d.comparator} ${fmtSampleValue(d.rule, d.threshold)}`;
}

function fmtSample(rule: RuleKind, s: Sample): string {
  const at = typeof s.at === 'number' ? new Date(s.at).toISOString() : s.at;
  const value = s.sourceError !== undefined ? `source error: ${s.sourceError}` : s.value === null ? `no data: ${s.why ?? 'no value'}` : fmtSampleValue(rule, s.value);
  const parts = [`  ${at}  ${value}  from ${s.source}`];
  if (s.baseline !== undefined) parts.push(`baseline ${fmtSampleValue(rule, s.baseline)}`);
  if (s.evidence !== undefined) parts.push(`evidence ${JSON.stringify(s.evidence)}`);
  if (s.excluded !== undefined && Object.keys(s.excluded).length > 0) parts.push(`excluded ${JSON.stringify(s.excluded)}`);
  return parts.join('  ');
}

/** One decision in words for `monitor explain`: what was judged, against what, what was done and why, every sample. */
export function explainDecision(d: Decision): string {
  const excluded = Object.entries(d.excluded);
  const lines = [
    `Decision ${d.id} at ${d.at}`,
    `${d.story === null ? 'Project-level signal (no single story)' : `Story ${d.story}`}, rule ${d.rule} ${fmtThreshold(d)}, window ${d.windowMs / 1000}s`,
    `Verdict: ${d.verdict}. Outcome: ${d.outcome}. Action: ${d.action}${d.cascade === undefined ? '' : d.cascade ? ' (with dependents)' : ' (without dependents)'}.`,
    `Why: ${d.reason}`,
    `Samples that counted (${d.samples.length}):`,
    ...d.samples.map((s) => fmtSample(d.rule, s)),
  ];
  if (excluded.length > 0) lines.push(`Left out of the measurements: ${excluded.map(([k, n]) => `${k} ${n}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
