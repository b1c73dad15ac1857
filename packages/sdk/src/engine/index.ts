export * from './types.js';
export * from './errors.js';
export {
  compareBytes,
  equalBytes,
  startsWith,
  prefixUpperBound,
  copyBytes,
  isDetached,
  bytesToMapKey,
  assertKey,
  assertKeys,
  assertValue,
} from './bytes.js';
export { normalizeRange, normalizeScan, inBounds, copyBounds, type Bounds, type NormalizedScan } from './range.js';
export { ChangeSet, StoreChanges, ByteArena, type Change, type ChangeSetOptions } from './change-set.js';
export {
  SnapshotEngine,
  defineSupports,
  LazySnapshot,
  validateStoreNames,
  validateSnapshotEngineOptions,
  RESERVED_STORE_PREFIX,
  type WriteSession,
  DEFAULT_MAX_KEY_SIZE,
  DEFAULT_MAX_VALUE_SIZE,
  type Snapshot,
  type SnapshotEngineOptions,
} from './snapshot-engine.js';
export { MemoryEngine, MemoryVolume, type MemoryEngineOptions } from './memory-engine.js';
export { WriteLock } from './write-lock.js';
export { retryOnConflict, MAX_CONFLICT_ATTEMPTS } from './retry.js';
