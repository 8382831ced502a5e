import { afterAll, expect, test } from "bun:test";
import { settlementsOf } from "../../games/roulette/settlement.ts";
import { createTestDatabase } from "../../testing/postgresTestDb.ts";
import { waitFor } from "../../testing/waitFor.ts";
import type { Ledger, WriteOutcome } from "../ledger.ts";
import { depositWrite, spinWrite } from "../ledgerContract.ts";
import { betWriteOn, newRound, settlementWriteOn } from "../tableRoundContract.ts";
import { migrate, migrations, schemaVersion } from "./schema.ts";
import { directConnection, freshSchema, openTestLedger, schemaOf } from "./testing/testLedger.ts";

/** Several nodes (ledger instances, each with its own pool) on one database. */

const availability = await createTestDatabase();
const database = availability.database;
afterAll(() => database?.drop());

if (database === undefined) {
  test.skip(`postgres ledger concurrency - ${availability.skipReason}`, () => {});
} else {
  const url = database.url;

  async function twoNodes(): Promise<[Ledger, Ledger]> {
    const schema = freshSchema();
    const first = await openTestLedger(url, { schema });
    const second = await openTestLedger(url, { schema });
    return [first, second];
  }

  async function closeAll(...ledgers: Ledger[]): Promise<void> {
    await Promise.all(ledgers.map((ledger) => ledger.close()));
  }

  test("postgres ledger - two nodes racing on one seq: exactly one commits, the other is stale", async () => {
    const [nodeA, nodeB] = await twoNodes();
    try {
      const rounds = 20;
      await Promise.all(
        Array.from({ length: rounds }, (_, index) =>
          nodeA.write(depositWrite(`p${index}`, 1, "d1", 1_000)),
        ),
      );
      const outcomes = await Promise.all(
        Array.from({ length: rounds }, (_, index) =>
          Promise.all([
            nodeA.write(spinWrite(`p${index}`, 2, "node-a", 100, 0)),
            nodeB.write(spinWrite(`p${index}`, 2, "node-b", 300, 0)),
          ]),
        ),
      );
      for (const [index, pair] of outcomes.entries()) {
        const won = pair.filter((outcome) => outcome.status === "committed");
        expect(won).toHaveLength(1);
        expect(pair.filter((outcome) => outcome.status === "stale_seq")).toEqual([
          { status: "stale_seq", currentSeq: 2 },
        ]);
        const loser = pair[0]?.status === "committed" ? "node-b" : "node-a";
        expect(await nodeA.findCommand(`p${index}`, loser)).toBeUndefined();
        const balance = loser === "node-b" ? 900 : 700;
        expect(await nodeB.loadPlayer(`p${index}`)).toMatchObject({ balance, seq: 2 });
      }
      expect((await nodeA.audit()).failures).toEqual([]);
    } finally {
      await closeAll(nodeA, nodeB);
    }
  });

  test("postgres ledger - a node creating a player another node is creating gets stale_seq", async () => {
    const ledger = await openTestLedger(url);
    const { schema } = schemaOf(ledger);
    const other = directConnection(url, schema);
    const observer = directConnection(url, schema);
    try {
      // Another node is half-way through the player's first write: its rows are in, uncommitted.
      const reserved = await other.reserve();
      await reserved`BEGIN`;
      const [entry] = await reserved<{ id: string }[]>`
        INSERT INTO journal (player_id, seq, command_id, request_hash, reply)
        VALUES ('p1', 1, 'other', 'deposit:500', '{}') RETURNING id`;
      await reserved`INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
        VALUES (${entry?.id ?? ""}, 0, 'cash', NULL, -500, NULL),
               (${entry?.id ?? ""}, 1, 'player:p1', 'deposit', 500, 500)`;
      await reserved`INSERT INTO players (player_id, balance, seq) VALUES ('p1', 500, 1)`;
      const pending = ledger.write(depositWrite("p1", 1, "mine", 1_000));
      // The ledger found no player row to lock; its insert waits on the other node's key.
      await waitFor(
        async () =>
          (
            await observer`SELECT 1 FROM pg_stat_activity
              WHERE application_name = 'croupier' AND wait_event_type = 'Lock'`
          ).length > 0,
        5_000,
        "the ledger's insert to wait for the other node",
      );
      await reserved`COMMIT`;
      reserved.release();
      expect(await pending).toEqual({ status: "stale_seq", currentSeq: 1 });
      expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 500, seq: 1 });
      expect(await ledger.findCommand("p1", "mine")).toBeUndefined();
      expect((await ledger.audit()).failures).toEqual([]);
    } finally {
      await Promise.all([other.end({ timeout: 1 }), observer.end({ timeout: 1 })]);
      await ledger.close();
    }
  });

  test("postgres ledger - migrations run from four nodes at once all succeed, once each", async () => {
    for (let round = 0; round < 3; round++) {
      const schema = freshSchema();
      const nodes = Array.from({ length: 4 }, () => directConnection(url, schema));
      try {
        const versions = await Promise.all(nodes.map((sql) => migrate(sql, schema)));
        expect(versions).toEqual(Array(4).fill(schemaVersion));
        const [first] = nodes;
        if (first === undefined) throw new Error("no node");
        const rows = await first`SELECT version FROM croupier_migrations ORDER BY version`;
        expect(rows.map((row) => row.version)).toEqual(migrations.map((m) => m.version));
      } finally {
        await Promise.all(nodes.map((sql) => sql.end({ timeout: 1 })));
      }
    }
    // And whole ledgers opening together on one fresh schema.
    const schema = freshSchema();
    const ledgers = await Promise.all([1, 2, 3].map(() => openTestLedger(url, { schema })));
    await closeAll(...ledgers);
  });

  test("postgres ledger - 50 concurrent bets over the balance, from two nodes, never take it below zero", async () => {
    const [nodeA, nodeB] = await twoNodes();
    try {
      await nodeA.write(depositWrite("p1", 1, "d1", 1_000));
      const betsCount = 50;
      const attemptsMax = 500;
      // Each bet is one actor's command: load the seq, write seq + 1, reload on stale_seq.
      const bet = async (index: number): Promise<WriteOutcome> => {
        const node = index % 2 === 0 ? nodeA : nodeB;
        for (let attempt = 0; attempt < attemptsMax; attempt++) {
          const { seq } = await node.loadPlayer("p1");
          const outcome = await node.write(spinWrite("p1", seq + 1, `bet${index}`, 100, 0));
          if (outcome.status !== "stale_seq") return outcome;
        }
        throw new Error(`bet ${index} stayed stale for ${attemptsMax} attempts`);
      };
      const outcomes = await Promise.all(
        Array.from({ length: betsCount }, (_, index) => bet(index)),
      );
      const statuses = outcomes.map((outcome) => outcome.status);
      expect(statuses.filter((status) => status === "committed")).toHaveLength(10);
      expect(statuses.filter((status) => status === "insufficient_funds")).toHaveLength(40);
      expect(await nodeB.loadPlayer("p1")).toMatchObject({ balance: 0, seq: 11 });
      const report = await nodeA.audit();
      expect(report.failures).toEqual([]);
      expect(report.counts).toMatchObject({ commands: 11 });
    } finally {
      await closeAll(nodeA, nodeB);
    }
  });

  test("postgres ledger - bets from two nodes racing the close: each is seeded and recorded, or refused and not debited", async () => {
    const [nodeA, nodeB] = await twoNodes();
    try {
      const round = newRound("t1");
      expect(await nodeA.openTableRound(round)).toBe(true);
      const players = Array.from({ length: 120 }, (_, index) => `racer${index}`);
      await Promise.all(
        players.map((playerId) => nodeA.write(depositWrite(playerId, 1, "d1", 1_000))),
      );
      const outcomes = new Map<string, WriteOutcome>();
      const queue = [...players];
      // A few bettors per node, each placing its players' bets one after the other, so bets keep
      // arriving from both nodes before, during and after the close.
      const bettor = async (node: Ledger): Promise<void> => {
        for (let playerId = queue.shift(); playerId !== undefined; playerId = queue.shift()) {
          const bet = betWriteOn(round, playerId, 2, "b1", { clientSeed: `seed-${playerId}` });
          outcomes.set(playerId, await node.write(bet));
        }
      };
      const bettors = [nodeA, nodeB, nodeA, nodeB, nodeA, nodeB].map(bettor);
      const committedCount = () =>
        [...outcomes.values()].filter((outcome) => outcome.status === "committed").length;
      await waitFor(() => committedCount() >= 20, 10_000, "the first bets to commit");
      const closed = await nodeB.closeTableRound(round.roundId);
      await Promise.all(bettors);
      if (!closed.closed) throw new Error("the round should have closed");

      const recorded = await nodeA.tableRoundBets(round.roundId);
      const accepted: string[] = [];
      for (const playerId of players) {
        const outcome = outcomes.get(playerId);
        const state = await nodeA.loadPlayer(playerId);
        if (outcome?.status === "committed") {
          accepted.push(playerId);
          expect(state).toMatchObject({ balance: 900, seq: 2 });
        } else {
          expect(outcome).toEqual({ status: "round_closed", roundStatus: "closed" });
          expect(state).toMatchObject({ balance: 1_000, seq: 1 });
          expect(await nodeB.findCommand(playerId, "b1")).toBeUndefined();
        }
      }
      // Both sides of the race happened: bets went in before the close and were refused after.
      expect(accepted.length).toBeGreaterThanOrEqual(20);
      expect(accepted.length).toBeLessThan(players.length);
      expect(recorded.map((bet) => bet.playerId).sort()).toEqual([...accepted].sort());
      expect(closed.clientSeeds).toEqual(accepted.map((playerId) => `seed-${playerId}`).sort());
      expect((await nodeB.tableRound(round.roundId))?.clientSeeds).toEqual(closed.clientSeeds);

      // Settle and pay every bettor from both nodes; the audit checks each payout.
      expect(await nodeA.settleTableRound(round.roundId, 1)).toBe(true);
      const owed = settlementsOf(recorded, 1);
      await Promise.all(
        [...owed].map(([playerId, amount], index) =>
          (index % 2 === 0 ? nodeA : nodeB).write(
            settlementWriteOn(round, playerId, 3, "payout", amount),
          ),
        ),
      );
      expect(await nodeB.markTableRoundPaid(round.roundId)).toBe(true);
      expect((await nodeA.audit()).failures).toEqual([]);
    } finally {
      await closeAll(nodeA, nodeB);
    }
  });
}
