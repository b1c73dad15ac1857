/**
 * The browser cutting an IndexedDB connection, provoked for real in Chromium through the DevTools protocol (site
 * data cleared). Chromium only: fake-indexeddb cannot do it. (A full quota is tested in e2e/: Vitest's browser
 * context is off the record, where Chromium ignores quota overrides.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { cdp } from 'vitest/browser';
import { StorageError } from '@tabstore/sdk';
import { k } from '@tabstore/sdk/testing';
import { IndexedDbEngine } from '@tabstore/web-backend';

const engines: IndexedDbEngine[] = [];
const names: string[] = [];
let counter = 0;

async function openEngine(): Promise<IndexedDbEngine> {
  const name = `tabstore-failures-${Date.now()}-${counter++}`;
  names.push(name);
  let engine: IndexedDbEngine;
  try {
    engine = await IndexedDbEngine.open({ name, stores: ['a'] });
  } catch (error) {
    // About one run in eight of this file (also before this file's tests changed), the very first open in a fresh
    // browser fails with IO "AbortError: The connection was closed", before any site data is cleared: the engine
    // reports it correctly, and the cause is not found yet. Setting up the fixture retries once so the tests below
    // (which are about cutting a connection later) do not flake on it.
    if (!(error instanceof StorageError && error.message.includes('The connection was closed'))) throw error;
    engine = await IndexedDbEngine.open({ name, stores: ['a'] });
  }
  engines.push(engine);
  return engine;
}

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close();
  for (const name of names.splice(0)) await IndexedDbEngine.deleteDatabase(name);
});

describe('IndexedDbEngine under real browser failures', () => {
  it('when the browser cuts the connection (site data cleared) the engine reports it and reopens on next use', async () => {
    const engine = await openEngine();
    await engine.put('a', k(1), k(1));
    const seen: string[] = [];
    engine.on('terminated', () => seen.push('terminated'));
    engine.on('versionchange', () => seen.push('versionchange'));
    engine.on('reopen', () => seen.push('reopen'));
    await cdp().send('Storage.clearDataForOrigin', { origin: location.origin, storageTypes: 'indexeddb' });
    // The data is gone with the site data; the engine works again on a fresh connection instead of a dead handle.
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.length).toBeGreaterThan(0);
    expect(await engine.get('a', k(1))).toBeUndefined();
    await engine.put('a', k(2), k(2));
    expect(await engine.get('a', k(2))).toEqual(k(2));
    expect(seen).toContain('reopen');
  });

  it('a write committing when the browser cuts the connection settles (typed error or success), and close() too', async () => {
    const engine = await openEngine();
    await engine.write(['a'], async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.put('a', k(i >> 8, i & 0xff), new Uint8Array(500));
    });
    // Readers ahead of it keep the write's transaction queued while the connection goes away; Chromium then never
    // settles the write's requests (and may never fire the transaction's abort).
    const reads = [engine.scan('a'), engine.read(['a'], (tx) => tx.scanKeys('a'))].map((read) => read.catch(() => 'failed'));
    const writing = engine.write(['a'], async (tx) => {
      for (let i = 0; i < 2000; i++) await tx.put('a', k(9, i >> 8, i & 0xff), new Uint8Array(500));
    });
    const outcome = writing.then(
      () => 'written',
      (error: unknown) => (error instanceof StorageError ? 'typed error' : error),
    );
    await cdp().send('Storage.clearDataForOrigin', { origin: location.origin, storageTypes: 'indexeddb' });
    const within = <T,>(promise: Promise<T>): Promise<T | 'pending'> =>
      Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 5000))]);
    expect(['written', 'typed error']).toContain(await within(outcome));
    await Promise.all(reads);
    expect(await within(engine.close())).toBeUndefined();
    names.splice(0); // cleared with the site data (a delete right after the clear can fail with AbortError)
  });
});
