import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext } from 'playwright';
import { buildExtension } from '../extension/build.js';
import { checksum, recordKey, recordValue } from '../extension/src/records.js';
import type { FixtureApi } from '../extension/src/sw.js';
import { launchWithExtension, serviceWorker } from './chromium.js';

const COUNT = 1000;
let root: string;
let extensionDir: string;
let profileDir: string;
let context: BrowserContext | undefined;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tabstore-ext-'));
  extensionDir = await buildExtension(join(root, 'extension'));
  profileDir = join(root, 'profile');
}, 120_000);

afterAll(async () => {
  await context?.close();
  await rm(root, { recursive: true, force: true });
});

type Fixture = { tabstoreFixture: FixtureApi };

describe('@tabstore/web-backend inside an MV3 extension service worker', () => {
  it('writes 1000 records in one transaction, and they are intact after the browser restarts on the same profile', async () => {
    const expected = Array.from({ length: COUNT }, (_, i) => ({ key: recordKey(i), value: recordValue(i) }));

    context = await launchWithExtension(profileDir, extensionDir);
    let worker = await serviceWorker(context);
    expect(worker.url()).toMatch(/^chrome-extension:\/\/[a-p]{32}\/sw\.js$/);
    const written = await worker.evaluate((count) => (globalThis as unknown as Fixture).tabstoreFixture.writeRecords(count), COUNT);
    expect(written).toBe(COUNT);
    await context.close();

    // A new browser process on the same profile: the worker starts from scratch, with nothing in memory.
    context = await launchWithExtension(profileDir, extensionDir);
    worker = await serviceWorker(context);
    const read = await worker.evaluate(() => (globalThis as unknown as Fixture).tabstoreFixture.readRecords());
    expect(read.count).toBe(COUNT);
    expect(read.mismatches).toBe(0);
    expect(read.checksum).toBe(checksum(expected));
    expect(read.firstFloat).toBeCloseTo(Math.sin(1), 6);
  }, 120_000);
});
