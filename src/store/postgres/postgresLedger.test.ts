import { afterAll, expect, test } from "bun:test";
import { createTestDatabase } from "../../testing/postgresTestDb.ts";
import { depositWrite, describeLedgerContract, spinWrite } from "../ledgerContract.ts";
import { openTestLedger, postgresTamper, schemaOf, withDirect } from "./testing/testLedger.ts";

const availability = await createTestDatabase();
const database = availability.database;
afterAll(() => database?.drop());

if (database === undefined) {
  console.warn(availability.skipReason);
  test.skip(`postgres ledger - ${availability.skipReason}`, () => {});
} else {
  const url = database.url;

  describeLedgerContract("postgres", () => openTestLedger(url), postgresTamper);

  test("postgres ledger - durability names synchronous_commit=on, read back from the server", async () => {
    const ledger = await openTestLedger(url);
    try {
      expect(ledger.durability()).toContain("synchronous_commit=on");
      expect(ledger.durability()).toContain("group commit 1 ms / 1000 writes");
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - writes issued together commit as one transaction", async () => {
    const ledger = await openTestLedger(url);
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          ledger.write(depositWrite(`p${index}`, 1, "d1", 100)),
        ),
      );
      expect(outcomes.every((outcome) => outcome.status === "committed")).toBe(true);
      expect(ledger.stats()).toMatchObject({ batches: 1, writes: 50, batchWritesMax: 50 });
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - groupCommitWritesMax bounds the writes of one transaction", async () => {
    const ledger = await openTestLedger(url, { groupCommitWritesMax: 10 });
    try {
      await Promise.all(
        Array.from({ length: 35 }, (_, index) =>
          ledger.write(depositWrite(`p${index}`, 1, "d1", 100)),
        ),
      );
      expect(ledger.stats()).toMatchObject({ writes: 35, batchWritesMax: 10, batches: 4 });
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - text with quotes, backslashes, braces and NULL round-trips unchanged", async () => {
    const ledger = await openTestLedger(url);
    try {
      const odd = 'NULL,{"a\\b"}\'é';
      const player = `p-${odd}`;
      const deposit = { ...depositWrite(player, 1, `d-${odd}`, 100), reply: odd, event: odd };
      const spin = spinWrite(player, 2, `s-${odd}`, 10, 0);
      expect(await ledger.write(deposit)).toMatchObject({ status: "committed", balance: 100 });
      expect(await ledger.write(spin)).toMatchObject({ status: "committed", balance: 90 });
      expect(await ledger.write(deposit)).toEqual({ status: "duplicate", reply: odd });
      expect(await ledger.findCommand(player, `d-${odd}`)).toMatchObject({ reply: odd });
      const events = await ledger.eventsAfter(player, 0, 10);
      expect(events.map((event) => event.event)).toEqual([odd, spin.reply]);
      expect((await ledger.audit()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - journal and postings refuse UPDATE and DELETE (append-only)", async () => {
    const ledger = await openTestLedger(url);
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 100));
      await withDirect(ledger, async (sql) => {
        await expect(sql`UPDATE postings SET amount = amount + 1`).rejects.toThrow(/append-only/);
        await expect(sql`DELETE FROM journal`).rejects.toThrow(/append-only/);
        await expect(sql`TRUNCATE postings`).rejects.toThrow(/append-only/);
      });
      expect((await ledger.audit()).ok).toBe(true);
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - the database itself refuses a second (player, command id) or (player, seq)", async () => {
    const ledger = await openTestLedger(url);
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 100));
      await withDirect(ledger, async (sql) => {
        const insert = (seq: number, commandId: string) => sql`
          INSERT INTO journal (player_id, seq, command_id, request_hash, reply)
          VALUES ('p1', ${seq}, ${commandId}, 'h', '{}')`;
        await expect(insert(2, "d1")).rejects.toMatchObject({
          code: "23505",
          constraint_name: "journal_player_command_key",
        });
        await expect(insert(1, "other")).rejects.toMatchObject({
          code: "23505",
          constraint_name: "journal_player_seq_key",
        });
        await expect(sql`UPDATE players SET balance = -1`).rejects.toMatchObject({ code: "23514" });
      });
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - audit: a unique key is judged by its columns, not its name", async () => {
    const ledger = await openTestLedger(url);
    try {
      await ledger.write(depositWrite("a", 1, "d1", 500));
      await withDirect(ledger, async (sql) => {
        // Same name, wider key: (player_id, command_id) is no longer unique.
        await sql`ALTER TABLE journal DROP CONSTRAINT journal_player_command_key`;
        await sql`ALTER TABLE journal ADD CONSTRAINT journal_player_command_key
          UNIQUE (player_id, command_id, seq)`;
        // Deposit d1 moves money a second time.
        const [entry] = await sql<{ id: string }[]>`
          INSERT INTO journal (player_id, seq, command_id, request_hash, reply)
          VALUES ('a', 2, 'd1', 'deposit:500', '{}') RETURNING id`;
        await sql`
          INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
          VALUES (${entry?.id as string}, 0, 'cash', NULL, -500, NULL),
                 (${entry?.id as string}, 1, 'player:a', 'deposit', 500, 1000)`;
        await sql`UPDATE players SET balance = 1000, seq = 2 WHERE player_id = 'a'`;
      });
      expect((await ledger.audit()).failures).toEqual([
        "invariant 4: unique constraint journal_player_command_key on journal (player_id, command_id) is missing",
        "invariant 4: player a command_id d1 is stored 2 times",
      ]);
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - audit: unique keys under other names count; a dropped one is reported", async () => {
    const ledger = await openTestLedger(url);
    try {
      await ledger.write(depositWrite("a", 1, "d1", 500));
      await ledger.write(spinWrite("a", 2, "s1", 100, 0));
      await withDirect(ledger, async (sql) => {
        await sql`ALTER TABLE journal RENAME CONSTRAINT journal_player_command_key TO renamed_key`;
      });
      expect((await ledger.audit()).failures).toEqual([]);
      await withDirect(
        ledger,
        (sql) => sql`ALTER TABLE journal DROP CONSTRAINT journal_player_seq_key`,
      );
      // Nothing is duplicated, so only the missing key is reported.
      expect((await ledger.audit()).failures).toEqual([
        "invariant 4: unique constraint journal_player_seq_key on journal (player_id, seq) is missing",
      ]);
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - a round id used twice fails only that write, via savepoints", async () => {
    const ledger = await openTestLedger(url);
    try {
      await ledger.write(depositWrite("a", 1, "d1", 100));
      await ledger.write(depositWrite("b", 1, "d1", 100));
      await ledger.write(spinWrite("a", 2, "s1", 10, 0));
      // The same round id as a's spin: no check foresees it, the unique index refuses it.
      const clash = { ...spinWrite("b", 2, "s1", 10, 0) };
      clash.round = { roundId: "round-a-s1", game: "slot", detail: "{}" };
      const [ok, refused] = await Promise.allSettled([
        ledger.write(spinWrite("a", 3, "s2", 10, 0)),
        ledger.write(clash),
      ]);
      expect(ok).toEqual({ status: "fulfilled", value: { status: "committed", balance: 80 } });
      expect(refused.status).toBe("rejected");
      expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: "INTERNAL" });
      expect(await ledger.loadPlayer("b")).toMatchObject({ balance: 100, seq: 1 });
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - close commits the writes already accepted, and a reopen finds them", async () => {
    const ledger = await openTestLedger(url, { groupCommitWindowMs: 50 });
    const { schema } = schemaOf(ledger);
    const pending = [
      ledger.write(depositWrite("p1", 1, "d1", 1_000)),
      ledger.write(spinWrite("p1", 2, "s1", 100, 0)),
    ];
    await ledger.close();
    expect(await Promise.all(pending)).toEqual([
      { status: "committed", balance: 1_000 },
      { status: "committed", balance: 900 },
    ]);
    const reopened = await openTestLedger(url, { schema });
    try {
      expect(await reopened.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
      expect(await reopened.write(spinWrite("p1", 2, "s1", 100, 0))).toMatchObject({
        status: "duplicate",
      });
    } finally {
      await reopened.close();
    }
  });

  test("postgres ledger - a stored balance beyond a safe integer is refused, never rounded", async () => {
    const ledger = await openTestLedger(url);
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      await withDirect(ledger, (sql) => sql`UPDATE players SET balance = 9007199254740993`);
      await expect(ledger.loadPlayer("p1")).rejects.toThrow(/not a safe integer/);
      await expect(ledger.write(spinWrite("p1", 2, "s1", 100, 0))).rejects.toMatchObject({
        code: "INTERNAL",
      });
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - a write after close is refused with BUSY", async () => {
    const ledger = await openTestLedger(url);
    await ledger.close();
    expect(ledger.healthy()).toBe(false);
    await expect(ledger.write(depositWrite("p1", 1, "d1", 1))).rejects.toMatchObject({
      code: "BUSY",
    });
  });
}
