/** @tabstore/web-backend: the IndexedDB engine for pages, Electron renderers and MV3 extension service workers. */
export { IndexedDbEngine, type IndexedDbEngineOptions, type IndexedDbEngineEvents } from './indexeddb-engine.js';
export { requestPersistentStorage, estimateStorage, type StorageEstimateResult } from './storage-helpers.js';
export { idbError } from './idb-errors.js';
