import { afterEach, expect, test } from "bun:test";
import { MemoryRateLimiter } from "../net/rateLimiter.ts";
import { describeRateLimiterContract } from "../testing/rateLimiterContract.ts";
import {
  describeWithRedis,
  sharedRedis,
  suiteKeyPrefix,
  testClient,
} from "../testing/redisTestServer.ts";
import { rateBucketKey } from "./keys.ts";
import { RedisRateLimiter, type RedisRateLimiterOptions } from "./rateLimiter.ts";

describeRateLimiterContract("memory rate limiter", async () => new MemoryRateLimiter(1_000));

const redis = await sharedRedis();

describeWithRedis(redis, "redis rate limiter", (url) => {
  const keyPrefix = suiteKeyPrefix(redis);
  const opened: RedisRateLimiter[] = [];
  const open = async (options: Partial<RedisRateLimiterOptions> = {}) => {
    // A generous wait: on a loaded test machine a slow answer must not look like an outage.
    const limiter = await RedisRateLimiter.open({ url, keyPrefix, redisWaitMs: 1_000, ...options });
    opened.push(limiter);
    return limiter;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((limiter) => limiter.close()));
  });

  describeRateLimiterContract("redis rate limiter", async () => {
    const limiter = await open();
    return {
      take: async (key, limit) => {
        const allowed = await limiter.take(key, limit);
        // Every contract decision must come from Redis, or the contract tested the fallback.
        expect(limiter.decisionCounts().local).toBe(0);
        return allowed;
      },
      close: () => limiter.close(),
    };
  });

  test("redis rate limiter - two nodes share one bucket, atomically", async () => {
    const nodeA = await open();
    const nodeB = await open();
    const limit = { perSecond: 0.01, burst: 10 };
    const takes = Array.from({ length: 40 }, (_, i) =>
      (i % 2 === 0 ? nodeA : nodeB).take("shared", limit),
    );
    const allowed = await Promise.all(takes);
    expect(allowed.filter(Boolean)).toHaveLength(10);
    expect(nodeA.decisionCounts().local + nodeB.decisionCounts().local).toBe(0);
  });

  test("redis rate limiter - an idle bucket expires once it would be full again", async () => {
    const limiter = await open();
    await limiter.take("idle", { perSecond: 10, burst: 5 }); // full again after 500 ms
    const client = testClient(url);
    await client.connect();
    try {
      const ttlMs = await client.pttl(rateBucketKey(keyPrefix, "idle"));
      expect(ttlMs).toBeGreaterThan(0);
      expect(ttlMs).toBeLessThanOrEqual(500);
    } finally {
      client.disconnect();
    }
  });

  test("redis rate limiter - a limit that is not positive is refused", async () => {
    const limiter = await open();
    expect(() => limiter.take("k", { perSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => limiter.take("k", { perSecond: 1, burst: 0 })).toThrow(RangeError);
    expect(() => limiter.take("k", { perSecond: Number.NaN, burst: 1 })).toThrow(RangeError);
  });
});
