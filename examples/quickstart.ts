/**
 * tabstore quick start: open an LMDB engine, write in one atomic transaction, read it back with a range scan.
 *
 *   npm run example:quickstart                # uses a fresh temporary directory
 *   npm run example:quickstart -- ./my-data   # or a directory of your choice (kept afterwards)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LmdbEngine } from '@tabstore/node-backend';

const text = new TextEncoder();
const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

const chosen = process.argv[2];
const path = chosen ?? (await mkdtemp(join(tmpdir(), 'tabstore-quickstart-')));

// 1. Open an engine with the stores you need. Keys and values are bytes; keys sort bytewise.
const engine = await LmdbEngine.open({ path, stores: ['messages', 'chats'] });

// 2. Write in one atomic transaction across two stores: all of it lands, or none of it does.
await engine.write(['messages', 'chats'], async (tx) => {
  await tx.put('chats', text.encode('chat_1'), text.encode('{"title":"Trip planning"}'));
  for (let i = 1; i <= 5; i++) {
    await tx.put('messages', text.encode(`chat_1/msg_${i}`), text.encode(`message number ${i}`));
  }
  await tx.put('messages', text.encode('chat_2/msg_1'), text.encode('another chat'));
});

// 3. Read back: a prefix scan returns the entries of one chat in key order; reverse + limit gives the newest.
const chat1 = await engine.scan('messages', { prefix: text.encode('chat_1/') });
console.log(`chat_1 has ${chat1.length} messages:`);
for (const { key, value } of chat1) console.log(`  ${decode(key)} -> ${decode(value)}`);

const [newest] = await engine.scan('messages', { prefix: text.encode('chat_1/'), reverse: true, limit: 1 });
console.log(`newest: ${decode(newest!.key)}`);

// 4. Reads inside a transaction see one snapshot, even while other writes commit.
const counts = await engine.read(['messages', 'chats'], async (tx) => ({
  chats: await tx.count('chats'),
  messages: await tx.count('messages'),
}));
console.log(`stores: ${JSON.stringify(counts)}`);
console.log(`stats: ${JSON.stringify(await engine.stats())}`);

await engine.close();
if (chosen === undefined) await rm(path, { recursive: true, force: true });
else console.log(`data kept in ${path}`);
