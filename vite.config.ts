import { defineConfig } from 'vitest/config';

/**
 * One Vitest configuration for the workspace. Workspace packages resolve to their TypeScript sources through the
 * `@tabstore/source` export condition, so tests never need a build. Browser projects join `projects` later.
 */
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
          include: ['packages/*/test/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
