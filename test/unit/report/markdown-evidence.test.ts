/**
 * The report says per story only what was done and undone (#12 point 4): after a kill -9 and `abort`, the
 * story the run had not reached listed flags changed and paths removed from its plan, none of which happened.
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../../src/report/markdown.js';
import type { RunReport } from '../../../src/report/run-report.js';
import type { StoryPlan } from '../../../src/model/types.js';
import type { PlannedAction } from '../../../src/steps/registry.js';

function storyPlan(id: string, feature: string): StoryPlan<PlannedAction> {
  return {
    id,
    feature,
    title: feature,
    installed: true,
    presence: { present: 1, declared: 3 },
    why: 'requested',
    dependencies: [],
    warnings: [],
    actions: [
      { kind: 'disable-flag', file: 'config/feature-flags.yaml', changes: [{ feature, from: true, to: false, why: 'rolled back' }] },
      { kind: 'remove-paths', paths: [{ path: `${feature}/main.py`, category: 'code', kind: 'file', files: 1, bytes: 10 }], files: 1, bytes: 10 },
    ],
  };
}

const at = '2026-12-03T04:00:00.000Z';

/** An aborted run: 1.4 had its flag turned off (undone by the abort) and failed at removal; 1.3 was never reached. */
const report: RunReport = {
  version: 1,
  runId: '20261203-040000-abcd',
  operation: 'rollback',
  status: 'reverted',
  exitCode: 0,
  who: { user: 'ops', host: 'db-1', pid: 1 },
  when: { startedAt: at, finishedAt: at, durationMs: 5 },
  why: { reason: '', trigger: 'manual' },
  command: ['abort'],
  root: '/srv/project',
  plan: {
    version: 1,
    operation: 'rollback',
    runId: '20261203-040000-abcd',
    root: '/srv/project',
    createdAt: at,
    reason: '',
    trigger: 'manual',
    stories: [storyPlan('1.4', 'dbt_transformations'), storyPlan('1.3', 'duckdb_analytics')],
    warnings: [],
    disk: { needed: 0, available: 1 },
  },
  stories: [
    {
      id: '1.3',
      feature: 'duckdb_analytics',
      status: 'skipped',
      why: 'requested',
      error: 'not reached before the interruption: nothing to undo',
      steps: [],
      warnings: [],
    },
    {
      id: '1.4',
      feature: 'dbt_transformations',
      status: 'reverted',
      why: 'requested',
      steps: [
        { kind: 'disable-flag', step: 0, description: 'flags', status: 'reverted', startedAt: at, durationMs: 0, result: { applied: [] }, note: 'done before the interruption' },
        { kind: 'remove-paths', step: 1, description: 'remove', status: 'failed', startedAt: at, durationMs: 0, note: 'cut short by the interruption' },
      ],
      warnings: [],
    },
  ],
  warnings: [],
  undo: [],
  files: { json: 'rollback_reports/x.json', markdown: 'rollback_reports/x.md' },
  recovery: { mode: 'abort', interruptedAfter: 'intent 1.4 remove-paths', originalCommand: ['rollback', '1.3', '--cascade'] },
};

/** The Markdown of one story's section. */
function section(md: string, id: string): string {
  const start = md.indexOf(`## Story ${id} `);
  const next = md.indexOf('\n## ', start + 1);
  return md.slice(start, next === -1 ? undefined : next);
}

describe('the Markdown report of an interrupted, aborted run', () => {
  const md = renderMarkdown(report);

  it('says nothing was done for a story the run never reached', () => {
    const s13 = section(md, '1.3');
    expect(s13).toContain('not reached before the interruption');
    expect(s13).not.toContain('Flags changed');
    expect(s13).not.toContain('Paths removed');
  });

  it('shows what a story did and that it was undone, and nothing of the step cut short', () => {
    const s14 = section(md, '1.4');
    expect(s14).toContain('Flags changed in `config/feature-flags.yaml`:');
    expect(s14).toContain('_Undone since._');
    expect(s14).not.toContain('Paths removed');
  });
});
