/** The byte-preserving JSON editing under the npm removal: scanning errors, styles, and exact undo. */
import { describe, expect, it } from 'vitest';
import { InvalidInputError, StepFailedError } from '../../../src/model/errors.js';
import { type MemberRef, removeMembers, undoChanges } from '../../../src/packages/npm-json-changes.js';
import { JsonEditor } from '../../../src/packages/npm-json-edit.js';
import { scanJson } from '../../../src/packages/npm-json-scan.js';
import { lockfileOrder, packageJsonOrder } from '../../../src/packages/npm-order.js';

const sections = (p: readonly string[]): boolean => p.length === 1 && p[0] !== undefined && /ependencies$/.test(p[0]);

/** Remove, then undo on a fresh editor over the result; returns the edited text and the restored text. */
function cycle(text: string, refs: MemberRef[]): { edited: string; restored: string } {
  const ed = new JsonEditor(text, 'package.json');
  const changes = removeMembers(ed, refs, packageJsonOrder, sections);
  const edited = ed.toString();
  // As revert does: the style recorded at removal, for a file left with nothing to learn it from.
  const back = new JsonEditor(edited, 'package.json', ed.format);
  undoChanges(back, JSON.parse(JSON.stringify(changes)), packageJsonOrder, undefined);
  return { edited, restored: back.toString() };
}

describe('scanJson', () => {
  it.each([
    ['{"a": 1,}', 1, 9, "expected a string key"],
    ['{\n  "a": [1, 2\n}', 3, 1, "expected ',' or ']'"],
    ['{"a": "x\ny"}', 1, 9, 'control character'],
    ['{"a": tru}', 1, 7, 'unexpected character'],
    ['{"a": 1} x', 1, 10, 'after the JSON value'],
    ['', 1, 1, 'unexpected end'],
    ['{"a": 1, "a": 2}', 1, 10, 'duplicate key'],
  ])('%j fails at line %i, column %i', (text, line, column, what) => {
    let err: unknown;
    try {
      scanJson(text, 'x.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ file: 'x.json', line, column });
    expect((err as Error).message).toContain(what);
  });

  it('accepts what JSON.parse accepts, escapes and a BOM included', () => {
    const text = '\uFEFF{"a\\u0062": [1, -2.5e3, true, null, {"c": "\\"q\\""}], "d": {}}\n';
    const doc = scanJson(text, 'x.json');
    expect(doc.root.kind).toBe('object');
    expect(doc.root.kind === 'object' && doc.root.members.map((m) => m.key)).toEqual(['ab', 'd']);
  });
});

describe('removal and undo keep every other byte', () => {
  const twoSpace = '{\n  "name": "x",\n  "dependencies": {\n    "a": "1",\n    "b": "2",\n    "c": "3"\n  },\n  "devDependencies": {\n    "d": "4"\n  }\n}\n';

  it('removes middle, first and last members in npm style and puts them back', () => {
    for (const key of ['a', 'b', 'c']) {
      const { edited, restored } = cycle(twoSpace, [{ in: ['dependencies'], key }]);
      expect(JSON.parse(edited).dependencies).not.toHaveProperty(key);
      expect(edited).toBe(JSON.stringify({ ...JSON.parse(edited) }, null, 2) + '\n');
      expect(restored).toBe(twoSpace);
    }
  });

  it('drops an emptied section and brings it back at its place', () => {
    const { edited, restored } = cycle(twoSpace, [{ in: ['devDependencies'], key: 'd' }]);
    expect(edited).toBe('{\n  "name": "x",\n  "dependencies": {\n    "a": "1",\n    "b": "2",\n    "c": "3"\n  }\n}\n');
    expect(restored).toBe(twoSpace);
  });

  it.each([
    ['tabs and CRLF', '{\r\n\t"dependencies": {\r\n\t\t"a": "1",\r\n\t\t"b": "2"\r\n\t},\r\n\t"x": 1\r\n}\r\n'],
    ['four spaces, no final newline', '{\n    "dependencies": {\n        "a": "1",\n        "b": "2"\n    }\n}'],
    ['one line', '{"dependencies":{"a":"1","b":"2"},"x":[1,2]}'],
    ['hand-written inline', '{ "dependencies": { "a": "1", "b": "2" }, "x": 1 }\n'],
    ['a BOM', '\uFEFF{\n  "dependencies": {\n    "a": "1",\n    "b": "2"\n  }\n}\n'],
    ['unsorted by hand', '{\n  "dependencies": {\n    "zed": "1",\n    "b": "2",\n    "alpha": "3"\n  }\n}\n'],
  ])('%s', (_name, text) => {
    const keys = Object.keys(JSON.parse(text.replace(/^\uFEFF/, '')).dependencies as object);
    for (const drop of [[keys[0]], [keys[keys.length - 1]], keys.slice(0, 2), keys]) {
      const { edited, restored } = cycle(
        text,
        drop.map((key) => ({ in: ['dependencies'], key: key as string })),
      );
      const parsed = JSON.parse(edited.replace(/^\uFEFF/, '')) as { dependencies?: Record<string, string> };
      for (const k of drop) expect(parsed.dependencies ?? {}).not.toHaveProperty(k as string);
      expect(restored).toBe(text);
    }
  });

  it('edits nested objects and their parents in one pass (lockfile shape)', () => {
    const lock = `${JSON.stringify(
      {
        name: 'p',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'p', dependencies: { a: '1', b: '1' } },
          'node_modules/a': { version: '1.0.0' },
          'node_modules/b': { version: '1.0.0', dependencies: { c: '1' } },
          'node_modules/c': { version: '1.0.0', bin: { c: 'c.js' } },
        },
      },
      null,
      2,
    )}\n`;
    const ed = new JsonEditor(lock, 'package-lock.json');
    const changes = removeMembers(
      ed,
      [
        { in: ['packages', '', 'dependencies'], key: 'b' },
        { in: ['packages'], key: 'node_modules/b' },
        { in: ['packages'], key: 'node_modules/c' },
      ],
      lockfileOrder,
      () => false,
    );
    const edited = ed.toString();
    const expected = JSON.parse(lock);
    delete expected.packages[''].dependencies.b;
    delete expected.packages['node_modules/b'];
    delete expected.packages['node_modules/c'];
    expect(edited).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    const back = new JsonEditor(edited, 'package-lock.json');
    undoChanges(back, changes, lockfileOrder, lockfileOrder);
    expect(back.toString()).toBe(lock);
  });
});

describe('undo against a file that changed meanwhile', () => {
  const text = '{\n  "dependencies": {\n    "a": "1",\n    "c": "3"\n  }\n}\n';

  it('puts a member back in sorted place among members added since', () => {
    const ed = new JsonEditor(text, 'package.json');
    const changes = removeMembers(ed, [{ in: ['dependencies'], key: 'c' }], packageJsonOrder, sections);
    ed.insert(['dependencies'], 'b', '2', { order: packageJsonOrder });
    ed.insert(['dependencies'], 'd', '4', { order: packageJsonOrder });
    const back = new JsonEditor(ed.toString(), 'package.json');
    undoChanges(back, changes, packageJsonOrder, undefined);
    expect(Object.keys(JSON.parse(back.toString()).dependencies)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('recreates a section npm dropped, fills an emptied {} and restores a changed value', () => {
    const ed = new JsonEditor(text, 'package.json');
    const changes = removeMembers(ed, [{ in: ['dependencies'], key: 'a' }, { in: ['dependencies'], key: 'c' }], packageJsonOrder, () => false);
    expect(ed.toString()).toBe('{\n  "dependencies": {}\n}\n');
    const refill = new JsonEditor(ed.toString(), 'package.json');
    undoChanges(refill, changes, packageJsonOrder, undefined);
    expect(refill.toString()).toBe(text);

    const gone = new JsonEditor('{\n  "name": "x"\n}\n', 'package.json');
    undoChanges(gone, changes, packageJsonOrder, undefined);
    expect(gone.toString()).toBe('{\n  "name": "x",\n  "dependencies": {\n    "a": "1",\n    "c": "3"\n  }\n}\n');

    const changed = new JsonEditor('{\n  "dependencies": {\n    "a": "9"\n  }\n}\n', 'package.json');
    undoChanges(changed, changes, packageJsonOrder, undefined);
    expect(changed.toString()).toBe(text);
  });

  it('is a no-op the second time', () => {
    const ed = new JsonEditor(text, 'package.json');
    const changes = removeMembers(ed, [{ in: ['dependencies'], key: 'a' }], packageJsonOrder, sections);
    const once = new JsonEditor(ed.toString(), 'package.json');
    undoChanges(once, changes, packageJsonOrder, undefined);
    const twice = new JsonEditor(once.toString(), 'package.json');
    undoChanges(twice, changes, packageJsonOrder, undefined);
    expect(twice.toString()).toBe(text);
  });

  it('refuses to put a member into something that is no longer an object', () => {
    const ed = new JsonEditor(text, 'package.json');
    const changes = removeMembers(ed, [{ in: ['dependencies'], key: 'a' }], packageJsonOrder, sections);
    const broken = new JsonEditor('{\n  "dependencies": "oops"\n}\n', 'package.json');
    expect(() => undoChanges(broken, changes, packageJsonOrder, undefined)).toThrow(StepFailedError);
  });
});
