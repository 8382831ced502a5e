/**
 * Rate limits shared by every node: one token bucket per key in Redis, checked and updated by
 * one Lua script (tokenBucketScript.ts).
 *
 * A rate limit must never make the service unavailable, so Redis gets a short, bounded wait
 * per check (`redisWaitMs`). A check that fails or takes longer is decided by a local
 * MemoryRateLimiter instead, and for `localCooldownMs` after that every check is local, so a
 * slow Redis does not add its delay to every request. Checks return to Redis by themselves once
 * it is connected and the cooldown is over. Local buckets start full: while falling back, a key
 * may get up to one extra burst per node, never less than its limit.
 */
import type { Redis } from "ioredis";
import { settleWithin, timedOut } from "../deadline.ts";
import { MemoryRateLimiter, type RateLimit, type RateLimiter } from "../net/rateLimiter.ts";
import { redactUrl } from "../redactUrl.ts";
import { closeClient, createRedisClient, waitForReady } from "./client.ts";
import { asError, RedisUnavailableError } from "./errors.ts";
import { rateBucketKey } from "./keys.ts";
import {
  checkIntegerRanges,
  type RedisConnectionOptions,
  type ResolvedRedisConnection,
  resolveRedisConnection,
} from "./options.ts";
import { bucketIdleMs, tokenBucketCommand, tokenBucketLua } from "./tokenBucketScript.ts";

export interface RedisRateLimiterOptions extends RedisConnectionOptions {
  /** Longest a check waits for Redis before it is decided locally. */
  redisWaitMs?: number;
  /** After a check Redis failed or was slow on, checks stay local this long. */
  localCooldownMs?: number;
  /** Keys the local fallback tracks at most (see MemoryRateLimiter). */
  localKeysMax?: number;
}

interface FallbackLimits {
  redisWaitMs: number;
  localCooldownMs: number;
  localKeysMax: number;
}

export const redisRateLimiterDefaults: FallbackLimits = {
  redisWaitMs: 50, // milliseconds
  localCooldownMs: 1_000, // milliseconds
  localKeysMax: 100_000, // keys
};

const ranges: Record<keyof FallbackLimits, { min: number; max: number }> = {
  redisWaitMs: { min: 1, max: 10_000 },
  localCooldownMs: { min: 0, max: 60_000 },
  localKeysMax: { min: 1, max: 10_000_000 },
};

/** How the limiter reached its decisions so far, for metrics and tests. */
export interface RateLimiterDecisions {
  redis: number;
  local: number;
}

/** The client once the script is defined on it (ioredis adds the method at run time). */
interface TokenBucketClient {
  [tokenBucketCommand](
    key: string,
    perSecond: number,
    burst: number,
    idleMs: number,
  ): Promise<number>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly connection: ResolvedRedisConnection;
  private readonly limits: FallbackLimits;
  private readonly client: Redis;
  private readonly local: MemoryRateLimiter;
  private readonly decisions: RateLimiterDecisions = { redis: 0, local: 0 };
  /** performance.now() before which checks are decided locally. */
  private localUntilMs = 0;
  private closed = false;

  /** Connects and waits (up to `connectTimeoutMs`) until usable; rejects if Redis is not there. */
  static async open(options: RedisRateLimiterOptions): Promise<RedisRateLimiter> {
    const limiter = new RedisRateLimiter(options);
    if (!(await waitForReady(limiter.client, limiter.connection.connectTimeoutMs))) {
      await limiter.close();
      throw new RedisUnavailableError(`open the rate limiter at ${redactUrl(options.url)}`);
    }
    return limiter;
  }

  /** Starts connecting at once but does not wait: checks are local until Redis answers. */
  constructor(options: RedisRateLimiterOptions) {
    this.connection = resolveRedisConnection(options);
    this.limits = {
      redisWaitMs: options.redisWaitMs ?? redisRateLimiterDefaults.redisWaitMs,
      localCooldownMs: options.localCooldownMs ?? redisRateLimiterDefaults.localCooldownMs,
      localKeysMax: options.localKeysMax ?? redisRateLimiterDefaults.localKeysMax,
    };
    checkIntegerRanges("redis rate limiter", this.limits, ranges);
    this.local = new MemoryRateLimiter(this.limits.localKeysMax);
    this.client = createRedisClient(this.connection, "rate-limits");
    this.client.defineCommand(tokenBucketCommand, { lua: tokenBucketLua, numberOfKeys: 1 });
  }

  take(key: string, limit: RateLimit): boolean | Promise<boolean> {
    if (!(limit.perSecond > 0 && Number.isFinite(limit.perSecond))) {
      throw new RangeError(`rate limit perSecond ${limit.perSecond} is not a positive number`);
    }
    if (!Number.isSafeInteger(limit.burst) || limit.burst < 1) {
      throw new RangeError(`rate limit burst ${limit.burst} is not a positive integer`);
    }
    if (!this.usingRedis()) return this.decideLocally(key, limit);
    return this.takeFromRedis(key, limit);
  }

  /** True while checks go to Redis; false while they are decided locally. */
  usingRedis(): boolean {
    return !this.closed && this.client.status === "ready" && performance.now() >= this.localUntilMs;
  }

  decisionCounts(): RateLimiterDecisions {
    return { ...this.decisions };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeClient(this.client, this.connection.commandTimeoutMs);
    await this.local.close();
  }

  private async takeFromRedis(key: string, limit: RateLimit): Promise<boolean> {
    const scripted = this.client as unknown as TokenBucketClient;
    const outcome = await settleWithin(
      scripted[tokenBucketCommand](
        rateBucketKey(this.connection.keyPrefix, key),
        limit.perSecond,
        limit.burst,
        bucketIdleMs(limit.perSecond, limit.burst),
      ),
      this.limits.redisWaitMs,
    );
    if (outcome !== timedOut && "value" in outcome) {
      this.decisions.redis += 1;
      return outcome.value === 1;
    }
    if (outcome !== timedOut && this.client.status === "ready") {
      // Connected, yet the script failed: not an outage, so worth a log line.
      this.connection.onError("rate-limits", asError(outcome.error));
    }
    // Failed or too slow: decided here. The script may still run in Redis and count this
    // event there too, which can only make that bucket stricter by one token.
    this.localUntilMs = performance.now() + this.limits.localCooldownMs;
    return this.decideLocally(key, limit);
  }

  private decideLocally(key: string, limit: RateLimit): boolean {
    this.decisions.local += 1;
    return this.local.take(key, limit);
  }
}
