/**
 * The CLI's edges a new user meets first (#12 point 8): the version, --help, story lists with a typo, an unknown
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

  it('--help says what the exit codes mean, 130 included, and what Ctrl-C does; rollback and restore say their order and limits', async () => {
    const top = await cli(REPO, ['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Exit codes: 0 done[\s\S]*130 stopped by Ctrl-C or SIGTERM/);
    expect(top.stdout).toMatch(/Ctrl-C during a run stops after the current step[\s\S]*A second Ctrl-C stops at once/);
    const rollback = await cli(REPO, ['rollback', '--help']);
    expect(rollback.stdout).toMatch(/every flag of the run goes off first, in one write/);
    const restore = await cli(REPO, ['restore', '--help']);
    expect(restore.stdout).toMatch(/Restore starts no service/);
    expect(restore.stdout).toMatch(/pointing outside the project \(the plan lists it\)/);
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
