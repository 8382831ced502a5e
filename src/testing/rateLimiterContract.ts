import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { RateLimiter } from "../net/rateLimiter.ts";
import { waitFor } from "./waitFor.ts";

/**
 * The behaviour every RateLimiter backend must show, on the real clock (a shared limiter keeps
 * time in its backend, so no fake clock can be injected). Rates are chosen so that the time a
 * test takes cannot change the outcome. `open` returns a fresh, ready limiter per test.
 */
export function describeRateLimiterContract(name: string, open: () => Promise<RateLimiter>): void {
  describe(`${name} contract`, () => {
    let limiter: RateLimiter;
    let keyCounter = 0;
    // A key per test: a backend shared between tests must not leak buckets from one to the next.
    const freshKey = () => {
      keyCounter += 1;
      return `contract-${process.pid}-${Date.now()}-${keyCounter}`;
    };
    const takeMany = async (
      key: string,
      limit: { perSecond: number; burst: number },
      n: number,
    ) => {
      const allowed: boolean[] = [];
      for (let i = 0; i < n; i += 1) allowed.push(await limiter.take(key, limit));
      return allowed;
    };

    beforeEach(async () => {
      limiter = await open();
    });
    afterEach(async () => {
      await limiter.close();
    });

    test(`${name} - allows the burst at once, then refuses`, async () => {
      // At 0.01/s no token comes back during the test.
      const allowed = await takeMany(freshKey(), { perSecond: 0.01, burst: 5 }, 8);
      expect(allowed).toEqual([true, true, true, true, true, false, false, false]);
    });

    test(`${name} - refills at the rate`, async () => {
      const key = freshKey();
      const limit = { perSecond: 20, burst: 1 }; // one token per 50 ms
      expect(await takeMany(key, limit, 2)).toEqual([true, false]);
      const refusedAtMs = performance.now();
      await waitFor(async () => await limiter.take(key, limit), 2_000, "a token to come back");
      // Not before the token was due (a little slack for timer and clock granularity).
      expect(performance.now() - refusedAtMs).toBeGreaterThanOrEqual(40);
    });

    test(`${name} - a refill never goes past the burst`, async () => {
      const key = freshKey();
      const limit = { perSecond: 10, burst: 3 }; // one token per 100 ms
      expect(await limiter.take(key, limit)).toBe(true); // 2 left
      // Time passing is the point: 200 ms refill 2 tokens, 4 were the bucket not capped at 3.
      // (Shorter than a full refill from empty, so a backend that lets idle buckets expire
      // cannot pass by starting over with a full one.)
      await Bun.sleep(200);
      const allowed = await takeMany(key, limit, 5);
      expect(allowed.slice(0, 3)).toEqual([true, true, true]);
      // A fourth only if these takes themselves spanned 100 ms.
      expect(allowed.filter(Boolean).length).toBeLessThanOrEqual(3);
    });

    test(`${name} - keys are independent`, async () => {
      const limit = { perSecond: 0.01, burst: 1 };
      const a = freshKey();
      const b = freshKey();
      expect(await limiter.take(a, limit)).toBe(true);
      expect(await limiter.take(a, limit)).toBe(false);
      expect(await limiter.take(b, limit)).toBe(true);
    });
  });
}
