/**
 * Kept data in the stories: the built-ins' split, and `stories.<id>.data` entries of config/rollback.yaml that keep
 * a path, merged into the registry.
 */
import { describe, expect, it } from 'vitest';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';
import { buildRegistry } from '../../../src/stories/registry.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';
import { PATH_CATEGORIES } from '../../../src/model/types.js';
import { invalidInputErrorOf } from '../../helpers/expect-error.js';

const FILE = 'config/rollback.yaml';
const registry = (text: string) => buildRegistry(BUILTIN_STORIES, parseRollbackConfig(text, FILE));

describe('the built-in stories', () => {
  it('keep records and history, each among its own data paths with a why, and 1.8 its quality metrics', () => {
    const reg = registry('');
    for (const s of reg.stories) {
      for (const k of s.keptData ?? []) {
        expect(s.data, `${s.id} keeps ${k.path}`).toContain(k.path);
        expect(k.why.length, `${s.id} ${k.path}`).toBeGreaterThan(10);
      }
    }
    const kept = (id: string): string[] => (reg.byId.get(id)?.keptData ?? []).map((k) => k.path);
    expect(kept('1.8')).toEqual(expect.arrayContaining(['data/monitoring', 'logs/metrics', 'reports', 'logs/sla-compliance-report.json']));
    expect(kept('1.8')).not.toContain('logs/traces');
    expect(kept('1.3')).toEqual(['.duckdb']);
    expect(kept('1.2')).toEqual([]);
    expect(kept('1.4')).toEqual([]);
  });

  it('never nest a kept path and a removed one of the same story (the removal would take it, or leave it)', () => {
    for (const s of registry('').stories) {
      const kept = new Set((s.keptData ?? []).map((k) => k.path));
      const removed = PATH_CATEGORIES.flatMap((c) => s[c]).filter((p) => !kept.has(p));
      for (const k of kept) for (const p of removed) expect(k.startsWith(`${p}/`) || p.startsWith(`${k}/`), `${s.id}: ${k} and ${p}`).toBe(false);
    }
  });
});

describe('stories.<id>.data in config/rollback.yaml', () => {
  it('keeps a built-in path with the config\'s why, and a story of one\'s own keeps its own', () => {
    const reg = registry(
      [
        'stories:',
        '  "1.8":',
        '    data:',
        '      - path: logs/traces/',
        '        keep: true',
        '        why: traces the auditors read',
        '      - data/monitoring/',
        '  "1.9":',
        '    feature: sqlmesh_transformations',
        '    data: [{ path: sqlmesh-project/state/, keep: true }, sqlmesh-project/cache/]',
      ].join('\n'),
    );
    const qa = reg.byId.get('1.8')!;
    expect(qa.keptData).toContainEqual({ path: 'logs/traces', why: 'traces the auditors read' });
    // A plain entry for a path the story keeps changes nothing: it stays kept, with the story's why.
    expect(qa.keptData?.find((k) => k.path === 'data/monitoring')?.why).toBe(BUILTIN_STORIES.find((s) => s.id === '1.8')!.keptData!.find((k) => k.path === 'data/monitoring/')!.why);
    expect(qa.data.filter((p) => p === 'logs/traces')).toHaveLength(1);
    const mine = reg.byId.get('1.9')!;
    expect(mine.data).toEqual(['sqlmesh-project/state', 'sqlmesh-project/cache']);
    expect(mine.keptData).toEqual([{ path: 'sqlmesh-project/state', why: 'kept in place by config/rollback.yaml' }]);
  });

  it('turns a built-in cache named as data into data, so that it can be kept (1.2\'s optional ingested data)', () => {
    const pyairbyte = registry('stories:\n  "1.2":\n    data: [{ path: data/uploads/, keep: true, why: uploaded source files }]\n').byId.get('1.2')!;
    expect(pyairbyte.caches).not.toContain('data/uploads');
    expect(pyairbyte.data).toContain('data/uploads');
    expect(pyairbyte.keptData).toEqual([{ path: 'data/uploads', why: 'uploaded source files' }]);
  });

  it('refuses, naming the entry: keep: false on a kept path, a code path as data, a kept path inside a removed one, a misspelt key', () => {
    const unkeep = invalidInputErrorOf(() => registry('stories:\n  "1.8":\n    data:\n      - path: reports/\n        keep: false\n'));
    expect(unkeep.keyPath).toBe('stories.1.8.data[0].keep');
    expect(unkeep.message).toMatch(/keeps "reports" in place.*--purge-data/);
    const code = invalidInputErrorOf(() => registry('stories:\n  "1.8":\n    data: [tools/data-services/monitoring-engine.js]\n'));
    expect(code.keyPath).toBe('stories.1.8.data[0]');
    expect(code.message).toMatch(/already in story 1\.8's code/);
    const nested = invalidInputErrorOf(() => registry('stories:\n  "1.9":\n    feature: x\n    data: [out/, { path: out/history/, keep: true }]\n'));
    expect(nested.keyPath).toBe('stories.1.9.data[1]');
    expect(nested.message).toMatch(/"out\/history" is kept in place but lies inside "out"/);
    const typo = invalidInputErrorOf(() => parseRollbackConfig('stories:\n  "1.8":\n    data:\n      - path: logs/traces/\n        kep: true\n', FILE));
    expect(typo.keyPath).toBe('stories.1.8.data[0].kep');
    expect(typo.line).toBe(5);
    const outside = invalidInputErrorOf(() => parseRollbackConfig('stories:\n  "1.8":\n    data: [{ path: ../elsewhere/, keep: true }]\n', FILE));
    expect(outside.keyPath).toBe('stories.1.8.data[0].path');
  });
});
