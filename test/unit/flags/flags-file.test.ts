import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import { loadFlags, parseFlags } from '../../../src/flags/index.js';
import { DISPLAY, makeTempDir, packFlagsText, thrown } from './fixture.js';

const PACK_FEATURES = [
  'pyairbyte_integration',
  'duckdb_analytics',
  'dbt_transformations',
  'dagster_orchestration',
  'eda_automation',
  'automated_eda',
  'agent_hypothesis_generation',
  'statistical_testing',
  'pattern_detection',
  'evidence_publishing',
  'qa_framework',
  'sqlmesh_transformations',
];

/** The InvalidInputError that parsing `text` raises. */
function parseError(text: string): InvalidInputError {
  const err = thrown(() => parseFlags(text, DISPLAY));
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

function at(err: InvalidInputError): { line?: number; column?: number; keyPath?: string; code: string } {
  return { line: err.line, column: err.column, keyPath: err.keyPath, code: err.code };
}

describe('parseFlags on the pack file', () => {
  it('reads every feature in file order with its values', () => {
    const doc = parseFlags(packFlagsText(), DISPLAY);
    expect([...doc.features.keys()]).toEqual(PACK_FEATURES);
    expect(doc.features.get('pyairbyte_integration')).toEqual({
      enabled: true,
      description: 'Enable PyAirbyte connectors for data ingestion',
      dependencies: [],
    });
    expect(doc.features.get('dagster_orchestration')?.dependencies).toEqual(['pyairbyte_integration', 'duckdb_analytics']);
    expect(doc.features.get('evidence_publishing')?.dependencies).toEqual(['duckdb_analytics', 'dbt_transformations']);
    expect(doc.features.get('duckdb_analytics')?.enabled).toBe(false);
  });

  it('records where enabled values and last_modified are written', () => {
    const text = packFlagsText();
    const doc = parseFlags(text, DISPLAY);
    const span = doc.enabledSpans.get('pyairbyte_integration');
    expect(span && text.slice(span.start, span.end)).toBe('true');
    expect(doc.lastModified?.style).toBe('single-quoted');
    expect(doc.lastModified?.value).toBe('2025-08-28T09:26:56.587Z');
    const lm = doc.lastModified?.span;
    expect(lm && text.slice(lm.start, lm.end)).toBe("'2025-08-28T09:26:56.587Z'");
  });

  it('treats a missing or empty dependencies key as none, and no metadata as fine', () => {
    const doc = parseFlags('features:\n  a:\n    enabled: true\n  b:\n    enabled: false\n    dependencies:\n', DISPLAY);
    expect(doc.features.get('a')).toEqual({ enabled: true, dependencies: [] });
    expect(doc.features.get('b')).toEqual({ enabled: false, dependencies: [] });
    expect(doc.lastModified).toBeUndefined();
  });
});

describe('loadFlags', () => {
  let cleanup = (): void => undefined;
  afterEach(() => cleanup());

  it('reads the file from disk', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    mkdirSync(join(tmp.dir, 'config'));
    writeFileSync(join(tmp.dir, DISPLAY), packFlagsText());
    const doc = await loadFlags(join(tmp.dir, DISPLAY), DISPLAY);
    expect([...doc.features.keys()]).toEqual(PACK_FEATURES);
    expect(doc.file).toBe(DISPLAY);
  });

  it('names a missing file', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    const err = await loadFlags(join(tmp.dir, DISPLAY), DISPLAY).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe('E_FLAGS_MISSING');
    expect((err as InvalidInputError).file).toBe(DISPLAY);
    expect((err as InvalidInputError).message).toMatch(/^config\/feature-flags\.yaml: file not found/);
  });
});

describe('parseFlags rejects malformed files with a position', () => {
  it('enabled that is not a boolean, in the real file', () => {
    const text = packFlagsText().replace(
      'dbt_transformations:\n    enabled: false',
      'dbt_transformations:\n    enabled: yes please',
    );
    const err = parseError(text);
    expect(err.message).toBe(
      'config/feature-flags.yaml:11:5: features.dbt_transformations.enabled must be true or false, found "yes please"',
    );
    expect(at(err)).toEqual({ line: 11, column: 5, keyPath: 'features.dbt_transformations.enabled', code: 'E_FLAGS_SCHEMA' });
    expect(err.file).toBe(DISPLAY);
  });

  it('a quoted "true" is text, not a boolean', () => {
    const err = parseError('features:\n  a:\n    enabled: "true"\n');
    expect(err.message).toBe('config/feature-flags.yaml:3:5: features.a.enabled must be true or false, found "true"');
  });

  it('enabled missing', () => {
    const err = parseError('features:\n  a:\n    description: hi\n');
    expect(at(err)).toEqual({ line: 2, column: 3, keyPath: 'features.a.enabled', code: 'E_FLAGS_SCHEMA' });
    expect(err.message).toContain('features.a has no "enabled:"');
  });

  it('enabled as an alias (flipping it would flip its anchor too)', () => {
    const err = parseError('features:\n  a:\n    enabled: &on true\n  b:\n    enabled: *on\n');
    expect(at(err)).toEqual({ line: 5, column: 5, keyPath: 'features.b.enabled', code: 'E_FLAGS_SCHEMA' });
  });

  it('YAML syntax error uses the library position', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n    description: a: b\n');
    expect(at(err)).toEqual({ line: 4, column: 18, keyPath: undefined, code: 'E_FLAGS_SYNTAX' });
    expect(err.message).toMatch(/^config\/feature-flags\.yaml:4:18: invalid YAML: Nested mappings are not allowed/);
    // The caret snippet from the library stays in the message.
    expect(err.message).toContain('^');
  });

  it('unclosed flow sequence', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n    dependencies: [b\n');
    expect(err.code).toBe('E_FLAGS_SYNTAX');
    expect(err.line).toBe(5);
    expect(err.column).toBe(1);
  });

  it('tab indentation', () => {
    const err = parseError('features:\n\ta:\n');
    expect(at(err)).toMatchObject({ line: 2, column: 1, code: 'E_FLAGS_SYNTAX' });
  });

  it('no features mapping', () => {
    const err = parseError('metadata:\n  version: 1.0.0\n');
    expect(at(err)).toEqual({ line: 1, column: 1, keyPath: 'features', code: 'E_FLAGS_SCHEMA' });
    expect(err.message).toBe(
      'config/feature-flags.yaml:1:1: has no "features:" mapping; the pack declares every feature flag under it',
    );
  });

  it('an empty file', () => {
    const err = parseError('');
    expect(err.message).toContain('the file must be a mapping with a "features:" key, found nothing');
    expect(err.line).toBe(1);
  });

  it('features that is a list', () => {
    const err = parseError('# flags\nfeatures:\n  - a\n');
    expect(at(err)).toEqual({ line: 2, column: 1, keyPath: 'features', code: 'E_FLAGS_SCHEMA' });
    expect(err.message).toContain('found a list');
  });

  it('a feature that is not a mapping', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n  b: true\n');
    expect(at(err)).toEqual({ line: 4, column: 3, keyPath: 'features.b', code: 'E_FLAGS_SCHEMA' });
    expect(err.message).toContain('features.b must be a mapping');
    expect(err.message).toContain('found true');
  });

  it('dependencies that is not a list', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n    dependencies: b\n  b:\n    enabled: true\n');
    expect(at(err)).toEqual({ line: 4, column: 5, keyPath: 'features.a.dependencies', code: 'E_FLAGS_SCHEMA' });
    expect(err.message).toContain('must be a list of feature names, found "b"');
  });

  it('a dependency that is not a string', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n    dependencies:\n      - b\n      - 42\n  b:\n    enabled: true\n');
    expect(at(err)).toEqual({ line: 6, column: 9, keyPath: 'features.a.dependencies[1]', code: 'E_FLAGS_SCHEMA' });
    expect(err.message).toContain('must be a feature name, found 42');
  });

  it('a dependency naming an unknown feature', () => {
    const text = packFlagsText().replace('      - pyairbyte_integration\n', '      - pyairbyte_integrations\n');
    const err = parseError(text);
    expect(at(err)).toEqual({
      line: 19,
      column: 9,
      keyPath: 'features.dagster_orchestration.dependencies[0]',
      code: 'E_FLAGS_UNKNOWN_DEPENDENCY',
    });
    expect(err.message).toContain('names "pyairbyte_integrations", which is not a feature in this file');
  });

  it('a dependency cycle is named', () => {
    const text = [
      'features:',
      '  a:',
      '    enabled: true',
      '    dependencies: [c]',
      '  b:',
      '    enabled: true',
      '    dependencies: [a]',
      '  c:',
      '    enabled: true',
      '    dependencies:',
      '      - x',
      '      - b',
      '  x:',
      '    enabled: true',
      '',
    ].join('\n');
    const err = parseError(text);
    expect(err.code).toBe('E_FLAGS_CYCLE');
    expect(err.message).toContain('dependency cycle: a -> c -> b -> a');
    expect(at(err)).toEqual({ line: 4, column: 20, keyPath: 'features.a.dependencies[0]', code: 'E_FLAGS_CYCLE' });
  });

  it('a feature depending on itself', () => {
    const err = parseError('features:\n  ok:\n    enabled: true\n  a:\n    enabled: true\n    dependencies:\n      - a\n');
    expect(err.message).toContain('dependency cycle: a -> a');
    expect(at(err)).toEqual({ line: 7, column: 9, keyPath: 'features.a.dependencies[0]', code: 'E_FLAGS_CYCLE' });
  });

  it('a duplicated feature', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n  b:\n    enabled: true\n  a:\n    enabled: false\n');
    expect(at(err)).toEqual({ line: 6, column: 3, keyPath: 'features.a', code: 'E_FLAGS_DUPLICATE_KEY' });
    expect(err.message).toBe(
      'config/feature-flags.yaml:6:3: features.a is written twice (first at line 2); keep one of them',
    );
  });

  it('a duplicated enabled key inside a feature', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n    description: x\n    enabled: false\n');
    expect(at(err)).toEqual({ line: 5, column: 5, keyPath: 'features.a.enabled', code: 'E_FLAGS_DUPLICATE_KEY' });
  });

  it('more than one document', () => {
    const err = parseError('features:\n  a:\n    enabled: true\n---\nfeatures: {}\n');
    expect(err.code).toBe('E_FLAGS_SYNTAX');
    expect(err.line).toBe(4);
  });

  it('positions are right in a CRLF file', () => {
    const text = packFlagsText()
      .replace('dbt_transformations:\n    enabled: false', 'dbt_transformations:\n    enabled: 1')
      .replace(/\n/g, '\r\n');
    const err = parseError(text);
    expect(at(err)).toEqual({ line: 11, column: 5, keyPath: 'features.dbt_transformations.enabled', code: 'E_FLAGS_SCHEMA' });
    expect(err.message).toContain('found 1');
  });

  it('a byte-order mark does not shift columns on line 1', () => {
    const err = parseError('\uFEFFfeatures: 3\n');
    expect(at(err)).toEqual({ line: 1, column: 1, keyPath: 'features', code: 'E_FLAGS_SCHEMA' });
  });
});
