export { STORAGE_STORES, MAX_ID_LENGTH, type StorageStore } from './layout.js';
export {
  STRUCTURAL_PROPERTIES,
  TIME_FIELDS,
  MAX_INDEXED_VALUE,
  nodeIndexTuples,
  timeOf,
  ageOf,
  type StructuralProperty,
  type TimedNodeType,
} from './index-spec.js';
export {
  IndexManager,
  type TimeQuery,
  type EdgeQuery,
  type NearestOptions,
  type IndexDrift,
  type IndexReport,
  type RebuildReport,
} from './index-manager.js';
export { VectorIndex, type VectorMatch } from './vector-index.js';
export { BLOCK_BYTES, blockCapacity, type VectorIndexState } from './vector-block.js';
export {
  StorageManager,
  ManagerReader,
  ManagerWriter,
  writeTogether,
  type StorageManagerOptions,
  type DeleteNodeOptions,
  type Batch,
  type PageQuery,
} from './storage-manager.js';
export {
  DATABASE_TIERS,
  DATABASE_TYPES,
  NODE_DATABASE,
  ACTIVE_MAX_AGE,
  RECENT_MAX_AGE,
  quarterOf,
  namespaceOf,
  summaryTier,
  type DatabaseType,
  type TierOf,
  type TemperatureTier,
  type Location,
} from './tiers.js';
export {
  DatabaseCoordinator,
  type CoordinatorOptions,
  type LocateHint,
  type LifecycleOptions,
  type LifecycleReport,
} from './coordinator.js';
