/**
 * @tabstore/sdk: the engine contract every tabstore backend implements, the reference MemoryEngine, and the
 * building blocks engines share.
 */
export * from './engine/index.js';
