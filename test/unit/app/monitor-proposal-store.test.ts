/**
 * The proposals' files (approval mode): written whole, listed open first, found by a unique prefix, and expired
 * once past their expiry — in the file and as a `proposal-expired` line of the decisions log.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import type { Decision } from '../../../src/monitor/decision-log.js';
import {
  expireDue,
  findProposal,
  openProposalCount,
  proposalsDir,
  readProposals,
  writeProposal,
  type Proposal,
} from '../../../src/app/monitor-proposal-store.js';

const T0 = Date.parse('2026-12-03T08:00:00.000Z');
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function root(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'rm-proposals-'));
  dirs.push(d);
  return d;
}

function proposal(id: string, createdAt: number, ttlMs: number, status: Proposal['status'] = 'open'): Proposal {
  const decision = { id, at: new Date(createdAt).toISOString(), story: '1.2', rule: 'errorRate', outcome: 'proposed', action: 'propose' } as Decision;
  return {
    version: 1,
    id,
    story: '1.2',
    rule: 'errorRate',
    decision,
    command: 'rollback-manager rollback 1.2 --force',
    createdAt: new Date(createdAt).toISOString(),
    expiresAt: new Date(createdAt + ttlMs).toISOString(),
    status,
  };
}

describe('the proposals store', () => {
  it('lists open proposals first, newest first, and leaves temp files alone', () => {
    const r = root();
    writeProposal(r, proposal('20261203T080000.000Z-000001', T0, 60_000, 'rejected'));
    writeProposal(r, proposal('20261203T080100.000Z-000002', T0 + 60_000, 60_000));
    writeProposal(r, proposal('20261203T080200.000Z-000003', T0 + 120_000, 60_000));
    expect(readProposals(r).map((p) => [p.id.slice(-1), p.status])).toEqual([['3', 'open'], ['2', 'open'], ['1', 'rejected']]);
    expect(readdirSync(proposalsDir(r)).filter((f) => f.startsWith('.'))).toEqual([]);
    expect(openProposalCount(r, T0 + 150_000)).toBe(1); // 2 is past its expiry, though not yet marked
  });

  it('finds a proposal by a unique prefix, and refuses an ambiguous or unknown one (exit 2)', () => {
    const r = root();
    writeProposal(r, proposal('20261203T080000.000Z-000001', T0, 60_000));
    writeProposal(r, proposal('20261203T080000.000Z-000002', T0, 60_000));
    expect(findProposal(r, '20261203T080000.000Z-000002').id).toBe('20261203T080000.000Z-000002');
    expect(() => findProposal(r, '20261203T08')).toThrow(/2 proposals start with/);
    expect(() => findProposal(r, 'nope')).toThrow(InvalidInputError);
  });

  it('expires an open proposal past its expiry once: in its file and as a proposal-expired line', () => {
    const r = root();
    writeProposal(r, proposal('20261203T080000.000Z-000001', T0, 60_000));
    writeProposal(r, proposal('20261203T080000.000Z-000002', T0, 10 * 60_000));
    expect(expireDue(r, T0 + 59_999)).toEqual([]);
    expect(expireDue(r, T0 + 60_000).map((p) => p.id)).toEqual(['20261203T080000.000Z-000001']);
    expect(expireDue(r, T0 + 120_000)).toEqual([]);
    const file = JSON.parse(readFileSync(path.join(proposalsDir(r), '20261203T080000.000Z-000001.json'), 'utf8')) as Proposal;
    expect([file.status, file.expiredAt]).toEqual(['expired', new Date(T0 + 60_000).toISOString()]);
    const lines = readFileSync(path.join(r, 'logs', 'monitor.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.type, l.proposal])).toEqual([['proposal-expired', '20261203T080000.000Z-000001']]);
    expect(openProposalCount(r, T0 + 120_000)).toBe(1);
  });
});
