/** @tabstore/sdk/testing: the suites every engine runs, and helpers for engine and storage tests. */
export { testEngineConformance, expectStorageError, unhandledDuring, k, utf8, SUITE_STORES, type EngineFixture } from './engine-suite.js';
export { testStorageManager, withReadLog } from './storage-suite.js';
export { testDatabaseCoordinator } from './coordinator-suite.js';
export { withFailingWrites, type WriteFault } from './faulty-engine.js';
export { checkAgainstModel, type ModelCheckOptions } from './model-check.js';
export { sampleNodes, allSampleNodes, message, logEntry, edge, embedding, randomVectors } from './samples.js';
