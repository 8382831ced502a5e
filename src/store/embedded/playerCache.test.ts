import { expect, test } from "bun:test";
import { PlayerCache } from "./playerCache.ts";

test("ledger - the player cache never holds more than its bound", () => {
  const cache = new PlayerCache(10);
  for (let i = 0; i < 1_000; i++) {
    cache.set(`p${i}`, { balance: i, seq: i });
    expect(cache.size).toBeLessThanOrEqual(10);
  }
  expect(cache.get("p999")).toEqual({ balance: 999, seq: 999 });
  expect(cache.get("p0")).toBeUndefined();
});

test("ledger - a player read again stays cached while newer ones come and go", () => {
  const cache = new PlayerCache(10);
  cache.set("hot", { balance: 1, seq: 1 });
  for (let i = 0; i < 100; i++) {
    cache.set(`p${i}`, { balance: i, seq: i });
    expect(cache.get("hot")).toEqual({ balance: 1, seq: 1 });
  }
});

test("ledger - an entry set again is read back with its newest state", () => {
  const cache = new PlayerCache(4);
  cache.set("a", { balance: 1, seq: 1 });
  cache.set("b", { balance: 1, seq: 1 }); // a moves to the old generation
  cache.set("a", { balance: 2, seq: 2 });
  cache.set("c", { balance: 1, seq: 1 });
  expect(cache.get("a")).toEqual({ balance: 2, seq: 2 });
  cache.clear();
  expect(cache.size).toBe(0);
  expect(cache.get("a")).toBeUndefined();
});
