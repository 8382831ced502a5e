import { afterAll, describe, expect, test } from "bun:test";
import { MemorySessionStore } from "../src/net/sessions.ts";
import {
  decodeExclusion,
  decodeRevocation,
  encodeExclusion,
  encodeRevocation,
} from "../src/redis/revocationFeed.ts";
import { RedisSessionStore } from "../src/redis/sessionStore.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import {
  deleteKeysWithPrefix,
  describeWithRedis,
  randomKeyPrefix,
  sharedRedis,
} from "../src/testing/redisTestServer.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { http, newSession, RecordingSocket, startTestNode, uniquePlayerId } from "./harness.ts";

const operatorKey = "test-operator-key-exclusion-0123456789";
const hourMs = 3_600_000;

const target = await sharedRedis();
const keyPrefix = randomKeyPrefix();
const availability = await createTestDatabase();
const postgresUrl = availability.database?.url;
afterAll(async () => {
  if (target.available) await deleteKeysWithPrefix(target.url, keyPrefix);
  await availability.database?.drop();
});

type NodeEnv = Record<string, string>;

/**
 * A player with a socket on each of two nodes (both sessions made through A) is excluded on A:
 * both sockets close with 4001 within 1 s and their sessions end. With a shared ledger, B also
 * refuses the player a new session.
 */
async function exclusionAcrossNodesScenario(env: NodeEnv, sharedLedger: boolean): Promise<void> {
  await using a = await startTestNode({}, env);
  await using b = await startTestNode({}, env);
  const playerId = uniquePlayerId("excl");
  const first = await newSession(a, playerId, operatorKey);
  const second = await newSession(a, playerId, operatorKey);
  const onA = await RecordingSocket.open(a, first.token);
  const onB = await RecordingSocket.open(b, second.token);
  const bystander = await newSession(a, uniquePlayerId("other"), operatorKey);
  const otherOnB = await RecordingSocket.open(b, bystander.token);
  const until = new Date(Date.now() + hourMs).toISOString();
  const startedAt = performance.now();
  const set = await http(a, "PUT", `/v1/players/${playerId}/limits`, {
    token: operatorKey,
    body: { selfExcludedUntil: until },
  });
  expect(set).toEqual({
    status: 200,
    body: { playerId, selfExcludedUntil: until, lossLimitPerDay: null },
  });
  expect(await onA.waitForClose(1_000)).toBe(4001);
  expect(await onB.waitForClose(1_000)).toBe(4001);
  expect(performance.now() - startedAt).toBeLessThan(1_000);
  if (sharedLedger) {
    const session = await http(b, "POST", "/v1/sessions", {
      token: operatorKey,
      body: { playerId },
    });
    expect(session.status).toBe(403);
    expect(session.body.error.code).toBe("SELF_EXCLUDED");
  }
  // The sessions of the closed sockets ended too, on both nodes.
  await waitFor(
    async () => (await http(a, "GET", "/v1/wallet", { token: second.token })).status === 401,
    1_000,
    "the session held on B to be revoked",
  );
  expect((await http(b, "GET", "/v1/wallet", { token: first.token })).status).toBe(401);
  // Another player's socket is left alone.
  otherOnB.send({ type: "ping", id: "still-here" });
  expect(await otherOnB.waitFor((m) => m.id === "still-here")).toMatchObject({ type: "pong" });
  otherOnB.close();
}

test("exclusion - the memory session store tells its listeners of an excluded player", async () => {
  const store = new MemorySessionStore(100);
  const heard: string[] = [];
  const stop = store.onPlayerExcluded((playerId) => heard.push(playerId));
  await store.excludePlayer("player-1");
  expect(heard).toEqual(["player-1"]);
  stop();
  await store.excludePlayer("player-2");
  expect(heard).toEqual(["player-1"]);
  await store.close();
});

test("exclusion - exclusions and revocations share the channel without being mistaken for each other", () => {
  const exclusion = { playerId: "player-1", origin: "node-a" };
  const revocation = { token: "t".repeat(43), origin: "node-a" };
  expect(decodeExclusion(encodeExclusion(exclusion))).toEqual(exclusion);
  expect(decodeRevocation(encodeExclusion(exclusion))).toBeUndefined();
  expect(decodeExclusion(encodeRevocation(revocation))).toBeUndefined();
  expect(decodeExclusion(JSON.stringify({ kind: "player-excluded", playerId: 1 }))).toBeUndefined();
});

test("exclusion - the limits route answers 503 BUSY when the exclusion cannot be announced", async () => {
  await using node = await startTestNode({}, { OPERATOR_KEY: operatorKey });
  const playerId = uniquePlayerId("busy");
  const { token } = await newSession(node, playerId, operatorKey);
  const socket = await RecordingSocket.open(node, token);
  node.context.sessions.excludePlayer = () => Promise.reject(new Error("store unreachable"));
  const until = new Date(Date.now() + hourMs).toISOString();
  const set = await http(node, "PUT", `/v1/players/${playerId}/limits`, {
    token: operatorKey,
    body: { selfExcludedUntil: until },
  });
  expect(set.status).toBe(503);
  expect(set.body.error.code).toBe("BUSY");
  // The limits are stored and the sockets here are closed all the same.
  expect(await socket.waitForClose(1_000)).toBe(4001);
  const session = await http(node, "POST", "/v1/sessions", {
    token: operatorKey,
    body: { playerId },
  });
  expect(session.status).toBe(403);
  expect(session.body.error.code).toBe("SELF_EXCLUDED");
});

test("exclusion - a limits update without a future exclusion announces nothing", async () => {
  await using node = await startTestNode({}, { OPERATOR_KEY: operatorKey });
  const playerId = uniquePlayerId("plain");
  const heard: string[] = [];
  node.context.sessions.onPlayerExcluded((id) => heard.push(id));
  for (const body of [
    { lossLimitPerDay: 500 },
    { selfExcludedUntil: new Date(Date.now() - hourMs).toISOString() },
  ]) {
    const set = await http(node, "PUT", `/v1/players/${playerId}/limits`, {
      token: operatorKey,
      body,
    });
    expect(set.status).toBe(200);
  }
  expect(heard).toEqual([]);
});

describeWithRedis(target, "exclusion nodes", (url) => {
  const env = { REDIS_URL: url, REDIS_KEY_PREFIX: keyPrefix, OPERATOR_KEY: operatorKey };

  test("exclusion nodes - the redis store tells every store's listeners once, the announcing one included", async () => {
    const quiet = () => {};
    const one = await RedisSessionStore.open({ url, keyPrefix, onError: quiet });
    const two = await RedisSessionStore.open({ url, keyPrefix, onError: quiet });
    try {
      const heardOne: string[] = [];
      const heardTwo: string[] = [];
      one.onPlayerExcluded((playerId) => heardOne.push(playerId));
      two.onPlayerExcluded((playerId) => heardTwo.push(playerId));
      const revoked: string[] = [];
      two.onRevoked((token) => revoked.push(token));
      await one.excludePlayer("player-x");
      // The announcing store's listeners ran before excludePlayer resolved.
      expect(heardOne).toEqual(["player-x"]);
      await waitFor(() => heardTwo.length > 0, 1_000, "the exclusion on the other store");
      // A revocation after it proves the channel delivered everything before it.
      const session = await one.create("player-y", 60_000);
      await one.revoke(session.token);
      await waitFor(() => revoked.length > 0, 1_000, "the revocation on the other store");
      expect(heardOne).toEqual(["player-x"]);
      expect(heardTwo).toEqual(["player-x"]);
      expect(revoked).toEqual([session.token]);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  test("exclusion nodes - a self-exclusion set on one node closes the player's sockets on every node with 4001", async () => {
    await exclusionAcrossNodesScenario(env, false);
  });

  const describePostgres = postgresUrl === undefined ? describe.skip : describe;
  describePostgres("exclusion nodes on a shared postgres ledger", () => {
    test("exclusion nodes - postgres: sockets close on every node with 4001 and the other node refuses a new session with 403 SELF_EXCLUDED", async () => {
      await exclusionAcrossNodesScenario({ ...env, DATABASE_URL: postgresUrl as string }, true);
    });
  });
});
