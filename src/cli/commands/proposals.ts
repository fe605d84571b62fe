/**
 * Approval mode's commands: `proposals` lists what the monitor proposed, `approve <id>` runs the rollback as the
 * monitor would have, `reject <id> --reason …` closes a proposal without running anything.
 */
import { approveProposal, listProposals, rejectProposal } from '../../app/monitor-proposals.js';
import type { Proposal } from '../../app/monitor-proposal-store.js';
import { realDirectory } from '../../util/paths.js';
import { printJson, type GlobalOptions } from '../global-options.js';
import { runStarting } from '../interrupt.js';

/** `5m`, `2h 10m`, `3d`: an age or a time left, for people. */
function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d`;
}

function statusCell(p: Proposal): string {
  if (p.status === 'approved') return `approved by ${p.approved?.by ?? '?'} (run ${p.approved?.run.runId ?? '?'})`;
  if (p.status === 'rejected') return `rejected by ${p.rejected?.by ?? '?'}`;
  if (p.status === 'open' && p.mitigation?.status === 'rolled-back') return 'open (flag off meanwhile)';
  return p.status;
}

/** `proposals`: every proposal, open ones first (expiring those past their expiry on the way). */
export async function proposalsCommand(g: GlobalOptions): Promise<number> {
  const root = realDirectory(g.root, 'project root');
  const now = Date.now();
  const list = listProposals(root, now);
  if (g.json) {
    printJson({ proposals: list });
    return 0;
  }
  if (list.length === 0) {
    process.stdout.write('No proposals (the monitor writes them with monitor.action: propose).\n');
    return 0;
  }
  const header = ['id', 'story', 'rule', 'age', 'expires in', 'status'];
  const rows = list.map((p) => [
    p.id,
    p.story,
    p.rule,
    span(now - Date.parse(p.createdAt)),
    p.status === 'open' ? span(Date.parse(p.expiresAt) - now) : '-',
    statusCell(p),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (list.some((p) => p.status === 'open')) out.push('', 'rollback-manager approve <id> [--reason …] runs the rollback; reject <id> --reason … closes it.');
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** `approve <id>`: the rollback the proposal names, as the monitor would have run it; exit code of the run. */
export async function approveCommand(g: GlobalOptions, id: string, opts: { reason?: string }, argv: string[]): Promise<number> {
  const root = realDirectory(g.root, 'project root');
  const signal = runStarting(true);
  const { proposal, result } = await approveProposal(root, id, { reason: opts.reason ?? '', command: argv, signal });
  if (g.json) {
    printJson({ proposal, result });
    return result.exitCode;
  }
  if (result.runId === undefined) {
    process.stderr.write(`rollback-manager: proposal ${proposal.id} stays open: the rollback could not start: ${result.error ?? result.status}\n`);
    return result.exitCode;
  }
  const lines = [`Proposal ${proposal.id} approved by ${proposal.approved?.by ?? '?'}: ${result.mode} of ${proposal.story} ${result.status} (run ${result.runId})`];
  if (result.report !== undefined) lines.push(`Report: ${result.report}`);
  if (result.next !== undefined) lines.push(`To finish the job: ${result.next}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return result.exitCode;
}

/** `reject <id> --reason …`: closes the proposal; names the command that turns a mitigated flag back on. */
export async function rejectCommand(g: GlobalOptions, id: string, opts: { reason: string }): Promise<number> {
  const root = realDirectory(g.root, 'project root');
  const { proposal, restore } = rejectProposal(root, id, { reason: opts.reason });
  if (g.json) {
    printJson({ proposal, ...(restore !== undefined ? { restore } : {}) });
    return 0;
  }
  const lines = [`Proposal ${proposal.id} rejected by ${proposal.rejected?.by ?? '?'}: nothing rolled back.`];
  if (restore !== undefined) lines.push(`Its flag was turned off meanwhile and stays off; to turn it back on: ${restore}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
