import type { Database } from "bun:sqlite";
import { checkTableRounds } from "./embedded/tableRoundAudit.ts";
import type { AuditReport } from "./ledger.ts";

/**
 * The money audit of an embedded (SQLite) ledger: the five invariants of docs/PROTOCOL.md checked
 * over the whole ledger inside one read transaction (one consistent snapshot while writers go on).
 * Each check is one pass: postings are grouped in primary-key order (per journal entry) or sorted
 * once (per player account); journal checks read the two per-player indexes only. Invariant 5
 * (table rounds) is checked in embedded/tableRoundAudit.ts.
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

/** Invariants 1 (no negative balance_after) and 2 (each entry and all postings sum to zero). */
function checkEntries(db: Database, failures: string[]): void {
  const unbalanced = new FailureList();
  const negative = new FailureList();
  let total = 0;
  const rows = db
    .query<EntryRow, []>(
      `SELECT e.journal_id AS journalId, e.total, e.lowest, j.player_id AS playerId,
              j.command_id AS commandId
       FROM (SELECT journal_id, SUM(amount) AS total, MIN(balance_after) AS lowest
             FROM postings GROUP BY journal_id HAVING total != 0 OR lowest < 0) e
       LEFT JOIN journal j ON j.id = e.journal_id`,
    )
    .iterate();
  for (const row of rows) {
    const name =
      row.playerId === null
        ? `journal entry ${row.journalId} (no journal row)`
        : `player ${row.playerId} command ${row.commandId}`;
    // Entries that balance add nothing, so the ledger-wide total is the sum of these.
    total += row.total;
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

interface SeqRow {
  playerId: string;
  hasRow: number;
  playerSeq: number | null;
  entries: number | null;
  distinctSeqs: number | null;
  seqMin: number | null;
  seqMax: number | null;
}

/** Invariant 4: command ids unique per player; seqs exactly 1..n; players.seq = n. */
function checkSequences(db: Database, failures: string[]): void {
  const list = new FailureList();
  const seqRows = db
    .query<SeqRow, []>(
      `SELECT player_id AS playerId, MAX(in_players) AS hasRow, SUM(player_seq) AS playerSeq,
              SUM(entry_count) AS entries, SUM(distinct_count) AS distinctSeqs,
              SUM(seq_min) AS seqMin, SUM(seq_max) AS seqMax
       FROM (
         SELECT player_id, 1 AS in_players, seq AS player_seq, NULL AS entry_count,
                NULL AS distinct_count, NULL AS seq_min, NULL AS seq_max
         FROM players
         UNION ALL
         SELECT player_id, 0, NULL, COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq)
         FROM journal GROUP BY player_id)
       GROUP BY player_id
       HAVING MAX(in_players) = 0 OR (SUM(entry_count) IS NULL AND SUM(player_seq) != 0)
          OR SUM(seq_min) != 1 OR SUM(seq_max) != SUM(entry_count)
          OR SUM(distinct_count) != SUM(entry_count) OR SUM(player_seq) != SUM(seq_max)`,
    )
    .iterate();
  for (const row of seqRows) {
    const name = `player ${row.playerId}`;
    if (row.hasRow === 0) {
      list.add(`invariant 4: ${name}: ${row.entries} journal entries but no player row`);
    } else if (row.entries === null) {
      list.add(`invariant 4: ${name}: seq ${row.playerSeq} but no journal entries`);
    } else {
      list.add(
        `invariant 4: ${name}: journal has ${row.entries} entries (${row.distinctSeqs} distinct seqs, ` +
          `${row.seqMin}..${row.seqMax}), player seq is ${row.playerSeq}; expected 1..n without gaps`,
      );
    }
  }
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
    checkBalances(db, failures);
    checkSequences(db, failures);
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
