/**
 * The bundled CLI (dist/bundle, made by build-cli.mjs) must hash in its worker thread: a worker that
 * fails to start is not an error (the pipeline falls back to hashing in-thread), so a bundle without the
 * worker file beside its chunks would pass every other test, only slower. `NODE_DEBUG=hash-pipeline`
 * makes the pipeline say which it got.
 */
import { cpSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup } from '../../../src/backup/index.js';
import { cleanup, tempDir, write } from './helpers.js';

const BUNDLE = resolve('dist/bundle');

let base: string;
let root: string;

beforeEach(async () => {
  base = tempDir();
  root = join(base, 'project');
  write(root, 'story/a.txt', 'a\n');
  write(root, 'story/deep/b.bin', Buffer.alloc(300_000, 7));
  const res = await createBackup({ root, paths: ['story'], destDir: join(root, 'rollback_backups', 'b1'), backupId: 'b1' });
  expect(res.verify.ok).toBe(true);
});
afterEach(() => cleanup(base));

/** `verify b1` with the CLI bundled in `bundle`, reporting the hash pipeline's choice on stderr. */
async function verifyWith(bundle: string): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
  const r = await execa(process.execPath, [join(bundle, 'main.mjs'), '--root', root, 'verify', 'b1'], {
    reject: false,
    stdin: 'ignore',
    env: { NODE_DEBUG: 'hash-pipeline' },
    timeout: 60_000,
  });
  return { code: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

describe('bundled CLI hash worker', () => {
  it('verify starts the worker emitted beside the bundle chunks', async () => {
    const r = await verifyWith(BUNDLE);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+b1\s+2 files/);
    expect(r.stderr).toContain(`worker ready: ${pathToFileURL(join(BUNDLE, 'hash-worker.mjs')).href}`);
    expect(r.stderr).not.toContain('in-thread');
  });

  it('verify without the worker file falls back to hashing in-thread, and says so', async () => {
    const bundle = join(base, 'bundle');
    cpSync(BUNDLE, bundle, { recursive: true });
    rmSync(join(bundle, 'hash-worker.mjs'));
    const r = await verifyWith(bundle);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ok\s+b1\s+2 files/);
    expect(r.stderr).toMatch(/worker failed to start, hashing in-thread: .*hash-worker\.mjs/);
    expect(r.stderr).not.toContain('worker ready');
  });
});
