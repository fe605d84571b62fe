// Defined beside the hash worker, which reports its copies' failures by it and cannot import TypeScript.
import { E_FILE_CHANGED } from './hash-io.mjs';

export { E_FILE_CHANGED };

/** A file changed (grew, shrank, was replaced) while it was being read: the backup cannot be trusted. */
export class FileChangedError extends Error {
  readonly code = E_FILE_CHANGED;

  constructor(
    /** The file's path as stored in the archive. */
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileChangedError';
  }
}

/** A file whose size changed between its fstat and the end of its read (by the writer or a copier). */
export function sizeChanged(name: string, how: 'grew' | 'shrank'): FileChangedError {
  return new FileChangedError(name, `${name} ${how} while it was being backed up`);
}
