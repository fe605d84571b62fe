/**
 * The plan as a person reads it before saying yes (#12 point 8, plan wording): no heading left empty,
 * singulars where there is one, and no line about zero folders. Each step renders its own lines.
 */
import { describe, expect, it } from 'vitest';
import { renderPlan } from '../../../src/cli/render-plan.js';
import type { Plan } from '../../../src/model/types.js';
import type { PlannedAction } from '../../../src/steps/registry.js';

function planOf(actions: PlannedAction[]): Plan<PlannedAction> {
  return {
    version: 1,
    operation: 'rollback',
    runId: '20261203-040000-abcd',
    root: '/srv/project',
    createdAt: '2026-12-03T04:00:00.000Z',
    reason: '',
    trigger: 'manual',
    stories: [
      {
        id: '1.3',
        feature: 'duckdb_analytics',
        title: 'DuckDB',
        installed: true,
        presence: { present: 1, declared: 18 },
        why: 'requested',
        dependencies: [],
        actions,
        warnings: [],
      },
    ],
    warnings: [],
    disk: { needed: 10_000, available: 1e9 },
  };
}

const process1 = { pid: 4242, pgid: 4242, cmdline: 'node svc/server.js', argv: ['node', 'svc/server.js'], cwd: '/srv/project', uid: 1000, service: 'web', evidence: 'cwd inside root', startTime: 1 };

describe('the plan a person reads', () => {
  it('says what each heading is about and counts in the singular where there is one', () => {
    const text = renderPlan(
      planOf([
        { kind: 'disable-flag', file: 'config/feature-flags.yaml', changes: [{ feature: 'duckdb_analytics', from: true, to: false, why: 'rolled back' }] },
        { kind: 'stop-services', processes: [process1], notFound: [] },
        { kind: 'backup', destination: 'rollback_backups/duckdb_analytics_20261203_040000', backupId: 'duckdb_analytics_20261203_040000', files: 1, bytes: 85 },
        { kind: 'remove-paths', paths: [{ path: 'svc/server.js', category: 'code', kind: 'file', files: 1, bytes: 85 }], files: 1, bytes: 85 },
        { kind: 'packages', decisions: [{ manager: 'npm', name: 'duckdb', action: 'remove' }], npm: { remove: ['duckdb'], paths: [], bytes: 0 }, python: null },
        { kind: 'validate', checks: ['flag duckdb_analytics effectively off'] },
      ]),
      { verbose: false, dryRun: true },
    );
    expect(text).toContain('1. flags in config/feature-flags.yaml: turn off 1 flag\n');
    expect(text).toContain('2. stop services: 1 process\n');
    expect(text).toContain('3. back up 1 file, 85 B');
    expect(text).toContain('4. remove 1 path, 1 file, 85 B:');
    expect(text).toContain('svc/server.js  (code, 1 file, 85 B)');
    expect(text).toContain('npm: package.json and lockfile entries only (no node_modules folder to remove)');
    expect(text).not.toMatch(/: \n/); // no heading left empty
    expect(text).not.toMatch(/\b1 (files|paths|processes)\b/);
    expect(text).not.toMatch(/\b0 node_modules/);
  });

  it('keeps the plural where there are several, and says when nothing is running or already off', () => {
    const text = renderPlan(
      planOf([
        { kind: 'disable-flag', file: 'config/feature-flags.yaml', changes: [] },
        { kind: 'stop-services', processes: [], notFound: ['web'] },
        { kind: 'backup', destination: 'rollback_backups/x', backupId: 'x', files: 3, bytes: 300 },
      ]),
      { verbose: false, dryRun: false },
    );
    expect(text).toContain('flags in config/feature-flags.yaml: already off');
    expect(text).toContain('stop services: none running');
    expect(text).toContain('back up 3 files, 300 B');
  });
});
