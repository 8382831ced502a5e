import { expect, test } from "bun:test";
import { Redis } from "ioredis";
import {
  describeWithRedisServer,
  randomKeyPrefix,
  startThrowawayRedis,
} from "../src/testing/redisTestServer.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { http, newSession, RecordingSocket, startTestNode, uniquePlayerId } from "./harness.ts";

/** Longest the node may take to notice Redis going or coming back. */
const readinessBoundMs = 5_000;
/** Longest one command or request may take, outage or not. */
const replyBoundMs = 3_000;

async function spinOnce(socket: RecordingSocket, id: string): Promise<any> {
  const startedMs = performance.now();
  socket.send({ type: "spin", id, game: "slot", bet: 20 });
  const answer = await socket.waitFor((m) => m.id === id, replyBoundMs);
  expect(performance.now() - startedMs).toBeLessThan(replyBoundMs);
  return answer;
}

async function timedHttp(node: { httpUrl: string }, method: string, path: string, body?: unknown) {
  const startedMs = performance.now();
  const response = await http(node, method, path, { body });
  expect(performance.now() - startedMs).toBeLessThan(replyBoundMs);
  return response;
}

describeWithRedisServer("outage - Redis", () => {
  test("outage - Redis down past SESSION_OUTAGE_GRACE_MS: open sockets are closed with 1013, not before", async () => {
    await using redis = await startThrowawayRedis();
    const graceMs = 1_500;
    await using node = await startTestNode(
      { sessionOutageGraceMs: graceMs },
      { REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomKeyPrefix() },
    );
    // Redis confirms the session no earlier than this: the socket may play until that + grace.
    const beforeSessionMs = performance.now();
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await redis.kill();
    expect((await spinOnce(socket, "in-the-outage")).type).toBe("spin.result");
    expect(await socket.waitForClose(graceMs + 5_000)).toBe(1013);
    expect(performance.now() - beforeSessionMs).toBeGreaterThanOrEqual(graceMs);
  });

  test("outage - the grace counts from the outage, not from when the socket connected", async () => {
    await using redis = await startThrowawayRedis();
    const graceMs = 1_500;
    await using node = await startTestNode(
      { sessionOutageGraceMs: graceMs },
      { REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomKeyPrefix() },
    );
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    // Open for longer than the grace before Redis goes: revocations were heard all that time.
    const openedAtMs = performance.now();
    await waitFor(() => performance.now() - openedAtMs > graceMs + 500, 5_000, "the socket to age");
    const outageAtMs = performance.now();
    await redis.kill();
    expect((await spinOnce(socket, "after-the-outage-began")).type).toBe("spin.result");
    expect(await socket.waitForClose(graceMs + 5_000)).toBe(1013);
    expect(performance.now() - outageAtMs).toBeGreaterThanOrEqual(graceMs - 100);
  });

  test("outage - Redis restart: open sockets keep playing, new sessions get BUSY, readiness follows, revalidation closes the lost session with 4001", async () => {
    await using redis = await startThrowawayRedis();
    await using node = await startTestNode(
      {},
      { REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomKeyPrefix() },
    );
    expect((await http(node, "GET", "/health/ready")).status).toBe(200);
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const before = await spinOnce(socket, "before-1");
    expect(before.type).toBe("spin.result");

    await redis.kill();
    await waitFor(
      async () => {
        const ready = await http(node, "GET", "/health/ready");
        return ready.status === 503 && ready.body.failing.includes("sessions");
      },
      readinessBoundMs,
      "/health/ready to be 503 with sessions failing",
    );
    expect(await timedHttp(node, "GET", "/health/ready")).toEqual({
      status: 503,
      body: { status: "not-ready", failing: ["sessions"] },
    });

    // The signed-in player keeps playing on the open socket, and its token still answers HTTP.
    let seq = before.seq;
    for (let index = 1; index <= 5; index++) {
      const result = await spinOnce(socket, `during-${index}`);
      expect({ type: result.type, seq: result.seq }).toEqual({ type: "spin.result", seq: ++seq });
    }
    expect(socket.isOpen).toBe(true);
    const wallet = await http(node, "GET", "/v1/wallet", { token });
    expect(wallet.status).toBe(200);
    expect(wallet.body.balance).toBe(socket.messages.at(-1).balance);

    // No new session while the store is gone: 503 BUSY, quickly.
    const refused = await timedHttp(node, "POST", "/v1/sessions", { playerId: uniquePlayerId() });
    expect({ status: refused.status, code: refused.body?.error?.code }).toEqual({
      status: 503,
      code: "BUSY",
    });
    expect((await timedHttp(node, "GET", "/health/live")).status).toBe(200);

    // An empty Redis on the same port: the node finds it by itself.
    await redis.restart();
    const restartedAtMs = performance.now();
    await waitFor(
      async () => (await http(node, "GET", "/health/ready")).status === 200,
      readinessBoundMs,
      "/health/ready to be 200 again",
    );
    const readyAgainAfterMs = performance.now() - restartedAtMs;
    // The old session did not survive the restart: revalidation closes its socket.
    expect(await socket.waitForClose(readinessBoundMs)).toBe(4001);
    expect((await timedHttp(node, "GET", "/health/ready")).status).toBe(200);
    expect((await http(node, "GET", "/v1/wallet", { token })).status).toBe(401);

    const fresh = await newSession(node);
    const freshSocket = await RecordingSocket.open(node, fresh.token);
    expect((await spinOnce(freshSocket, "after-1")).type).toBe("spin.result");
    freshSocket.close();
    console.info(`redis outage: ready ${readyAgainAfterMs.toFixed(0)} ms after the restart`);
  });

  test("outage - Redis: a server that hangs with its connection open turns readiness 503 without any traffic, and back", async () => {
    await using redis = await startThrowawayRedis();
    await using node = await startTestNode(
      {},
      { REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomKeyPrefix() },
    );
    const readiness = async () => (await http(node, "GET", "/health/ready")).status;
    expect(await readiness()).toBe(200);
    redis.pause();
    try {
      await waitFor(async () => (await readiness()) === 503, readinessBoundMs, "not ready");
    } finally {
      redis.resume();
    }
    await waitFor(async () => (await readiness()) === 200, readinessBoundMs, "ready again");
  });

  test("outage - Redis: a revocation answered too late still closes the session's sockets on every node", async () => {
    await using redis = await startThrowawayRedis();
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: randomKeyPrefix() };
    await using a = await startTestNode({}, { ...env, NODE_ID: "node-a" });
    await using b = await startTestNode({}, { ...env, NODE_ID: "node-b" });
    const { token } = await newSession(a);
    const onA = await RecordingSocket.open(a, token);
    const onB = await RecordingSocket.open(b, token);
    const admin = new Redis(redis.url);
    try {
      // Writes stall past the node's command timeout: the revocation's outcome is unknown to A.
      await admin.call("CLIENT", "PAUSE", "1500", "WRITE");
      const revoked = await http(a, "DELETE", "/v1/sessions/current", { token });
      expect(revoked.status).toBe(503);
      // The node that could not confirm it closes its own sockets anyway (they may reconnect if
      // the session outlived it); the revocation, once applied, reaches the other node.
      expect(await onA.waitForClose(readinessBoundMs)).toBe(4001);
      expect(await onB.waitForClose(readinessBoundMs)).toBe(4001);
    } finally {
      admin.disconnect();
    }
  });
});
