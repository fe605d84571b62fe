import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { assemblePlan, parseIds, topoOrder, type PlanRequest } from '../../../src/engine/planner.js';
import { buildRegistry } from '../../../src/stories/registry.js';
import type { Snapshot } from '../../../src/project/inspect.js';
import { DEFAULT_CONFIG } from '../../../src/config/rollback-config.js';
import { parseFlags } from '../../../src/flags/index.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';
import { InvalidInputError } from '../../../src/model/errors.js';

const flagsText = readFileSync(new URL('../../../config/feature-flags.yaml', import.meta.url), 'utf8');
const allOn = flagsText.replace(/enabled: false/g, 'enabled: true');
const reg = buildRegistry(BUILTIN_STORIES, { ...DEFAULT_CONFIG, stories: new Map(), source: null });

/** A snapshot in which the given stories have one file each on disk. */
function snapshotWith(installed: string[], extra: Partial<Snapshot> = {}): Snapshot {
  const stories: Snapshot['stories'] = new Map();
  for (const s of reg.stories) {
    const on = installed.includes(s.id);
    stories.set(s.id, {
      id: s.id,
      paths: on ? [{ path: s.code[0] ?? s.config[0] ?? 'x', category: 'code', kind: 'file', files: 1, bytes: 100 }] : [],
      declared: 10,
      processes: [],
      servicesNotFound: [],
      npmPresent: on ? s.npm : [],
      pythonPresent: [],
      envEntries: [],
      yamlKeys: [],
      containers: { found: [], unavailable: null },
    });
  }
  return { root: '/p', stories, diskAvailable: 1e12, venv: null, existing: new Set(), backupNames: new Set(), ...extra };
}

const req = (ids: string, cascade = false): PlanRequest => ({
  ids,
  cascade,
  reason: 'test',
  trigger: 'manual',
  runId: 'r1',
  now: new Date('2026-11-22T03:04:05Z'),
  flagsFile: 'config/feature-flags.yaml',
  backupsDir: 'rollback_backups',
});

const ALL = ['1.2', '1.3', '1.4', '1.5', '1.6', '1.7', '1.8'];

describe('planner', () => {
  it('refuses 1.3 while installed dependents exist, naming them', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    const err = (() => {
      try {
        assemblePlan(reg, flags, snapshotWith(ALL), req('1.3'));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    const msg = (err as Error).message;
    for (const dep of ['1.4', '1.5', '1.6', '1.7']) expect(msg).toContain(`${dep} depends on 1.3`);
    expect(msg).not.toContain('1.8 depends');
  });

  it('with --cascade plans dependents first and 1.3 last, cascading flags once', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    const plan = assemblePlan(reg, flags, snapshotWith(ALL), req('1.3', true));
    const order = plan.stories.map((s) => s.id);
    expect(order.at(-1)).toBe('1.3');
    expect(new Set(order)).toEqual(new Set(['1.3', '1.4', '1.5', '1.6', '1.7']));
    expect(order.indexOf('1.7')).toBeLessThan(order.indexOf('1.4'));
    const last = plan.stories.at(-1)!;
    const flagStep = last.actions.find((a) => a.kind === 'disable-flag');
    // By 1.3's turn its story dependents are off already; the cascade still catches sqlmesh (no story).
    expect(flagStep && flagStep.kind === 'disable-flag' ? flagStep.changes.map((c) => c.feature) : []).toEqual([
      'duckdb_analytics',
      'sqlmesh_transformations',
    ]);
    expect(plan.stories.find((s) => s.id === '1.4')?.why).toBe('cascade: depends on 1.3');
  });

  it('orders all in reverse dependency order, not by string', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    const plan = assemblePlan(reg, flags, snapshotWith(ALL), req('all'));
    const order = plan.stories.map((s) => s.id);
    const before = (a: string, b: string): boolean => order.indexOf(a) < order.indexOf(b);
    expect(before('1.7', '1.4')).toBe(true);
    expect(before('1.4', '1.3')).toBe(true);
    expect(before('1.5', '1.2')).toBe(true);
    expect(before('1.6', '1.3')).toBe(true);
    expect(order).toHaveLength(7);
  });

  it('all means installed stories only; a named story that is not installed is a no-op saying so', () => {
    const flags = parseFlags(flagsText, 'config/feature-flags.yaml');
    expect(parseIds(reg, snapshotWith(['1.8']), 'all')).toEqual(['1.8']);
    const plan = assemblePlan(reg, flags, snapshotWith([]), req('1.8'));
    expect(plan.stories[0]?.installed).toBe(false);
    expect(plan.stories[0]?.actions).toEqual([]);
  });

  it('unknown story ids are an input error listing the known ones', () => {
    const flags = parseFlags(flagsText, 'config/feature-flags.yaml');
    expect(() => assemblePlan(reg, flags, snapshotWith([]), req('1.3,9.9'))).toThrow(/unknown story 9\.9; known: 1\.2, 1\.3/);
  });

  it('keeps a package another installed story lists, saying who uses it; a story in the same run does not count', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    // The pack's evidence: express is also used by 1.3 and 1.5. Declare that for 1.8 here (nothing depends on 1.8).
    const reg2 = buildRegistry(BUILTIN_STORIES, {
      ...DEFAULT_CONFIG,
      stories: new Map([['1.8', { npm: ['express'] }]]),
    });
    const snap = snapshotWith(['1.2', '1.8']);
    const decisionsOf = (ids: string, id: string) => {
      const plan = assemblePlan(reg2, flags, snap, req(ids));
      const pk = plan.stories.find((s) => s.id === id)?.actions.find((a) => a.kind === 'packages');
      return pk && pk.kind === 'packages' ? pk.decisions : [];
    };
    const alone = decisionsOf('1.2', '1.2');
    expect(alone.find((d) => d.name === 'express')).toMatchObject({ action: 'keep', reason: '1.8 uses it' });
    expect(alone.find((d) => d.name === 'multer')).toMatchObject({ action: 'remove' });
    expect(decisionsOf('1.2,1.8', '1.2').find((d) => d.name === 'express')?.action).toBe('remove');
  });

  it('with the built-in stories, 1.2 alone keeps express because 1.3 and 1.5 use it, and removes multer', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    // 1.5 depends on 1.2, so take 1.3 (uses express) and 1.8; then 1.3 and 1.5 together.
    const only13 = assemblePlan(reg, flags, snapshotWith(['1.2', '1.3', '1.8']), req('1.2'));
    const d13 = only13.stories[0]!.actions.find((a) => a.kind === 'packages');
    const decisions = d13 && d13.kind === 'packages' ? d13.decisions : [];
    expect(decisions.find((d) => d.name === 'express')).toMatchObject({ action: 'keep', reason: '1.3 uses it' });
    expect(decisions.find((d) => d.name === 'supertest')).toMatchObject({ action: 'keep', reason: '1.3 uses it' });
    expect(decisions.find((d) => d.name === 'multer')).toMatchObject({ action: 'remove' });
    const both = assemblePlan(reg, flags, snapshotWith(['1.2', '1.3', '1.5']), req('1.2', true));
    const p12 = both.stories.find((s) => s.id === '1.2')!.actions.find((a) => a.kind === 'packages');
    // 1.5 is cascaded into the same run, so only 1.3 still uses express.
    expect(p12 && p12.kind === 'packages' ? p12.decisions.find((d) => d.name === 'express') : null).toMatchObject({ action: 'keep', reason: '1.3 uses it' });
  });

  it('backup ids follow <feature>_<YYYYMMDD_HHMMSS> in UTC', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    const plan = assemblePlan(reg, flags, snapshotWith(['1.8']), req('1.8'));
    const b = plan.stories[0]?.actions.find((a) => a.kind === 'backup');
    expect(b && b.kind === 'backup' ? b.destination : '').toBe('rollback_backups/qa_framework_20261122_030405');
  });

  it('never reuses a backup folder name already on disk (two runs in the same second)', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    const taken = new Set(['qa_framework_20261122_030405', 'qa_framework_20261122_030405_2']);
    const plan = assemblePlan(reg, flags, snapshotWith(['1.8'], { backupNames: taken }), req('1.8'));
    const b = plan.stories[0]?.actions.find((a) => a.kind === 'backup');
    expect(b && b.kind === 'backup' ? b.backupId : '').toBe('qa_framework_20261122_030405_3');
  });

  it('topological order puts dependencies first', () => {
    const flags = parseFlags(allOn, 'config/feature-flags.yaml');
    const ids = topoOrder(reg, flags).map((s) => s.id);
    expect(ids.indexOf('1.3')).toBeLessThan(ids.indexOf('1.4'));
    expect(ids.indexOf('1.4')).toBeLessThan(ids.indexOf('1.7'));
  });
});
