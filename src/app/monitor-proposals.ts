/**
 * Approval mode (`monitor.action: propose`): on a breach that would act, the monitor writes a proposal instead
 * (and, with `monitor.mitigate: true`, turns the story's flag off at once); a person approves it — the rollback
 * runs exactly as the monitor would have run it, trigger `monitor-approved` — or rejects it. A proposal past its
 * expiry can be neither: the breach it was about is old news.
 */
import { userInfo } from 'node:os';
import path from 'node:path';
import { InvalidInputError, LockedError } from '../model/errors.js';
import type { Decision } from '../monitor/decision-log.js';
import { acquireLock } from '../engine/lock.js';
import { actOn, type ActResult } from './monitor-act.js';
import { expireDue, expireIfDue, findProposal, readProposals, writeProposal, type Proposal, type ProposalRun } from './monitor-proposal-store.js';
import { appendActionRecord, monitorDir } from './monitor-store.js';

/** How a proposal is written. */
export interface ProposeOptions {
  /** The command that started the monitor, recorded in the mitigation's report. */
  command: string[];
  /** `monitor.proposalTtl`. */
  ttlMs: number;
  /** `monitor.mitigate`: turn the story's flag off at once (the flag-only path, trigger monitor). */
  mitigate: boolean;
  signal?: AbortSignal;
  /** Epoch ms; default now. */
  now?: number;
}

/** What `approve` and `reject` are given. */
export interface VerdictOptions {
  /** Why (required to reject), recorded in the proposal (and, approved, in the run's report). */
  reason: string;
  /** Who: the OS user by default. */
  by?: string;
}

/** The OS user running the command, or `unknown` (a container without a passwd entry). */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function runOf(r: ActResult): ProposalRun {
  return {
    mode: r.mode,
    status: r.status,
    exitCode: r.exitCode,
    ...(r.runId !== undefined ? { runId: r.runId } : {}),
    ...(r.report !== undefined ? { report: r.report } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
  };
}

/** What approving runs, as a person would type it. */
function commandOf(root: string, d: Decision & { story: string }): string {
  return `rollback-manager rollback ${d.story} --force${d.cascade === true ? ' --cascade' : ''} --root ${root}`;
}

/**
 * Writes the proposal of a decision whose action is `propose` (open, expiring after `ttlMs`); with `mitigate`,
 * then turns the story's flag off and records that run in it. Returns the proposal as written last and the
 * mitigation's result, if any. The proposal is on disk before the flag is touched.
 */
export async function propose(root: string, d: Decision, opts: ProposeOptions): Promise<{ proposal: Proposal; mitigation?: ActResult }> {
  const story = d.story;
  if (story === null || d.action !== 'propose') throw new InvalidInputError(`decision ${d.id} does not propose a rollback of a story`, { code: 'E_MONITOR_ACT' });
  const now = opts.now ?? Date.now();
  let proposal: Proposal = {
    version: 1,
    id: d.id,
    story,
    rule: d.rule,
    decision: d,
    command: commandOf(root, { ...d, story }),
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + opts.ttlMs).toISOString(),
    status: 'open',
  };
  writeProposal(root, proposal);
  if (!opts.mitigate) return { proposal };
  const mitigation = await actOn(root, d, { command: opts.command, as: 'flag-only', ...(opts.signal ? { signal: opts.signal } : {}) });
  proposal = { ...proposal, mitigation: runOf(mitigation) };
  writeProposal(root, proposal);
  return { proposal, mitigation };
}

/** Every proposal, open ones first, after expiring those past their expiry. */
export function listProposals(root: string, now = Date.now()): Proposal[] {
  expireDue(root, now);
  return readProposals(root);
}

/** An open proposal by id (or unique prefix), expired first if due; anything else is exit 2 saying why. */
function openProposal(root: string, id: string, verb: string): Proposal {
  const p = expireIfDue(root, findProposal(root, id), Date.now());
  if (p.status === 'open') return p;
  const why =
    p.status === 'expired'
      ? `expired at ${p.expiredAt ?? p.expiresAt} (it could be approved until ${p.expiresAt})`
      : p.status === 'rejected'
        ? `was rejected by ${p.rejected?.by ?? '?'} at ${p.rejected?.at ?? '?'}: ${p.rejected?.reason ?? ''}`
        : `was approved by ${p.approved?.by ?? '?'} at ${p.approved?.at ?? '?'} (run ${p.approved?.run.runId ?? '?'})`;
  throw new InvalidInputError(`proposal ${p.id} cannot be ${verb}: it ${why}`, { code: 'E_PROPOSAL_CLOSED' });
}

/**
 * Approves an open proposal: the rollback runs as the monitor would have run it (actOn, trigger
 * `monitor-approved`, the approver and reason in the report's reason), then the proposal is marked `approved`
 * with the run. A run that could not start (the project is locked) leaves the proposal open.
 * One approval at a time per project, so that the same proposal is never run twice.
 */
export async function approveProposal(
  root: string,
  id: string,
  opts: VerdictOptions & { command: string[]; signal?: AbortSignal },
): Promise<{ proposal: Proposal; result: ActResult }> {
  let lock;
  try {
    lock = acquireLock(path.join(monitorDir(root), 'approve'), `approve-${id}`);
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
    throw new LockedError(`another approve is running in this project (pid ${err.holder.pid}); try again when it is done`, err.holder);
  }
  try {
    const p = openProposal(root, id, 'approved');
    const by = opts.by ?? osUser();
    const result = await actOn(root, p.decision, {
      command: opts.command,
      as: 'rollback',
      trigger: 'monitor-approved',
      approval: { by, reason: opts.reason },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    appendActionRecord(root, p.decision, { ...result, trigger: 'monitor-approved', proposal: p.id, approvedBy: by });
    if (result.runId === undefined) return { proposal: p, result };
    const approved: Proposal = { ...p, status: 'approved', approved: { by, at: new Date().toISOString(), reason: opts.reason, run: runOf(result) } };
    writeProposal(root, approved);
    return { proposal: approved, result };
  } finally {
    lock.release();
  }
}

/**
 * Rejects an open proposal (a reason is required): marked `rejected` with who and why. Nothing is undone here:
 * when the proposal had turned the flag off, `restore` names the command that turns it back on.
 */
export function rejectProposal(root: string, id: string, opts: VerdictOptions): { proposal: Proposal; restore?: string } {
  if (opts.reason.trim() === '') throw new InvalidInputError('reject needs --reason: why the rollback is not wanted', { code: 'E_USAGE' });
  const p = openProposal(root, id, 'rejected');
  const rejected: Proposal = { ...p, status: 'rejected', rejected: { by: opts.by ?? osUser(), at: new Date().toISOString(), reason: opts.reason } };
  writeProposal(root, rejected);
  // Only a mitigation that ran turned the flag off; a failed one was reverted by its run.
  const run = p.mitigation?.status === 'rolled-back' ? p.mitigation.runId : undefined;
  return { proposal: rejected, ...(run !== undefined ? { restore: `rollback-manager restore ${p.story} --run ${run} --root ${root}` } : {}) };
}
