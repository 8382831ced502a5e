import { afterAll, expect, test } from "bun:test";
import {
  deleteKeysWithPrefix,
  describeWithRedis,
  randomKeyPrefix,
  sharedRedis,
} from "../src/testing/redisTestServer.ts";
import { waitFor } from "../src/testing/waitFor.ts";
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

  test("redis nodes - a burst sent at once is answered in order like in memory: the burst passes, the rest is RATE_LIMITED", async () => {
    // The defaults (50/s, burst 100); 150 frames in one go, each waiting on a Redis check.
    const limits = { commandsPerSecond: 50, commandBurst: 100 };
    await using node = await startTestNode(limits, env);
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const frames = 150;
    for (let i = 0; i < frames; i++) socket.send({ type: "ping", id: `burst-${i}` });
    // A malformed frame past the limit is answered RATE_LIMITED too, with its id.
    socket.send({ type: "spin", id: "bad-and-late", bet: "x" });
    const answers = await socket.waitForCount((m) => String(m.id).startsWith("burst-"), frames);
    expect(answers.map((m) => m.id)).toEqual(
      Array.from({ length: frames }, (_, i) => `burst-${i}`),
    );
    expect(answers.slice(0, 100).every((m) => m.type === "pong")).toBe(true);
    // The bucket refills at 50/s while the burst arrives: a few more than 100 may pass.
    const limited = answers.filter((m) => m.code === "RATE_LIMITED").length;
    expect(limited).toBeGreaterThan(40);
    expect(answers.filter((m) => m.type === "pong").length + limited).toBe(frames);
    expect(await socket.waitFor((m) => m.id === "bad-and-late")).toMatchObject({
      code: "RATE_LIMITED",
    });
    expect(socket.isOpen).toBe(true);
    socket.close();
  });

  test("redis nodes - a frame allowed after refused ones ends their streak: bursts now and then never close the socket", async () => {
    const limits = { commandsPerSecond: 20, commandBurst: 3, rateLimitStrikesMax: 2 };
    await using node = await startTestNode(limits, env);
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    // More bursts than strikes: each is one frame over the burst, after the bucket refilled.
    for (let burst = 0; burst < 6; burst++) {
      const burstAtMs = performance.now();
      for (let i = 0; i < 4; i++) socket.send({ type: "ping", id: `b${burst}-${i}` });
      const answers = await socket.waitForCount((m) => String(m.id).startsWith(`b${burst}-`), 4);
      expect(answers.map((m) => m.type)).toEqual(["pong", "pong", "pong", "error"]);
      // A token bucket refills with time: 3 tokens take 150 ms at 20/s.
      await waitFor(() => performance.now() - burstAtMs > 200, 1_000, "the bucket to refill");
    }
    expect(socket.isOpen).toBe(true);
    socket.close();
  });
});
