import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError, StepFailedError } from '../../../src/model/errors.js';
import type { FlagChange } from '../../../src/model/types.js';
import { applyFlagChanges, loadFlags, parseFlags, planDisable, writeFlags } from '../../../src/flags/index.js';
import { changedLines, DISPLAY, leftoverTempFiles, makeTempDir, packFlagsText, thrown, withEnabled } from './fixture.js';

const NOW = new Date('2026-03-04T05:06:07.089Z');
const STAMP = '2026-03-04T05:06:07.089Z';
const OLD_STAMP = '2025-08-28T09:26:56.587Z';

/** The pack file with everything around duckdb enabled, and comments a person might have added. */
function commentedFixture(): string {
  const text = withEnabled(packFlagsText(), [
    'duckdb_analytics',
    'dbt_transformations',
    'dagster_orchestration',
    'eda_automation',
    'evidence_publishing',
    'sqlmesh_transformations',
  ]);
  return (
    '# Feature flags of the data practitioner pack.\n# Edited by hand, keep these comments.\n\n' +
    text
      .replace('  duckdb_analytics:\n    enabled: true', '  duckdb_analytics:\n    enabled: true # turned on for the demo')
      .replace('  dbt_transformations:', '\n  # --- transformation layer ---\n  dbt_transformations:')
  );
}

describe('applyFlagChanges', () => {
  it('changes only the enabled values and last_modified; comments and layout survive', () => {
    const before = commentedFixture();
    const doc = parseFlags(before, DISPLAY);
    const after = applyFlagChanges(doc, planDisable(doc, ['duckdb_analytics']), NOW);

    // Line numbers below are in the commented fixture (3 header lines, 1 blank + 1 comment before dbt).
    expect(changedLines(before, after)).toEqual([
      { line: 10, before: '    enabled: true # turned on for the demo', after: '    enabled: false # turned on for the demo' },
      { line: 16, before: '    enabled: true', after: '    enabled: false' },
      { line: 21, before: '    enabled: true', after: '    enabled: false' },
      { line: 27, before: '    enabled: true', after: '    enabled: false' },
      { line: 48, before: '    enabled: true', after: '    enabled: false' },
      { line: 58, before: '    enabled: true', after: '    enabled: false' },
      { line: 64, before: `  last_modified: '${OLD_STAMP}'`, after: `  last_modified: '${STAMP}'` },
    ]);
    const lines = after.split('\n');
    expect(lines[12]).toBe('');
    expect(lines[13]).toBe('  # --- transformation layer ---');
    expect(lines[14]).toBe('  dbt_transformations:');
    expect(after.startsWith('# Feature flags of the data practitioner pack.\n# Edited by hand, keep these comments.\n\n')).toBe(true);
  });

  it('produces a file whose values are the intended ones', () => {
    const doc = parseFlags(commentedFixture(), DISPLAY);
    const again = parseFlags(applyFlagChanges(doc, planDisable(doc, ['dbt_transformations']), NOW), DISPLAY);
    expect(again.features.get('dbt_transformations')?.enabled).toBe(false);
    expect(again.features.get('evidence_publishing')?.enabled).toBe(false);
    expect(again.features.get('duckdb_analytics')?.enabled).toBe(true);
    expect(again.lastModified?.value).toBe(STAMP);
  });

  it('keeps CRLF line endings', () => {
    const lf = commentedFixture();
    const crlf = lf.replace(/\n/g, '\r\n');
    const doc = parseFlags(crlf, DISPLAY);
    const after = applyFlagChanges(doc, planDisable(doc, ['duckdb_analytics']), NOW);
    expect(after.split('\r\n').length).toBe(crlf.split('\r\n').length);
    expect(after.replace(/\r\n/g, '')).not.toContain('\n');
    const lfDoc = parseFlags(lf, DISPLAY);
    expect(after).toBe(applyFlagChanges(lfDoc, planDisable(lfDoc, ['duckdb_analytics']), NOW).replace(/\n/g, '\r\n'));
  });

  it.each([
    ['single quotes', `'${OLD_STAMP}'`, `'${STAMP}'`],
    ['double quotes', `"${OLD_STAMP}"`, `"${STAMP}"`],
    ['no quotes', OLD_STAMP, STAMP],
  ])('keeps the quote style of last_modified: %s', (_name, written, expected) => {
    const text = packFlagsText().replace(`'${OLD_STAMP}'`, written);
    const doc = parseFlags(text, DISPLAY);
    const after = applyFlagChanges(doc, planDisable(doc, ['pyairbyte_integration']), NOW);
    expect(changedLines(text, after).map((l) => l.after)).toEqual(['    enabled: false', `  last_modified: ${expected}`]);
  });

  it('does not invent last_modified when metadata lacks it', () => {
    const text = packFlagsText().replace(`  last_modified: '${OLD_STAMP}'\n`, '');
    const doc = parseFlags(text, DISPLAY);
    const after = applyFlagChanges(doc, planDisable(doc, ['pyairbyte_integration']), NOW);
    expect(changedLines(text, after)).toEqual([{ line: 3, before: '    enabled: true', after: '    enabled: false' }]);
  });

  it('works without any metadata', () => {
    const text = 'features:\n  a:\n    enabled: true\n';
    const doc = parseFlags(text, DISPLAY);
    expect(applyFlagChanges(doc, planDisable(doc, ['a']), NOW)).toBe('features:\n  a:\n    enabled: false\n');
  });

  it('returns the text untouched, last_modified included, when nothing changes', () => {
    const text = packFlagsText();
    const doc = parseFlags(text, DISPLAY);
    const noop: FlagChange[] = [{ feature: 'duckdb_analytics', from: true, to: false, why: 'rolled back' }];
    expect(applyFlagChanges(doc, noop, NOW)).toBe(text);
  });

  it('keeps a tag and a byte-order mark', () => {
    const text = '\uFEFFfeatures:\n  a:\n    enabled: !!bool true   # tagged\n';
    const doc = parseFlags(text, DISPLAY);
    expect(applyFlagChanges(doc, planDisable(doc, ['a']), NOW)).toBe(
      '\uFEFFfeatures:\n  a:\n    enabled: !!bool false   # tagged\n',
    );
  });

  it('writes True as lowercase false and leaves the other spellings alone', () => {
    const text = 'features:\n  a:\n    enabled: True\n  b:\n    enabled: TRUE\n';
    const doc = parseFlags(text, DISPLAY);
    expect(applyFlagChanges(doc, planDisable(doc, ['a']), NOW)).toBe(
      'features:\n  a:\n    enabled: false\n  b:\n    enabled: TRUE\n',
    );
  });

  it('edits flow mappings in place', () => {
    const text = 'features: {a: {enabled: true, dependencies: []}, b: {enabled: true, dependencies: [a]}}\n';
    const doc = parseFlags(text, DISPLAY);
    expect(applyFlagChanges(doc, planDisable(doc, ['a']), NOW)).toBe(
      'features: {a: {enabled: false, dependencies: []}, b: {enabled: false, dependencies: [a]}}\n',
    );
  });

  it('refuses a block-scalar last_modified instead of mangling it', () => {
    const text = 'features:\n  a:\n    enabled: true\nmetadata:\n  last_modified: |\n    2025-01-01\n';
    const doc = parseFlags(text, DISPLAY);
    const err = thrown(() => applyFlagChanges(doc, planDisable(doc, ['a']), NOW));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).line).toBe(5);
    expect((err as InvalidInputError).column).toBe(18);
  });

  it('rejects a change to an unknown feature and contradictory changes', () => {
    const doc = parseFlags(packFlagsText(), DISPLAY);
    const unknown = thrown(() => applyFlagChanges(doc, [{ feature: 'x', from: true, to: false, why: '' }], NOW));
    expect((unknown as InvalidInputError).code).toBe('E_UNKNOWN_FEATURE');
    const both = thrown(() =>
      applyFlagChanges(
        doc,
        [
          { feature: 'qa_framework', from: false, to: true, why: '' },
          { feature: 'qa_framework', from: true, to: false, why: '' },
        ],
        NOW,
      ),
    );
    expect((both as InvalidInputError).code).toBe('E_FLAGS_CONFLICT');
  });

  it('catches a splice at the wrong place before anything is written', () => {
    const doc = parseFlags(packFlagsText(), DISPLAY);
    // Corrupt the recorded position: pyairbyte's change would land on another feature's value.
    const wrong = doc.enabledSpans.get('automated_eda');
    if (!wrong) throw new Error('fixture changed');
    doc.enabledSpans.set('pyairbyte_integration', wrong);
    const err = thrown(() => applyFlagChanges(doc, planDisable(doc, ['pyairbyte_integration']), NOW));
    expect(err).toBeInstanceOf(StepFailedError);
    expect((err as StepFailedError).code).toBe('E_FLAGS_EDIT');
  });
});

describe('writeFlags', () => {
  let cleanup = (): void => undefined;
  afterEach(() => cleanup());

  it('writes the new text atomically and it loads back', async () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    const path = join(tmp.dir, 'feature-flags.yaml');
    writeFileSync(path, commentedFixture());
    const doc = await loadFlags(path, DISPLAY);
    const text = applyFlagChanges(doc, planDisable(doc, ['duckdb_analytics']), NOW);
    await writeFlags(path, text);
    expect(readFileSync(path, 'utf8')).toBe(text);
    const reloaded = await loadFlags(path, DISPLAY);
    expect(reloaded.features.get('sqlmesh_transformations')?.enabled).toBe(false);
    expect(leftoverTempFiles(tmp.dir)).toEqual([]);
  });
});
