import { expect, test } from "bun:test";
import {
  describeWithRedisServer,
  randomKeyPrefix,
  startThrowawayRedis,
  testClient,
} from "../testing/redisTestServer.ts";
import { waitFor } from "../testing/waitFor.ts";
import { rateBucketKey } from "./keys.ts";
import { RedisRateLimiter } from "./rateLimiter.ts";

const recoveryTimeoutMs = 5_000;
const quiet = () => {};
const slowLimit = { perSecond: 0.01, burst: 3 }; // no refill during a test

describeWithRedisServer("redis rate limiter outages", () => {
  test("redis rate limiter - while Redis is down checks are local and immediate, and go back to Redis when it returns", async () => {
    await using server = await startThrowawayRedis();
    const keyPrefix = randomKeyPrefix();
    const limiter = await RedisRateLimiter.open({
      url: server.url,
      keyPrefix,
      reconnectDelayMsMax: 100,
      localCooldownMs: 100,
      onError: quiet,
    });
    try {
      expect(await limiter.take("before", slowLimit)).toBe(true);
      expect(limiter.decisionCounts()).toEqual({ redis: 1, local: 0 });

      await server.kill();
      await waitFor(() => !limiter.usingRedis(), recoveryTimeoutMs, "the limiter to notice");
      // Decided locally and synchronously, and the burst still holds.
      const during = Array.from({ length: 5 }, () => limiter.take("during", slowLimit));
      expect(during).toEqual([true, true, true, false, false]);

      await server.restart();
      await waitFor(() => limiter.usingRedis(), recoveryTimeoutMs, "the limiter to return");
      expect(await limiter.take("after", slowLimit)).toBe(true);
      expect(limiter.decisionCounts()).toEqual({ redis: 2, local: 5 });
      const admin = testClient(server.url);
      await admin.connect();
      expect(await admin.exists(rateBucketKey(keyPrefix, "after"))).toBe(1);
      admin.disconnect();
    } finally {
      await limiter.close();
    }
  });

  test("redis rate limiter - a check Redis is slow to answer is decided locally within redisWaitMs", async () => {
    await using server = await startThrowawayRedis();
    const redisWaitMs = 50;
    const limiter = await RedisRateLimiter.open({
      url: server.url,
      keyPrefix: randomKeyPrefix(),
      redisWaitMs,
      localCooldownMs: 500, // outlasts the pause below
      onError: quiet,
    });
    const admin = testClient(server.url);
    await admin.connect();
    try {
      // Redis answers no client for 300 ms (this one included, so no UNPAUSE: it would wait too).
      await admin.call("CLIENT", "PAUSE", "300", "ALL");
      const startedMs = performance.now();
      expect(await limiter.take("slow", slowLimit)).toBe(true);
      expect(performance.now() - startedMs).toBeLessThan(redisWaitMs + 150);
      expect(limiter.decisionCounts()).toEqual({ redis: 0, local: 1 });
      // During the cooldown checks do not wait for Redis at all.
      expect(limiter.usingRedis()).toBe(false);
      expect(typeof limiter.take("slow", slowLimit)).toBe("boolean");
      await waitFor(() => limiter.usingRedis(), recoveryTimeoutMs, "the cooldown to end");
      expect(await limiter.take("fast", slowLimit)).toBe(true);
      expect(limiter.decisionCounts().redis).toBe(1);
    } finally {
      admin.disconnect();
      await limiter.close();
    }
  });
});
