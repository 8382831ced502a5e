import { expect, test } from "bun:test";
import type { CroupierError } from "../errors.ts";
import {
  describeWithRedisServer,
  randomKeyPrefix,
  startThrowawayRedis,
  testClient,
} from "../testing/redisTestServer.ts";
import { TcpRelay } from "../testing/tcpRelay.ts";
import { waitFor } from "../testing/waitFor.ts";
import { RedisUnavailableError } from "./errors.ts";
import { sessionKey } from "./keys.ts";
import { RedisSessionStore } from "./sessionStore.ts";

/** Reconnection is retried at least this often, so recovery is quick to observe. */
const reconnectDelayMsMax = 100;
const recoveryTimeoutMs = 5_000;
const quiet = () => {};

async function expectUnavailable(operation: Promise<unknown>): Promise<void> {
  const error = await operation.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RedisUnavailableError);
  expect((error as CroupierError).code).toBe("BUSY"); // the HTTP layer answers 503
}

describeWithRedisServer("redis session store outages", () => {
  test("redis session store - a Redis crash: cached sessions still work, everything else fails typed, then all recovers by itself", async () => {
    await using server = await startThrowawayRedis();
    const options = { url: server.url, keyPrefix: randomKeyPrefix(), reconnectDelayMsMax };
    // cacheTtlMs 1: whatever the outage finds in the cache is past its fresh life.
    const store = await RedisSessionStore.open({ ...options, cacheTtlMs: 1, onError: quiet });
    const otherNode = await RedisSessionStore.open({ ...options, onError: quiet });
    let reconnects = 0;
    store.onReconnected(() => {
      reconnects += 1;
    });
    try {
      const cached = await store.create("player-1", 60_000);
      const unseen = await otherNode.create("player-2", 60_000); // in Redis, never seen by `store`

      await server.kill();
      await waitFor(() => !store.healthy(), recoveryTimeoutMs, "the store to notice");
      expect(await store.find(cached.token)).toEqual(cached);
      await expectUnavailable(store.find(unseen.token));
      await expectUnavailable(store.find("never-issued"));
      await expectUnavailable(store.create("player-3", 60_000));
      await expectUnavailable(store.revoke(unseen.token));
      expect(reconnects).toBe(0);

      await server.restart(); // a fresh, empty Redis on the same port
      await waitFor(() => store.healthy(), recoveryTimeoutMs, "the store to recover");
      await waitFor(() => reconnects === 1, recoveryTimeoutMs, "onReconnected");
      // The new server lost every session, and the cache was emptied on reconnection.
      expect(await store.find(cached.token)).toBeUndefined();
      const fresh = await store.create("player-1", 60_000);
      expect(await store.find(fresh.token)).toEqual(fresh);
      await waitFor(() => otherNode.healthy(), recoveryTimeoutMs, "the other node to recover");
      const heard: string[] = [];
      otherNode.onRevoked((token) => heard.push(token));
      await store.revoke(fresh.token);
      await waitFor(() => heard.includes(fresh.token), 1_000, "revocations to flow again");
    } finally {
      await Promise.all([store.close(), otherNode.close()]);
    }
  });

  test("redis session store - during an outage a cached session is served for at most cacheStaleMsMax", async () => {
    await using server = await startThrowawayRedis();
    const cacheStaleMsMax = 1_000;
    const store = await RedisSessionStore.open({
      url: server.url,
      keyPrefix: randomKeyPrefix(),
      cacheStaleMsMax,
      onError: quiet,
    });
    try {
      const session = await store.create("player-1", 60_000);
      const confirmedAtMs = performance.now();
      await server.kill();
      expect(await store.find(session.token)).toEqual(session);
      await waitFor(
        () =>
          store.find(session.token).then(
            () => false,
            () => true,
          ),
        5_000,
        "the cached session to be refused",
      );
      expect(performance.now() - confirmedAtMs).toBeGreaterThanOrEqual(cacheStaleMsMax - 5);
    } finally {
      await store.close();
    }
  });

  test("redis session store - a subscription that goes silent without closing is noticed and renewed", async () => {
    await using server = await startThrowawayRedis();
    await using relay = await TcpRelay.start("127.0.0.1", Number(new URL(server.url).port));
    const store = await RedisSessionStore.open({
      url: `redis://127.0.0.1:${relay.port}`,
      keyPrefix: randomKeyPrefix(),
      reconnectDelayMsMax,
      onError: quiet,
    });
    let reconnects = 0;
    store.onReconnected(() => {
      reconnects += 1;
    });
    try {
      // Only the subscriber's connection: the command connection keeps working throughout.
      expect(relay.silence((sent) => sent.toUpperCase().includes("SUBSCRIBE"))).toBe(1);
      await waitFor(
        () => !store.healthy(),
        recoveryTimeoutMs,
        "the silent subscription to be noticed",
      );
      // The connection it opens again passes: the subscription is renewed, sockets revalidated.
      await waitFor(() => store.healthy(), recoveryTimeoutMs, "the store to recover");
      await waitFor(() => reconnects === 1, recoveryTimeoutMs, "onReconnected");
    } finally {
      await store.close();
    }
  });

  test("redis session store - a revocation missed in a gap is never vouched for once the subscription is back", async () => {
    await using server = await startThrowawayRedis();
    const options = {
      url: server.url,
      keyPrefix: randomKeyPrefix(),
      reconnectDelayMsMax,
      onError: quiet,
    };
    const store = await RedisSessionStore.open(options);
    const otherNode = await RedisSessionStore.open(options);
    // The two connections the store holds, reached as a network would cut them.
    const inside = store as unknown as {
      client: { disconnect(reconnect: boolean): void };
      feed: {
        isSubscribed(): boolean;
        subscriber: { disconnect(r: boolean): void; connect(): Promise<void> };
      };
    };
    try {
      const session = await otherNode.create("player-1", 60_000);
      expect(await store.find(session.token)).toEqual(session); // cached here
      inside.client.disconnect(false); // commands down, and they stay down
      inside.feed.subscriber.disconnect(false); // the subscription too: revocations are missed
      await waitFor(() => !inside.feed.isSubscribed(), recoveryTimeoutMs, "the subscription to go");
      await otherNode.revoke(session.token);
      await inside.feed.subscriber.connect(); // the subscription is back; commands are not
      await waitFor(() => inside.feed.isSubscribed(), recoveryTimeoutMs, "the subscription");
      const found = await store.find(session.token).then(
        (value) => value,
        () => undefined, // unavailable: the node cannot say, and does not vouch
      );
      expect(found).toBeUndefined();
    } finally {
      await Promise.all([store.close(), otherNode.close()]);
    }
  });

  test("redis session store - losing only the subscription empties the cache and fires onReconnected", async () => {
    await using server = await startThrowawayRedis();
    const keyPrefix = randomKeyPrefix();
    const store = await RedisSessionStore.open({ url: server.url, keyPrefix, onError: quiet });
    let reconnects = 0;
    store.onReconnected(() => {
      reconnects += 1;
    });
    const admin = testClient(server.url);
    await admin.connect();
    try {
      const session = await store.create("player-1", 60_000);
      const cachedAtMs = performance.now();
      // A revocation this node cannot hear: the key goes without a message.
      await admin.del(sessionKey(keyPrefix, session.token));
      await admin.call("CLIENT", "KILL", "TYPE", "pubsub");
      await waitFor(() => reconnects === 1, recoveryTimeoutMs, "onReconnected");
      expect(store.healthy()).toBe(true);
      expect(await store.find(session.token)).toBeUndefined();
      // Within the cache's 1 s, so only the emptied cache explains the miss.
      expect(performance.now() - cachedAtMs).toBeLessThan(1_000);
    } finally {
      admin.disconnect();
      await store.close();
    }
  });
});
