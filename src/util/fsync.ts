/**
 * fsync helpers. A file's data is only safe after fsync of the file, and its name only after fsync of
 * the directory holding it (atomic-write.ts does both for whole-file writes).
 */
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';

/** fsync a directory so the entries created, renamed or removed in it survive a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
