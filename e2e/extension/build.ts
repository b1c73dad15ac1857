import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, defaultClientConditions } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Bundles the fixture extension (the service worker with @tabstore/web-backend inside) into `outDir`, as an
 * extension author would with Vite. Returns `outDir`, ready for `--load-extension`.
 */
export async function buildExtension(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  await build({
    configFile: false,
    root: here,
    logLevel: 'warn',
    resolve: { conditions: ['@tabstore/source', ...defaultClientConditions] },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'chrome120',
      minify: false,
      lib: { entry: join(here, 'src/sw.ts'), formats: ['es'], fileName: () => 'sw.js' },
    },
  });
  await copyFile(join(here, 'manifest.json'), join(outDir, 'manifest.json'));
  return outDir;
}
