/**
 * How Croupier talks to Redis: one table of defaults with units, merged once and validated at
 * construction, so a bad value fails at startup with the key and the reason.
 *
 * Every wait is bounded: a command that gets no answer fails after `commandTimeoutMs`, a
 * connection that hears nothing while a command is pending is dropped after `socketTimeoutMs`,
 * and commands are never queued while disconnected (they fail at once and the caller answers
 * 503). Reconnecting never gives up, but its delay is capped by `reconnectDelayMsMax`, so a
 * node finds Redis again within about that long after Redis is back.
 */

import { redactUrl } from "../redactUrl.ts";
import { errorLogIntervalMs, throttledLogger } from "./errorLog.ts";

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /**
   * Every key and channel starts with `<keyPrefix>:`, so several deployments (or test runs)
   * can share one Redis. 1-64 characters of `[A-Za-z0-9_.-]`: no glob characters, so the
   * prefix can be matched safely by SCAN.
   */
  keyPrefix: string;
  /** Time allowed to open a connection (TCP + handshake). */
  connectTimeoutMs?: number;
  /** A command without a reply within this long fails; its outcome is then unknown. */
  commandTimeoutMs?: number;
  /** A connection that receives nothing this long while a command is pending is dropped. */
  socketTimeoutMs?: number;
  /** First reconnection delay; it doubles per failed attempt up to `reconnectDelayMsMax`. */
  reconnectDelayMsMin?: number;
  reconnectDelayMsMax?: number;
  /**
   * Reconnections a command sent before a disconnect may wait through before it fails. 0: it
   * fails at the disconnect, so callers learn about an outage at once instead of waiting.
   */
  retriesPerRequestMax?: number;
  /** Receives connection errors (already throttled); the default logs them. Must not throw. */
  onError?: (role: string, error: Error) => void;
}

export type RedisConnectionLimits = Readonly<
  Required<Omit<RedisConnectionOptions, "url" | "keyPrefix" | "onError">>
>;

export const redisConnectionDefaults: RedisConnectionLimits = {
  connectTimeoutMs: 2_000, // milliseconds
  commandTimeoutMs: 1_000, // milliseconds
  socketTimeoutMs: 2_000, // milliseconds
  reconnectDelayMsMin: 50, // milliseconds
  reconnectDelayMsMax: 1_000, // milliseconds
  retriesPerRequestMax: 0, // reconnections
};

/** Integer range each numeric option must fall in. */
const ranges: Record<keyof RedisConnectionLimits, { min: number; max: number }> = {
  connectTimeoutMs: { min: 1, max: 60_000 },
  commandTimeoutMs: { min: 1, max: 60_000 },
  socketTimeoutMs: { min: 1, max: 60_000 },
  reconnectDelayMsMin: { min: 1, max: 60_000 },
  reconnectDelayMsMax: { min: 1, max: 60_000 },
  retriesPerRequestMax: { min: 0, max: 10 },
};

export const keyPrefixPattern = /^[A-Za-z0-9_.-]{1,64}$/;

export interface ResolvedRedisConnection extends RedisConnectionLimits {
  url: string;
  keyPrefix: string;
  onError: (role: string, error: Error) => void;
}

/** Fills defaults and validates; throws a RangeError naming the key and the reason. */
export function resolveRedisConnection(options: RedisConnectionOptions): ResolvedRedisConnection {
  if (!/^rediss?:\/\//.test(options.url)) {
    throw new RangeError(
      `redis option url: "${redactUrl(options.url)}" is not a redis:// or rediss:// URL`,
    );
  }
  if (!keyPrefixPattern.test(options.keyPrefix)) {
    throw new RangeError(
      `redis option keyPrefix: "${options.keyPrefix}" is not 1-64 characters of [A-Za-z0-9_.-]`,
    );
  }
  const limits: RedisConnectionLimits = {
    connectTimeoutMs: options.connectTimeoutMs ?? redisConnectionDefaults.connectTimeoutMs,
    commandTimeoutMs: options.commandTimeoutMs ?? redisConnectionDefaults.commandTimeoutMs,
    socketTimeoutMs: options.socketTimeoutMs ?? redisConnectionDefaults.socketTimeoutMs,
    reconnectDelayMsMin: options.reconnectDelayMsMin ?? redisConnectionDefaults.reconnectDelayMsMin,
    reconnectDelayMsMax: options.reconnectDelayMsMax ?? redisConnectionDefaults.reconnectDelayMsMax,
    retriesPerRequestMax:
      options.retriesPerRequestMax ?? redisConnectionDefaults.retriesPerRequestMax,
  };
  checkIntegerRanges("redis", limits, ranges);
  if (limits.reconnectDelayMsMin > limits.reconnectDelayMsMax) {
    throw new RangeError(
      `redis option reconnectDelayMsMin: ${limits.reconnectDelayMsMin} exceeds reconnectDelayMsMax ${limits.reconnectDelayMsMax}`,
    );
  }
  return {
    ...limits,
    url: options.url,
    keyPrefix: options.keyPrefix,
    onError: options.onError ?? throttledLogger(errorLogIntervalMs),
  };
}

/** Throws a RangeError naming the first key whose value is not an integer in its range. */
export function checkIntegerRanges<K extends string>(
  area: string,
  values: Readonly<Record<K, number>>,
  rangesByKey: Readonly<Record<K, { min: number; max: number }>>,
): void {
  for (const key of Object.keys(rangesByKey) as K[]) {
    const value = values[key];
    const { min, max } = rangesByKey[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`${area} option ${key}: ${value} is not an integer in [${min}, ${max}]`);
    }
  }
}
