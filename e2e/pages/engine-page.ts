/** A page that exposes the web backend to Playwright tests, as `globalThis.tabstore`. */
import * as webBackend from '@tabstore/web-backend';

(globalThis as unknown as { tabstore: typeof webBackend }).tabstore = webBackend;
