/**
 * Approval mode (#14 point 6, `monitor.action: propose`): the monitor writes a proposal instead of acting; a person
 * approves it (the rollback runs as the monitor would have, trigger monitor-approved) or rejects it; it expires.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, cliJson } from './cli-helpers.js';
import { autoRuns, decisions, reports, startMonitor, waitFor, useMonitorProjects } from './monitor-helpers.js';

const project = useMonitorProjects();

interface ProposalJson {
  id: string;
  story: string;
  status: string;
  command: string;
  expiresAt: string;
  decision: { outcome: string; samples: unknown[] };
  mitigation?: { runId?: string; status: string; mode: string };
  approved?: { by: string; reason: string; run: { runId?: string } };
  rejected?: { by: string; reason: string };
}

async function proposals(root: string): Promise<ProposalJson[]> {
  const r = await cliJson<{ proposals: ProposalJson[] }>(root, ['proposals']);
  expect(r.code, r.stderr).toBe(0);
  return r.json.proposals;
}

const flagOn = (root: string) => /flaky_service:\n\s+enabled: true/.test(readFileSync(path.join(root, 'config', 'feature-flags.yaml'), 'utf8'));
interface RunJson {
  runId: string;
  who: { user: string };
  why: { reason: string; trigger: string };
  monitor?: { id: string };
}
const approvedRuns = (root: string) => (reports(root) as unknown as RunJson[]).filter((r) => r.why.trigger === 'monitor-approved');

describe('approval mode', () => {
  it('proposes instead of rolling back; approve runs the rollback once, as the monitor would, naming the approver', async () => {
    const p = await project({ mode: '5xx', monitor: ['action: propose', 'cooldown: 1h'] });
    const monitor = startMonitor(p.root);
    const [proposal] = await waitFor(async () => {
      const list = await proposals(p.root);
      return list.length > 0 ? list : undefined;
    }, 30_000, 'a proposal');
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
    expect(proposal).toMatchObject({ story: '9.1', status: 'open', decision: { outcome: 'proposed' } });
    expect(proposal?.decision.samples.length).toBe(3);
    expect(proposal?.command).toContain('rollback-manager rollback 9.1 --force');
    expect(existsSync(path.join(p.root, '.rollback-manager', 'monitor', 'proposals', `${proposal?.id}.json`))).toBe(true);
    expect(decisions(p.root).filter((d) => d.outcome === 'proposed')).toHaveLength(1);
    // Nothing was done: no run, the flag on, the code there.
    expect(reports(p.root)).toEqual([]);
    expect(flagOn(p.root)).toBe(true);
    const status = await cliJson<{ monitor: { openProposals: number } }>(p.root, ['status']);
    expect(status.json.monitor.openProposals).toBe(1);

    const approve = await cli(p.root, ['approve', proposal?.id as string, '--reason', 'checked the dashboards']);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toMatch(/approved by .+: rollback of 9\.1 rolled-back/);
    const [run] = approvedRuns(p.root);
    expect(autoRuns(p.root)).toEqual([]);
    const who = run?.who.user as string;
    expect(run?.why.reason).toMatch(new RegExp(`^monitor, approved by ${who} \\(checked the dashboards\\): .+ in 3 samples in a row`));
    expect(run?.monitor?.id).toBe(proposal?.id);
    expect(flagOn(p.root)).toBe(false);
    expect(existsSync(path.join(p.root, 'tools', 'svc', 'server.mjs'))).toBe(false);
    const [after] = await proposals(p.root);
    expect(after).toMatchObject({ status: 'approved', approved: { by: who, reason: 'checked the dashboards', run: { runId: run?.runId } } });

    const again = await cli(p.root, ['approve', proposal?.id as string]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(new RegExp(`proposal ${proposal?.id} cannot be approved: it was approved by ${who} at .+ \\(run ${run?.runId}\\)`));
    expect(approvedRuns(p.root)).toHaveLength(1);
  }, 120_000);

  it('with mitigate: true turns the flag off at once and keeps the files; reject names the command that turns it back on', async () => {
    const p = await project({ mode: '5xx', monitor: ['action: propose', 'mitigate: true', 'cooldown: 1h'] });
    const monitor = startMonitor(p.root);
    const [proposal] = await waitFor(async () => {
      const list = await proposals(p.root);
      return list[0]?.mitigation !== undefined ? list : undefined;
    }, 30_000, 'a proposal with its mitigation');
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
    expect(proposal).toMatchObject({ status: 'open', mitigation: { mode: 'flag-only', status: 'rolled-back' } });
    const runId = proposal?.mitigation?.runId as string;
    expect(autoRuns(p.root).map((r) => r.runId)).toEqual([runId]);
    expect(flagOn(p.root)).toBe(false);
    expect(existsSync(path.join(p.root, 'tools', 'svc', 'server.mjs'))).toBe(true);

    const noReason = await cli(p.root, ['reject', proposal?.id as string]);
    expect(noReason.code).toBe(2);
    const reject = await cli(p.root, ['reject', proposal?.id as string, '--reason', 'a deploy, not the story']);
    expect(reject.code, reject.stderr).toBe(0);
    expect(reject.stdout).toContain(`rollback-manager restore 9.1 --run ${runId}`);
    const [after] = await proposals(p.root);
    expect(after).toMatchObject({ status: 'rejected', rejected: { reason: 'a deploy, not the story' } });
    // Rejecting undoes nothing by itself: the flag stays off until the restore is run.
    expect(flagOn(p.root)).toBe(false);
    expect((await cli(p.root, ['approve', proposal?.id as string])).code).toBe(2);
  }, 120_000);

  it('a proposal past proposalTtl expires, on record, and approve refuses it', async () => {
    const p = await project({ mode: '5xx', monitor: ['action: propose', 'proposalTtl: 1s', 'cooldown: 1h'] });
    const monitor = startMonitor(p.root);
    await waitFor(() => (decisions(p.root).some((d) => (d as { type?: string }).type === ('proposal-expired' as 'action')) ? true : undefined), 30_000, 'the expiry on record');
    monitor.kill('SIGTERM');
    expect((await monitor).exitCode).toBe(0);
    const [proposal] = await proposals(p.root);
    expect(proposal?.status).toBe('expired');
    const approve = await cli(p.root, ['approve', proposal?.id as string]);
    expect(approve.code).toBe(2);
    expect(approve.stderr).toMatch(/cannot be approved: it expired at/);
    expect(reports(p.root)).toEqual([]);
    expect(flagOn(p.root)).toBe(true);
  }, 120_000);
});
