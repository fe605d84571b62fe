import { describe, expect, it } from 'vitest';
import { normaliseDistName } from '../../../src/packages/python-dist.js';
import { parseEntryPointScripts, parseRecord } from '../../../src/packages/python-record.js';

describe('parseRecord', () => {
  it('takes the path column of each line, CSV quoting and CRLF included, and skips blank lines', () => {
    const text = [
      'pkg/__init__.py,sha256=abc,12',
      '"pkg/a, b.py",sha256=def,3',
      '"pkg/say ""hi"".txt",,',
      '../../../bin/tool,sha256=x,9',
      '',
      'pkg-1.0.dist-info/RECORD,,',
    ].join('\r\n');
    expect(parseRecord(text)).toEqual([
      'pkg/__init__.py',
      'pkg/a, b.py',
      'pkg/say "hi".txt',
      '../../../bin/tool',
      'pkg-1.0.dist-info/RECORD',
    ]);
  });

  it('keeps a line without commas whole', () => {
    expect(parseRecord('just/a/path\n')).toEqual(['just/a/path']);
  });
});

describe('parseEntryPointScripts', () => {
  it('lists console and GUI scripts only, ignoring comments and other groups', () => {
    const text = [
      '# comment',
      '[console_scripts]',
      'dagster = dagster.cli:main',
      '  dagster-daemon=dagster.daemon.cli:main  ',
      '',
      '[dagster_plugins]',
      'not-a-script = x:y',
      '[gui_scripts]',
      'viewer = v:main',
    ].join('\n');
    expect(parseEntryPointScripts(text)).toEqual(['dagster', 'dagster-daemon', 'viewer']);
  });
});

describe('normaliseDistName', () => {
  it('follows PEP 503: case folded, runs of - _ . become one -', () => {
    expect(normaliseDistName('PyYAML')).toBe('pyyaml');
    expect(normaliseDistName('My_Pkg')).toBe(normaliseDistName('my-pkg'));
    expect(normaliseDistName('Tiny.Dots')).toBe('tiny-dots');
    expect(normaliseDistName('a._-b')).toBe('a-b');
    expect(normaliseDistName('dbt-core')).not.toBe(normaliseDistName('dbt-core-extra'));
  });
});
