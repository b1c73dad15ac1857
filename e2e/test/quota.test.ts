import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import type { BrowserContext, Page } from 'playwright';
import { servePage, type ServedPage } from '../page-server.js';
import type * as WebBackend from '@tabstore/web-backend';
import { launchProfile } from './chromium.js';

/**
 * A real QuotaExceededError: the browser profile lives on a 32 MiB tmpfs, and a write needs more than that.
 * (Chromium 156 ignores DevTools quota overrides, and its smallest quota is 1 GiB, so a full disk is the honest way.)
 * Mounting needs root, as on the CI machine; elsewhere the test is skipped and says why.
 */
let mountPoint: string | undefined;
let skipReason: string | undefined;
let served: ServedPage | undefined;
let context: BrowserContext | undefined;
let page: Page;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tabstore-fullfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', dir], { stdio: 'pipe' });
    mountPoint = dir;
  } catch (error) {
    skipReason = `cannot mount a small tmpfs here (${String(error).split('\n')[0]}): needs root`;
    await rm(dir, { recursive: true, force: true });
    return;
  }
  served = await servePage(fileURLToPath(new URL('../pages/engine-page.ts', import.meta.url)));
  context = await launchProfile(join(mountPoint, 'profile'));
  page = await context.newPage();
  await page.goto(served.url);
  await page.waitForFunction(() => 'tabstore' in globalThis);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await served?.close();
  if (mountPoint !== undefined) {
    execFileSync('umount', [mountPoint]);
    await rm(mountPoint, { recursive: true, force: true });
  }
});

type PageGlobals = { tabstore: typeof WebBackend };

describe('IndexedDbEngine when the disk under the browser profile is full', () => {
  it('a write that does not fit fails with STORAGE_FULL and the stored data stays intact', async (ctx: TestContext) => {
    if (skipReason !== undefined) return ctx.skip(skipReason);
    const outcome = await page.evaluate(async () => {
      const { IndexedDbEngine } = (globalThis as unknown as PageGlobals).tabstore;
      const engine = await IndexedDbEngine.open({ name: 'full', stores: ['a'] });
      await engine.put('a', Uint8Array.of(1), Uint8Array.of(1, 2, 3), { durability: 'strict' });
      // 40 MiB of random bytes (compression cannot shrink them) on a 32 MiB file system.
      const big = new Uint8Array(40 * 1024 * 1024);
      for (let offset = 0; offset < big.length; offset += 65536) crypto.getRandomValues(big.subarray(offset, offset + 65536));
      let code: string | undefined;
      let message = '';
      try {
        await engine.write(['a'], async (tx) => {
          await tx.delete('a', Uint8Array.of(1));
          await tx.put('a', Uint8Array.of(2), big);
        });
      } catch (error) {
        code = (error as { code?: string }).code;
        message = (error as Error).message;
      }
      const kept = Array.from((await engine.get('a', Uint8Array.of(1))) ?? []);
      const added = await engine.get('a', Uint8Array.of(2));
      // The engine keeps working once space is available again.
      await engine.put('a', Uint8Array.of(3), Uint8Array.of(3));
      const after = Array.from((await engine.get('a', Uint8Array.of(3))) ?? []);
      await engine.close();
      return { code, message, kept, added: added === undefined ? null : added.length, after };
    });
    expect(outcome.code).toBe('STORAGE_FULL');
    expect(outcome.message).toContain('quota');
    expect(outcome.kept).toEqual([1, 2, 3]);
    expect(outcome.added).toBeNull();
    expect(outcome.after).toEqual([3]);
  }, 60_000);
});
