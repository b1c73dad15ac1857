import { expect } from 'vitest';
import { CodecError } from '../src/codec/errors.js';

/**
 * The CodecError `fn` throws: fails the test when it returns, or throws anything else. Checks of the code, message
 * and path are the caller's (each suite has its own conventions for them).
 */
export function codecErrorOf(fn: () => unknown): CodecError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) throw new Error('expected a CodecError, nothing was thrown');
  expect(thrown).toBeInstanceOf(CodecError);
  return thrown as CodecError;
}
