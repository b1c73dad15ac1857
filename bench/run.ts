/**
 * Benchmarks: `npm run bench` runs every suite, `npm run bench -- engines` one of them. Each suite measures its
 * baselines in the same run and prints ratios; results go to bench/results/<suite>.json.
 */
const suites: Record<string, () => Promise<string[]>> = {
  engines: async () => (await import('./engines.js')).runEnginesBench(),
  browser: async () => (await import('./browser.js')).runBrowserBenchSuite(),
  codec: async () => (await import('./codec.js')).runCodecBench(),
  storage: async () => (await import('./storage.js')).runStorageBench(),
};

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = asked.filter((name) => !(name in suites));
if (unknown.length > 0) {
  process.stderr.write(`Unknown bench suite(s): ${unknown.join(', ')}. Available: ${Object.keys(suites).join(', ')}\n`);
  process.exit(2);
}
const started = Date.now();
const missed: string[] = [];
for (const name of asked.length > 0 ? asked : Object.keys(suites)) missed.push(...(await suites[name]!()));
process.stdout.write(`\nfinished in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
if (missed.length > 0) process.stdout.write(`targets missed:\n  ${missed.join('\n  ')}\n`);
