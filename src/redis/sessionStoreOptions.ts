/** The Redis session store's own limits, beside the connection options they extend. */
import {
  checkIntegerRanges,
  type RedisConnectionOptions,
  type ResolvedRedisConnection,
  resolveRedisConnection,
} from "./options.ts";

export interface RedisSessionStoreOptions extends RedisConnectionOptions {
  /** Sessions cached locally at most; past it the least recently used is dropped. */
  cacheEntriesMax?: number;
  /**
   * How long a cached session is served without asking Redis. Revocations reach every node's
   * cache through pub/sub at once; this bound holds even if such a message is lost.
   */
  cacheTtlMs?: number;
  /**
   * While Redis is unreachable, a cached session keeps working for at most this long after
   * Redis last confirmed it. A node cut off from Redis cannot hear revocations made by the
   * others, so this bounds how long it may honour one of them.
   */
  cacheStaleMsMax?: number;
}

export interface SessionCacheLimits {
  cacheEntriesMax: number;
  cacheTtlMs: number;
  cacheStaleMsMax: number;
}

export const redisSessionStoreDefaults: SessionCacheLimits = {
  cacheEntriesMax: 100_000, // sessions
  cacheTtlMs: 1_000, // milliseconds
  cacheStaleMsMax: 5 * 60_000, // 5 minutes
};

/**
 * `cacheTtlMs` is capped at 1 s: PROTOCOL.md promises that a revoked token stops working on
 * every node within 1 s, and a lost pub/sub message must not break that promise.
 */
export const cacheTtlMsMax = 1_000;

const ranges: Record<keyof SessionCacheLimits, { min: number; max: number }> = {
  cacheEntriesMax: { min: 1, max: 10_000_000 },
  cacheTtlMs: { min: 1, max: cacheTtlMsMax },
  cacheStaleMsMax: { min: cacheTtlMsMax, max: 24 * 3_600_000 },
};

export interface ResolvedSessionStoreOptions {
  connection: ResolvedRedisConnection;
  cache: SessionCacheLimits;
}

/** Fills defaults and validates; throws a RangeError naming the key and the reason. */
export function resolveSessionStoreOptions(
  options: RedisSessionStoreOptions,
): ResolvedSessionStoreOptions {
  const cache: SessionCacheLimits = {
    cacheEntriesMax: options.cacheEntriesMax ?? redisSessionStoreDefaults.cacheEntriesMax,
    cacheTtlMs: options.cacheTtlMs ?? redisSessionStoreDefaults.cacheTtlMs,
    cacheStaleMsMax: options.cacheStaleMsMax ?? redisSessionStoreDefaults.cacheStaleMsMax,
  };
  checkIntegerRanges("redis session store", cache, ranges);
  return { connection: resolveRedisConnection(options), cache };
}
