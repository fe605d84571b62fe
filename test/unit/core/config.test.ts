import { describe, expect, it } from 'vitest';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';
import { buildRegistry } from '../../../src/stories/registry.js';
import { invalidInputErrorOf } from '../../helpers/expect-error.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';

const FILE = 'config/rollback.yaml';


describe('config/rollback.yaml', () => {
  it('adds to a built-in story and declares a story of the user\'s own', () => {
    const cfg = parseRollbackConfig(
      [
        'stories:',
        '  "1.3":',
        '    code: [tools/data-services/duckdb-extra.js]',
        '  "1.9":',
        '    feature: sqlmesh_transformations',
        '    title: SQLMesh transformations',
        '    dependsOn: ["1.3"]',
        '    code: [tools/data-services/sqlmesh-wrapper.js]',
        '    data: [sqlmesh-project/]',
        'backups:',
        '  keep: 3',
        '  compression: gzip',
      ].join('\n'),
      FILE,
    );
    const reg = buildRegistry(BUILTIN_STORIES, cfg);
    const duck = reg.byId.get('1.3')!;
    expect(duck.code).toContain('tools/data-services/duckdb-extra.js');
    expect(duck.code).toContain('tools/data-services/duckdb-wrapper.js');
    const mine = reg.byId.get('1.9')!;
    expect(mine).toMatchObject({ feature: 'sqlmesh_transformations', dependsOn: ['1.3'], data: ['sqlmesh-project'] });
    expect(reg.byFeature.get('sqlmesh_transformations')?.id).toBe('1.9');
    expect(cfg.backups).toEqual({ keep: 3, compression: 'gzip', gzipLevel: 1 });
  });

  it('names file, line and column of a YAML syntax error', () => {
    const e = invalidInputErrorOf(() => parseRollbackConfig('stories:\n  "1.9": [unclosed\n', FILE));
    expect(e.file).toBe(FILE);
    expect(e.line).toBeGreaterThanOrEqual(2);
    expect(e.message).toMatch(/^config\/rollback\.yaml:\d+:\d+: /);
  });

  it('names the key path and line of an unknown story field', () => {
    const e = invalidInputErrorOf(() => parseRollbackConfig('stories:\n  "1.9":\n    feature: x\n    codes: [a.js]\n', FILE));
    expect(e.keyPath).toBe('stories.1.9.codes');
    expect(e.line).toBe(4);
    expect(e.message).toContain('config/rollback.yaml:4:5');
  });

  it('names the key path of a list entry that is not a string', () => {
    const e = invalidInputErrorOf(() => parseRollbackConfig('stories:\n  "1.9":\n    feature: x\n    code: [a.js, {b: 1}]\n', FILE));
    expect(e.keyPath).toBe('stories.1.9.code[1]');
  });

  it('refuses a path that leaves the root, naming where it was declared', () => {
    const load = (text: string) => () => buildRegistry(BUILTIN_STORIES, parseRollbackConfig(text, FILE));
    const e = invalidInputErrorOf(load('stories:\n  "1.9":\n    feature: x\n    code: [../../etc/passwd]\n'));
    expect(e.keyPath).toBe('stories.1.9.code[0]');
    expect(e.message).toMatch(/outside the project root/);
    expect(invalidInputErrorOf(load('stories:\n  "1.9":\n    feature: x\n    data: [/var/lib/data]\n')).message).toMatch(/absolute/);
  });

  it('refuses a path that another story owns, or that lies inside one of its directories', () => {
    const same = parseRollbackConfig('stories:\n  "1.9":\n    feature: x\n    code: [tools/data-services/duckdb-wrapper.js]\n', FILE);
    expect(invalidInputErrorOf(() => buildRegistry(BUILTIN_STORIES, same)).message).toMatch(/already belongs to story 1\.3/);
    const nested = parseRollbackConfig('stories:\n  "1.9":\n    feature: x\n    data: [.duckdb/mine.db]\n', FILE);
    expect(invalidInputErrorOf(() => buildRegistry(BUILTIN_STORIES, nested)).message).toMatch(/lies inside "\.duckdb" \(story 1\.3\)/);
  });

  it('refuses an unknown dependency and a new story without a feature', () => {
    const dep = parseRollbackConfig('stories:\n  "1.9":\n    feature: x\n    dependsOn: ["7.7"]\n', FILE);
    expect(invalidInputErrorOf(() => buildRegistry(BUILTIN_STORIES, dep)).keyPath).toBe('stories.1.9.dependsOn[0]');
    const nofeat = parseRollbackConfig('stories:\n  "1.9":\n    code: [a.js]\n', FILE);
    expect(invalidInputErrorOf(() => buildRegistry(BUILTIN_STORIES, nofeat)).keyPath).toBe('stories.1.9.feature');
  });

  it('a service needs argv or a pid file', () => {
    const e = invalidInputErrorOf(() => parseRollbackConfig('stories:\n  "1.9":\n    feature: x\n    services:\n      - name: ui\n', FILE));
    expect(e.keyPath).toBe('stories.1.9.services[0]');
  });
});
