import { MemoryEngine, MemoryVolume } from '@tabstore/sdk';
import { testEngineConformance } from '@tabstore/sdk/testing';

testEngineConformance('MemoryEngine', () => {
  const volume = new MemoryVolume();
  return { open: (stores) => MemoryEngine.open({ stores, volume }) };
});
