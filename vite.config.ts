import { playwright } from '@vitest/browser-playwright';
import { configDefaults, defineConfig } from 'vitest/config';
import { CHROMIUM, CHROMIUM_ARGS } from './e2e/chromium-flags.js';

/**
 * One Vitest configuration for the workspace. Workspace packages resolve to their TypeScript sources through the
 * `@tabstore/source` export condition, so tests never need a build.
 *
 * Projects (`npm test` runs them all; `--project NAME` picks one):
 * - `node`: the SDK and the Node engines.
 * - `idb-fake`: the web backend's tests in Node against fake-indexeddb (`*.chromium.test.ts` excluded).
 * - `e2e`: Node tests that drive Chromium themselves through Playwright (the MV3 extension fixture).
 * - `chromium`: every web-backend test, in Debian's headless Chromium (`/usr/bin/chromium`, `apt-get install
 *   chromium`; `.ci/run` installs it) driven by Playwright. No browser is ever downloaded.
 */

/** The environment a project runs in, readable from a test with `inject('testEnvironment')`. */
export type TestEnvironment = 'node' | 'idb-fake' | 'chromium' | 'e2e';

declare module 'vitest' {
  interface ProvidedContext {
    testEnvironment: TestEnvironment;
  }
}

const WEB_TESTS = 'packages/web-backend/test/**/*.test.ts';

export default defineConfig({
  resolve: { conditions: ['@tabstore/source'] },
  ssr: { resolve: { conditions: ['@tabstore/source'] } },
  test: {
    // Under CI a JSON report is written too; .ci/run prints its closing line from it.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.tmp/vitest-report.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          environment: 'node',
          include: ['packages/sdk/test/**/*.test.ts', 'packages/node-backend/test/**/*.test.ts'],
          provide: { testEnvironment: 'node' },
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['e2e/test/**/*.test.ts'],
          provide: { testEnvironment: 'e2e' },
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'idb-fake',
          environment: 'node',
          include: [WEB_TESTS],
          exclude: [...configDefaults.exclude, '**/*.chromium.test.ts'],
          setupFiles: ['packages/web-backend/test/setup/fake-indexeddb.ts'],
          provide: { testEnvironment: 'idb-fake' },
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        // Merged after the root's `@tabstore/source`: the rest of Vite's default client conditions, so packages
        // resolve to their browser builds as a bundler would pick them.
        resolve: { conditions: ['module', 'browser', 'development|production'] },
        test: {
          // No `name` here: the project takes its single browser instance's name, `chromium` (a name here would
          // show as `NAME (chromium)`).
          include: [WEB_TESTS],
          provide: { testEnvironment: 'chromium' },
          // IndexedDB on this VM costs 50-250 µs per record.
          testTimeout: 60_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            // Storage tests have no DOM worth a picture; no __screenshots__ folders in the test directories.
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] },
            }),
            instances: [{ browser: 'chromium', name: 'chromium' }],
          },
        },
      },
    ],
  },
});
