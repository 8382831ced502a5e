import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableBetsPerRoundMax } from "../src/actors/player.ts";
import { openEmbeddedLedger } from "../src/store/embedded/embeddedLedger.ts";
import {
  openTempLedger,
  removeDataDirs,
  testLedgerOptions,
} from "../src/store/embedded/testing/tempLedger.ts";
import { ledgerWithMethod } from "../src/testing/ledgerWithMethod.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import {
  balanceOf,
  holdSeats,
  holdWrites,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
  type TestNode,
  uniquePlayerId,
} from "./harness.ts";
import {
  commitOfSeed,
  everyBetKind,
  expectedCredit,
  fastTable,
  joinTable,
  nextOpenRound,
  recomputeNumber,
  type WireBet,
} from "./tableHelpers.ts";

const table = "t-fast";

const postgres = await createTestDatabase();
afterAll(async () => {
  await postgres.database?.drop();
  await removeDataDirs();
});
if (postgres.skipReason !== undefined) {
  console.warn(`skipping the postgres table test: ${postgres.skipReason}`);
}
const testPostgres = postgres.database === undefined ? test.skip : test;

async function tableNode() {
  return startTestNode({ tables: [fastTable(table), fastTable("t-other")] });
}

/** Verifies a finished round from the outside: commit, number and every bet's credit. */
async function checkRoundFromOutside(node: { httpUrl: string }, roundId: string) {
  const { status, body } = await http(node, "GET", `/v1/rounds/${roundId}`);
  expect(status).toBe(200);
  expect(body.status).toBe("settled");
  expect(commitOfSeed(body.serverSeed)).toBe(body.commit);
  const number = recomputeNumber(body.serverSeed, roundId, body.clientSeeds);
  expect(body.result).toEqual({ number });
  for (const bet of body.bets) {
    expect(bet.win).toBe(expectedCredit(bet.bet, bet.amount, number));
  }
  return body;
}

/** A round with three players betting every kind; everything checked against PROTOCOL.md. */
async function playFullRound(node: TestNode): Promise<void> {
  const players = await Promise.all([1, 2, 3].map(() => newSession(node)));
  const sockets = await Promise.all(players.map((p) => RecordingSocket.open(node, p.token)));
  const startBalances = await Promise.all(players.map((p) => balanceOf(node, p.token)));
  for (const socket of sockets) await joinTable(socket, table);
  const round = await nextOpenRound(sockets[0] as RecordingSocket, table);
  expect(round.commit).toMatch(/^[0-9a-f]{64}$/);
  // Each player bets every kind, with its own amounts and a client seed on some bets.
  const placed: { player: number; bet: WireBet; amount: number }[] = [];
  await Promise.all(
    sockets.map(async (socket, player) => {
      for (const [n, bet] of everyBetKind.entries()) {
        const amount = 10 * (player + 1) + n;
        const id = `bet-${n}`;
        socket.send({
          type: "table.bet",
          id,
          table,
          bet,
          amount,
          roundId: round.roundId,
          ...(n % 5 === 0 ? { clientSeed: `seed-${player}-${n}` } : {}),
        });
        const reply = await socket.waitFor((m) => m.id === id);
        expect(reply).toMatchObject({
          type: "table.bet.accepted",
          table,
          roundId: round.roundId,
        });
        placed.push({ player, bet, amount });
      }
    }),
  );
  const closed = await (sockets[0] as RecordingSocket).waitFor(
    (m) => m.type === "table.round.closed" && m.roundId === round.roundId,
  );
  const seeds = [0, 1, 2].flatMap((player) =>
    everyBetKind.flatMap((_, n) => (n % 5 === 0 ? [`seed-${player}-${n}`] : [])),
  );
  expect(closed.clientSeeds).toEqual(seeds.sort());
  const results = await Promise.all(
    sockets.map((socket) =>
      socket.waitFor((m) => m.type === "table.round.result" && m.roundId === round.roundId),
    ),
  );
  const number = results[0].result.number;
  expect(results.every((r) => r.result.number === number)).toBe(true);
  expect(recomputeNumber(results[0].serverSeed, round.roundId, closed.clientSeeds)).toBe(number);
  expect(commitOfSeed(results[0].serverSeed)).toBe(round.commit);
  for (const [player, socket] of sockets.entries()) {
    const mine = placed.filter((p) => p.player === player);
    const staked = mine.reduce((sum, p) => sum + p.amount, 0);
    const credit = mine.reduce((sum, p) => sum + expectedCredit(p.bet, p.amount, number), 0);
    const payout = await socket.waitFor(
      (m) => m.type === "table.payout" && m.roundId === round.roundId,
    );
    const expectedBalance = (startBalances[player] as number) - staked + credit;
    expect(payout).toMatchObject({ table, win: credit, balance: expectedBalance });
    const lastBet = socket.messages.findLast((m) => m.type === "table.bet.accepted");
    expect(payout.seq).toBe(lastBet.seq + 1);
    expect(await balanceOf(node, (players[player] as { token: string }).token)).toBe(
      expectedBalance,
    );
    // One payout per player per round, on every socket.
    expect(socket.messages.filter((m) => m.type === "table.payout")).toHaveLength(1);
  }
  await checkRoundFromOutside(node, round.roundId);
  // History: each bet and the round's settlement.
  const history = await http(node, "GET", "/v1/wallet/history?limit=50", {
    token: (players[0] as { token: string }).token,
  });
  const ids = history.body.entries.map((entry: { id: string }) => entry.id);
  expect(ids).toContain("bet-0");
  const settlementEntries = history.body.entries.filter(
    (entry: { id: string }) => entry.id === `round:${round.roundId}`,
  );
  expect(settlementEntries.length).toBeLessThanOrEqual(1);
  const audit = await node.context.ledger.audit();
  expect(audit.failures).toEqual([]);
  for (const socket of sockets) socket.close();
}

describe("tables", () => {
  test("tables - a full round: several players, every bet kind paid exactly, verifiable from outside", async () => {
    await using node = await tableNode();
    await playFullRound(node);
  });

  testPostgres("tables - postgres: a full round pays every bet kind exactly", async () => {
    await using node = await startTestNode(
      { tables: [fastTable(table)] },
      { DATABASE_URL: postgres.database?.url as string },
    );
    await playFullRound(node);
  });

  test("tables - late bets, stale round ids, limits, unseated players and unknown tables move nothing", async () => {
    await using node = await tableNode();
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const start = await balanceOf(node, token);
    const refusal = async (frame: Record<string, unknown>) => {
      socket.send(frame);
      const reply = await socket.waitFor((m) => m.id === frame.id);
      expect(reply.type).toBe("error");
      return reply.code;
    };
    const bet = { type: "table.bet", table, bet: { kind: "red" }, amount: 100 };
    expect(await refusal({ ...bet, id: "unseated" })).toBe("NOT_SEATED");
    expect(await refusal({ ...bet, id: "unknown", table: "no-such-table" })).toBe("UNKNOWN_TABLE");
    expect(await refusal({ type: "table.join", id: "unknown-join", table: "nowhere" })).toBe(
      "UNKNOWN_TABLE",
    );
    expect(await refusal({ type: "table.leave", id: "leave-first", table })).toBe("NOT_SEATED");
    await joinTable(socket, table);
    const round = await nextOpenRound(socket, table);
    expect(await refusal({ ...bet, id: "small", amount: 9 })).toBe("LIMIT_EXCEEDED");
    expect(await refusal({ ...bet, id: "big", amount: 5_001 })).toBe("LIMIT_EXCEEDED");
    expect(await refusal({ ...bet, id: "stale", roundId: "0190-not-this-round" })).toBe(
      "BETTING_CLOSED",
    );
    expect(await refusal({ ...bet, id: "float", amount: 10.5 })).toBe("BAD_REQUEST");
    expect(await refusal({ ...bet, id: "kind", bet: { kind: "split" } })).toBe("BAD_REQUEST");
    expect(await refusal({ ...bet, id: "seed", clientSeed: "a,b" })).toBe("BAD_REQUEST");
    await socket.waitFor((m) => m.type === "table.round.closed" && m.roundId === round.roundId);
    // Late: the round this bet names has closed.
    expect(await refusal({ ...bet, id: "late", roundId: round.roundId })).toBe("BETTING_CLOSED");
    expect(await balanceOf(node, token)).toBe(start);
    // Refused ids stay unused: the same id bets fine in the next round.
    const next = await nextOpenRound(socket, table);
    socket.send({ ...bet, id: "late", roundId: next.roundId });
    expect(await socket.waitFor((m) => m.id === "late" && m.type !== "error")).toMatchObject({
      type: "table.bet.accepted",
      roundId: next.roundId,
      balance: start - 100,
    });
    socket.send({ type: "table.leave", id: "leave", table });
    expect(await socket.waitFor((m) => m.id === "leave")).toEqual({
      type: "table.left",
      id: "leave",
      table,
    });
    expect(await refusal({ ...bet, id: "after-leave" })).toBe("NOT_SEATED");
    socket.close();
  });

  test("tables - a leave sent after a bet waits for it, even past a command refused BUSY between them", async () => {
    const held = holdWrites(await openTempLedger());
    await using node = await startTestNode(
      { tables: [fastTable(table, { bettingWindowMs: 10_000 })], mailboxCapacity: 1 },
      {},
      { ledger: held.ledger },
    );
    const { token, playerId } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    await nextOpenRound(socket, table);
    // The player actor is busy with a slow spin; the bet waits in its mailbox (now full), so the
    // next spin is refused BUSY at once: the leave must still wait for the bet, not for that spin.
    held.hold("slow");
    socket.send({ type: "spin", id: "slow", game: "slot", bet: 100 });
    await held.reached("slow");
    socket.send({ type: "table.bet", id: "b", table, bet: { kind: "red" }, amount: 100 });
    socket.send({ type: "spin", id: "busy", game: "slot", bet: 100 });
    expect((await socket.waitFor((m) => m.id === "busy")).code).toBe("BUSY");
    socket.send({ type: "table.leave", id: "l", table });
    const [serverSide] = node.context.sockets.ofPlayer(playerId);
    // The leave has reached the server: either it is answered, or it waits (holding frames back).
    await waitFor(
      () => socket.messages.some((m) => m.id === "l") || serverSide?.inbound !== undefined,
      5_000,
      "the leave to arrive",
    );
    held.release("slow");
    await socket.waitFor((m) => m.id === "l");
    const answers = socket.messages.filter((m) => m.id === "b" || m.id === "l");
    expect(answers.map((m) => `${m.id}:${m.code ?? m.type}`)).toEqual([
      "b:table.bet.accepted",
      "l:table.left",
    ]);
  });

  test("tables - a bet whose win could take the balance past 2^53-1 is LIMIT_EXCEEDED and moves nothing", async () => {
    await using node = await startTestNode({
      tables: [fastTable(table, { bettingWindowMs: 5_000 })],
      startingBalance: 0,
    });
    const { token, playerId } = await newSession(node);
    const nearTop = Number.MAX_SAFE_INTEGER - 50;
    const deposit = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: nearTop, id: "top" },
    });
    expect(deposit.status).toBe(200);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    const round = await nextOpenRound(socket, table, 1_000);
    const send = (id: string, amount: number, bet: WireBet) =>
      socket.send({ type: "table.bet", id, table, bet, amount, roundId: round.roundId });
    send("too-much", 100, { kind: "red" });
    expect(await socket.waitFor((m) => m.id === "too-much")).toMatchObject({
      type: "error",
      code: "LIMIT_EXCEEDED",
    });
    expect(await balanceOf(node, token)).toBe(nearTop);
    send("fits", 10, { kind: "red" });
    expect((await socket.waitFor((m) => m.id === "fits")).type).toBe("table.bet.accepted");
    // Alone it would fit (50 back on top of its own stake); counted with the bet before it (20
    // more), it could not.
    send("second", 50, { kind: "black" });
    expect(await socket.waitFor((m) => m.id === "second")).toMatchObject({
      code: "LIMIT_EXCEEDED",
    });
    expect(await balanceOf(node, token)).toBe(nearTop - 10);
    // What "fits" may win (20) stays reserved: neither a deposit nor a spin may take the room.
    const depositOf = (id: string, amount: number) =>
      http(node, "POST", "/v1/wallet/deposit", { token, body: { playerId, amount, id } });
    const over = await depositOf("over", 41);
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe("LIMIT_EXCEEDED");
    socket.send({ type: "spin", id: "spin-top", game: "slot", bet: 20 });
    expect(await socket.waitFor((m) => m.id === "spin-top")).toMatchObject({
      code: "LIMIT_EXCEEDED",
    });
    expect(await balanceOf(node, token)).toBe(nearTop - 10);
    expect((await depositOf("to-the-brim", 40)).status).toBe(200);
    // Whatever the number, the round settles and pays in full.
    await waitFor(
      async () => (await node.context.ledger.tableRound(round.roundId))?.paid === true,
      15_000,
      "the round to be paid",
    );
    const result = (await node.context.ledger.tableRound(round.roundId))?.result as number;
    const credit = expectedCredit({ kind: "red" }, 10, result);
    expect(await balanceOf(node, token)).toBe(Number.MAX_SAFE_INTEGER - 20 + credit);
  });

  test("tables - the bound on bets per round holds across a restart of the player actor", async () => {
    const ledger = await openTempLedger();
    // One spin's write fails as a disk would: the outcome is in doubt, the actor reloads.
    const failing = ledgerWithMethod(ledger, "write", async (write) => {
      if (write.commandId === "doubt") throw new Error("the disk failed (test)");
      return ledger.write(write);
    });
    await using node = await startTestNode(
      { tables: [fastTable(table, { bettingWindowMs: 10_000 })] },
      {},
      { ledger: failing },
    );
    const { token, playerId } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    const round = await nextOpenRound(socket, table, 5_000);
    const isBet = (m: { id?: unknown }) => String(m.id).startsWith("cap-");
    for (let i = 0; i < tableBetsPerRoundMax; i++) {
      const bet = { kind: "straight", number: i % 37 };
      socket.send({
        type: "table.bet",
        id: `cap-${i}`,
        table,
        bet,
        amount: 10,
        roundId: round.roundId,
      });
      if (i % 25 === 24) await socket.waitForCount(isBet, i + 1);
    }
    const answers = await socket.waitForCount(isBet, tableBetsPerRoundMax);
    expect(answers.every((m) => m.type === "table.bet.accepted")).toBe(true);
    socket.send({ type: "spin", id: "doubt", game: "slot", bet: 20 });
    expect(await socket.waitFor((m) => m.id === "doubt")).toMatchObject({ code: "INTERNAL" });
    const bet = { kind: "red" };
    socket.send({
      type: "table.bet",
      id: "cap-over",
      table,
      bet,
      amount: 10,
      roundId: round.roundId,
    });
    expect(await socket.waitFor((m) => m.id === "cap-over")).toMatchObject({
      type: "error",
      code: "LIMIT_EXCEEDED",
    });
    const stored = await node.context.ledger.tableRoundBets(round.roundId);
    expect(stored.filter((b) => b.playerId === playerId)).toHaveLength(tableBetsPerRoundMax);
  });

  test("tables - one player's bets in one round are bounded per table; past the bound LIMIT_EXCEEDED moves nothing", async () => {
    const tables = [table, "t-other"];
    await using node = await startTestNode({
      tables: tables.map((id) => fastTable(id, { bettingWindowMs: 10_000 })),
    });
    const { token } = await newSession(node);
    const before = await balanceOf(node, token);
    const socket = await RecordingSocket.open(node, token);
    const roundIds: string[] = [];
    for (const id of tables) {
      await joinTable(socket, id);
      roundIds.push((await nextOpenRound(socket, id, 5_000)).roundId);
    }
    // Alternating between the tables: each keeps its own count.
    const betsPerTable = tableBetsPerRoundMax + 1;
    const isAnswer = (m: { id?: unknown }) => String(m.id).startsWith("many-");
    for (let i = 0; i < betsPerTable * 2; i++) {
      const t = i % 2;
      const bet = { kind: "straight", number: i % 37 };
      const roundId = roundIds[t];
      const id = `many-${tables[t]}-${Math.floor(i / 2)}`;
      socket.send({ type: "table.bet", id, table: tables[t], bet, amount: 10, roundId });
      // In groups that fit a mailbox, so that no bet is refused BUSY on the way.
      if (i % 25 === 24) await socket.waitForCount(isAnswer, i + 1);
    }
    const answers = await socket.waitForCount(isAnswer, betsPerTable * 2);
    for (const id of tables) {
      const ofTable = answers.filter((m) => m.id.startsWith(`many-${id}-`));
      const accepted = ofTable.filter((m) => m.type === "table.bet.accepted");
      expect(accepted).toHaveLength(tableBetsPerRoundMax);
      expect(ofTable.find((m) => m.id === `many-${id}-${betsPerTable - 1}`)).toMatchObject({
        type: "error",
        code: "LIMIT_EXCEEDED",
      });
    }
    expect(await balanceOf(node, token)).toBe(before - 2 * 10 * tableBetsPerRoundMax);
  });

  test("tables - a bet sent twice, and 10 copies at once over two sockets, is debited once", async () => {
    await using node = await tableNode();
    const { token } = await newSession(node);
    const a = await RecordingSocket.open(node, token);
    const b = await RecordingSocket.open(node, token);
    const start = await balanceOf(node, token);
    await joinTable(a, table);
    const round = await nextOpenRound(a, table);
    const frame = { type: "table.bet", id: "dup", table, bet: { kind: "odd" }, amount: 50 };
    for (let i = 0; i < 5; i++) {
      a.send(frame);
      b.send(frame);
    }
    const onA = await a.waitForCount((m) => m.id === "dup", 5);
    const onB = await b.waitForCount((m) => m.id === "dup", 5);
    for (const reply of [...onA, ...onB]) {
      expect(reply).toEqual({ ...(onA[0] as object), type: "table.bet.accepted" });
    }
    expect(onA[0].roundId).toBe(round.roundId);
    expect(await balanceOf(node, token)).toBe(start - 50);
    // The same id with another amount is a conflict.
    a.send({ ...frame, amount: 60 });
    expect(await a.waitFor((m) => m.id === "dup" && m.type === "error")).toMatchObject({
      code: "IDEMPOTENCY_CONFLICT",
    });
    // After the round, the retry still returns the stored reply.
    await a.waitFor((m) => m.type === "table.payout" && m.roundId === round.roundId);
    a.send(frame);
    const later = await a.waitForCount((m) => m.id === "dup" && m.type !== "error", 6);
    expect(later[5]).toEqual(onA[0]);
    a.close();
    b.close();
  });

  test("tables - bets racing the close are either in the round and settled, or refused and not debited", async () => {
    await using node = await startTestNode({
      tables: [fastTable(table, { bettingWindowMs: 300, resultDisplayMs: 100 })],
    });
    const players = await Promise.all(Array.from({ length: 6 }, () => newSession(node)));
    const sockets = await Promise.all(players.map((p) => RecordingSocket.open(node, p.token)));
    const starts = await Promise.all(players.map((p) => balanceOf(node, p.token)));
    for (const socket of sockets) await joinTable(socket, table);
    // Every player bets back to back across at least one close.
    const firstOpen = await (sockets[0] as RecordingSocket).waitFor(
      (m) => m.type === "table.round.open",
    );
    await Promise.all(
      sockets.map(async (socket) => {
        for (let n = 0; n < 40; n++) {
          const id = `race-${n}`;
          socket.send({ type: "table.bet", id, table, bet: { kind: "even" }, amount: 10 });
          await socket.waitFor((m) => m.id === id);
          if (socket.messages.some((m) => m.type === "table.round.result")) break;
        }
      }),
    );
    for (const [i, socket] of sockets.entries()) {
      await waitFor(
        () => {
          const accepted = socket.messages.filter((m) => m.type === "table.bet.accepted");
          const rounds = new Set(accepted.map((m) => m.roundId));
          const paid = socket.messages.filter((m) => m.type === "table.payout");
          return [...rounds].every((r) => paid.some((p) => p.roundId === r));
        },
        10_000,
        "a payout for every round the player bet in",
      );
      const accepted = socket.messages.filter((m) => m.type === "table.bet.accepted");
      const refused = socket.messages.filter((m) => m.type === "error");
      for (const error of refused) expect(error.code).toBe("BETTING_CLOSED");
      const credited = socket.messages
        .filter((m) => m.type === "table.payout")
        .reduce((sum, m) => sum + m.win, 0);
      const expected = (starts[i] as number) - 10 * accepted.length + credited;
      expect(await balanceOf(node, (players[i] as { token: string }).token)).toBe(expected);
      // Every accepted bet is recorded in its round.
      for (const reply of accepted) {
        const { body } = await http(node, "GET", `/v1/rounds/${reply.roundId}`);
        expect(body.bets.length).toBeGreaterThan(0);
      }
    }
    expect(firstOpen.roundId).toBeDefined();
    expect((await node.context.ledger.audit()).failures).toEqual([]);
    for (const socket of sockets) socket.close();
  });

  test("tables - a seat outlives a restart of the node: the player reconnects seated and bets without joining", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "croupier-seats-"));
    try {
      const playerId = uniquePlayerId();
      {
        await using node = await startTestNode({ dataDir, tables: [fastTable(table)] });
        const { token } = await newSession(node, playerId);
        const socket = await RecordingSocket.open(node, token);
        await joinTable(socket, table);
        socket.close();
      }
      await using restarted = await startTestNode({ dataDir, tables: [fastTable(table)] });
      const { token } = await newSession(restarted, playerId);
      const socket = await RecordingSocket.open(restarted, token);
      // Still joined: the reconnect restores the table (PROTOCOL.md: joined until table.leave).
      const state = await socket.waitFor((m) => m.type === "table.state" && m.table === table);
      expect(state.state).toMatchObject({ table, game: "roulette" });
      const round = await nextOpenRound(socket, table);
      socket.send({
        type: "table.bet",
        id: "after-restart",
        table,
        bet: { kind: "red" },
        amount: 10,
      });
      expect(await socket.waitFor((m) => m.id === "after-restart")).toMatchObject({
        type: "table.bet.accepted",
        roundId: round.roundId,
      });
      socket.send({ type: "table.leave", id: "bye", table });
      expect((await socket.waitFor((m) => m.id === "bye")).type).toBe("table.left");
      expect(await restarted.context.ledger.tableSeats(table)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("tables - a table with seated players whose start failed is started again and resumes its rounds", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "croupier-seats-"));
    try {
      const playerId = uniquePlayerId();
      {
        await using node = await startTestNode({ dataDir, tables: [fastTable(table)] });
        const socket = await RecordingSocket.open(node, (await newSession(node, playerId)).token);
        await joinTable(socket, table);
        socket.close();
      }
      // The ledger cannot list the table's seats once: the table's start fails.
      const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
      let failures = 1;
      const flaky = ledgerWithMethod(ledger, "tableSeats", async (tableId) => {
        if (failures-- > 0) throw new Error("the ledger did not answer (test)");
        return ledger.tableSeats(tableId);
      });
      await using restarted = await startTestNode(
        { dataDir, tables: [fastTable(table)], actorIdleMs: 200 },
        {},
        { ledger: flaky },
      );
      // Nobody sends the table anything: it must start again by itself and open rounds.
      const startedAtMs = Date.now();
      await waitFor(
        async () =>
          (await restarted.context.ledger.unfinishedTableRounds(table)).some(
            (round) => round.openedAt >= startedAtMs,
          ),
        10_000,
        "the table to open a round",
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("tables - a player who reconnects mid-round gets table.state, and the missed payout via lastSeq", async () => {
    await using node = await tableNode();
    const { token } = await newSession(node);
    const first = await RecordingSocket.open(node, token);
    await joinTable(first, table);
    const round = await nextOpenRound(first, table);
    first.send({ type: "table.bet", id: "b1", table, bet: { kind: "low" }, amount: 100 });
    const accepted = await first.waitFor((m) => m.id === "b1");
    expect(accepted.type).toBe("table.bet.accepted");
    // A second socket opened mid-round sees the round and the player's own bet in it.
    const second = await RecordingSocket.open(node, token);
    const during = await second.waitFor((m) => m.type === "table.state");
    expect(during.state.round).toMatchObject({ roundId: round.roundId });
    expect(during.bets).toEqual([
      { id: "b1", bet: { kind: "low" }, amount: 100, clientSeed: null },
    ]);
    second.close();
    first.close();
    await first.waitForClose();
    // Away while the round settles: its payout is stored in the player's event log.
    await waitFor(
      async () => (await node.context.ledger.tableRound(round.roundId))?.paid === true,
      10_000,
      "the round to be paid",
    );
    const back = await RecordingSocket.open(node, token, `&lastSeq=${accepted.seq}`);
    const payout = await back.waitFor((m) => m.type === "table.payout");
    expect(payout).toMatchObject({ seq: accepted.seq + 1, roundId: round.roundId, table });
    const state = await back.waitFor((m) => m.type === "table.state");
    expect(state.table).toBe(table);
    expect(state.state).toMatchObject({ table, game: "roulette", minBet: 10, maxBet: 5_000 });
    expect(state.state.players).toBe(1);
    // Still joined: the next round's broadcasts reach the new socket, and it can bet.
    const next = await nextOpenRound(back, table);
    back.send({ type: "table.bet", id: "b2", table, bet: { kind: "high" }, amount: 100 });
    expect(await back.waitFor((m) => m.id === "b2")).toMatchObject({
      type: "table.bet.accepted",
      roundId: next.roundId,
    });
    back.close();
  });

  test("tables - a reconnect that finds the table busy asks again and gets table.state and the rounds", async () => {
    // Seat writes wait at a gate: a join then holds the table's turn while its mailbox fills.
    const seats = holdSeats(await openTempLedger());
    await using node = await startTestNode(
      { tables: [fastTable(table)], tableMailboxCapacity: 1 },
      {},
      { ledger: seats.ledger },
    );
    const seated = await newSession(node);
    const first = await RecordingSocket.open(node, seated.token);
    await joinTable(first, table);
    seats.hold();
    const other = await RecordingSocket.open(node, (await newSession(node)).token);
    other.send({ type: "table.join", id: "j-other", table });
    await seats.reached();
    const waiting = node.context.askTable(table, { type: "summary" });
    await expect(node.context.askTable(table, { type: "summary" })).rejects.toMatchObject({
      code: "BUSY",
    });
    // The seated player's new socket meets the full mailbox.
    const second = await RecordingSocket.open(node, seated.token);
    await second.waitFor((m) => m.type === "welcome");
    seats.release();
    await waiting;
    const state = await second.waitFor((m) => m.type === "table.state", 10_000);
    expect(state.table).toBe(table);
    const after = Date.now();
    await second.waitFor(
      (m) => m.type === "table.round.open" && Date.parse(m.closesAt) > after,
      10_000,
    );
    expect(second.isOpen).toBe(true);
    for (const socket of [first, second, other]) socket.close();
  });

  test("tables - a socket of a player not seated gets none of a table's events, even those sent while its seat is checked", async () => {
    // The table's settle waits at a gate: its turn holds, and a new socket's seat check waits
    // behind it while the round's closing events go out.
    const ledger = await openTempLedger();
    const settleGate = {
      reached: Promise.withResolvers<void>(),
      open: Promise.withResolvers<void>(),
    };
    const gated = ledgerWithMethod(ledger, "settleTableRound", async (roundId, result) => {
      settleGate.reached.resolve();
      await settleGate.open.promise;
      return ledger.settleTableRound(roundId, result);
    });
    await using node = await startTestNode({ tables: [fastTable(table)] }, {}, { ledger: gated });
    const member = await RecordingSocket.open(node, (await newSession(node)).token);
    await joinTable(member, table);
    const round = await nextOpenRound(member, table, 0);
    await settleGate.reached.promise;
    const stranger = await RecordingSocket.open(node, (await newSession(node)).token);
    await stranger.waitFor((m) => m.type === "welcome");
    settleGate.open.resolve();
    await member.waitFor((m) => m.type === "table.round.result" && m.roundId === round.roundId);
    // The next round opens after the table has answered the stranger's seat check.
    await member.waitFor((m) => m.type === "table.round.open" && m.roundId !== round.roundId);
    // Only its own list of seats, empty.
    expect(stranger.messages.filter((m) => String(m.type).startsWith("table."))).toEqual([
      { type: "table.seats", tables: [] },
    ]);
    member.close();
    stranger.close();
  });

  test("tables - a join the table answers too late is INTERNAL, and the socket follows the seat it got", async () => {
    const seats = holdSeats(await openTempLedger());
    await using node = await startTestNode(
      { tables: [fastTable(table)], askTimeoutMs: 300 },
      {},
      { ledger: seats.ledger },
    );
    const socket = await RecordingSocket.open(node, (await newSession(node)).token);
    seats.hold();
    socket.send({ type: "table.join", id: "slow-join", table });
    await seats.reached();
    // The outcome is unknown (the join still waits in the table): not BUSY, which says nothing was done.
    expect(await socket.waitFor((m) => m.id === "slow-join")).toMatchObject({
      type: "error",
      code: "INTERNAL",
    });
    seats.release();
    // The join did apply: the socket gets the table's state and then its rounds.
    const state = await socket.waitFor((m) => m.type === "table.state", 10_000);
    expect(state.table).toBe(table);
    await socket.waitFor((m) => m.type === "table.round.open", 10_000);
    socket.close();
  });

  test("tables - a connecting socket wakes no idle table; a table with joined players stays active", async () => {
    await using node = await startTestNode({
      tables: [fastTable(table), fastTable("t-other")],
      actorIdleMs: 100,
    });
    const isActive = (id: string) => node.actors.isActive("table", id);
    // Activated at start for recovery, then passivated once idle.
    await waitFor(() => !isActive(table) && !isActive("t-other"), 5_000, "idle tables to go");
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    const other = await RecordingSocket.open(node, token);
    await other.waitFor((m) => m.type === "table.state" && m.table === table);
    expect(isActive("t-other")).toBe(false);
    // Rounds keep the joined table busy: it is never idle long enough to passivate.
    await nextOpenRound(socket, table);
    await socket.waitFor((m) => m.type === "table.round.result");
    expect(isActive(table)).toBe(true);
    socket.close();
    other.close();
  });

  test("tables - a flood of anonymous table listings reads the seats once per second, not once per request", async () => {
    const ledger = await openTempLedger();
    let seatReads = 0;
    const counted = ledgerWithMethod(ledger, "tableSeats", async (tableId) => {
      seatReads += 1;
      return ledger.tableSeats(tableId);
    });
    await using node = await startTestNode({ tables: [fastTable(table)] }, {}, { ledger: counted });
    await waitFor(() => node.actors.isActive("table", table), 5_000, "the table to start");
    seatReads = 0;
    const listings = await Promise.all(
      Array.from({ length: 200 }, () => http(node, "GET", "/v1/tables")),
    );
    expect(listings.every((listing) => listing.status === 200)).toBe(true);
    // One table: one read for the whole flood (two if the period ended during it).
    expect(seatReads).toBeGreaterThanOrEqual(1);
    expect(seatReads).toBeLessThanOrEqual(2);
  });

  test("tables - a finished, paid round is read from the ledger once, then served from memory; an open one every time", async () => {
    const ledger = await openTempLedger();
    let betReads = 0;
    const counted = ledgerWithMethod(ledger, "tableRoundBets", async (roundId) => {
      betReads += 1;
      return ledger.tableRoundBets(roundId);
    });
    await using node = await startTestNode({ tables: [fastTable(table)] }, {}, { ledger: counted });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    const round = await nextOpenRound(socket, table, 0);
    socket.send({
      type: "table.bet",
      id: "cached-bet",
      table,
      bet: { kind: "red" },
      amount: 10,
      roundId: round.roundId,
    });
    await socket.waitFor((m) => m.id === "cached-bet" && m.type === "table.bet.accepted");
    betReads = 0;
    const path = `/v1/rounds/${round.roundId}`;
    await http(node, "GET", path);
    await http(node, "GET", path);
    expect(betReads).toBe(2); // open: read each time
    await waitFor(
      async () => (await node.context.ledger.tableRound(round.roundId))?.paid === true,
      10_000,
      "the round to be paid",
    );
    betReads = 0;
    const first = await http(node, "GET", path);
    const again = await http(node, "GET", path);
    expect(first.body.status).toBe("settled");
    expect(again).toEqual(first);
    expect(betReads).toBe(1);
    socket.close();
  });

  test("tables - GET /v1/tables lists the configured tables; settled wins reach the leaderboard", async () => {
    await using node = await tableNode();
    const { token, playerId } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    const listed = await http(node, "GET", "/v1/tables");
    expect(listed.status).toBe(200);
    expect(listed.body.tables).toEqual([
      expect.objectContaining({ table, game: "roulette", players: 1, minBet: 10, maxBet: 5_000 }),
      expect.objectContaining({ table: "t-other", game: "roulette", players: 0 }),
    ]);
    // Bet on every number: one of them wins whatever the draw.
    const round = await nextOpenRound(socket, table);
    for (let number = 0; number <= 36; number++) {
      socket.send({
        type: "table.bet",
        id: `n-${number}`,
        table,
        bet: { kind: "straight", number },
        amount: 10,
      });
    }
    await socket.waitForCount((m) => m.type === "table.bet.accepted", 37);
    const payout = await socket.waitFor(
      (m) => m.type === "table.payout" && m.roundId === round.roundId,
    );
    expect(payout.win).toBe(360);
    await waitFor(
      async () => {
        const board = await http(node, "GET", "/v1/leaderboard?board=biggest-win&limit=10");
        return board.body.entries.some(
          (entry: { playerId: string; score: number }) =>
            entry.playerId === playerId && entry.score === 360,
        );
      },
      5_000,
      "the win on the leaderboard",
    );
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/croupier_table_rounds_total\{[^}]*outcome="settled"[^}]*\} [1-9]/);
    socket.close();
  });
});
