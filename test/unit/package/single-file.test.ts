/**
 * The single-file CommonJS build `init` vendors (tools/rollback/rollback-manager.js, made by npm run build):
 * sealed, self-contained (nothing beside it but its folder's package.json), and hashing in its worker thread
 * like the other builds, though it has no worker file beside it.
 */
import { copyFileSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup } from '../../../src/backup/index.js';
import { sealOf, wrapperFiles } from '../../../src/app/init-files.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';
import { cleanup, tempDir, write } from '../backup/helpers.js';

const TOOLS = resolve('tools/rollback');
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

let base: string;
let alone: string;
beforeEach(() => {
  base = tempDir('rbm-single-');
  // The file alone, as init vendors it: no package.json of ours, no node_modules, no worker file.
  alone = join(base, 'vendored/tools/rollback');
  mkdirSync(alone, { recursive: true });
  for (const f of ['rollback-manager.js', 'package.json']) copyFileSync(join(TOOLS, f), join(alone, f));
});
afterEach(() => cleanup(base));

describe('the single-file build', () => {
  it('carries its version and a seal of its code; the wrappers beside it are those init writes', () => {
    const text = readFileSync(join(TOOLS, 'rollback-manager.js'), 'utf8');
    expect(text.startsWith(`#!/usr/bin/env node\n// rollback-manager ${VERSION}: the whole tool in one CommonJS file`)).toBe(true);
    expect(text).toMatch(/^\/\/ Bundled packages: .*commander \S+ \(MIT\).*yaml \S+ \(ISC\)/m);
    expect(sealOf(text)).toEqual({ intact: true, version: VERSION });
    expect(sealOf(text.replace('rollbackMultipleStories', 'rollbackMultipleStorieZ'))).toEqual({ intact: false, version: VERSION });
    for (const f of wrapperFiles(BUILTIN_STORIES)) {
      const file = join(TOOLS, f.path.replace('tools/rollback/', ''));
      expect(readFileSync(file, 'utf8'), f.path).toBe(f.text);
      expect(lstatSync(file).mode & 0o777, f.path).toBe(f.mode);
    }
  });

  it('runs alone, as the CLI and as a CommonJS module', async () => {
    const v = await execa(process.execPath, [join(alone, 'rollback-manager.js'), '--version'], { cwd: base });
    expect(String(v.stdout)).toBe(VERSION);
    const api = await execa(process.execPath, ['-e', "const a = require('./vendored/tools/rollback/rollback-manager'); console.log(Object.entries(a).map(([k, f]) => k + ':' + typeof f).sort().join(' '))"], { cwd: base });
    expect(String(api.stdout)).toBe('generateRollbackDocs:function getRollbackStatus:function rollbackMultipleStories:function rollbackStory:function');
  });

  it('hashes in its worker thread, from the code it carries', async () => {
    const root = join(base, 'project');
    write(root, 'story/a.txt', 'a\n');
    write(root, 'story/b.bin', Buffer.alloc(300_000, 7));
    expect((await createBackup({ root, paths: ['story'], destDir: join(root, 'rollback_backups', 'b1'), backupId: 'b1' })).verify.ok).toBe(true);
    const r = await execa(process.execPath, [join(alone, 'rollback-manager.js'), '--root', root, 'verify', 'b1'], { env: { NODE_DEBUG: 'hash-pipeline' }, reject: false, stdin: 'ignore' });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/^ok\s+b1\s+2 files/);
    expect(String(r.stderr)).toContain('worker ready: inline (single-file build)');
    expect(String(r.stderr)).not.toContain('in-thread');
  });
});
