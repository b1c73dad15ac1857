/**
 * @tabstore/sdk: the engine contract every tabstore backend implements, the reference MemoryEngine, the binary record
 * and key codecs, and the agent's data model.
 */
export * from './engine/index.js';
export * from './codec/index.js';
export * from './model/index.js';
export * from './storage/index.js';
