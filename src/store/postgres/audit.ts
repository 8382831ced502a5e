import { accountFailure, auditFailuresPerCheckMax, entryKindsSql } from "../audit.ts";
import type { AuditReport } from "../ledger.ts";
import { reportFailingRows, withRest } from "./auditLines.ts";
import { checkTableRounds } from "./auditTables.ts";
import { safeInteger } from "./integers.ts";
import type { Connection } from "./pool.ts";

/**
 * The money audit of a Postgres ledger: invariants 1-5 of docs/PROTOCOL.md over one snapshot
 * (a REPEATABLE READ, read-only transaction; writers go on meanwhile). Every check is set-based:
 * postings are read three times (grouped by journal entry, grouped by player account, then
 * along each player account for the running balance), the journal twice (grouped by player, then
 * in commit order per player), each group matched to `players` with one hash join. No per-player loop,
 * no join of postings with journal except for the few failing entries. Only failing rows come
 * back, at most `auditFailuresPerCheckMax` per check, with the count of the rest.
 *
 * Seqs "exactly 1..n" follow from min = 1, max = count and the uniqueness of (player_id, seq);
 * that uniqueness (and of (player_id, command_id): invariant 4) is the database's own, so the
 * audit checks that unique constraints on exactly those columns exist (by their columns, not
 * their names, which say nothing of what they cover) instead of grouping the journal a second
 * time, and only scans for duplicates when one is missing. Invariant 5 (table rounds) is
 * auditTables.ts.
 */

/** Memory for the audit's hash aggregates (per sort or hash node), so 10M postings stay in RAM. */
const auditWorkMem = "256MB";

/** The journal's unique keys (schema.ts), by the constraint name and the columns it must cover. */
const uniqueJournalKeys = [
  { name: "journal_player_seq_key", column: "seq" },
  { name: "journal_player_command_key", column: "command_id" },
] as const;

interface EntryRow {
  grand: boolean;
  journal_id: string | null;
  total: string;
  lowest: string | null;
  postings: string;
  player_id: string | null;
  command_id: string | null;
  failing: string;
}

/**
 * Invariants 1 (no negative balance_after) and 2 (each entry and all postings sum to zero, and
 * every posting belongs to a journal entry: money moved with no command behind it, even in
 * balance, is a movement nobody recorded; one index lookup per entry).
 */
async function checkEntries(sql: Connection, failures: string[]): Promise<number> {
  // Entries are grouped in primary-key order (postings are stored in journal order, so the
  // index scan reads the table sequentially and needs no memory; a hash of millions of entries
  // would spill to disk). Only the few failing entries are then looked up in the journal.
  await sql`SET LOCAL enable_hashagg = off`;
  const rows = await sql<EntryRow[]>`
    WITH e AS (
      SELECT GROUPING(journal_id) = 1 AS grand, journal_id, sum(amount) AS total,
             min(balance_after) AS lowest, count(*) AS postings
      FROM postings
      GROUP BY ROLLUP (journal_id)
      HAVING GROUPING(journal_id) = 1 OR sum(amount) <> 0 OR min(balance_after) < 0
        OR NOT EXISTS (SELECT 1 FROM journal j WHERE j.id = postings.journal_id)
    ), shown AS (
      SELECT e.*, count(*) FILTER (WHERE NOT e.grand) OVER () AS failing FROM e
      ORDER BY e.grand DESC, e.journal_id
      LIMIT ${auditFailuresPerCheckMax + 1}
    )
    SELECT shown.*, j.player_id, j.command_id
    FROM shown LEFT JOIN journal j ON j.id = shown.journal_id
    ORDER BY shown.grand DESC, shown.journal_id`;
  await sql`SET LOCAL enable_hashagg = on`;
  const grand = rows[0];
  if (grand === undefined || !grand.grand) throw new Error("audit: no grand total row");
  // Sums are compared exactly: a tampered amount may take them past 2^53, which is a finding to
  // report, not a reason for the audit to fail.
  const total = BigInt(grand.total ?? "0");
  const entries = rows.slice(1);
  const lines: string[] = [];
  for (const row of entries) {
    const name =
      row.player_id === null
        ? `journal entry ${row.journal_id} (no journal row)`
        : `player ${row.player_id} command ${row.command_id}`;
    const sum = BigInt(row.total);
    const lowest = row.lowest === null ? null : BigInt(row.lowest);
    if (lowest !== null && lowest < 0n)
      lines.push(`invariant 1: ${name}: balance after a posting is ${lowest}`);
    if (row.player_id === null)
      lines.push(`invariant 2: ${name}: postings that belong to no journal entry`);
    if (sum !== 0n) lines.push(`invariant 2: ${name}: postings sum to ${sum}, not 0`);
  }
  if (total !== 0n) failures.push(`invariant 2: all postings sum to ${total}, not 0`);
  const failing = safeInteger(entries[0]?.failing ?? "0", "failing entries");
  failures.push(...withRest(lines, failing, entries.length));
  return safeInteger(grand.postings, "postings");
}

/** Invariants 2 and 3 by account (see the embedded audit's checkAccounts). */
async function checkAccounts(sql: Connection, failures: string[]): Promise<void> {
  const rows = await sql<
    {
      n: number;
      account: string;
      kind: string | null;
      player_id: string;
      command_id: string;
      failing: string;
    }[]
  >`
    WITH bad AS (
      SELECT p.journal_id, p.n, p.account, p.kind, j.player_id, j.command_id
      FROM postings p JOIN journal j ON j.id = p.journal_id
      WHERE CASE WHEN p.account = 'player:' || j.player_id
                 THEN p.kind IS NULL OR p.kind NOT IN (${sql.unsafe(entryKindsSql)})
                 ELSE NOT (p.account IN ('cash', 'promo')
                           OR (starts_with(p.account, 'house:') AND length(p.account) > 6))
            END
    )
    SELECT bad.*, count(*) OVER () AS failing FROM bad
    ORDER BY bad.journal_id, bad.n LIMIT ${auditFailuresPerCheckMax}`;
  const lines = rows.map((row) =>
    accountFailure({
      playerId: row.player_id,
      commandId: row.command_id,
      n: row.n,
      account: row.account,
      kind: row.kind,
    }),
  );
  reportFailingRows(failures, lines, rows);
}

interface BalanceRow {
  player_id: string;
  has_row: boolean;
  balance: string | null;
  total: string | null;
  last_after: string | null;
  postings: string | null;
  failing: string;
}

/** Invariants 1 (players.balance >= 0) and 3 (balance = sum of postings = last balance_after). */
async function checkBalances(sql: Connection, failures: string[]): Promise<void> {
  // A player's entries have journal ids in seq order (schema.ts), so the greatest
  // (journal_id, n) is the player's last posting.
  const rows = await sql<BalanceRow[]>`
    WITH s AS (
      SELECT substr(account, 8) AS player_id, sum(amount) AS total, count(*) AS postings,
             (max(ARRAY[journal_id, n, balance_after]))[3] AS last_after
      FROM postings WHERE starts_with(account, 'player:')
      GROUP BY account
    ), f AS (
      SELECT coalesce(pl.player_id, s.player_id) AS player_id, pl.player_id IS NOT NULL AS has_row,
             pl.balance, s.total, s.last_after, s.postings
      FROM players pl FULL JOIN s ON s.player_id = pl.player_id
      WHERE pl.player_id IS NULL OR pl.balance < 0 OR pl.balance <> coalesce(s.total, 0)
         OR (s.postings > 0 AND pl.balance IS DISTINCT FROM s.last_after)
    )
    SELECT f.*, count(*) OVER () AS failing FROM f
    ORDER BY f.player_id LIMIT ${auditFailuresPerCheckMax}`;
  const lines: string[] = [];
  for (const row of rows) {
    const name = `player ${row.player_id}`;
    const sum = BigInt(row.total ?? "0");
    if (!row.has_row) {
      lines.push(`invariant 3: ${name}: postings sum to ${sum} but there is no player row`);
      continue;
    }
    const balance = BigInt(row.balance ?? "0");
    const lastAfter = row.last_after === null ? null : BigInt(row.last_after);
    if (balance < 0n) lines.push(`invariant 1: ${name}: balance is ${balance}`);
    if (balance !== sum)
      lines.push(`invariant 3: ${name}: balance ${balance} != sum of postings ${sum}`);
    if (row.postings !== null && balance !== lastAfter) {
      lines.push(`invariant 3: ${name}: balance ${balance} != last balance_after ${lastAfter}`);
    }
  }
  reportFailingRows(failures, lines, rows);
}

interface SeqRow {
  player_id: string;
  has_row: boolean;
  seq: string | null;
  entries: string | null;
  seq_min: string | null;
  seq_max: string | null;
  failing: string;
}

interface RunningRow {
  invariant: number;
  account: string;
  journal_id: string;
  balance_after: string | null;
  running: string;
  failing: string;
}

/**
 * Invariants 1 and 3 posting by posting: along each player account in commit order (journal id,
 * then the posting's place), the running sum never goes below zero and every `balance_after`
 * is that sum. The totals alone would pass a balance that dipped and came back, or two changes
 * that cancel out. Per account, the first posting that breaks each is reported.
 */
async function checkRunningBalances(sql: Connection, failures: string[]): Promise<void> {
  const rows = await sql<RunningRow[]>`
    WITH r AS (
      SELECT account, journal_id, n, balance_after,
             sum(amount) OVER (PARTITION BY account ORDER BY journal_id, n
                               ROWS UNBOUNDED PRECEDING) AS running
      FROM postings WHERE starts_with(account, 'player:')
    ), negative AS (
      SELECT DISTINCT ON (account) 1 AS invariant, account, journal_id, balance_after, running
      FROM r WHERE running < 0 ORDER BY account, journal_id, n
    ), mismatched AS (
      SELECT DISTINCT ON (account) 3 AS invariant, account, journal_id, balance_after, running
      FROM r WHERE balance_after IS DISTINCT FROM running ORDER BY account, journal_id, n
    ), bad AS (SELECT * FROM negative UNION ALL SELECT * FROM mismatched)
    SELECT bad.invariant, bad.account, bad.journal_id::text, bad.balance_after::text,
           bad.running::text, count(*) OVER () AS failing
    FROM bad ORDER BY bad.account, bad.invariant LIMIT ${auditFailuresPerCheckMax}`;
  const lines = rows.map((row) => {
    const name = `player ${row.account.slice("player:".length)} journal entry ${row.journal_id}`;
    if (row.invariant === 1)
      return `invariant 1: ${name}: the running balance goes to ${row.running}`;
    return `invariant 3: ${name}: balance_after is ${row.balance_after}, expected ${row.running} (the sum of the player's postings up to it)`;
  });
  reportFailingRows(failures, lines, rows);
}

/**
 * Invariant 4's order: a player's entries were committed in seq order, so ordered by journal id
 * each seq is the one before plus one. (Seqs swapped between two entries keep min, max and count.)
 */
async function checkSeqOrder(sql: Connection, failures: string[]): Promise<void> {
  const rows = await sql<
    { player_id: string; id: string; seq: string; previous: string; failing: string }[]
  >`
    WITH o AS (
      SELECT player_id, id, seq, lag(seq) OVER (PARTITION BY player_id ORDER BY id) AS previous
      FROM journal
    ), bad AS (
      SELECT DISTINCT ON (player_id) player_id, id, seq, previous
      FROM o WHERE previous IS NOT NULL AND seq <> previous + 1
      ORDER BY player_id, id
    )
    SELECT bad.*, count(*) OVER () AS failing
    FROM bad ORDER BY bad.player_id LIMIT ${auditFailuresPerCheckMax}`;
  const lines = rows.map(
    (row) =>
      `invariant 4: player ${row.player_id}: journal entry ${row.id} has seq ${row.seq} after seq ${row.previous}; seqs must follow commit order`,
  );
  reportFailingRows(failures, lines, rows);
}

/** Invariant 4: seqs exactly 1..n with players.seq = n; command ids unique per player. */
async function checkSequences(sql: Connection, failures: string[]): Promise<void> {
  const rows = await sql<SeqRow[]>`
    WITH g AS (
      SELECT player_id, count(*) AS entries, min(seq) AS seq_min, max(seq) AS seq_max
      FROM journal GROUP BY player_id
    ), f AS (
      SELECT coalesce(pl.player_id, g.player_id) AS player_id, pl.player_id IS NOT NULL AS has_row,
             pl.seq, g.entries, g.seq_min, g.seq_max
      FROM players pl FULL JOIN g ON g.player_id = pl.player_id
      WHERE pl.player_id IS NULL OR (g.player_id IS NULL AND pl.seq <> 0)
         OR g.seq_min <> 1 OR g.seq_max <> g.entries OR pl.seq <> g.seq_max
    )
    SELECT f.*, count(*) OVER () AS failing FROM f
    ORDER BY f.player_id LIMIT ${auditFailuresPerCheckMax}`;
  const lines = rows.map((row) => {
    const name = `player ${row.player_id}`;
    if (!row.has_row)
      return `invariant 4: ${name}: ${row.entries} journal entries but no player row`;
    if (row.entries === null) return `invariant 4: ${name}: seq ${row.seq} but no journal entries`;
    return (
      `invariant 4: ${name}: journal has ${row.entries} entries (seqs ${row.seq_min}..${row.seq_max}), ` +
      `player seq is ${row.seq}; expected 1..n without gaps`
    );
  });
  reportFailingRows(failures, lines, rows);
  await checkUniqueKeys(sql, failures);
}

/** A unique key's columns in a form that does not depend on their order. */
function columnSetOf(columns: readonly string[]): string {
  return [...columns].sort().join(",");
}

/**
 * The journal's unique keys exist, each a unique constraint on exactly (player_id, its column)
 * whatever its name; where one does not, the duplicates it would refuse.
 */
async function checkUniqueKeys(sql: Connection, failures: string[]): Promise<void> {
  // Unique constraints and the primary key, with the columns of their (valid) index.
  const present = await sql<{ columns: string[] }[]>`
    SELECT array_agg(a.attname::text ORDER BY k.place) AS columns
    FROM pg_constraint c
    JOIN pg_index i ON i.indexrelid = c.conindid AND i.indisunique AND i.indisvalid
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, place)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
    WHERE c.conrelid = 'journal'::regclass AND c.contype IN ('u', 'p')
    GROUP BY c.oid`;
  const covered = new Set(present.map((row) => columnSetOf(row.columns)));
  for (const { name, column } of uniqueJournalKeys) {
    if (covered.has(columnSetOf(["player_id", column]))) continue;
    failures.push(
      `invariant 4: unique constraint ${name} on journal (player_id, ${column}) is missing`,
    );
    const duplicates = await sql<{ player_id: string; value: string; copies: string }[]>`
      SELECT player_id, ${sql(column)}::text AS value, count(*) AS copies FROM journal
      GROUP BY player_id, ${sql(column)} HAVING count(*) > 1
      ORDER BY player_id LIMIT ${auditFailuresPerCheckMax}`;
    for (const row of duplicates) {
      failures.push(
        `invariant 4: player ${row.player_id} ${column} ${row.value} is stored ${row.copies} times`,
      );
    }
  }
}

/** Runs every check over one snapshot and reports each broken invariant. */
export async function auditPostgresLedger(sql: Connection): Promise<AuditReport> {
  const startedMs = performance.now();
  const failures: string[] = [];
  await sql.unsafe(
    `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
     SET LOCAL statement_timeout = 0; SET LOCAL work_mem = '${auditWorkMem}'`,
  );
  try {
    const [counts] = await sql<{ players: string; commands: string }[]>`
      SELECT (SELECT count(*) FROM players) AS players, (SELECT count(*) FROM journal) AS commands`;
    const postings = await checkEntries(sql, failures);
    await checkAccounts(sql, failures);
    await checkBalances(sql, failures);
    await checkRunningBalances(sql, failures);
    await checkSequences(sql, failures);
    await checkSeqOrder(sql, failures);
    const notes: string[] = [];
    await checkTableRounds(sql, failures, notes);
    return {
      ok: failures.length === 0,
      failures,
      counts: {
        players: safeInteger(counts?.players, "players"),
        postings,
        commands: safeInteger(counts?.commands, "commands"),
      },
      elapsedMs: Math.round(performance.now() - startedMs),
      notes,
    };
  } finally {
    await sql.unsafe("COMMIT");
  }
}
