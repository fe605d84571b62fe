import { InvalidInputError } from '../../model/errors.js';
import { parseDuration } from '../../config/monitor-units.js';
import { explainDecision, fmtSampleValue } from '../../monitor/decision-log.js';
import { findDecision } from '../../app/monitor-store.js';
import { runMonitor } from '../../app/monitor-run.js';
import { replayLogs } from '../../app/monitor-replay.js';
import type { RoundReport, TimingOverrides } from '../../app/monitor-session.js';
import type { MonitorListener } from '../../app/monitor-listener.js';
import { printJson, type GlobalOptions } from '../global-options.js';
import { runStarting } from '../interrupt.js';

/** Options of `monitor`, as commander parses them. */
export interface MonitorFlags {
  once?: boolean;
  for?: string;
  dryRun?: boolean;
  interval?: string;
  window?: string;
  consecutive?: string;
  /** `host:port` of the Alertmanager webhook and /metrics listener. */
  listen?: string;
}

/** `--interval`, `--window`, `--consecutive` from the command line, with their units checked like the config's. */
export function timingOverrides(opts: Pick<MonitorFlags, 'interval' | 'window' | 'consecutive'>): TimingOverrides {
  const o: TimingOverrides = {};
  if (opts.interval !== undefined) o.intervalMs = positive(parseDuration(opts.interval, '--interval'), '--interval');
  if (opts.window !== undefined) o.windowMs = positive(parseDuration(opts.window, '--window'), '--window');
  if (opts.consecutive !== undefined) {
    const n = Number(opts.consecutive);
    if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`--consecutive: ${opts.consecutive} is not a whole number ≥ 1`, { code: 'E_USAGE' });
    o.consecutive = n;
  }
  return o;
}

function positive(ms: number, what: string): number {
  if (ms <= 0) throw new InvalidInputError(`${what}: must be more than 0`, { code: 'E_USAGE' });
  return ms;
}

/**
 * `monitor`: watch until SIGINT/SIGTERM (or `--for`, or `--once`). Each round that decides something prints
 * it; with --json, `--once` prints one JSON document and a watch prints one JSON line per round.
 */
export async function monitorCommand(g: GlobalOptions, opts: MonitorFlags, argv: string[]): Promise<number> {
  const overrides = timingOverrides(opts);
  const forMs = opts.for === undefined ? undefined : parseDuration(opts.for, '--for');
  const listener = opts.listen === undefined ? null : await listenerOf(opts);
  const signal = runStarting(true);
  const { last, stopped } = await runMonitor({
    root: g.root,
    dryRun: opts.dryRun === true,
    overrides,
    command: argv,
    signal,
    once: opts.once === true,
    ...(forMs !== undefined ? { forMs } : {}),
    ...(listener !== null ? { sources: [listener.source] } : {}),
    onOpen: async (s) => {
      if (listener !== null) {
        const url = await listener.start(s.root, s.settings);
        process.stderr.write(`rollback-manager: listening on ${url}: POST /alertmanager (Alertmanager webhook), GET /metrics\n`);
      }
      if (g.json) return;
      const watched = Object.keys(s.settings.stories).length;
      process.stderr.write(
        `rollback-manager: monitoring ${s.root}${opts.dryRun === true ? ' (dry run: deciding and recording, never acting)' : ''}: ` +
          `${watched} stories, a round every ${s.settings.intervalMs / 1000}s, window ${s.settings.windowMs / 1000}s, ` +
          `${s.settings.consecutive} breached rounds in a row to act (${s.settings.action}); decisions in logs/monitor.jsonl\n`,
      );
    },
    onRound: (r) => {
      listener?.observeRound(r);
      if (g.json) {
        if (opts.once !== true) process.stdout.write(`${JSON.stringify(r)}\n`);
        return;
      }
      printRound(r);
    },
  });
  if (g.json && opts.once === true && last !== null) printJson(last);
  if (!g.json && stopped === 'signal') process.stderr.write('rollback-manager: monitor stopped; its state is saved\n');
  return 0;
}

/**
 * The listener of `--listen`, checked before the monitor starts (no token on a non-loopback address: exit 2).
 * Loaded here only, so that prom-client is loaded by nothing else.
 */
async function listenerOf(opts: MonitorFlags): Promise<MonitorListener> {
  if (opts.once === true) throw new InvalidInputError('--listen needs a watch: it cannot be used with --once', { code: 'E_USAGE' });
  const { MonitorListener, TOKEN_ENV, parseListenAddress } = await import('../../app/monitor-listener.js');
  return new MonitorListener({
    address: parseListenAddress(opts.listen ?? ''),
    token: process.env[TOKEN_ENV],
    log: (line) => process.stderr.write(`${line}\n`),
  });
}

function printRound(r: RoundReport): void {
  if (r.waiting) {
    process.stdout.write(`${r.at}  waiting: run ${r.waiting.runId} (pid ${r.waiting.pid}) holds the project lock\n`);
    return;
  }
  for (const d of r.decisions) {
    process.stdout.write(`${d.at}  ${d.story ?? 'project'} ${d.rule}: ${d.outcome}${d.action !== 'none' ? ` → ${d.action}` : ''} — ${d.reason}  [${d.id}]\n`);
  }
  for (const p of r.proposals?.written ?? []) {
    process.stdout.write(`${r.at}  ${p.story}: proposal ${p.id} written${p.mitigated ? ' (flag off meanwhile)' : ''}, open until ${p.expiresAt}: rollback-manager approve ${p.id}, or reject ${p.id} --reason …\n`);
  }
  for (const id of r.proposals?.expired ?? []) process.stdout.write(`${r.at}  proposal ${id} expired\n`);
  for (const a of r.acted) {
    const what = a.error !== undefined ? `could not start: ${a.error}` : `${a.status} (run ${a.runId}, report ${a.report})`;
    process.stdout.write(`${r.at}  ${a.story}: automatic ${a.mode} ${what}${a.next ? `; to finish the job: ${a.next}` : ''}\n`);
  }
}

/** `monitor explain <decision-id>`: one decision in words, with every sample that counted. */
export async function explainCommand(g: GlobalOptions, id: string): Promise<number> {
  const { realDirectory } = await import('../../util/paths.js');
  const d = findDecision(realDirectory(g.root, 'project root'), id);
  if (g.json) printJson(d);
  else process.stdout.write(explainDecision(d));
  return 0;
}

/** `monitor replay <files…>`: what the rules would have done on past logs, and when. */
export async function replayCommand(g: GlobalOptions, files: string[], opts: MonitorFlags & { as?: string }): Promise<number> {
  const r = await replayLogs({ root: g.root, files, overrides: timingOverrides(opts), ...(opts.as !== undefined ? { as: opts.as } : {}) });
  if (g.json) {
    printJson(r);
    return 0;
  }
  const out = [`Replayed ${r.lines} lines of ${r.files.join(', ')} as ${r.as}: ${r.from ?? '-'} → ${r.to ?? '-'}, ${r.rounds} rounds.`];
  if (r.periods.length === 0) out.push('No bad period: no rule was breached for the required rounds in a row.');
  else {
    out.push(`Bad periods (${r.periods.length}):`);
    for (const p of r.periods) out.push(`  ${p.from} → ${p.to}  ${p.story ?? 'project'} ${p.rule}: ${p.rounds} breached rounds, worst ${p.worst === null ? '-' : fmtSampleValue(p.rule, p.worst)}`);
  }
  const acts = r.decisions.filter((d) => ['would-act', 'alerted', 'capped'].includes(d.outcome));
  if (acts.length > 0) {
    out.push('What the monitor would have done:');
    for (const d of acts) out.push(`  ${d.at}  ${d.story ?? 'project'} ${d.rule}: ${d.outcome} — ${d.reason}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
