import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { count, mdCode, mdInline, oneLine, shellQuote } from '../../../src/util/format.js';

describe('text for people', () => {
  it('quotes any argument so that bash, given the quoted text, passes back exactly the argument, on one line', async () => {
    const args = ['plain', 'with space', "it's", 'a `b` $(c) "d"', 'line one\nline two', 'tab\there', 'bell\u0007', 'back\\slash\n'];
    for (const arg of args) {
      const quoted = shellQuote(arg);
      expect(quoted).not.toMatch(/\n/);
      const r = await execa('bash', ['-c', `printf %s ${quoted}`], { stripFinalNewline: false });
      expect(r.stdout).toBe(arg);
    }
  });

  it('keeps free text to one inert line, for the report and history', () => {
    expect(oneLine('a\nb\r\nc\u0000d')).toBe('a ⏎ b ⏎ cd');
    expect(mdInline('# not `code` | *x*')).toBe('\\# not \\`code\\` \\| \\*x\\*');
    expect(mdCode('plain')).toBe('`plain`');
    expect(mdCode('a `b` c')).toBe('`` a `b` c ``');
  });

  it('counts in the singular where there is one', () => {
    expect([count(0, 'file'), count(1, 'file'), count(2, 'process', 'processes')]).toEqual(['0 files', '1 file', '2 processes']);
  });
});
