import { afterAll, describe, expect, test } from "bun:test";
import { runAuditCli } from "../src/testing/auditRun.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import { balanceOf, http, newSession, RecordingSocket, startTestNode } from "./harness.ts";
import { RawWebSocket } from "./rawWebSocket.ts";
import { fastTable, joinTable } from "./tableHelpers.ts";

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
    // B's activation still holds the old seq: its write is refused by the database; it reloads
    // and runs the spin again on the state it read.
    const tokenB = (await newSession(b, playerId)).token;
    const onB = await RecordingSocket.open(b, tokenB);
    onB.send({ type: "spin", id: "two-b", game: "slot", bet: 100 });
    const fromB = await onB.waitFor((m) => m.id === "two-b");
    expect(fromB.type).toBe("spin.result");
    expect(fromB.seq).toBe(fromA.seq + 1);
    expect(fromB.balance).toBe(fromA.balance - 100 + fromB.win);
    expect((await a.context.ledger.audit()).ok).toBe(true);
    onA.close();
    onB.close();
  });

  test("postgres node - a node whose copy of the wallet is old reads it again before refusing or answering", async () => {
    await using a = await startTestNode({}, { DATABASE_URL: url });
    await using b = await startTestNode({}, { DATABASE_URL: url });
    const { token, playerId } = await newSession(a);
    const tokenB = (await newSession(b, playerId)).token;
    const start = await balanceOf(b, tokenB); // B's actor now holds this balance
    const deposit = await http(a, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 1_000, id: "on-a" },
    });
    expect(deposit.body.balance).toBe(start + 1_000);
    // B shows the deposit made on A, and pays out of it.
    expect(await balanceOf(b, tokenB)).toBe(start + 1_000);
    const withdrawal = await http(b, "POST", "/v1/wallet/withdraw", {
      token: tokenB,
      body: { playerId, amount: start + 500, id: "on-b" },
    });
    expect(withdrawal).toMatchObject({ status: 200, body: { balance: 500 } });
    // A spin on A moves the seq there; a client that saw it reconnects to B with that lastSeq.
    const onA = await RecordingSocket.open(a, token);
    onA.send({ type: "spin", id: "seen-on-a", game: "slot", bet: 100 });
    const seen = await onA.waitFor((m) => m.id === "seen-on-a");
    onA.close();
    const onB = await RecordingSocket.open(b, tokenB, `&lastSeq=${seen.seq}`);
    expect(await onB.waitFor((m) => m.type === "welcome")).toMatchObject({
      seq: seen.seq,
      balance: seen.balance,
    });
    onB.close();
    expect((await a.context.ledger.audit()).ok).toBe(true);
  });

  test("postgres node - upgrades checked at once cannot open more sockets than a player may have", async () => {
    await using node = await startTestNode({ socketsPerPlayerMax: 2 }, { DATABASE_URL: url });
    const { token, playerId } = await newSession(node);
    // Each upgrade waits on the database (the player's limits) between its cap check and its
    // registration: all of them pass the check together.
    const attempts = await Promise.allSettled(
      Array.from({ length: 12 }, () => RawWebSocket.open(node.port, `/v1/ws?token=${token}`)),
    );
    const upgraded = attempts.flatMap((attempt) =>
      attempt.status === "fulfilled" ? [attempt.value] : [],
    );
    expect(upgraded.length).toBeGreaterThanOrEqual(2);
    expect(node.context.sockets.countOfPlayer(playerId)).toBeLessThanOrEqual(2);
    for (const socket of upgraded) socket.destroy();
  });

  test("postgres node - a second node does not run a table whose players are connected to the first", async () => {
    const fast = { tables: [fastTable("t-shared")], actorIdleMs: 300 };
    await using a = await startTestNode(fast, { DATABASE_URL: url });
    await using b = await startTestNode(fast, { DATABASE_URL: url });
    const socket = await RecordingSocket.open(a, (await newSession(a)).token);
    await joinTable(socket, "t-shared");
    // Rounds go by on A while B's table keeper looks at the seats several times.
    const results = await socket.waitForCount((m) => m.type === "table.round.result", 3, 20_000);
    expect(results).toHaveLength(3);
    expect(b.actors.isActive("table", "t-shared")).toBe(false);
    // Both nodes list the same seats.
    for (const node of [a, b])
      expect((await http(node, "GET", "/v1/tables")).body.tables[0]).toMatchObject({
        table: "t-shared",
        players: 1,
      });
    expect(socket.messages.filter((m) => m.type === "table.round.voided")).toEqual([]);
    socket.close();
  });
});
