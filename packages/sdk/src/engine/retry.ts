import { isStorageError } from './errors.js';

/** How many times {@link retryOnConflict} runs a transaction before it gives up and reports the CONFLICT. */
export const MAX_CONFLICT_ATTEMPTS = 100;

/**
 * Runs `work` (a write transaction) again while it fails with CONFLICT (another process committed after it read), up
 * to {@link MAX_CONFLICT_ATTEMPTS} times in all, after a short pause that grows with each attempt; then rethrows the
 * CONFLICT. Only for callbacks that depend on nothing but what they read in the transaction and values taken before
 * it, so running them again changes nothing else.
 */
export async function retryOnConflict<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isStorageError(error, 'CONFLICT') || attempt >= MAX_CONFLICT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(attempt, 20)));
    }
  }
}
