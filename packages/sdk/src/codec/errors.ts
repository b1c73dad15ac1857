/** Stable codes of {@link CodecError}. */
export type CodecErrorCode =
  /** A value given to an encoder does not fit its schema (wrong type, out of range, missing field...). */
  | 'INVALID_INPUT'
  /** Bytes given to a decoder are not a well-formed encoding (truncated, offsets out of bounds, bad UTF-8...). */
  | 'MALFORMED'
  /** A record's checksum does not match its bytes. */
  | 'CHECKSUM_MISMATCH'
  /** The record type (or node type) is not known to this reader. */
  | 'UNKNOWN_TYPE'
  /** A legacy JSON record cannot be converted; the message names the record and the field. */
  | 'LEGACY_UNCONVERTIBLE';

/** The error every codec throws: encoding bad input, or decoding bytes that are not what they should be. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  /** What went wrong, stable across versions: switch on it. */
  readonly code: CodecErrorCode;
  /** Where in the value the problem is, e.g. `metadata.tags[2]` or `Message.chatId` (empty when not applicable). */
  readonly path: string;

  constructor(code: CodecErrorCode, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path ?? '';
  }
}

/** True when `error` is a {@link CodecError}, optionally with the given code. */
export function isCodecError(error: unknown, code?: CodecErrorCode): error is CodecError {
  return error instanceof CodecError && (code === undefined || error.code === code);
}
