/** @tabstore/sdk/testing: the conformance suite every engine runs, and helpers for engine tests. */
export { testEngineConformance, expectStorageError, k, utf8, SUITE_STORES, type EngineFixture } from './engine-suite.js';
