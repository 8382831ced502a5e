import { describe, expect, test } from "bun:test";
import { MemoryRateLimiter } from "./rateLimiter.ts";

describe("rate limiter", () => {
  test("rate limiter - allows the burst, then refills at the rate", () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(100, () => now);
    const limit = { perSecond: 10, burst: 5 };
    const allowed = Array.from({ length: 8 }, () => limiter.take("k", limit));
    expect(allowed).toEqual([true, true, true, true, true, false, false, false]);
    now += 100; // one token at 10/s
    expect(limiter.take("k", limit)).toBe(true);
    expect(limiter.take("k", limit)).toBe(false);
    now += 10_000; // refill is capped at the burst
    const afterLongIdle = Array.from({ length: 7 }, () => limiter.take("k", limit));
    expect(afterLongIdle.filter(Boolean)).toHaveLength(5);
  });

  test("rate limiter - keys are independent", () => {
    const limiter = new MemoryRateLimiter(100, () => 0);
    const limit = { perSecond: 1, burst: 1 };
    expect(limiter.take("a", limit)).toBe(true);
    expect(limiter.take("a", limit)).toBe(false);
    expect(limiter.take("b", limit)).toBe(true);
  });

  test("rate limiter - the key count is bounded and a forgotten key starts with a full bucket", () => {
    const limiter = new MemoryRateLimiter(2, () => 0);
    const limit = { perSecond: 1, burst: 1 };
    expect(limiter.take("a", limit)).toBe(true);
    expect(limiter.take("b", limit)).toBe(true);
    expect(limiter.take("c", limit)).toBe(true); // evicts "a"
    expect(limiter.take("b", limit)).toBe(false);
    expect(limiter.take("a", limit)).toBe(true);
  });
});
