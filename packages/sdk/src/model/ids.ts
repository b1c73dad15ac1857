import { showArgument } from '../engine/errors.js';
import { CodecError } from '../codec/errors.js';

declare const brand: unique symbol;
type Branded<T, B extends string> = T & { readonly [brand]: B };

/** The id of a node. Free-form non-empty string (legacy ids look like `chat_123`); branded so ids cannot be mixed. */
export type NodeId = Branded<string, 'NodeId'>;
/** The id of an edge. */
export type EdgeId = Branded<string, 'EdgeId'>;
/** The id of an embedding. */
export type EmbeddingId = Branded<string, 'EmbeddingId'>;

/** Brands a string as a NodeId (checks it is non-empty: CodecError INVALID_INPUT otherwise). */
export const nodeId = (id: string): NodeId => checkId(id, 'NodeId') as NodeId;
/** Brands a string as an EdgeId (checks it is non-empty). */
export const edgeId = (id: string): EdgeId => checkId(id, 'EdgeId') as EdgeId;
/** Brands a string as an EmbeddingId (checks it is non-empty). */
export const embeddingId = (id: string): EmbeddingId => checkId(id, 'EmbeddingId') as EmbeddingId;

function checkId(id: string, what: string): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new CodecError('INVALID_INPUT', `A ${what} must be a non-empty string, got ${id === '' ? 'an empty string' : showArgument(id)}.`, { path: what });
  }
  return id;
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32: sorts the same as the numbers it encodes
let lastTime = -1;
const lastRandom = new Uint8Array(10);

function randomFill(bytes: Uint8Array): void {
  globalThis.crypto.getRandomValues(bytes);
}

/** Epoch milliseconds that 10 base32 characters hold (2^50, about the year 37000). */
const TIME_LIMIT = 32 ** 10;

/**
 * A new unique id that sorts by creation time: 10 base32 characters of epoch milliseconds, then 16 of randomness
 * (26 characters, like a ULID). Ids made in the same millisecond by this process still sort in creation order
 * (the random part is incremented), also when the clock moves back. An explicit `now` (back-filling ids from
 * records' own times) is the id's time whatever ids were made before, and does not move the clock's sequence; ids
 * of one explicit millisecond are unique but in random order. A fractional `now` counts as its millisecond; one
 * outside 0..2^50 is a RangeError.
 */
export function newId<T extends string = NodeId>(now?: number): T {
  const explicit = now !== undefined;
  now = Math.floor(now ?? Date.now());
  if (!(now >= 0 && now < TIME_LIMIT)) throw new RangeError(`newId: the time must be epoch milliseconds in 0..2^50, got ${now}.`);
  let randomness = lastRandom;
  if (now === lastTime || (now < lastTime && !explicit)) {
    // The last id's millisecond (or the clock moved back): keep its time, increment the randomness.
    let carry = true;
    for (let i = lastRandom.length - 1; i >= 0 && carry; i--) {
      lastRandom[i] = (lastRandom[i]! + 1) & 0xff;
      carry = lastRandom[i] === 0;
    }
    if (carry && explicit) {
      // An explicit time keeps its millisecond: fresh randomness, and the clock's sequence stays where it was.
      lastRandom.fill(0xff);
      randomness = new Uint8Array(lastRandom.length);
      randomFill(randomness);
    } else if (carry) {
      // The 80 bits ran over (all ones before): the next millisecond, so ids still sort in creation order.
      if (lastTime + 1 >= TIME_LIMIT) throw new RangeError('newId: no ids are left before 2^50 ms.');
      lastTime += 1;
      randomFill(lastRandom);
    }
    if (!explicit) now = lastTime;
  } else if (!explicit) {
    lastTime = now;
    randomFill(lastRandom);
  } else {
    // Another explicit time: fresh randomness; the sequence of ids made with the clock goes on unchanged.
    randomness = new Uint8Array(lastRandom.length);
    randomFill(randomness);
  }
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let random = '';
  // 80 bits -> 16 characters of 5 bits.
  let acc = 0;
  let bits = 0;
  for (const byte of randomness) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      random += ALPHABET[(acc >> bits) & 31]!;
    }
    acc &= (1 << bits) - 1;
  }
  return (time + random) as T;
}
