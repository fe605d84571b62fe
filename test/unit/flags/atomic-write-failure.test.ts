/**
 * A crash-like failure after the temp file is fully written (the rename fails with EIO): the original must
 * keep its bytes and the temp file must be gone. fs/promises is wrapped so one rename can be made to fail.
 */
import * as fsp from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../../../src/util/atomic-write.js';
import { leftoverTempFiles, makeTempDir } from './fixture.js';

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  return { ...actual, rename: vi.fn(actual.rename) };
});

let cleanup = (): void => undefined;
afterEach(() => cleanup());

it('an I/O error at rename leaves the original untouched and no temp file', async () => {
  const { dir, cleanup: c } = makeTempDir('atomic-');
  cleanup = c;
  const path = join(dir, 'feature-flags.yaml');
  writeFileSync(path, 'original\n');
  let tempSeen = '';
  vi.mocked(fsp.rename).mockImplementationOnce(async (from) => {
    // Prove the failure happens after the temp file holds the full new content.
    tempSeen = readFileSync(from, 'utf8');
    throw Object.assign(new Error('simulated EIO'), { code: 'EIO' });
  });

  await expect(writeFileAtomic(path, 'new content\n')).rejects.toThrow('simulated EIO');
  expect(tempSeen).toBe('new content\n');
  expect(readFileSync(path, 'utf8')).toBe('original\n');
  expect(leftoverTempFiles(dir)).toEqual([]);
});

it('the next write after a failure succeeds', async () => {
  const { dir, cleanup: c } = makeTempDir('atomic-');
  cleanup = c;
  const path = join(dir, 'feature-flags.yaml');
  writeFileSync(path, 'original\n');
  await writeFileAtomic(path, 'second\n');
  expect(readFileSync(path, 'utf8')).toBe('second\n');
  expect(vi.mocked(fsp.rename)).toHaveBeenCalled();
});
