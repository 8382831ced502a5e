import { expect, test } from "bun:test";
import { waitFor } from "../testing/waitFor.ts";
import { reconnectDelayMs } from "./client.ts";
import { decodeRevocation, encodeRevocation } from "./revocationFeed.ts";
import { SessionCache } from "./sessionCache.ts";
import { decodeSessionRecord, encodeSessionRecord } from "./sessionRecord.ts";

const session = { token: "t1", playerId: "player-1", expiresAt: Date.now() + 60_000 };

test("session cache - a read that began before an invalidation does not fill the cache", () => {
  const cache = new SessionCache(10, 1_000, 60_000);
  const epochAtRead = cache.epoch;
  cache.invalidate("t1"); // a revocation arrives while the read is in flight
  cache.fill(session, epochAtRead, Date.now());
  expect(cache.fresh("t1", Date.now())).toBeUndefined();
  cache.fill(session, cache.epoch, Date.now());
  expect(cache.fresh("t1", Date.now())).toEqual(session);
});

test("session cache - past its ttl an entry is no longer fresh but may be served stale", async () => {
  const cache = new SessionCache(10, 20, 60_000);
  cache.fill(session, cache.epoch, Date.now());
  await waitFor(() => cache.fresh("t1", Date.now()) === undefined, 1_000, "the ttl to pass");
  expect(cache.stale("t1", Date.now())).toEqual(session);
});

test("session cache - stale service ends staleMsMax after Redis last confirmed the session", () => {
  const cache = new SessionCache(10, 20, 1_000);
  const confirmedAtMs = Date.now();
  cache.fill(session, cache.epoch, confirmedAtMs);
  expect(cache.stale("t1", confirmedAtMs + 1_000)).toEqual(session);
  expect(cache.stale("t1", confirmedAtMs + 1_001)).toBeUndefined();
});

test("session cache - revocations heard until the outage vouch for a session until then", () => {
  const cache = new SessionCache(10, 20, 1_000);
  const confirmedAtMs = Date.now() - 30_000; // a socket open for half a minute before the outage
  cache.fill(session, cache.epoch, confirmedAtMs);
  const outageAtMs = confirmedAtMs + 30_000;
  expect(cache.stale("t1", outageAtMs + 1_000, outageAtMs)).toEqual(session);
  expect(cache.stale("t1", outageAtMs + 1_001, outageAtMs)).toBeUndefined();
});

test("session cache - an expired session is never served, fresh or stale", () => {
  const cache = new SessionCache(10, 1_000, 60_000);
  cache.fill({ ...session, expiresAt: 1_000 }, cache.epoch, 500);
  expect(cache.fresh("t1", 1_000)).toBeUndefined();
  expect(cache.stale("t1", 1_000)).toBeUndefined();
});

test("session cache - holds at most entriesMax sessions", () => {
  const cache = new SessionCache(3, 1_000, 60_000);
  for (let i = 0; i < 10; i += 1)
    cache.fill({ ...session, token: `t${i}` }, cache.epoch, Date.now());
  expect(cache.size).toBe(3);
  expect(cache.fresh("t9", Date.now())).toBeDefined();
  expect(cache.fresh("t0", Date.now())).toBeUndefined();
});

test("session record - round-trips, and anything else stored under the key is not a session", () => {
  expect(decodeSessionRecord("t1", encodeSessionRecord(session))).toEqual(session);
  expect(encodeSessionRecord(session)).not.toContain("t1");
  for (const text of [
    "",
    "null",
    "[]",
    '{"playerId":1,"expiresAt":2}',
    '{"playerId":"p"}',
    "x".repeat(600),
  ]) {
    expect(decodeSessionRecord("t1", text)).toBeUndefined();
  }
});

test("revocation message - round-trips, and malformed messages are ignored", () => {
  const message = { token: "t1", origin: "node-a" };
  expect(decodeRevocation(encodeRevocation(message))).toEqual(message);
  for (const text of [
    "",
    "t1",
    "{}",
    '{"token":"t1"}',
    `{"token":"${"x".repeat(2_000)}","origin":"a"}`,
  ]) {
    expect(decodeRevocation(text)).toBeUndefined();
  }
});

test("redis client - reconnection delay doubles from the minimum and stays under the cap", () => {
  expect([1, 2, 3, 4, 5, 6, 1_000].map((attempt) => reconnectDelayMs(attempt, 50, 1_000))).toEqual([
    50, 100, 200, 400, 800, 1_000, 1_000,
  ]);
});
