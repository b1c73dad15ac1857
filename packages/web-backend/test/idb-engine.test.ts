import { IndexedDbEngine } from '@tabstore/web-backend';
import { testEngineConformance } from '@tabstore/sdk/testing';

let counter = 0;

testEngineConformance('IndexedDbEngine', () => {
  const name = `tabstore-conformance-${Date.now()}-${counter++}`;
  return {
    open: (stores) => IndexedDbEngine.open({ name, stores }),
    destroy: () => IndexedDbEngine.deleteDatabase(name),
  };
});
