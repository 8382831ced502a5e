import { afterAll, expect, test } from "bun:test";
import {
  deleteKeysWithPrefix,
  describeWithRedis,
  randomKeyPrefix,
  sharedRedis,
} from "../src/testing/redisTestServer.ts";
import { http, newSession, RecordingSocket, startTestNode } from "./harness.ts";

const target = await sharedRedis();
const keyPrefix = randomKeyPrefix();
afterAll(async () => {
  if (target.available) await deleteKeysWithPrefix(target.url, keyPrefix);
});

describeWithRedis(target, "redis nodes", (url) => {
  const env = { REDIS_URL: url, REDIS_KEY_PREFIX: keyPrefix };

  test("redis nodes - a session made on one node works on another, and revoking it closes sockets on both with 4001", async () => {
    await using a = await startTestNode({}, env);
    await using b = await startTestNode({}, env);
    const { token } = await newSession(a);
    const onA = await RecordingSocket.open(a, token);
    const onB = await RecordingSocket.open(b, token);
    const startedAt = performance.now();
    expect((await http(a, "DELETE", "/v1/sessions/current", { token })).status).toBe(204);
    expect(await onA.waitForClose(1_000)).toBe(4001);
    expect(await onB.waitForClose(1_000)).toBe(4001);
    expect(performance.now() - startedAt).toBeLessThan(1_000);
    expect((await http(b, "GET", "/v1/wallet", { token })).status).toBe(401);
  });

  test("redis nodes - rate limits are shared: a player's burst is counted across nodes", async () => {
    const limits = { commandsPerSecond: 1, commandBurst: 4 };
    await using a = await startTestNode(limits, env);
    await using b = await startTestNode(limits, env);
    const { token } = await newSession(a);
    const onA = await RecordingSocket.open(a, token);
    const onB = await RecordingSocket.open(b, token);
    for (let i = 0; i < 3; i++) onA.send({ type: "ping", id: `a-${i}` });
    for (let i = 0; i < 3; i++) onB.send({ type: "ping", id: `b-${i}` });
    const answersA = await onA.waitForCount((m) => String(m.id).startsWith("a-"), 3);
    const answersB = await onB.waitForCount((m) => String(m.id).startsWith("b-"), 3);
    const all = [...answersA, ...answersB];
    expect(all.filter((m) => m.type === "pong")).toHaveLength(4);
    expect(all.filter((m) => m.code === "RATE_LIMITED")).toHaveLength(2);
    onA.close();
    onB.close();
  });
});
