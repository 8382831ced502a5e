import type { Database } from "bun:sqlite";
import { checkTableRounds } from "./embedded/tableRoundAudit.ts";
import type { AuditReport } from "./ledger.ts";
import { entryKinds } from "./validateWrite.ts";

/**
 * The money audit of an embedded (SQLite) ledger: the five invariants of docs/PROTOCOL.md checked
 * over the whole ledger inside one read transaction (one consistent snapshot while writers go on).
 * Each check is one pass: postings are grouped in primary-key order (per journal entry) or sorted
 * by player account (the balances; the running balance posting by posting); the journal is read
 * once in rowid order (the chain links of invariant 4) and otherwise through its (player, command
 * id) index. Invariant 5 (table rounds) is checked in embedded/tableRoundAudit.ts.
 */

/** Failure lines kept per check; a broken ledger can have millions, the report stays readable. */
export const auditFailuresPerCheckMax = 50;

/** Must match the cursor radix of the reader: orders a player's postings by (seq, index). */
const postingOrderRadix = 64;

class FailureList {
  readonly lines: string[] = [];
  #dropped = 0;

  add(line: string): void {
    if (this.lines.length < auditFailuresPerCheckMax) this.lines.push(line);
    else this.#dropped += 1;
  }

  drain(into: string[]): void {
    into.push(...this.lines);
    if (this.#dropped > 0) into.push(`  ... and ${this.#dropped} more like the above`);
  }
}

interface EntryRow {
  journalId: number;
  total: number;
  lowest: number | null;
  playerId: string | null;
  commandId: string | null;
}

/**
 * Invariants 1 (no negative balance_after) and 2 (each entry and all postings sum to zero, and
 * every posting belongs to a journal entry: money moved with no command behind it, even in
 * balance, is a movement nobody recorded). One lookup in the journal per entry, not per posting.
 */
function checkEntries(db: Database, failures: string[]): void {
  const unbalanced = new FailureList();
  const negative = new FailureList();
  let total = 0;
  const rows = db
    .query<EntryRow, []>(
      `SELECT e.journal_id AS journalId, e.total, e.lowest, j.player_id AS playerId,
              j.command_id AS commandId
       FROM (SELECT journal_id, SUM(amount) AS total, MIN(balance_after) AS lowest
             FROM postings GROUP BY journal_id) e
       LEFT JOIN journal j ON j.id = e.journal_id
       WHERE e.total != 0 OR e.lowest < 0 OR j.id IS NULL`,
    )
    .iterate();
  for (const row of rows) {
    const name =
      row.playerId === null
        ? `journal entry ${row.journalId} (no journal row)`
        : `player ${row.playerId} command ${row.commandId}`;
    // Entries that balance add nothing, so the ledger-wide total is the sum of these.
    total += row.total;
    if (row.playerId === null)
      unbalanced.add(`invariant 2: ${name}: postings that belong to no journal entry`);
    if (row.total !== 0)
      unbalanced.add(`invariant 2: ${name}: postings sum to ${row.total}, not 0`);
    if (row.lowest !== null && row.lowest < 0) {
      negative.add(`invariant 1: ${name}: balance after a posting is ${row.lowest}`);
    }
  }
  negative.drain(failures);
  if (total !== 0) failures.push(`invariant 2: all postings sum to ${total}, not 0`);
  unbalanced.drain(failures);
}

interface AccountRow {
  journalId: number;
  n: number;
  account: string;
  kind: string | null;
  playerId: string;
  commandId: string;
}

/** `kind IN (...)` over the entry kinds, for SQL. */
export const entryKindsSql = [...entryKinds].map((kind) => `'${kind}'`).join(", ");

/** One line per posting the account rule (validateWrite.ts) forbids; shared with Postgres. */
export function accountFailure(row: {
  playerId: string;
  commandId: string;
  n: number;
  account: string;
  kind: string | null;
}): string {
  const name = `player ${row.playerId} command ${row.commandId}`;
  if (row.account === `player:${row.playerId}`)
    return `invariant 3: ${name}: posting ${row.n} to the player's account has kind ${row.kind}, not an entry kind`;
  return `invariant 2: ${name}: posting ${row.n} is to ${row.account}, neither the entry's player nor a house, cash or promo account`;
}

/**
 * Invariants 2 and 3 by account: an entry moves its own player's money and the house's, cash's
 * or promo's, never another player's (whose balance would then change with no command of
 * theirs) nor an account nobody reads; and its player postings have an entry kind. A pass over
 * the postings with a journal lookup for each player posting.
 */
function checkAccounts(db: Database, failures: string[]): void {
  const list = new FailureList();
  const rows = db
    .query<AccountRow, []>(
      `SELECT p.journal_id AS journalId, p.n, p.account, p.kind, j.player_id AS playerId,
              j.command_id AS commandId
       FROM postings p JOIN journal j ON j.id = p.journal_id
       WHERE CASE WHEN p.account = 'player:' || j.player_id
                  THEN p.kind IS NULL OR p.kind NOT IN (${entryKindsSql})
                  ELSE NOT (p.account IN ('cash', 'promo')
                            OR (substr(p.account, 1, 6) = 'house:' AND length(p.account) > 6))
             END`,
    )
    .iterate();
  for (const row of rows) list.add(accountFailure(row));
  list.drain(failures);
}

interface BalanceRow {
  playerId: string;
  hasRow: number;
  balance: number | null;
  total: number | null;
  lastAfter: number | null;
  postings: number;
}

/*
 * Players and per-player aggregates are matched with UNION ALL + GROUP BY (one sort of a
 * players-sized set) rather than a FULL JOIN, which SQLite runs as a nested loop over the
 * materialized aggregate: quadratic in the number of players. Inner columns are named apart
 * from the output aliases because HAVING resolves a name to the input column first.
 */

/** Invariants 1 (players.balance >= 0) and 3 (balance = sum of postings = last balance_after). */
function checkBalances(db: Database, failures: string[]): void {
  const list = new FailureList();
  const rows = db
    .query<BalanceRow, []>(
      `SELECT player_id AS playerId, MAX(in_players) AS hasRow, SUM(stored) AS balance,
              SUM(posted) AS total, SUM(last_after) AS lastAfter, SUM(posting_count) AS postings
       FROM (
         SELECT player_id, 1 AS in_players, balance AS stored, NULL AS posted,
                NULL AS last_after, 0 AS posting_count
         FROM players
         UNION ALL
         SELECT substr(account, 8), 0, NULL, posted, last_after, posting_count
         FROM (SELECT account, SUM(amount) AS posted, COUNT(*) AS posting_count,
                      MAX(journal_id * ${postingOrderRadix} + n) AS last, balance_after AS last_after
               FROM postings WHERE account >= 'player:' AND account < 'player;'
               GROUP BY account))
       GROUP BY player_id
       HAVING MAX(in_players) = 0 OR SUM(stored) < 0 OR SUM(stored) != COALESCE(SUM(posted), 0)
          OR (SUM(posting_count) > 0 AND SUM(stored) IS NOT SUM(last_after))`,
    )
    .iterate();
  for (const row of rows) {
    const name = `player ${row.playerId}`;
    if (row.hasRow === 0) {
      list.add(`invariant 3: ${name}: postings sum to ${row.total} but there is no player row`);
      continue;
    }
    if (row.balance !== null && row.balance < 0)
      list.add(`invariant 1: ${name}: balance is ${row.balance}`);
    const sum = row.total ?? 0;
    if (row.balance !== sum) {
      list.add(`invariant 3: ${name}: balance ${row.balance} != sum of postings ${sum}`);
    }
    if (row.postings > 0 && row.balance !== row.lastAfter) {
      list.add(
        `invariant 3: ${name}: balance ${row.balance} != last balance_after ${row.lastAfter}`,
      );
    }
  }
  list.drain(failures);
}

interface PlayerPostingRow {
  account: string;
  journalId: number;
  amount: number;
  stored: number | null;
}

/**
 * Invariants 1 and 3 posting by posting: each of a player's postings stores as `balance_after`
 * the sum of the player's postings up to and including it, in commit order (journal id, then
 * index), and that sum never goes below zero. The totals the other checks compare cannot see a
 * balance that dipped below zero and came back: flipping the signs of a deposit's postings and of
 * a later bet's leaves every entry, every total and every stored balance_after as it was.
 *
 * The running sum is kept here over one sorted read rather than by a window function in SQL
 * (SUM(amount) OVER (PARTITION BY account ORDER BY journal_id, n)), which measured about twice
 * as slow on a million postings.
 */
function checkRunningBalances(db: Database, failures: string[]): void {
  const negative = new FailureList();
  const mismatched = new FailureList();
  const rows = db
    .query<PlayerPostingRow, []>(
      `SELECT account, journal_id AS journalId, amount, balance_after AS stored
       FROM postings WHERE account >= 'player:' AND account < 'player;'
       ORDER BY account, journal_id, n`,
    )
    .iterate();
  let account = "";
  let running = 0;
  for (const row of rows) {
    if (row.account !== account) {
      account = row.account;
      running = 0;
    }
    running += row.amount;
    if (running >= 0 && row.stored === running) continue;
    const name = `player ${account.slice("player:".length)} journal entry ${row.journalId}`;
    if (running < 0) negative.add(`invariant 1: ${name}: the running balance goes to ${running}`);
    if (row.stored !== running) {
      mismatched.add(
        `invariant 3: ${name}: balance_after is ${row.stored}, expected ${running} (the sum of the player's postings up to it)`,
      );
    }
  }
  negative.drain(failures);
  mismatched.drain(failures);
}

interface LinkRow {
  journalId: number;
  playerId: string;
  commandId: string;
  seq: number;
  prevId: number | null;
  prevPlayerId: string | null;
  prevSeq: number | null;
}

/** Why a journal row's link to the player's previous row is wrong (the row came out as broken). */
function brokenLink(row: LinkRow): string {
  if (row.prevId === null) return "has no previous entry, so its seq must be 1";
  const prev = `follows journal entry ${row.prevId}`;
  if (row.prevPlayerId === null) return `${prev}, which does not exist`;
  if (row.prevPlayerId !== row.playerId) return `${prev}, of player ${row.prevPlayerId}`;
  if (row.prevSeq !== row.seq - 1) return `${prev}, of seq ${row.prevSeq}: seqs must go up by 1`;
  return `${prev}, a later one`;
}

/**
 * Invariant 4, per journal row: its `prev_id` is NULL and its seq 1, or names an earlier row of
 * the same player with seq one below. One scan of the journal in rowid order with a rowid seek
 * per row: measured about 0.45 us per row over the scan, the largest part of this check (a pass
 * in JS with a Map of players was slower, from reading every row out of SQLite).
 */
function checkChainLinks(db: Database, list: FailureList): void {
  const rows = db
    .query<LinkRow, []>(
      `SELECT j.id AS journalId, j.player_id AS playerId, j.command_id AS commandId, j.seq,
              j.prev_id AS prevId, prev.player_id AS prevPlayerId, prev.seq AS prevSeq
       FROM journal j LEFT JOIN journal prev ON prev.id = j.prev_id
       WHERE CASE WHEN j.prev_id IS NULL THEN j.seq IS NOT 1
             ELSE prev.id IS NULL OR prev.player_id IS NOT j.player_id
               OR prev.seq IS NOT j.seq - 1 OR prev.id >= j.id END`,
    )
    .iterate();
  for (const row of rows) {
    list.add(
      `invariant 4: player ${row.playerId}: command ${row.commandId} (seq ${row.seq}) ${brokenLink(row)}`,
    );
  }
}

interface ChainEndRow {
  playerId: string;
  hasRow: number;
  playerSeq: number | null;
  lastId: number | null;
  entries: number;
  lastPlayerId: string | null;
  lastSeq: number | null;
}

/**
 * Invariant 4, per player: the journal holds players.seq entries and players.last_id is the one
 * with that seq. Entries are counted in one pass over the journal (since schema version 6 no
 * index holds every entry by player: one would cost every write a random page).
 */
function checkChainEnds(db: Database, list: FailureList): void {
  const rows = db
    .query<ChainEndRow, []>(
      `SELECT g.player_id AS playerId, g.has_row AS hasRow, g.player_seq AS playerSeq,
              g.last_id AS lastId, g.entries, l.player_id AS lastPlayerId, l.seq AS lastSeq
       FROM (
         SELECT player_id, MAX(in_players) AS has_row, SUM(stored_seq) AS player_seq,
                SUM(stored_last) AS last_id, SUM(entry_count) AS entries
         FROM (
           SELECT player_id, 1 AS in_players, seq AS stored_seq, last_id AS stored_last,
                  0 AS entry_count
           FROM players
           UNION ALL
           SELECT player_id, 0, NULL, NULL, COUNT(*) FROM journal GROUP BY player_id)
         GROUP BY player_id) g
       LEFT JOIN journal l ON l.id = g.last_id
       WHERE g.has_row = 0 OR g.player_seq IS NOT g.entries
          OR (g.entries = 0 AND g.last_id IS NOT NULL)
          OR (g.entries > 0 AND (l.player_id IS NOT g.player_id OR l.seq IS NOT g.player_seq))`,
    )
    .iterate();
  for (const row of rows) {
    const name = `invariant 4: player ${row.playerId}`;
    if (row.hasRow === 0) {
      list.add(`${name}: ${row.entries} journal entries but no player row`);
      continue;
    }
    if (row.entries === 0) {
      if (row.playerSeq !== 0) list.add(`${name}: seq ${row.playerSeq} but no journal entries`);
      if (row.lastId !== null) list.add(`${name}: last_id ${row.lastId} but no journal entries`);
      continue;
    }
    if (row.playerSeq !== row.entries) {
      list.add(
        `${name}: player seq is ${row.playerSeq} but the journal holds ${row.entries} entries; expected seqs 1..n without gaps`,
      );
    }
    if (row.lastPlayerId !== row.playerId || row.lastSeq !== row.playerSeq) {
      const last =
        row.lastPlayerId === null
          ? "no journal entry"
          : `the entry of player ${row.lastPlayerId} with seq ${row.lastSeq}`;
      list.add(
        `${name}: last_id ${row.lastId} is ${last}, not the player's entry with seq ${row.playerSeq}`,
      );
    }
  }
}

/**
 * Invariant 4: command ids unique per player; seqs exactly 1..n; players.seq = n; the chain of
 * each player's rows intact. Links and ends together prove the seqs: walking back from last_id
 * (seq n) through prev_id visits rows of the player with seqs n, n-1, ..., 1 (a link can only go
 * one seq down, and only a row of seq 1 may end the chain), and when the player has exactly n
 * rows, that walk visits all of them. So no seq is missing or stored twice.
 */
function checkSequences(db: Database, failures: string[]): void {
  const list = new FailureList();
  checkChainLinks(db, list);
  checkChainEnds(db, list);
  const duplicates = db
    .query<{ playerId: string; commandId: string; copies: number }, []>(
      `SELECT player_id AS playerId, command_id AS commandId, COUNT(*) AS copies
       FROM journal GROUP BY player_id, command_id HAVING copies > 1`,
    )
    .iterate();
  for (const row of duplicates) {
    list.add(
      `invariant 4: player ${row.playerId} command ${row.commandId} is stored ${row.copies} times`,
    );
  }
  list.drain(failures);
}

interface IndexRow {
  playerId: string;
  commandId: string;
  journalId: number;
}

/**
 * The index the writer finds command ids by (embedded/commandIndex.ts), which keeps invariant 4
 * true for every later write: each entry names the journal row of its command; each row at or
 * below its player's `indexed_through` has its entry; and each row above it lies at or above the
 * floor, where the writer starts reading on open. One scan of each.
 */
function checkCommandIndex(db: Database, failures: string[]): void {
  const list = new FailureList();
  const wrongEntries = db
    .query<IndexRow, []>(
      `SELECT c.player_id AS playerId, c.command_id AS commandId, c.journal_id AS journalId
       FROM command_index c LEFT JOIN journal j ON j.id = c.journal_id
       WHERE j.id IS NULL OR j.player_id IS NOT c.player_id OR j.command_id IS NOT c.command_id`,
    )
    .iterate();
  for (const row of wrongEntries) {
    list.add(
      `command index: player ${row.playerId} command ${row.commandId} names journal row ${row.journalId}, which is not that command`,
    );
  }
  const floor =
    db
      .query<{ journalId: number }, []>(
        "SELECT journal_id AS journalId FROM command_index_floor WHERE id = 1",
      )
      .get()?.journalId ?? 1;
  const missing = db
    .query<IndexRow & { indexed: number }, [number]>(
      `SELECT j.player_id AS playerId, j.command_id AS commandId, j.id AS journalId,
              j.id <= p.indexed_through AS indexed
       FROM journal j JOIN players p ON p.player_id = j.player_id
       WHERE CASE WHEN j.id <= p.indexed_through
                  THEN NOT EXISTS (SELECT 1 FROM command_index c
                                   WHERE c.player_id = j.player_id AND c.command_id = j.command_id
                                     AND c.journal_id = j.id)
                  ELSE j.id < ?1 END`,
    )
    .iterate(floor);
  for (const row of missing) {
    const name = `command index: player ${row.playerId} command ${row.commandId} (journal row ${row.journalId})`;
    list.add(
      row.indexed === 1
        ? `${name} is not indexed, though the player is indexed through it`
        : `${name} is below the floor ${floor}, so a restarted writer would not know it`,
    );
  }
  list.drain(failures);
}

function count(db: Database, table: string): number {
  const row = db.query<{ rows: number }, []>(`SELECT COUNT(*) AS rows FROM ${table}`).get();
  return row?.rows ?? 0;
}

/** Runs every check over one snapshot of the ledger and reports each broken invariant. */
export function auditSqliteLedger(db: Database): AuditReport {
  const startedMs = performance.now();
  const failures: string[] = [];
  db.run("BEGIN");
  try {
    const counts = {
      players: count(db, "players"),
      postings: count(db, "postings"),
      commands: count(db, "journal"),
    };
    checkEntries(db, failures);
    checkAccounts(db, failures);
    checkBalances(db, failures);
    checkRunningBalances(db, failures);
    checkSequences(db, failures);
    checkCommandIndex(db, failures);
    const rounds = new FailureList();
    const notes = checkTableRounds(db, rounds);
    rounds.drain(failures);
    return {
      ok: failures.length === 0,
      failures,
      counts,
      elapsedMs: Math.round(performance.now() - startedMs),
      notes,
    };
  } finally {
    db.run("COMMIT");
  }
}

/** The report as the audit command prints it: summary, notes, then one failure per line. */
export function formatAuditReport(report: AuditReport, source: string): string {
  const { players, postings, commands } = report.counts;
  const lines = [
    `ledger audit of ${source}`,
    `  ${players} players, ${commands} commands, ${postings} postings, checked in ${report.elapsedMs} ms`,
  ];
  for (const note of report.notes ?? []) lines.push(`  ${note}`);
  if (report.ok) {
    const tablesChecked = !report.notes?.some((note) =>
      note.startsWith("invariant 5: not applicable"),
    );
    lines.push(`OK: invariants ${tablesChecked ? "1-5" : "1-4"} hold`);
  } else {
    lines.push(`FAILED: ${report.failures.length} problem lines`);
    for (const failure of report.failures)
      lines.push(failure.startsWith("  ") ? failure : `  ${failure}`);
  }
  return lines.join("\n");
}
