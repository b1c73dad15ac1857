/** @tabstore/node-backend: tabstore engines for Node and the Electron main process. */
export { LmdbEngine, type LmdbEngineOptions } from './lmdb-engine.js';
export { LevelEngine, type LevelEngineOptions } from './level-engine.js';
