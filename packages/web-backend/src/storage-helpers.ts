/** What {@link estimateStorage} reports, in bytes; `undefined` where the browser does not say. */
export interface StorageEstimateResult {
  usage: number | undefined;
  quota: number | undefined;
}

function storageManager(): StorageManager | undefined {
  return typeof navigator !== 'undefined' && 'storage' in navigator ? navigator.storage : undefined;
}

/**
 * Asks the browser to keep this origin's storage under pressure (`navigator.storage.persist()`). Resolves to
 * whether storage is persistent; `false` where the API does not exist (some workers, old browsers).
 */
export async function requestPersistentStorage(): Promise<boolean> {
  const storage = storageManager();
  if (storage?.persist === undefined) return false;
  return (await storage.persisted?.()) === true || storage.persist();
}

/** Usage and quota of this origin (`navigator.storage.estimate()`), or undefined figures where unavailable. */
export async function estimateStorage(): Promise<StorageEstimateResult> {
  const storage = storageManager();
  if (storage?.estimate === undefined) return { usage: undefined, quota: undefined };
  const { usage, quota } = await storage.estimate();
  return { usage, quota };
}
