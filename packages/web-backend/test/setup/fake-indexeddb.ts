// Setup file of the `idb-fake` Vitest project: installs fake-indexeddb's `indexedDB`, `IDBKeyRange` and the other
// IndexedDB globals in Node before each test file runs. Each test file gets its own fresh, empty fake.
import 'fake-indexeddb/auto';
