import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, defaultClientConditions } from 'vite';

/** A bundled page served on a loopback port. */
export interface ServedPage {
  url: string;
  close(): Promise<void>;
}

/**
 * Bundles `entry` (a module that puts what the test needs on `globalThis`) with Vite, as an app would be built, and
 * serves it with an empty HTML page on 127.0.0.1: IndexedDB needs a real origin.
 */
export async function servePage(entry: string): Promise<ServedPage> {
  const dir = await mkdtemp(join(tmpdir(), 'tabstore-page-'));
  await build({
    configFile: false,
    logLevel: 'warn',
    resolve: { conditions: ['@tabstore/source', ...defaultClientConditions] },
    build: {
      outDir: dir,
      emptyOutDir: true,
      target: 'chrome120',
      minify: false,
      lib: { entry, formats: ['es'], fileName: () => 'page.js' },
    },
  });
  const script = await readFile(join(dir, 'page.js'));
  const html = '<!doctype html><meta charset="utf-8"><title>tabstore</title><script type="module" src="/page.js"></script>';
  const server = createServer((request, response) => {
    if (request.url === '/page.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else response.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the page server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
