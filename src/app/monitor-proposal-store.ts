/**
 * The monitor's proposals (approval mode, `monitor.action: propose`): one JSON file each under
 * `.rollback-manager/monitor/proposals/<id>.json`, written atomically, and their expiry. Runs nothing, so that
 * `status` can count the open ones without loading the code that rolls back (that is monitor-proposals.ts).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import type { Decision } from '../monitor/decision-log.js';
import type { RuleKind } from '../monitor/rules.js';
import { appendRecord, monitorDir } from './monitor-store.js';

/** Where a proposal is in its life: only an `open` one can be approved or rejected. */
export type ProposalStatus = 'open' | 'approved' | 'rejected' | 'expired';

/** A run started for a proposal: the mitigation (flag off at once) or the approved rollback. */
export interface ProposalRun {
  /** `rollback`, `mitigate` or `flag-only`, as the monitor's actions say it. */
  mode: string;
  runId?: string;
  status: string;
  exitCode: number;
  /** The run's report (JSON), relative to the root. */
  report?: string;
  /** Why the run could not start. */
  error?: string;
}

/** One proposal, as its file holds it. */
export interface Proposal {
  version: 1;
  /** The id of the decision that proposed it (so `monitor explain <id>` tells it in words). */
  id: string;
  story: string;
  rule: RuleKind;
  /** The decision, with the samples that counted and their evidence. */
  decision: Decision;
  /** What approving it runs, as a command a person could type. */
  command: string;
  createdAt: string;
  expiresAt: string;
  status: ProposalStatus;
  /** With `monitor.mitigate: true`: the flag-only run made when the proposal was written. */
  mitigation?: ProposalRun;
  approved?: { by: string; at: string; reason: string; run: ProposalRun };
  rejected?: { by: string; at: string; reason: string };
  expiredAt?: string;
}

/** The folder of the proposals. */
export function proposalsDir(root: string): string {
  return path.join(monitorDir(root), 'proposals');
}

/** Ids name files: nothing that could leave the folder. */
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function fileOf(root: string, id: string): string {
  if (!ID.test(id)) throw new InvalidInputError(`${JSON.stringify(id)} is not a proposal id`, { code: 'E_NO_PROPOSAL' });
  return path.join(proposalsDir(root), `${id}.json`);
}

/** Writes a proposal atomically: a reader sees the old one or the new one, never half. */
export function writeProposal(root: string, p: Proposal): void {
  mkdirSync(proposalsDir(root), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(fileOf(root, p.id), `${JSON.stringify(p, null, 2)}\n`);
}

/** One proposal by its exact id, or null when there is no such file. */
export function readProposal(root: string, id: string): Proposal | null {
  let text: string;
  try {
    text = readFileSync(fileOf(root, id), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseProposal(text);
}

function parseProposal(text: string): Proposal | null {
  try {
    const p = JSON.parse(text) as Partial<Proposal>;
    return p.version === 1 && typeof p.id === 'string' && typeof p.status === 'string' && typeof p.expiresAt === 'string' ? (p as Proposal) : null;
  } catch {
    return null;
  }
}

/** Every proposal, open ones first, then newest first. Files that are not proposals are left alone. */
export function readProposals(root: string): Proposal[] {
  let names: string[];
  try {
    names = readdirSync(proposalsDir(root));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Proposal[] = [];
  for (const name of names) {
    // Atomic writes leave `.name.tmp-…` files only while they write (or after a crash): never a proposal.
    if (!name.endsWith('.json') || name.startsWith('.')) continue;
    const p = readProposal(root, name.slice(0, -'.json'.length));
    if (p !== null) out.push(p);
  }
  return out.sort((a, b) => Number(b.status === 'open') - Number(a.status === 'open') || b.createdAt.localeCompare(a.createdAt));
}

/** One proposal by its id or a unique prefix of it; anything else is exit 2 with what was found. */
export function findProposal(root: string, id: string): Proposal {
  const hits = readProposals(root).filter((p) => p.id.startsWith(id));
  const exact = hits.find((p) => p.id === id);
  if (exact !== undefined) return exact;
  if (hits.length === 1) return hits[0] as Proposal;
  throw new InvalidInputError(
    hits.length === 0 ? `no proposal ${id} (rollback-manager proposals lists them)` : `${hits.length} proposals start with ${id}; give more of the id`,
    { code: 'E_NO_PROPOSAL' },
  );
}

/** True when an open proposal is past its expiry. */
export function isDue(p: Proposal, now: number): boolean {
  return p.status === 'open' && now >= Date.parse(p.expiresAt);
}

/**
 * Marks a proposal past its expiry `expired`, in its file and as a `proposal-expired` line of the decisions
 * log; returns it as it now is. A proposal that is not due is returned as it is.
 */
export function expireIfDue(root: string, p: Proposal, now: number): Proposal {
  if (!isDue(p, now)) return p;
  // Read again: the monitor and a command may both look at it; only one of them records the expiry.
  const fresh = readProposal(root, p.id) ?? p;
  if (!isDue(fresh, now)) return fresh;
  const at = new Date(now).toISOString();
  const expired: Proposal = { ...fresh, status: 'expired', expiredAt: at };
  writeProposal(root, expired);
  appendRecord(root, { type: 'proposal-expired', at, proposal: p.id, story: p.story, expiresAt: p.expiresAt });
  return expired;
}

/** Expires every open proposal past its expiry; returns those it expired. */
export function expireDue(root: string, now: number): Proposal[] {
  return readProposals(root)
    .filter((p) => isDue(p, now))
    .map((p) => expireIfDue(root, p, now))
    .filter((p) => p.status === 'expired');
}

/** Open proposals not yet past their expiry; reads only (for `status`). */
export function openProposalCount(root: string, now: number): number {
  return readProposals(root).filter((p) => p.status === 'open' && !isDue(p, now)).length;
}
