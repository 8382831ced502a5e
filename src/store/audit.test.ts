import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { auditSqliteLedger } from "./audit.ts";
import { auditExitCodes } from "./auditCli.ts";
import { createBatchWriter } from "./embedded/batchWriter.ts";
import { openEmbeddedLedger } from "./embedded/embeddedLedger.ts";
import { ledgerPath, openWriterDatabase } from "./embedded/schema.ts";
import {
  freshDataDir,
  removeDataDirs,
  sqliteTamper,
  testLedgerOptions,
} from "./embedded/testing/tempLedger.ts";
import { depositWrite, spinWrite } from "./ledgerContract.ts";
import { betWriteOn, newRound, settlementWriteOn } from "./tableRoundContract.ts";

afterAll(removeDataDirs);

const bun = process.execPath;
const cliPath = join(import.meta.dir, "auditCli.ts");

/** Runs `npm run audit` as the operator would, against DATA_DIR. */
async function runCli(dataDir: string): Promise<{ code: number; output: string }> {
  const child = Bun.spawn([bun, cliPath], {
    env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { code, output: stdout + stderr };
}

async function ledgerWithSpins(): Promise<string> {
  const dataDir = await freshDataDir();
  const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 300));
    await ledger.write(depositWrite("p2", 1, "d1", 50));
  } finally {
    await ledger.close();
  }
  return dataDir;
}

test("ledger - audit command exits 0 and prints the counts on a sound ledger", async () => {
  const { code, output } = await runCli(await ledgerWithSpins());
  expect(output).toContain("2 players, 3 commands, 8 postings");
  expect(output).toContain("invariant 5: not applicable: no table bets");
  expect(output).toContain("OK: invariants 1-4 hold");
  expect(code).toBe(auditExitCodes.ok);
});

test("ledger - audit command exits 1 naming the player when the file was tampered with", async () => {
  const dataDir = await ledgerWithSpins();
  const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    await sqliteTamper.skewBalance(ledger, "p2", -20);
    await sqliteTamper.unbalanceCommand(ledger, "p1", "s1", 1);
  } finally {
    await ledger.close();
  }
  const { code, output } = await runCli(dataDir);
  expect(output).toContain("invariant 3: player p2: balance 30 != sum of postings 50");
  expect(output).toContain("invariant 2: player p1 command s1: postings sum to 1, not 0");
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit command reports a gap in a player's seqs and a seq ahead of the journal", async () => {
  const dataDir = await ledgerWithSpins();
  const db = new Database(join(dataDir, "ledger.db"), { readwrite: true });
  try {
    db.run("UPDATE journal SET seq = 7 WHERE player_id = 'p1' AND seq = 2");
    db.run("UPDATE players SET seq = 7 WHERE player_id = 'p1'");
    db.run("UPDATE players SET seq = 2 WHERE player_id = 'p2'");
  } finally {
    db.close();
  }
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    "invariant 4: player p1: command s1 (seq 7) follows journal entry 1, of seq 1: seqs must go up by 1",
  );
  expect(output).toContain(
    "invariant 4: player p1: player seq is 7 but the journal holds 2 entries; expected seqs 1..n without gaps",
  );
  expect(output).toContain(
    "invariant 4: player p2: player seq is 2 but the journal holds 1 entries; expected seqs 1..n without gaps",
  );
  expect(output).toContain(
    "invariant 4: player p2: last_id 3 is the entry of player p2 with seq 1, not the player's entry with seq 2",
  );
  expect(code).toBe(auditExitCodes.invariantFailed);
});

/** (id, player, command, seq, prev_id) of every journal row, in commit order. */
function journalChain(dataDir: string): unknown[][] {
  const db = new Database(ledgerPath(dataDir), { readonly: true });
  try {
    return db
      .query("SELECT id, player_id, command_id, seq, prev_id FROM journal ORDER BY id")
      .values();
  } finally {
    db.close();
  }
}

test("ledger - audit reports a broken chain: a link to another player's row, to no row, a wrong last_id", async () => {
  const dataDir = await ledgerWithSpins();
  expect(journalChain(dataDir)).toEqual([
    [1, "p1", "d1", 1, null],
    [2, "p1", "s1", 2, 1],
    [3, "p2", "d1", 1, null],
  ]);
  editLedger(
    dataDir,
    "UPDATE journal SET prev_id = 3 WHERE id = 2",
    "UPDATE journal SET prev_id = 99 WHERE id = 3",
    "UPDATE players SET last_id = 1 WHERE player_id = 'p1'",
  );
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    "invariant 4: player p1: command s1 (seq 2) follows journal entry 3, of player p2",
  );
  expect(output).toContain(
    "invariant 4: player p2: command d1 (seq 1) follows journal entry 99, which does not exist",
  );
  expect(output).toContain(
    "invariant 4: player p1: last_id 1 is the entry of player p1 with seq 1, not the player's entry with seq 2",
  );
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit reports a seq stored twice, which no index refuses", async () => {
  const dataDir = await ledgerWithSpins();
  editLedger(dataDir, "UPDATE journal SET seq = 1 WHERE id = 2");
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    "invariant 4: player p1: command s1 (seq 1) follows journal entry 1, of seq 1: seqs must go up by 1",
  );
  expect(output).toContain(
    "invariant 4: player p1: last_id 2 is the entry of player p1 with seq 1, not the player's entry with seq 2",
  );
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit reports a chain ending in a row other than seq 1, and a later row as previous", async () => {
  const dataDir = await ledgerWithSpins();
  editLedger(
    dataDir,
    // p1's two rows swap seqs, the chain following them: seqs 1..2 still, but seq 2 came first.
    "UPDATE journal SET seq = 2, prev_id = 2 WHERE id = 1",
    "UPDATE journal SET seq = 1, prev_id = NULL WHERE id = 2",
    "UPDATE players SET last_id = 1 WHERE player_id = 'p1'",
    // p2's only row claims seq 2.
    "UPDATE journal SET seq = 2 WHERE id = 3",
    "UPDATE players SET seq = 2 WHERE player_id = 'p2'",
  );
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    "invariant 4: player p1: command d1 (seq 2) follows journal entry 2, a later one",
  );
  expect(output).toContain(
    "invariant 4: player p2: command d1 (seq 2) has no previous entry, so its seq must be 1",
  );
  expect(output).toContain(
    "invariant 4: player p2: player seq is 2 but the journal holds 1 entries; expected seqs 1..n without gaps",
  );
  expect(output).toContain("FAILED: 3 problem lines");
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit command exits 2 when there is no ledger to audit", async () => {
  const { code, output } = await runCli(join(await freshDataDir(), "missing"));
  expect(output).toContain("no ledger at");
  expect(code).toBe(auditExitCodes.error);
});

test("ledger - audit reports negative balances and postings or journal rows without a player row", async () => {
  const dataDir = await ledgerWithSpins();
  const db = new Database(join(dataDir, "ledger.db"), { readwrite: true });
  try {
    // Bypass the CHECK constraints the way a hand edit of the file could.
    db.run("PRAGMA ignore_check_constraints = ON");
    db.run("UPDATE players SET balance = -5 WHERE player_id = 'p1'");
    db.run("UPDATE postings SET balance_after = -1 WHERE account = 'player:p1' AND kind = 'bet'");
    db.run("DELETE FROM players WHERE player_id = 'p2'");
  } finally {
    db.close();
  }
  const { code, output } = await runCli(dataDir);
  expect(output).toContain("invariant 1: player p1: balance is -5");
  expect(output).toContain("invariant 1: player p1 command s1: balance after a posting is -1");
  expect(output).toContain("invariant 3: player p2: postings sum to 50 but there is no player row");
  expect(output).toContain("invariant 4: player p2: 1 journal entries but no player row");
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit time grows linearly with players (no nested-loop join)", async () => {
  // Regression: a FULL JOIN of players with per-player sums ran as a nested loop, taking
  // seconds at 10,000 players. 20,000 players must audit well within a second or two.
  const playersCount = 20_000;
  const dataDir = await freshDataDir();
  const db = openWriterDatabase(ledgerPath(dataDir), {
    busyTimeoutMs: 1_000,
    cacheKiB: 16_384,
    walAutocheckpointPages: 10_000,
  });
  try {
    const writer = createBatchWriter(db);
    const writes = Array.from({ length: playersCount }, (_, index) =>
      depositWrite(`p${index}`, 1, "d1", 100),
    );
    writer.commit(writes, Date.now());
    const startedMs = performance.now();
    const report = auditSqliteLedger(db);
    expect(report.ok).toBe(true);
    expect(report.counts.players).toBe(playersCount);
    expect(performance.now() - startedMs).toBeLessThan(2_000);
  } finally {
    db.close();
  }
});

/**
 * A settled round paid to both players (p1 won on 5, p2 lost) and a voided round not yet
 * refunded (p1's bet); returns the data dir and the two round ids.
 */
async function ledgerWithRounds(): Promise<{ dataDir: string; settled: string; voided: string }> {
  const dataDir = await freshDataDir();
  const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(depositWrite("p2", 1, "d1", 1_000));
    const settled = newRound("t1");
    await ledger.openTableRound(settled);
    await ledger.write(betWriteOn(settled, "p1", 2, "b1", { kind: "straight", pick: 5 }));
    await ledger.write(betWriteOn(settled, "p2", 2, "b1", { kind: "even", amount: 50 }));
    await ledger.closeTableRound(settled.roundId);
    await ledger.settleTableRound(settled.roundId, 5);
    await ledger.write(settlementWriteOn(settled, "p1", 3, "payout", 3_600));
    await ledger.write(settlementWriteOn(settled, "p2", 3, "payout", 0));
    await ledger.markTableRoundPaid(settled.roundId);
    const voided = newRound("t1");
    await ledger.openTableRound(voided);
    await ledger.write(betWriteOn(voided, "p1", 4, "b2", { amount: 30 }));
    await ledger.voidTableRound(voided.roundId);
    return { dataDir, settled: settled.roundId, voided: voided.roundId };
  } finally {
    await ledger.close();
  }
}

function editLedger(dataDir: string, ...statements: string[]): void {
  const db = new Database(ledgerPath(dataDir), { readwrite: true });
  try {
    for (const sql of statements) db.run(sql);
  } finally {
    db.close();
  }
}

test("ledger - audit checks table rounds: a round still paying out is a note, not a failure", async () => {
  const { dataDir } = await ledgerWithRounds();
  const { code, output } = await runCli(dataDir);
  expect(output).toContain("invariant 5: 1 finished rounds still paying out");
  expect(output).toContain("OK: invariants 1-5 hold");
  expect(code).toBe(auditExitCodes.ok);
});

test("ledger - audit reports settlements and bets that do not match their rounds", async () => {
  const { dataDir, settled, voided } = await ledgerWithRounds();
  editLedger(
    dataDir,
    // p2's bet vanishes (its settlement is then of a player without bets), p1's stake grows (its
    // debit no longer matches), and the voided round is marked paid without its refund.
    `DELETE FROM table_bets WHERE player_id = 'p2' AND round_id = '${settled}'`,
    `UPDATE table_bets SET amount = 101 WHERE player_id = 'p1' AND round_id = '${settled}'`,
    `UPDATE table_rounds SET paid = 1 WHERE round_id = '${voided}'`,
  );
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    `invariant 5: round ${settled}: bet b1 of player p1 of 101 debited the player 100`,
  );
  expect(output).toContain(
    `invariant 5: round ${settled} (settled, paid): player p1 was credited 3600, owed 3636`,
  );
  expect(output).toContain(
    `invariant 5: round ${settled}: settlement of player p2, who has no bet in it`,
  );
  expect(output).toContain(
    `invariant 5: round ${voided} (voided, paid): player p1 has bets but no settlement`,
  );
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit reports settlements and bets of rounds that do not exist", async () => {
  const { dataDir, settled } = await ledgerWithRounds();
  editLedger(dataDir, `DELETE FROM table_rounds WHERE round_id = '${settled}'`);
  const db = new Database(ledgerPath(dataDir), { readonly: true });
  const report = auditSqliteLedger(db);
  db.close();
  expect(report.ok).toBe(false);
  expect(report.failures).toContain(
    `invariant 5: round ${settled}: settlement of player p1, but there is no such round`,
  );
  expect(report.failures).toContain(
    `invariant 5: round ${settled}: bet b1 of player p2 is recorded against no such round`,
  );
});

test("ledger - audit reports a running balance that went below zero though every total agrees", async () => {
  const dataDir = await freshDataDir();
  const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    await ledger.write(depositWrite("p1", 1, "d1", 100));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
  } finally {
    await ledger.close();
  }
  // Each entry still sums to zero, and p1's total, balance and last balance_after (0) are as they
  // were; but p1 now stakes 100 before having it, and the deposit comes after.
  editLedger(dataDir, "UPDATE postings SET amount = -amount");
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    "invariant 1: player p1 journal entry 1: the running balance goes to -100",
  );
  expect(output).toContain(
    "invariant 3: player p1 journal entry 1: balance_after is 100, expected -100 (the sum of the player's postings up to it)",
  );
  expect(output).toContain("FAILED: 2 problem lines");
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit reports a balance_after that is not the sum of the postings up to it", async () => {
  const dataDir = await ledgerWithSpins();
  editLedger(
    dataDir,
    "UPDATE postings SET balance_after = 999 WHERE journal_id = 1 AND account = 'player:p1'",
  );
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    "invariant 3: player p1 journal entry 1: balance_after is 999, expected 1000 (the sum of the player's postings up to it)",
  );
  expect(output).toContain("FAILED: 1 problem lines");
  expect(code).toBe(auditExitCodes.invariantFailed);
});

test("ledger - audit reports a table bet in the journal that no round records, which a void leaves unrefunded", async () => {
  const dataDir = await freshDataDir();
  const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  const round = newRound("t1");
  try {
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.openTableRound(round);
    await ledger.write(betWriteOn(round, "p1", 2, "b1", { amount: 100 }));
    editLedger(dataDir, "DELETE FROM table_bets WHERE player_id = 'p1' AND command_id = 'b1'");
    // The table refunds the bets its round records: none, so the round is paid at once.
    await ledger.voidTableRound(round.roundId);
    expect(await ledger.tableRoundBets(round.roundId)).toEqual([]);
    await ledger.markTableRoundPaid(round.roundId);
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900 });
  } finally {
    await ledger.close();
  }
  const { code, output } = await runCli(dataDir);
  expect(output).toContain(
    "invariant 5: bet b1 of player p1 stakes 100 to house:roulette but has no table bet: it is in no round, never settled nor refunded",
  );
  expect(output).toContain("FAILED: 1 problem lines");
  expect(output).not.toContain("not applicable");
  expect(code).toBe(auditExitCodes.invariantFailed);
});
