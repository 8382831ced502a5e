import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NodeProcess, spawnNode } from "../src/testing/nodeProcess.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import {
  deleteKeysWithPrefix,
  describeWithRedis,
  randomKeyPrefix,
  sharedRedis,
} from "../src/testing/redisTestServer.ts";
import { http, newSession, RecordingSocket, uniquePlayerId } from "./harness.ts";

/**
 * Two node *processes* sharing Redis and Postgres, as an operator runs them: revocation and
 * self-exclusion on one reach the sockets of the other within 1 s.
 */
const operatorKey = "test-operator-key-processes-0123456789";
const target = await sharedRedis();
const keyPrefix = randomKeyPrefix();
const availability = await createTestDatabase();
const dataDirs: string[] = [];
afterAll(async () => {
  if (target.available) await deleteKeysWithPrefix(target.url, keyPrefix);
  await availability.database?.drop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

async function twoNodes(
  redisUrl: string,
  databaseUrl: string,
): Promise<[NodeProcess, NodeProcess]> {
  const env = () => {
    const dir = mkdtempSync(join(tmpdir(), "croupier-proc-"));
    dataDirs.push(dir);
    return {
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: keyPrefix,
      DATABASE_URL: databaseUrl,
      OPERATOR_KEY: operatorKey,
      DATA_DIR: dir,
    };
  };
  return Promise.all([spawnNode(env()), spawnNode(env())]) as Promise<[NodeProcess, NodeProcess]>;
}

async function stop(nodes: NodeProcess[]): Promise<void> {
  for (const node of nodes) node.process.kill("SIGTERM");
  await Promise.all(nodes.map((node) => node.process.exited));
}

if (availability.skipReason !== undefined)
  console.warn(`skipping process nodes: ${availability.skipReason}`);
const redisTarget =
  availability.database === undefined
    ? { ...target, available: false as const, reason: availability.skipReason ?? "" }
    : target;

describeWithRedis(redisTarget, "process nodes", (redisUrl) => {
  test("process nodes - revocation and self-exclusion on one node process close sockets on the other with 4001", async () => {
    if (availability.database === undefined)
      throw new Error(`Postgres is required: ${availability.skipReason}`);
    const nodes = await twoNodes(redisUrl, availability.database.url);
    const [a, b] = nodes;
    try {
      // Revocation: a session made through A, used on B, revoked through A.
      const first = await newSession(a, uniquePlayerId("rev"), operatorKey);
      const onB = await RecordingSocket.open(b, first.token);
      const revokedAt = performance.now();
      expect((await http(a, "DELETE", "/v1/sessions/current", { token: first.token })).status).toBe(
        204,
      );
      expect(await onB.waitForClose(1_000)).toBe(4001);
      expect(performance.now() - revokedAt).toBeLessThan(1_000);

      // Self-exclusion: the player's sockets on both processes close, and B refuses a new session.
      const player = await newSession(a, uniquePlayerId("excl"), operatorKey);
      const second = await newSession(b, player.playerId, operatorKey);
      const socketA = await RecordingSocket.open(a, player.token);
      const socketB = await RecordingSocket.open(b, second.token);
      const until = new Date(Date.now() + 3_600_000).toISOString();
      const set = await http(a, "PUT", `/v1/players/${player.playerId}/limits`, {
        token: operatorKey,
        body: { selfExcludedUntil: until },
      });
      expect(set.status).toBe(200);
      expect(await socketA.waitForClose(1_000)).toBe(4001);
      expect(await socketB.waitForClose(1_000)).toBe(4001);
      const refused = await http(b, "POST", "/v1/sessions", {
        token: operatorKey,
        body: { playerId: player.playerId },
      });
      expect({ status: refused.status, code: refused.body.error.code }).toEqual({
        status: 403,
        code: "SELF_EXCLUDED",
      });
    } finally {
      await stop(nodes);
    }
  }, 60_000);
});
