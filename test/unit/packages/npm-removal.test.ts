/**
 * planNpmRemoval / applyNpmRemoval / revertNpmRemoval against a real project installed by the real npm
 * CLI (lockfile v3), offline. `npm uninstall` on a twin copy is the oracle for what the edited files
 * should be, and `npm ls` checks that npm accepts the project once the planned paths are deleted.
 */
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, StepFailedError } from '../../../src/model/errors.js';
import { applyNpmRemoval, planNpmRemoval, revertNpmRemoval } from '../../../src/packages/npm-index.js';
import type { NpmRemovalRecord } from '../../../src/packages/npm-index.js';
import { type NpmFixture, buildNpmFixture, npmRoundTrip, readText, treeBytes } from './npm-fixture.js';

const PJ = 'package.json';
const LOCK = 'package-lock.json';
let fx: NpmFixture;

beforeAll(async () => {
  fx = await buildNpmFixture(3);
});
afterAll(() => fx?.cleanup());

type Json = Record<string, any>;
const parse = (dir: string, file: string): Json => JSON.parse(readText(dir, file)) as Json;

const roundTrip = (names: string[]) => npmRoundTrip(fx, names);

describe('npm removal, lockfile v3', () => {
  it('plans dep-b as dep-b, only-b-d and its bin link, keeping shared-c that dep-a needs', () => {
    const dir = fx.copy();
    const plan = planNpmRemoval(dir, ['dep-b']);
    expect(plan.remove).toEqual(['dep-b']);
    expect(plan.absent).toEqual([]);
    expect(plan.paths).toEqual(['node_modules/.bin/only-b-d', 'node_modules/dep-b', 'node_modules/only-b-d']);
    expect(plan.lockfileEntries).toEqual(['node_modules/dep-b', 'node_modules/only-b-d']);
    expect(plan.flagChanges).toEqual([]);
    expect(plan.bytes).toBe(treeBytes(dir, 'node_modules/dep-b') + treeBytes(dir, 'node_modules/only-b-d'));
    expect(plan.sources).toMatchObject({ lockfile: LOCK, lockfileVersion: 3 });
  });

  it('apply removes exactly those entries, and nothing else changes', async () => {
    const dir = fx.copy();
    const pjBefore = parse(dir, PJ);
    const lockBefore = parse(dir, LOCK);
    const record = await applyNpmRemoval(dir, planNpmRemoval(dir, ['dep-b']));

    delete pjBefore.dependencies['dep-b'];
    expect(parse(dir, PJ)).toEqual(pjBefore);
    delete lockBefore.packages['']['dependencies']['dep-b'];
    delete lockBefore.packages['node_modules/dep-b'];
    delete lockBefore.packages['node_modules/only-b-d'];
    expect(parse(dir, LOCK)).toEqual(lockBefore);
    // Key order survives too (toEqual ignores it).
    expect(Object.keys(parse(dir, LOCK).packages)).toEqual(Object.keys(lockBefore.packages));

    expect(record.files.map((f) => f.file)).toEqual([LOCK, PJ]);
    const pjChanges = record.files[1]?.changes;
    expect(pjChanges).toEqual([
      { op: 'removed', in: ['dependencies'], key: 'dep-b', value: 'file:../pkgs/dep-b-1.0.0.tgz', after: 'dep-a', sorted: true },
    ]);
    const lockChanges = record.files[0]?.changes ?? [];
    expect(lockChanges.map((c) => [c.op, ...c.in, c.key])).toEqual([
      ['removed', 'packages', '', 'dependencies', 'dep-b'],
      ['removed', 'packages', 'node_modules/dep-b'],
      ['removed', 'packages', 'node_modules/only-b-d'],
    ]);
    const original = parse(fx.template, LOCK);
    expect(lockChanges[1]?.value).toEqual(original.packages['node_modules/dep-b']);
    expect(lockChanges[2]?.value).toEqual(original.packages['node_modules/only-b-d']);
  });

  it('dep-b round trip: same files as npm uninstall, npm ls clean, revert byte-identical', async () => {
    const { dir } = await roundTrip(['dep-b']);
    // shared-c stayed on disk and in the lockfile: dep-a still needs it.
    expect(statSync(join(dir, 'node_modules/shared-c')).isDirectory()).toBe(true);
  });

  it('dev-e: the emptied devDependencies section goes like npm does, with the nested shared-c@2 and the bin', async () => {
    const dir = fx.copy();
    const plan = planNpmRemoval(dir, ['dev-e']);
    expect(plan.paths).toEqual(['node_modules/.bin/dev-e', 'node_modules/dev-e', 'node_modules/dev-e/node_modules/shared-c']);
    const { record } = await roundTrip(['dev-e']);
    const pjChanges = record.files.find((f) => f.file === PJ)?.changes;
    expect(pjChanges).toEqual([
      { op: 'removed', in: [], key: 'devDependencies', value: { 'dev-e': 'file:../pkgs/dev-e-1.0.0.tgz' }, after: 'dependencies', sorted: false },
    ]);
  });

  it('dep-a and dep-b: dep-a stays for dev-e and turns dev-only, like npm writes it', async () => {
    const dir = fx.copy();
    const plan = planNpmRemoval(dir, ['dep-b', 'dep-a']);
    expect(plan.remove).toEqual(['dep-a', 'dep-b']);
    expect(plan.paths).toEqual(['node_modules/.bin/only-b-d', 'node_modules/dep-b', 'node_modules/only-b-d']);
    const off = { dev: false, optional: false, devOptional: false, peer: false };
    expect(plan.flagChanges).toEqual([
      { location: 'node_modules/dep-a', from: off, to: { ...off, dev: true } },
      { location: 'node_modules/shared-c', from: off, to: { ...off, dev: true } },
    ]);
    await roundTrip(['dep-a', 'dep-b']);
  });

  it('an absent package is reported and nothing is planned or written', async () => {
    const dir = fx.copy();
    const before = { pj: readText(dir, PJ), lock: readText(dir, LOCK), mtime: statSync(join(dir, PJ)).mtimeMs };
    const plan = planNpmRemoval(dir, ['not-installed', '@scope/nope']);
    expect(plan).toMatchObject({ remove: [], absent: ['@scope/nope', 'not-installed'], paths: [], lockfileEntries: [], bytes: 0 });
    const record = await applyNpmRemoval(dir, plan);
    expect(record.files).toEqual([]);
    expect(readText(dir, PJ)).toBe(before.pj);
    expect(readText(dir, LOCK)).toBe(before.lock);
    expect(statSync(join(dir, PJ)).mtimeMs).toBe(before.mtime);
  });

  it('a package name that is a path is refused before anything is read', () => {
    const dir = fx.copy();
    for (const bad of ['../etc', 'a/b', '', '.bin', 'node_modules/../x']) {
      expect(() => planNpmRemoval(dir, [bad]), bad).toThrow(InvalidInputError);
    }
  });

  it('malformed package.json is InvalidInputError naming the file, line and column', () => {
    const dir = fx.copy();
    writeFileSync(join(dir, PJ), '{\n  "name": "proj",\n  "dependencies": {\n    "dep-a": "1",\n  }\n}\n');
    let err: unknown;
    try {
      planNpmRemoval(dir, ['dep-a']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ file: PJ, line: 5, column: 3, exitCode: 2 });
    expect((err as Error).message).toContain('package.json');
  });

  it('malformed lockfile is InvalidInputError naming it', () => {
    const dir = fx.copy();
    writeFileSync(join(dir, LOCK), readText(dir, LOCK).replace('"packages": {', '"packages": {,'));
    expect(() => planNpmRemoval(dir, ['dep-b'])).toThrow(expect.objectContaining({ file: LOCK, line: 6 }));
  });

  it('apply refuses a plan whose files changed since, writing nothing', async () => {
    const dir = fx.copy();
    const plan = planNpmRemoval(dir, ['dep-b']);
    const lockText = readText(dir, LOCK);
    writeFileSync(join(dir, PJ), readText(dir, PJ).replace('"private": true', '"private": false'));
    const pjText = readText(dir, PJ);
    await expect(applyNpmRemoval(dir, plan)).rejects.toBeInstanceOf(StepFailedError);
    expect(readText(dir, PJ)).toBe(pjText);
    expect(readText(dir, LOCK)).toBe(lockText);
  });

  it('beforeWrite sees the full record before any write; revert is idempotent after a half-done apply', async () => {
    const dir = fx.copy();
    const before = { pj: readText(dir, PJ), lock: readText(dir, LOCK) };
    let journaled: NpmRemovalRecord | undefined;
    const record = await applyNpmRemoval(dir, planNpmRemoval(dir, ['dep-b']), {
      beforeWrite: (r) => {
        expect(readText(dir, PJ)).toBe(before.pj);
        expect(readText(dir, LOCK)).toBe(before.lock);
        journaled = JSON.parse(JSON.stringify(r)) as NpmRemovalRecord;
      },
    });
    expect(journaled).toEqual(record);
    // As if the process died after writing the lockfile but before package.json.
    writeFileSync(join(dir, PJ), before.pj);
    await revertNpmRemoval(dir, journaled as NpmRemovalRecord);
    await revertNpmRemoval(dir, journaled as NpmRemovalRecord);
    expect(readText(dir, PJ)).toBe(before.pj);
    expect(readText(dir, LOCK)).toBe(before.lock);
  });

  it('revert refuses a damaged record', async () => {
    const dir = fx.copy();
    const bad = { kind: 'npm-removal', version: 1, removed: [], files: [{ file: '../../etc/passwd', changes: [] }] };
    await expect(revertNpmRemoval(dir, bad as unknown as NpmRemovalRecord)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('without a lockfile only the package folders are planned, and package.json still round-trips', async () => {
    const dir = fx.copy();
    rmSync(join(dir, LOCK));
    const before = readText(dir, PJ);
    const plan = planNpmRemoval(dir, ['dep-b']);
    expect(plan.paths).toEqual(['node_modules/dep-b']);
    expect(plan.lockfileEntries).toEqual([]);
    expect(plan.sources.lockfile).toBeNull();
    const record = await applyNpmRemoval(dir, plan);
    expect(record.files.map((f) => f.file)).toEqual([PJ]);
    expect(parse(dir, PJ).dependencies).toEqual({ 'dep-a': 'file:../pkgs/dep-a-1.0.0.tgz' });
    await revertNpmRemoval(dir, record);
    expect(readText(dir, PJ)).toBe(before);
  });
});
