import { describe, expect, test } from "bun:test";
import { waitFor } from "../testing/waitFor.ts";
import { MemoryRateLimiter } from "./rateLimiter.ts";
import { MemorySessionStore } from "./sessions.ts";

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

  test("rate limiter - a bucket that filled up again is forgotten, so keys that stop coming go", () => {
    let now = 0;
    const limiter = new MemoryRateLimiter(1_000_000, () => now);
    const limit = { perSecond: 10, burst: 5 };
    for (let i = 0; i < 100; i++) limiter.take(`once-${i}`, limit);
    expect(limiter.size).toBe(100);
    now += 100; // 1 token back of the 1 each took: all full again
    for (let i = 0; i < 60; i++) limiter.take("busy", limit);
    expect(limiter.size).toBe(1);
    // A key still being refilled is kept, with what it has used.
    const emptied = Array.from({ length: 5 }, () => limiter.take("kept", limit));
    expect(emptied.every(Boolean)).toBe(true);
    now += 50; // half a token back: not full
    for (let i = 0; i < 10; i++) limiter.take(`other-${i}`, limit);
    expect(limiter.take("kept", limit)).toBe(false);
  });
});

describe("memory session store", () => {
  test("memory session store - expired sessions are dropped on a timer, not only when looked up", async () => {
    const sessions = new MemorySessionStore(1_000, 20);
    try {
      for (let i = 0; i < 10; i++) await sessions.create(`p${i}`, 10);
      const lasting = await sessions.create("stays", 60_000);
      expect(sessions.size).toBe(11);
      await waitFor(() => sessions.size === 1, 2_000, "the expired sessions to go");
      expect(await sessions.find(lasting.token)).toEqual(lasting);
    } finally {
      await sessions.close();
    }
  });
});
