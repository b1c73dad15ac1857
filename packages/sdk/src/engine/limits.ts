/** The common size limits of tabstore engines: data that fits one engine fits every engine. No imports. */
export const DEFAULT_MAX_KEY_SIZE = 1978;
/** Largest value any engine accepts by default (64 MiB). */
export const DEFAULT_MAX_VALUE_SIZE = 64 * 1024 * 1024;
