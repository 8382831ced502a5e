import { afterAll, describe, expect, test } from "bun:test";
import { tableBetsPerRoundMax } from "../src/actors/tableBetLimits.ts";
import { freshDataDir, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import {
  balanceOf,
  newSession,
  RecordingSocket,
  startTestNode,
  uniquePlayerId,
} from "./harness.ts";
import { fastTable, joinTable, nextOpenRound } from "./tableHelpers.ts";

afterAll(removeDataDirs);

const table = "t-limits";
/** Small bounds, so that the tests reach them with a handful of real clients. */
const seatsMax = 3;
const betsPerRoundMax = 5;
/** Long enough for a burst of bets to land inside one round. */
const bettingWindowMs = 3_000;
const betMarginMs = 1_500;
const amount = 10;

interface Player {
  playerId: string;
  token: string;
  socket: RecordingSocket;
  start: number;
}

async function player(node: { httpUrl: string; wsUrl: string }, playerId = uniquePlayerId()) {
  const { token } = await newSession(node, playerId);
  const socket = await RecordingSocket.open(node, token);
  return { playerId, token, socket, start: await balanceOf(node, token) } satisfies Player;
}

function bet(id: string, roundId: string, clientSeed = `seed-${id}`) {
  return { type: "table.bet", id, table, bet: { kind: "red" }, amount, roundId, clientSeed };
}

describe("table limits", () => {
  test("table limits - a full table refuses a new player LIMIT_EXCEEDED and stores no seat; seated players re-join; a freed seat is taken", async () => {
    const dataDir = await freshDataDir();
    const tables = [fastTable(table, { seatsMax })];
    const ids = [1, 2, 3, 4, 5].map(() => uniquePlayerId());
    let leaverId: string;
    {
      await using node = await startTestNode({ dataDir, tables });
      const players = await Promise.all(ids.map((id) => player(node, id)));
      // Five join at once: the table seats exactly three, whatever the order.
      for (const p of players) p.socket.send({ type: "table.join", id: "join", table });
      const answers = await Promise.all(
        players.map((p) => p.socket.waitFor((m) => m.id === "join")),
      );
      const seated = players.filter((_, i) => answers[i].type === "table.joined");
      const refused = players.filter((_, i) => answers[i].type !== "table.joined");
      expect(seated).toHaveLength(seatsMax);
      for (const answer of answers) {
        if (answer.type === "table.joined") continue;
        expect(answer).toEqual({
          type: "error",
          id: "join",
          code: "LIMIT_EXCEEDED",
          message: `table "${table}" is full: ${seatsMax} seats`,
        });
      }
      // Nothing stored for the refused players.
      expect((await node.context.ledger.tableSeats(table)).sort()).toEqual(
        seated.map((p) => p.playerId).sort(),
      );
      // A refused player cannot bet: not seated.
      const outsider = refused[0] as Player;
      const round = await nextOpenRound((seated[0] as Player).socket, table, 0);
      outsider.socket.send(bet("outsider-bet", round.roundId));
      expect(await outsider.socket.waitFor((m) => m.id === "outsider-bet")).toMatchObject({
        code: "NOT_SEATED",
      });
      // A seated player joining again is answered as before, on a full table.
      const again = await joinTable((seated[0] as Player).socket, table, "join-again");
      expect(again.state.players).toBe(seatsMax);
      // One leaves: the seat is free for a refused player.
      const leaver = seated[0] as Player;
      leaverId = leaver.playerId;
      leaver.socket.send({ type: "table.leave", id: "leave", table });
      expect((await leaver.socket.waitFor((m) => m.id === "leave")).type).toBe("table.left");
      const joined = await joinTable(outsider.socket, table, "join-later");
      expect(joined.state.players).toBe(seatsMax);
      expect(await node.context.ledger.tableSeats(table)).toContain(outsider.playerId);
      for (const p of players) p.socket.close();
    }
    // The seats are loaded again by the next activation: the table is still full.
    await using restarted = await startTestNode({ dataDir, tables });
    const latecomer = await player(restarted, leaverId);
    latecomer.socket.send({ type: "table.join", id: "join-after-restart", table });
    expect(await latecomer.socket.waitFor((m) => m.id === "join-after-restart")).toMatchObject({
      type: "error",
      code: "LIMIT_EXCEEDED",
    });
    expect(await restarted.context.ledger.tableSeats(table)).toHaveLength(seatsMax);
  });

  test("table limits - seats of players gone longer than TABLE_SEAT_ABSENCE_MS are released; a connected player keeps the seat", async () => {
    await using node = await startTestNode({
      tables: [fastTable(table, { seatsMax: 2 })],
      tableSeatAbsenceMs: 1_000,
    });
    const [stays, goes] = (await Promise.all([1, 2].map(() => player(node)))) as Player[];
    for (const p of [stays, goes] as Player[]) await joinTable(p.socket, table);
    const newcomer = await player(node);
    newcomer.socket.send({ type: "table.join", id: "full", table });
    expect(await newcomer.socket.waitFor((m) => m.id === "full")).toMatchObject({
      code: "LIMIT_EXCEEDED",
    });
    goes?.socket.close();
    await waitFor(
      async () => !(await node.context.ledger.tableSeats(table)).includes(goes?.playerId as string),
      15_000,
      "the absent player's seat to be released",
    );
    // The connected player was seated all along, through the same rounds.
    expect(await node.context.ledger.tableSeats(table)).toEqual([stays?.playerId as string]);
    const joined = await joinTable(newcomer.socket, table, "room-now");
    expect(joined.state.players).toBe(2);
    // Back again, the released player learns which tables it is seated at: none.
    const back = await RecordingSocket.open(node, goes?.token as string);
    expect(await back.waitFor((m) => m.type === "table.seats")).toEqual({
      type: "table.seats",
      tables: [],
    });
    expect(back.messages.some((m) => m.type === "table.state")).toBe(false);
    // The player who stayed is told its seat, after its table's state.
    const again = await RecordingSocket.open(node, stays?.token as string);
    expect(await again.waitFor((m) => m.type === "table.seats")).toEqual({
      type: "table.seats",
      tables: [table],
    });
    expect(again.messages.findIndex((m) => m.type === "table.state")).toBeLessThan(
      again.messages.findIndex((m) => m.type === "table.seats"),
    );
    back.close();
    again.close();
  });

  test("table limits - a round takes betsPerRoundMax bets over all players; racing bets past it are LIMIT_EXCEEDED, move nothing and keep their ids unused", async () => {
    await using node = await startTestNode({
      tables: [fastTable(table, { bettingWindowMs, betsPerRoundMax })],
    });
    const players = await Promise.all([1, 2, 3].map(() => player(node)));
    for (const p of players) await joinTable(p.socket, table);
    const round = await nextOpenRound((players[0] as Player).socket, table, betMarginMs);
    // Eight bets from three players at once, for a round that takes five.
    const betsOf = [3, 3, 2];
    const idsOf = betsOf.map((n, i) => Array.from({ length: n }, (_, b) => `p${i}-b${b}`));
    for (const [i, p] of players.entries()) {
      for (const id of idsOf[i] as string[]) p.socket.send(bet(id, round.roundId));
    }
    const answers = await Promise.all(
      players.map((p, i) =>
        Promise.all((idsOf[i] as string[]).map((id) => p.socket.waitFor((m) => m.id === id))),
      ),
    );
    const all = answers.flat();
    const accepted = all.filter((m) => m.type === "table.bet.accepted");
    const refused = all.filter((m) => m.type !== "table.bet.accepted");
    expect(accepted).toHaveLength(betsPerRoundMax);
    expect(accepted.every((m) => m.roundId === round.roundId)).toBe(true);
    for (const m of refused) {
      expect(m).toMatchObject({
        type: "error",
        code: "LIMIT_EXCEEDED",
        message: `round ${round.roundId} at table "${table}" is full: ${betsPerRoundMax} bets`,
      });
    }
    // The ledger holds exactly the accepted bets; only they were debited.
    const stored = await node.context.ledger.tableRoundBets(round.roundId);
    expect(stored.map((b) => b.commandId).sort()).toEqual(accepted.map((m) => m.id).sort());
    for (const [i, p] of players.entries()) {
      const mine = (answers[i] as { type: string }[]).filter(
        (m) => m.type === "table.bet.accepted",
      );
      expect(await balanceOf(node, p.token)).toBe(p.start - amount * mine.length);
    }
    // A retry of an accepted bet while the round is full still gets its stored reply.
    const first = accepted[0];
    const owner = players.find((_, i) => (idsOf[i] as string[]).includes(first.id)) as Player;
    owner.socket.send(bet(first.id, round.roundId));
    const retries = await owner.socket.waitForCount((m) => m.id === first.id, 2);
    expect(retries[1]).toEqual({ ...first });
    // The round closes with the seeds of the accepted bets only.
    const closed = await owner.socket.waitFor(
      (m) => m.type === "table.round.closed" && m.roundId === round.roundId,
    );
    expect(closed.clientSeeds).toEqual(accepted.map((m) => `seed-${m.id}`).sort());
    // The refused ids were never used: each bets fine in the next round (three fit in five).
    const next = await nextOpenRound(owner.socket, table, betMarginMs);
    for (const [i, p] of players.entries()) {
      const mine = (answers[i] as { id: string; type: string }[]).filter(
        (m) => m.type !== "table.bet.accepted",
      );
      for (const m of mine) {
        p.socket.send(bet(m.id, next.roundId));
        expect(
          await p.socket.waitFor((r) => r.id === m.id && r.type === "table.bet.accepted"),
        ).toMatchObject({ roundId: next.roundId });
      }
    }
    expect(await node.context.ledger.tableRoundBets(next.roundId)).toHaveLength(refused.length);
    for (const p of players) p.socket.close();
  });

  test("table limits - one player's bets past its own bound do not use up the round for the others", async () => {
    const roundMax = tableBetsPerRoundMax + 10;
    await using node = await startTestNode({
      tables: [fastTable(table, { bettingWindowMs: 10_000, betsPerRoundMax: roundMax })],
      mailboxCapacity: 1_000, // all of the player's bets wait in its mailbox at once
    });
    const [greedy, other] = (await Promise.all([1, 2].map(() => player(node)))) as Player[];
    for (const p of [greedy, other] as Player[]) await joinTable(p.socket, table);
    const round = await nextOpenRound((greedy as Player).socket, table, 5_000);
    // The player's own bound, then as many again: each extra one is refused by the player's
    // actor after the table handed out the round.
    const sent = 2 * tableBetsPerRoundMax;
    for (let i = 0; i < sent; i++) greedy?.socket.send(bet(`g-${i}`, round.roundId));
    const answers = await greedy?.socket.waitForCount(
      (m) => String(m.id).startsWith("g-"),
      sent,
      20_000,
    );
    const accepted = (answers ?? []).filter((m) => m.type === "table.bet.accepted");
    expect(accepted).toHaveLength(tableBetsPerRoundMax);
    // The round still has room for the rest of the players: ten bets, the eleventh refused.
    for (let i = 0; i < 11; i++) other?.socket.send(bet(`o-${i}`, round.roundId));
    const theirs = await other?.socket.waitForCount(
      (m) => String(m.id).startsWith("o-"),
      11,
      10_000,
    );
    expect((theirs ?? []).filter((m) => m.type === "table.bet.accepted")).toHaveLength(10);
    expect((theirs ?? []).filter((m) => m.code === "LIMIT_EXCEEDED")).toHaveLength(1);
  });

  test("table limits - retries of one accepted bet reserve nothing more of the round", async () => {
    const roundMax = 3;
    await using node = await startTestNode({
      tables: [fastTable(table, { bettingWindowMs: 10_000, betsPerRoundMax: roundMax })],
    });
    const [retrier, other] = (await Promise.all([1, 2].map(() => player(node)))) as Player[];
    for (const p of [retrier, other] as Player[]) await joinTable(p.socket, table);
    const round = await nextOpenRound((retrier as Player).socket, table, 5_000);
    // One bet, then the same id again and again, as a client unsure of its answer does.
    for (let i = 1; i <= 10; i++) {
      retrier?.socket.send(bet("only-bet", round.roundId));
      await retrier?.socket.waitForCount((m) => m.id === "only-bet", i);
    }
    const answers = retrier?.socket.messages.filter((m) => m.id === "only-bet") ?? [];
    expect(new Set(answers.map((m) => JSON.stringify(m))).size).toBe(1);
    // The round still takes the rest of its bets from another player.
    for (let i = 0; i < roundMax - 1; i++) {
      other?.socket.send(bet(`o-${i}`, round.roundId));
      expect((await other?.socket.waitFor((m) => m.id === `o-${i}`))?.type).toBe(
        "table.bet.accepted",
      );
    }
    expect(await node.context.ledger.tableRoundBets(round.roundId)).toHaveLength(roundMax);
  });

  test("table limits - the bound on bets per round holds across a restart of the table mid-round: the round is voided and the next one counts afresh", async () => {
    const dataDir = await freshDataDir();
    const tables = [fastTable(table, { bettingWindowMs, betsPerRoundMax })];
    const playerId = uniquePlayerId();
    let start: number;
    let firstRound: string;
    {
      await using node = await startTestNode({ dataDir, tables });
      const p = await player(node, playerId);
      start = p.start;
      await joinTable(p.socket, table);
      firstRound = (await nextOpenRound(p.socket, table, betMarginMs)).roundId;
      for (let i = 0; i < betsPerRoundMax; i++) {
        p.socket.send(bet(`first-${i}`, firstRound));
        expect(await p.socket.waitFor((m) => m.id === `first-${i}`)).toMatchObject({
          type: "table.bet.accepted",
        });
      }
      p.socket.send(bet("over", firstRound));
      expect(await p.socket.waitFor((m) => m.id === "over")).toMatchObject({
        code: "LIMIT_EXCEEDED",
      });
      expect(await balanceOf(node, p.token)).toBe(start - amount * betsPerRoundMax);
      p.socket.close();
      // The node stops with the round still open: the table's next activation finds it.
    }
    await using restarted = await startTestNode({ dataDir, tables });
    const { token } = await newSession(restarted, playerId);
    const socket = await RecordingSocket.open(restarted, token);
    // The restarted table voids the open round and refunds each of its bets once.
    await waitFor(
      async () => (await restarted.context.ledger.tableRound(firstRound))?.status === "voided",
      10_000,
      "the round left open to be voided",
    );
    await waitFor(async () => (await balanceOf(restarted, token)) === start, 10_000, "the refund");
    expect(await restarted.context.ledger.tableRoundBets(firstRound)).toHaveLength(betsPerRoundMax);
    // The next round takes betsPerRoundMax bets again, the refused id among them, and no more.
    const next = await nextOpenRound(socket, table, betMarginMs);
    expect(next.roundId).not.toBe(firstRound);
    const ids = ["over", ...Array.from({ length: betsPerRoundMax }, (_, i) => `second-${i}`)];
    for (const id of ids) {
      socket.send(bet(id, next.roundId));
      await socket.waitFor((m) => m.id === id);
    }
    const answers = ids.map((id) => socket.messages.find((m) => m.id === id));
    expect(answers.slice(0, betsPerRoundMax).every((m) => m.type === "table.bet.accepted")).toBe(
      true,
    );
    expect(answers[betsPerRoundMax]).toMatchObject({ type: "error", code: "LIMIT_EXCEEDED" });
    expect(await restarted.context.ledger.tableRoundBets(next.roundId)).toHaveLength(
      betsPerRoundMax,
    );
    expect(await balanceOf(restarted, token)).toBe(start - amount * betsPerRoundMax);
    socket.close();
  });
});
