/**
 * The CLI's edges a new user meets first (#12 point 8): the version, story lists with a typo, an unknown
 * story in history, and usage errors under --json. Run on this repository, which is laid out as a project
 * (the pack's flags file at config/feature-flags.yaml, no story installed): nothing here writes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, REPO } from './cli-helpers.js';

const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('the command line', () => {
  it('prints its version with --version and -V, exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli(REPO, [flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
  });

  it('refuses a story list with an empty entry or spaces (exit 2), naming what is wrong', async () => {
    const empty = await cli(REPO, ['rollback', '1.8,,1.7', '--dry-run']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/"1\.8,,1\.7" is not a story list: it has an empty entry/);
    const spaced = await cli(REPO, ['rollback', ' 1.8', '--dry-run']);
    expect(spaced.code).toBe(2);
    expect(spaced.stderr).toMatch(/" 1\.8" has spaces/);
    expect(spaced.stdout).not.toMatch(/Plan /);
  });

  it('history of an unknown story is exit 2 naming the known ones; of a known one, exit 0', async () => {
    const unknown = await cli(REPO, ['history', '9.9']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown story 9\.9; known: 1\.2, 1\.3/);
    const known = await cli(REPO, ['history', '1.3']);
    expect(known.code).toBe(0);
  });

  it('with --json, a usage error is still one JSON document on stdout', async () => {
    const r = await cli(REPO, ['--json', 'rollback']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string; exitCode: number } };
    expect(doc.error).toMatchObject({ code: 'E_USAGE', exitCode: 2 });
    expect(doc.error.message).toMatch(/missing required argument 'ids'/);
    const unknownOption = await cli(REPO, ['--json', 'status', '--bogus']);
    expect(unknownOption.code).toBe(2);
    expect((JSON.parse(unknownOption.stdout) as { error: { code: string } }).error.code).toBe('E_USAGE');
  });
});
