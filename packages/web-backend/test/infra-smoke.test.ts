// Proves the test wiring of the web backend: this file runs in the `idb-fake` project (Node + fake-indexeddb) and in
// the `chromium` project (real headless Chromium), and in each one checks that it really is where the configuration
// says it is (`inject('testEnvironment')`, set per project in vite.config.ts), so a wrong wiring fails here instead of
// quietly running the engine's tests against the wrong IndexedDB.
import { describe, expect, inject, it } from 'vitest';

const environment = inject('testEnvironment');

/** True for a function implemented by the host (the browser), not in JavaScript. */
function isNative(fn: unknown): boolean {
  return typeof fn === 'function' && /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(fn));
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IDBRequest failed'));
  });
}

function openDb(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('s');
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('open failed'));
    req.onblocked = () => reject(new Error('open blocked'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

describe('web-backend test infrastructure', () => {
  it(`runs where its project says: ${environment}`, () => {
    if (environment === 'chromium') {
      expect(typeof window).toBe('object');
      expect(typeof document).toBe('object');
      expect(navigator.userAgent).toContain('Chrome');
      expect(navigator.userAgent).toContain('HeadlessChrome');
      // The browser's own IndexedDB, not fake-indexeddb's FDBFactory.
      expect(indexedDB.constructor.name).toBe('IDBFactory');
      expect(IDBFactory.name).toBe('IDBFactory');
      expect(isNative(IDBFactory)).toBe(true);
      expect(isNative(indexedDB.open)).toBe(true);
      expect(isNative(IDBKeyRange.bound)).toBe(true);
    } else if (environment === 'idb-fake') {
      expect(typeof window).toBe('undefined');
      expect(typeof document).toBe('undefined');
      expect(process.versions.node).toMatch(/^\d+\./);
      // The globals are fake-indexeddb's classes, installed by the project's setup file.
      expect(indexedDB.constructor.name).toBe('FDBFactory');
      expect(IDBFactory.name).toBe('FDBFactory');
      expect(IDBKeyRange.name).toBe('FDBKeyRange');
      expect(isNative(indexedDB.open)).toBe(false);
    } else {
      expect.unreachable(`web-backend tests must run in the idb-fake or chromium project, not in ${String(environment)}`);
    }
  });

  it('opens a database, puts and gets an ArrayBuffer value under a Uint8Array key', async () => {
    const name = `tabstore-infra-smoke-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const db = await openDb(name);
    try {
      const value = new Uint8Array([0, 1, 2, 250, 255]).buffer;
      const write = db.transaction('s', 'readwrite');
      write.objectStore('s').put(value, new Uint8Array([1, 2, 3]));
      write.objectStore('s').put(new ArrayBuffer(0), new Uint8Array([1, 2, 3, 0]));
      await done(write);

      const read = db.transaction('s', 'readonly');
      // A different Uint8Array with the same bytes finds the record: binary keys compare by content.
      const got = await request(read.objectStore('s').get(new Uint8Array([1, 2, 3])));
      const keys = await request(read.objectStore('s').getAllKeys());
      await done(read);

      expect(Object.prototype.toString.call(got)).toBe('[object ArrayBuffer]');
      expect([...new Uint8Array(got as ArrayBuffer)]).toEqual([0, 1, 2, 250, 255]);
      // Binary keys come back as ArrayBuffers, ordered bytewise (a prefix sorts first).
      expect(keys.map((key) => [...new Uint8Array(key as ArrayBuffer)])).toEqual([
        [1, 2, 3],
        [1, 2, 3, 0],
      ]);
      expect(indexedDB.cmp(new Uint8Array([1, 255]), new Uint8Array([2]))).toBe(-1);
    } finally {
      db.close();
      await request(indexedDB.deleteDatabase(name));
    }
  });
});
