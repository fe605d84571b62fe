import { expect } from 'vitest';
import { InvalidInputError } from '../../src/model/errors.js';

/** Runs `fn`, which must throw an InvalidInputError, and returns it so a test can check file, line, key path. */
export function invalidInputErrorOf(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError, nothing was thrown');
}
