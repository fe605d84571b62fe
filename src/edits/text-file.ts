/**
 * Reading a file another part of the project owns, for a minimal edit. The bytes must survive the edit, so
 * the file is decoded strictly: a file that is not valid UTF-8 would come back with replacement characters
 * after a decode/encode round trip, and is refused instead of silently damaged.
 */
import { readFile } from 'node:fs/promises';
import { InvalidInputError, messageOf } from '../model/errors.js';

/** The text of `absPath`, or `undefined` when there is no such file. `displayPath` is how messages name it. */
export async function readTextIfExists(absPath: string, displayPath: string): Promise<string | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(absPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InvalidInputError(`${displayPath}: cannot read it: ${messageOf(err)}`, {
      code: 'E_EDIT_UNREADABLE',
      file: displayPath,
      cause: err,
    });
  }
  try {
    // ignoreBOM keeps a byte-order mark in the string, so writing the text back keeps it in the file.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (err) {
    throw new InvalidInputError(`${displayPath}: is not valid UTF-8 text; it is left as it is`, {
      code: 'E_EDIT_NOT_UTF8',
      file: displayPath,
      cause: err,
    });
  }
}
