/**
 * DatabaseType x TemperatureTier, as DOMAIN.md lists them, the routing of node types to databases, and the
 * namespaces the DatabaseCoordinator gives each (database, tier, archive quarter).
 */
import { StorageError, showArgument } from '../engine/errors.js';
import type { NodeType } from '../model/schemas.js';

/** The tiers of each database type. `Single` is the one tier of an untiered database. */
export const DATABASE_TIERS = {
  Conversations: ['Active', 'Recent', 'Archive'],
  Knowledge: ['Active', 'Stable', 'Inferred'],
  Embeddings: ['Active', 'Recent', 'Archive'],
  ToolResults: ['Single'],
  Experience: ['Single'],
  Summaries: ['Session', 'Daily', 'Weekly', 'Monthly'],
  Meta: ['Single'],
  Logs: ['Single'],
} as const;

/** A database type of DOMAIN.md. */
export type DatabaseType = keyof typeof DATABASE_TIERS;
/** The database types. */
export const DATABASE_TYPES = Object.keys(DATABASE_TIERS) as DatabaseType[];
/** A tier of database `D`. */
export type TierOf<D extends DatabaseType> = (typeof DATABASE_TIERS)[D][number];
/** Any temperature tier. */
export type TemperatureTier = TierOf<DatabaseType>;

/**
 * Which database holds each node type. DOMAIN.md places nine types; the other four are placed here: Bookmark,
 * ImageMetadata and AudioTranscript are knowledge the agent derives or keeps (Knowledge), ModelInfo describes the
 * installation (Meta). Edges live in Knowledge/Active whatever tier their nodes are in.
 */
export const NODE_DATABASE = {
  Chat: 'Conversations',
  Message: 'Conversations',
  Attachment: 'Conversations',
  Summary: 'Summaries',
  Entity: 'Knowledge',
  Bookmark: 'Knowledge',
  ImageMetadata: 'Knowledge',
  AudioTranscript: 'Knowledge',
  WebSearch: 'ToolResults',
  ScrapedPage: 'ToolResults',
  ActionOutcome: 'Experience',
  ModelInfo: 'Meta',
  Log: 'Logs',
} as const satisfies { readonly [K in NodeType]: DatabaseType };

/** Where a record lives: database, tier and, for an Archive tier, the quarter (`2024-Q1`). */
export interface Location {
  readonly database: DatabaseType;
  readonly tier: TemperatureTier;
  readonly quarter?: string;
}

const DAY = 24 * 60 * 60 * 1000;
/** Conversation data this old (by its own time) leaves Active for Recent. */
export const ACTIVE_MAX_AGE = 30 * DAY;
/** ... and this old leaves Recent for its Archive quarter. */
export const RECENT_MAX_AGE = 90 * DAY;

/**
 * The tier of `database` a record of time `time` belongs in at `now` when that is warmer than `tier` (only
 * Conversations ages: Active, Recent, Archive); else `tier`. An update that makes a record young again brings it back.
 */
export function warmerByAge(database: DatabaseType, tier: TemperatureTier, time: number | undefined, now: number): TemperatureTier {
  if (database !== 'Conversations' || time === undefined) return tier;
  const byAge: TierOf<'Conversations'> = time > now - ACTIVE_MAX_AGE ? 'Active' : time > now - RECENT_MAX_AGE ? 'Recent' : 'Archive';
  const order: readonly TemperatureTier[] = DATABASE_TIERS.Conversations;
  return order.indexOf(byAge) < order.indexOf(tier) ? byAge : tier;
}

/** Epoch ms of 0000-01-01T00:00:00Z and of +010000-01-01T00:00:00Z. */
const YEAR_0 = -62_167_219_200_000;
const YEAR_10000 = 253_402_300_800_000;

/**
 * The UTC quarter of an epoch-ms time: `2024-Q1` for January to March 2024. Times before year 0 fall in `0000-Q1`
 * and times from year 10000 on in `9999-Q4` (a timestamp in the wrong unit, say), so every record has a quarter and
 * the lifecycle never stops at one. INVALID_ARGUMENT for a time that is not a finite number.
 */
export function quarterOf(time: number): string {
  if (typeof time !== 'number' || !Number.isFinite(time)) {
    throw new StorageError('INVALID_ARGUMENT', `A time must be a finite number of epoch milliseconds, got ${String(time)}.`);
  }
  if (time < YEAR_0) return '0000-Q1';
  if (time >= YEAR_10000) return '9999-Q4';
  const date = new Date(time);
  return `${String(date.getUTCFullYear()).padStart(4, '0')}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
}

const QUARTER = /^\d{4}-Q[1-4]$/;

/** The namespace of a location: `Conversations/Active`, `Conversations/Archive/2024-Q1`, `Logs/Single`. */
export function namespaceOf(location: Location): string {
  if (typeof location !== 'object' || location === null) {
    throw new StorageError('INVALID_ARGUMENT', `A location is an object like { database: 'Conversations', tier: 'Active' }, got ${String(location)}.`);
  }
  checkTier(location.database, location.tier);
  if (location.tier === 'Archive') {
    if (location.quarter === undefined || !QUARTER.test(location.quarter)) {
      throw new StorageError('INVALID_ARGUMENT', `An Archive location needs a quarter like "2024-Q1", got ${showArgument(location.quarter)}.`);
    }
    return `${location.database}/Archive/${location.quarter}`;
  }
  if (location.quarter !== undefined) {
    throw new StorageError('INVALID_ARGUMENT', `Only Archive locations have a quarter; ${location.database}/${location.tier} was given ${showArgument(location.quarter)}.`);
  }
  return `${location.database}/${location.tier}`;
}

/** INVALID_ARGUMENT unless `tier` is one of `database`'s tiers (and `database` a DatabaseType). */
export function checkTier(database: unknown, tier: unknown): void {
  const tiers = tiersOf(database);
  if (!tiers.includes(tier as TemperatureTier)) {
    throw new StorageError('INVALID_ARGUMENT', `${showArgument(database)} has no tier ${showArgument(tier)}; its tiers: ${tiers.join(', ')}.`);
  }
}

/** The tiers of `database`, cascade order; INVALID_ARGUMENT for what is not a DatabaseType. */
export function tiersOf(database: unknown): readonly TemperatureTier[] {
  if (typeof database !== 'string' || !Object.hasOwn(DATABASE_TIERS, database)) {
    throw new StorageError('INVALID_ARGUMENT', `Unknown database ${showArgument(database)}; expected one of ${DATABASE_TYPES.join(', ')}.`);
  }
  return DATABASE_TIERS[database as DatabaseType] as readonly TemperatureTier[];
}

/** The Summaries tier a summary's length calls for: < 1000 characters Daily, < 5000 Weekly, else Monthly. */
export function summaryTier(content: string): TierOf<'Summaries'> {
  if (content.length < 1000) return 'Daily';
  if (content.length < 5000) return 'Weekly';
  return 'Monthly';
}
