import { afterEach, describe, expect, test } from "bun:test";
import type { CroupierError } from "../errors.ts";
import { MemorySessionStore } from "../net/sessions.ts";
import {
  describeWithRedis,
  describeWithRedisServer,
  sharedRedis,
  startThrowawayRedis,
  suiteKeyPrefix,
  testClient,
} from "../testing/redisTestServer.ts";
import { describeSessionStoreContract } from "../testing/sessionStoreContract.ts";
import { waitFor } from "../testing/waitFor.ts";
import { RedisUnavailableError } from "./errors.ts";
import { sessionKey } from "./keys.ts";
import { RedisSessionStore } from "./sessionStore.ts";
import type { RedisSessionStoreOptions } from "./sessionStoreOptions.ts";

describeSessionStoreContract("memory session store", async () => new MemorySessionStore(1_000));

const redis = await sharedRedis();
const quiet = () => {}; // expected connection errors are asserted, not logged

describeWithRedis(redis, "redis session store", (url) => {
  const keyPrefix = suiteKeyPrefix(redis);
  const opened: RedisSessionStore[] = [];
  const open = async (options: Partial<RedisSessionStoreOptions> = {}) => {
    const store = await RedisSessionStore.open({ url, keyPrefix, onError: quiet, ...options });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });

  describeSessionStoreContract("redis session store", () => open());

  test("redis session store - a session is stored under a hash of its token, with the session's ttl", async () => {
    const store = await open();
    const session = await store.create("player-1", 60_000);
    const client = testClient(url);
    await client.connect();
    try {
      const key = sessionKey(keyPrefix, session.token);
      expect(key).not.toContain(session.token);
      expect(JSON.parse((await client.get(key)) ?? "null")).toEqual({
        playerId: "player-1",
        expiresAt: session.expiresAt,
      });
      const ttlMs = await client.pttl(key);
      expect(ttlMs).toBeGreaterThan(55_000);
      expect(ttlMs).toBeLessThanOrEqual(60_000);
    } finally {
      client.disconnect();
    }
  });

  test("redis session store - the cache serves a session without Redis for at most cacheTtlMs", async () => {
    const cacheTtlMs = 300;
    const store = await open({ cacheTtlMs });
    const session = await store.create("player-1", 60_000);
    const client = testClient(url);
    await client.connect();
    // Gone from Redis behind the store's back: no revocation message tells the cache.
    await client.del(sessionKey(keyPrefix, session.token));
    client.disconnect();
    const deletedAtMs = performance.now();
    expect(await store.find(session.token)).toEqual(session);
    await waitFor(async () => (await store.find(session.token)) === undefined, 5_000, "expiry");
    expect(performance.now() - deletedAtMs).toBeLessThan(cacheTtlMs + 500);
  });

  test("redis session store - a revocation on one node reaches another node's listeners and cache within 1 s", async () => {
    const nodeA = await open();
    const nodeB = await open();
    const heardByA: string[] = [];
    const heardByB: string[] = [];
    nodeA.onRevoked((token) => heardByA.push(token));
    nodeB.onRevoked((token) => heardByB.push(token));
    const first = await nodeA.create("player-1", 60_000);
    const second = await nodeA.create("player-1", 60_000);
    expect(await nodeB.find(first.token)).toEqual(first); // now cached on B
    const revokedAtMs = performance.now();
    await nodeA.revoke(first.token);
    await waitFor(() => heardByB.includes(first.token), 1_000, "B to hear the revocation");
    expect(await nodeB.find(first.token)).toBeUndefined();
    expect(performance.now() - revokedAtMs).toBeLessThan(1_000);
    // Pub/sub keeps order per channel: once A hears B's revocation it has had its own echo too.
    await nodeB.revoke(second.token);
    await waitFor(() => heardByA.includes(second.token), 1_000, "A to hear B's revocation");
    expect(heardByA).toEqual([first.token, second.token]); // its own once, not echoed again
    expect(heardByB).toEqual([first.token, second.token]);
  });

  test("redis session store - a throwing listener neither fails revoke nor silences the others", async () => {
    const errors: string[] = [];
    const store = await open({ onError: (role) => errors.push(role) });
    const heard: string[] = [];
    store.onRevoked(() => {
      throw new Error("listener bug");
    });
    store.onRevoked((token) => heard.push(token));
    const session = await store.create("player-1", 60_000);
    await store.revoke(session.token);
    expect(heard).toEqual([session.token]);
    expect(errors).toEqual(["session listener"]);
  });
});

describe("redis session store setup", () => {
  test("redis session store - open rejects with a 503 error when nothing answers", async () => {
    const started = performance.now();
    const error = await RedisSessionStore.open({
      url: "redis://127.0.0.1:1",
      keyPrefix: "croupier-test-nothing",
      connectTimeoutMs: 300,
      onError: quiet,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect((error as CroupierError).code).toBe("BUSY");
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test("redis session store - options outside their bounds are refused with the key", () => {
    const base = { url: "redis://127.0.0.1:6379", keyPrefix: "croupier" };
    expect(() => new RedisSessionStore({ ...base, cacheTtlMs: 1_001 })).toThrow("cacheTtlMs");
    expect(() => new RedisSessionStore({ ...base, keyPrefix: "a:b*" })).toThrow("keyPrefix");
    expect(() => new RedisSessionStore({ ...base, url: "http://x" })).toThrow("url");
    expect(() => new RedisSessionStore({ ...base, commandTimeoutMs: 0 })).toThrow(
      "commandTimeoutMs",
    );
  });
});

describeWithRedisServer("redis session store on its own server", () => {
  test("redis session store - warns unless maxmemory-policy is noeviction, and tolerates CONFIG being disabled", async () => {
    const cases: { args: string[]; warning: string | undefined }[] = [
      { args: [], warning: undefined }, // the default policy is noeviction
      { args: ["--maxmemory-policy", "allkeys-lru"], warning: "allkeys-lru" },
      { args: ["--maxmemory-policy", "volatile-ttl"], warning: "volatile-ttl" },
      { args: ["--rename-command", "CONFIG", ""], warning: undefined },
    ];
    for (const { args, warning } of cases) {
      await using server = await startThrowawayRedis(args);
      const store = await RedisSessionStore.open({
        url: server.url,
        keyPrefix: "croupier-test-policy",
        onError: quiet,
      });
      try {
        const text = store.evictionPolicyWarning();
        if (warning === undefined) expect(text).toBeUndefined();
        else {
          expect(text).toContain(warning);
          expect(text).toContain("noeviction");
        }
        const session = await store.create("player-1", 60_000);
        expect(await store.find(session.token)).toEqual(session);
      } finally {
        await store.close();
      }
    }
  });
});
