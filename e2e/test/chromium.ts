import { chromium, type BrowserContext, type Worker } from 'playwright';
import { CHROMIUM, CHROMIUM_ARGS } from '../chromium-flags.js';

/** Debian's Chromium, headless, on a persistent profile in `profileDir`, with tabstore's flags and `extraArgs`. */
export function launchProfile(profileDir: string, extraArgs: readonly string[] = []): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
  });
}

/** A persistent Chromium profile with an unpacked extension loaded (the only way MV3 workers start headless). */
export function launchWithExtension(profileDir: string, extensionDir: string): Promise<BrowserContext> {
  return launchProfile(profileDir, [`--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`]);
}

/** The extension's service worker, waiting for it to start if needed. */
export async function serviceWorker(context: BrowserContext): Promise<Worker> {
  return context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker', { timeout: 30_000 }));
}
