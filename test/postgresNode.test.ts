import { afterAll, describe, expect, test } from "bun:test";
import { runAuditCli } from "../src/testing/auditRun.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import { balanceOf, http, newSession, RecordingSocket, startTestNode } from "./harness.ts";

const availability = await createTestDatabase();
afterAll(async () => {
  await availability.database?.drop();
});
if (availability.skipReason !== undefined)
  console.warn(`skipping postgres node tests: ${availability.skipReason}`);
const describePostgres = availability.database === undefined ? describe.skip : describe;

describePostgres("postgres node", () => {
  const url = availability.database?.url as string;

  test("postgres node - DATABASE_URL puts the money in Postgres: spins, retries and the audit", async () => {
    await using node = await startTestNode({}, { DATABASE_URL: url });
    expect(node.context.ledger.durability()).toContain("synchronous_commit");
    const { token, playerId } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    socket.send({ type: "spin", id: "pg-1", game: "slot", bet: 100 });
    const first = await socket.waitFor((m) => m.id === "pg-1");
    socket.messages.length = 0;
    socket.send({ type: "spin", id: "pg-1", game: "slot", bet: 100 });
    expect(await socket.waitFor((m) => m.id === "pg-1")).toEqual(first);
    expect(await balanceOf(node, token)).toBe(first.balance);
    const deposit = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 500, id: "pg-d" },
    });
    expect(deposit.body.balance).toBe(first.balance + 500);
    socket.close();
    expect(runAuditCli({ databaseUrl: url })).toMatchObject({ exit: 0 });
  });

  test("postgres node - a player's wallet is one truth across two nodes: a stale node is fenced", async () => {
    await using a = await startTestNode({}, { DATABASE_URL: url });
    await using b = await startTestNode({}, { DATABASE_URL: url });
    const { token, playerId } = await newSession(a);
    await newSession(b, playerId); // activates the same player on B too
    const onA = await RecordingSocket.open(a, token);
    onA.send({ type: "spin", id: "two-a", game: "slot", bet: 100 });
    const fromA = await onA.waitFor((m) => m.id === "two-a");
    // B's activation still holds the old seq: its write is refused by the database, and it reloads.
    const tokenB = (await newSession(b, playerId)).token;
    const onB = await RecordingSocket.open(b, tokenB);
    onB.send({ type: "spin", id: "two-b", game: "slot", bet: 100 });
    const fromB = await onB.waitFor((m) => m.id === "two-b");
    expect({ type: fromB.type, code: fromB.code }).toEqual({ type: "error", code: "BUSY" });
    onB.send({ type: "spin", id: "two-b", game: "slot", bet: 100 });
    const retried = await onB.waitFor((m) => m.id === "two-b" && m.type === "spin.result");
    expect(retried.seq).toBe(fromA.seq + 1);
    expect(retried.balance).toBe(fromA.balance - 100 + retried.win);
    expect((await a.context.ledger.audit()).ok).toBe(true);
    onA.close();
    onB.close();
  });
});
