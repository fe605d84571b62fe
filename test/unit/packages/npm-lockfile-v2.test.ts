/**
 * The same removals with a lockfile v2, whose legacy `dependencies` tree (npm 6's format, kept beside
 * `packages`) must lose and regain the same entries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyNpmRemoval, planNpmRemoval } from '../../../src/packages/npm-index.js';
import { type NpmFixture, buildNpmFixture, npmRoundTrip, readText } from './npm-fixture.js';

let fx: NpmFixture;
beforeAll(async () => {
  fx = await buildNpmFixture(2);
});
afterAll(() => fx?.cleanup());

type Json = Record<string, any>;

describe('npm removal, lockfile v2', () => {
  it('dep-b leaves both the packages map and the legacy tree', async () => {
    const dir = fx.copy();
    const before = JSON.parse(readText(dir, 'package-lock.json')) as Json;
    const plan = planNpmRemoval(dir, ['dep-b']);
    expect(plan.sources.lockfileVersion).toBe(2);
    expect(plan.paths).toEqual(['node_modules/.bin/only-b-d', 'node_modules/dep-b', 'node_modules/only-b-d']);
    await applyNpmRemoval(dir, plan);
    const after = JSON.parse(readText(dir, 'package-lock.json')) as Json;
    expect(Object.keys(after.dependencies)).toEqual(['dep-a', 'dev-e', 'shared-c']);
    delete before.dependencies['dep-b'];
    delete before.dependencies['only-b-d'];
    expect(after.dependencies).toEqual(before.dependencies);
  });

  it('dep-b round trip matches npm uninstall and reverts byte-identical', async () => {
    await npmRoundTrip(fx, ['dep-b']);
  });

  it('dev-e round trip: its nested legacy entry goes with it', async () => {
    const { record } = await npmRoundTrip(fx, ['dev-e']);
    const legacy = record.files[0]?.changes.find((c) => c.in.length === 1 && c.in[0] === 'dependencies');
    expect(legacy).toMatchObject({ op: 'removed', key: 'dev-e', value: { dependencies: { 'shared-c': { dev: true } } } });
  });

  it('dep-a and dep-b: the legacy entries get the dev flag too', async () => {
    await npmRoundTrip(fx, ['dep-a', 'dep-b'], (ours, npms) => {
      // npm 7+ also rewrites a legacy entry's `version` from whichever dependant it now picks; that field is
      // legacy-only (npm reads `packages`), so everything but it must match.
      const strip = (t: string): Json => {
        const j = JSON.parse(t) as Json;
        for (const e of Object.values(j.dependencies as Record<string, Json>)) delete e.version;
        return j;
      };
      expect(strip(ours)).toEqual(strip(npms));
      expect(JSON.parse(ours).dependencies['dep-a'].dev).toBe(true);
    });
  });
});
