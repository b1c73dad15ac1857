/**
 * The fixture extension's service worker: imports the web backend as an extension would and exposes a small test
 * API on the worker's global scope, which the e2e test calls through Playwright.
 */
import { equalBytes } from '@tabstore/sdk';
import { IndexedDbEngine } from '@tabstore/web-backend';
import { checksum, recordKey, recordValue } from './records.js';

const NAME = 'tabstore-extension-fixture';
const STORE = 'records';

/** What the test can call. */
export interface FixtureApi {
  writeRecords(count: number): Promise<number>;
  readRecords(): Promise<{ count: number; checksum: number; mismatches: number; firstFloat: number }>;
}

const api: FixtureApi = {
  async writeRecords(count) {
    const engine = await IndexedDbEngine.open({ name: NAME, stores: [STORE] });
    try {
      await engine.write(
        [STORE],
        async (tx) => {
          for (let i = 0; i < count; i++) await tx.put(STORE, recordKey(i), recordValue(i));
        },
        { durability: 'strict' },
      );
      return await engine.count(STORE);
    } finally {
      await engine.close();
    }
  },

  async readRecords() {
    const engine = await IndexedDbEngine.open({ name: NAME, stores: [STORE] });
    try {
      const entries = await engine.scan(STORE);
      let mismatches = 0;
      entries.forEach(({ key, value }, i) => {
        if (!equalBytes(key, recordKey(i)) || !equalBytes(value, recordValue(i))) mismatches++;
      });
      const first = entries[0];
      const firstFloat = first === undefined ? Number.NaN : new Float32Array(first.value.slice(0, 64).buffer)[1]!;
      return { count: entries.length, checksum: checksum(entries), mismatches, firstFloat };
    } finally {
      await engine.close();
    }
  },
};

(globalThis as unknown as { tabstoreFixture: FixtureApi }).tabstoreFixture = api;
