/** How long the property tests run: `npm run fuzz` sets FUZZ_RUNS (30000); the test run uses 300. */
export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** Under `npm run fuzz` a property test needs minutes, not Vitest's 30 s. */
export const FUZZ_TIMEOUT = RUNS > 300 ? 15 * 60_000 : undefined;

/** `n` runs in the test run, scaled up as FUZZ_RUNS is, by at most `maxScale` (for properties over large values). */
export function scaledRuns(n: number, maxScale: number): number {
  return Math.max(n, Math.round(n * Math.min(RUNS / 300, maxScale)));
}
