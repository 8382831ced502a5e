import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAuditCli } from "../src/testing/auditRun.ts";
import { type NodeProcess, spawnNode } from "../src/testing/nodeProcess.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { balanceOf, http, newSession, RecordingSocket } from "./harness.ts";
import { fastTable, joinTable, nextOpenRound } from "./tableHelpers.ts";

/**
 * A node killed (kill -9) in the middle of a round, then started again: the round is voided and
 * every bet in it refunded exactly once; starting again runs recovery again and refunds nothing
 * more. Run on the embedded ledger and on Postgres.
 */

const table = "t-crash";
// A long betting window: the node dies while the round is certainly still open.
const tablesEnv = JSON.stringify([fastTable(table, { bettingWindowMs: 60_000 })]);
const playersCount = 3;

const postgres = await createTestDatabase();
afterAll(async () => {
  await postgres.database?.drop();
});
if (postgres.skipReason !== undefined) {
  console.warn(`skipping the postgres table crash test: ${postgres.skipReason}`);
}

function audit(env: Record<string, string>) {
  return runAuditCli({
    ...(env.DATA_DIR === undefined ? {} : { dataDir: env.DATA_DIR }),
    ...(env.DATABASE_URL === undefined ? {} : { databaseUrl: env.DATABASE_URL }),
  });
}

async function stopGracefully(node: NodeProcess): Promise<void> {
  node.process.kill("SIGTERM");
  await node.process.exited;
}

async function crashMidRound(env: Record<string, string>): Promise<void> {
  const first = await spawnNode({ ...env, TABLES: tablesEnv });
  const players = await Promise.all(
    Array.from({ length: playersCount }, (_, i) =>
      newSession(first, `tcrash-${process.pid}-${Date.now().toString(36)}-${i}`),
    ),
  );
  const starts = await Promise.all(players.map((p) => balanceOf(first, p.token)));
  let roundId = "";
  const lastSeqs: number[] = [];
  for (const [i, player] of players.entries()) {
    const socket = await RecordingSocket.open(first, player.token);
    await joinTable(socket, table);
    roundId = (await nextOpenRound(socket, table)).roundId;
    for (const [n, amount] of [100, 25 * (i + 1)].entries()) {
      socket.send({ type: "table.bet", id: `b${n}`, table, bet: { kind: "red" }, amount });
      const reply = await socket.waitFor((m) => m.id === `b${n}`);
      expect(reply).toMatchObject({ type: "table.bet.accepted", roundId });
      lastSeqs[i] = reply.seq;
    }
  }
  first.process.kill(9);
  await first.process.exited;
  // Bets in an open round are in progress, not a broken invariant.
  expect(audit(env)).toMatchObject({ exit: 0 });

  const second = await spawnNode({ ...env, TABLES: tablesEnv });
  try {
    for (const [i, player] of players.entries()) {
      // Sessions lived in the dead node's memory: sign in again.
      const { token } = await newSession(second, player.playerId);
      await waitFor(
        async () => (await balanceOf(second, token)) === starts[i],
        10_000,
        `the refund of ${player.playerId}`,
      );
      // The refund is a sequenced `balance` message, replayed to a client that was away.
      const socket = await RecordingSocket.open(second, token, `&lastSeq=${lastSeqs[i]}`);
      const refund = await socket.waitFor((m) => m.type === "balance" && m.reason === "refund");
      expect(refund).toMatchObject({ seq: (lastSeqs[i] as number) + 1, balance: starts[i] });
      socket.close();
    }
    const round = await http(second, "GET", `/v1/rounds/${roundId}`);
    expect(round.body).toMatchObject({ status: "voided", result: null });
    expect(round.body.bets).toHaveLength(playersCount * 2);
    await waitFor(
      async () => (await http(second, "GET", `/v1/rounds/${roundId}`)).body.settlement.paid,
      10_000,
      "the voided round to be marked paid",
    );
    const tables = await http(second, "GET", "/v1/tables");
    expect(tables.body.tables[0].voidedRounds).toBe(1);
  } finally {
    await stopGracefully(second);
  }

  // Recovery again at the next start: nothing more is refunded.
  const third = await spawnNode({ ...env, TABLES: tablesEnv });
  try {
    await http(third, "GET", "/v1/tables"); // the table has run its recovery by now
    for (const [i, player] of players.entries()) {
      const { token } = await newSession(third, player.playerId);
      expect(await balanceOf(third, token)).toBe(starts[i] as number);
      const history = await http(third, "GET", "/v1/wallet/history?limit=20", { token });
      const refunds = history.body.entries.filter(
        (entry: { kind: string }) => entry.kind === "refund",
      );
      expect(refunds).toEqual([
        expect.objectContaining({ id: `round:${roundId}`, amount: 100 + 25 * (i + 1) }),
      ]);
    }
  } finally {
    await stopGracefully(third);
  }
  expect(audit(env)).toMatchObject({ exit: 0 });
}

describe("table crash", () => {
  test("table crash - embedded: kill -9 mid-round voids the round and refunds each bet once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "croupier-table-crash-"));
    try {
      await crashMidRound({ DATA_DIR: dataDir });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const describePostgres = postgres.database === undefined ? test.skip : test;
  describePostgres(
    "table crash - postgres: kill -9 mid-round voids the round and refunds each bet once",
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), "croupier-table-crash-pg-"));
      try {
        await crashMidRound({
          DATA_DIR: dataDir,
          DATABASE_URL: postgres.database?.url as string,
        });
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  );
});
