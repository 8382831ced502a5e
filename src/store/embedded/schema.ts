import { Database } from "bun:sqlite";
import { join } from "node:path";

/**
 * The embedded ledger's tables. Shaped for group commit of many players' writes:
 *
 * - Rows that grow with every write (`journal`, `postings`) are appended in commit order, so a
 *   batch fills a few fresh pages instead of touching one page per player. Only the per-player
 *   index by command id and the `players` row are written at random: every dirty page is a 4 KiB
 *   WAL frame, and a batch holds about one write per player.
 * - A player's journal rows are a chain instead of an index by (player, seq): each row names the
 *   player's previous row (`prev_id`, NULL for the first) and `players.last_id` the latest. A
 *   reader walks it backwards by rowid; a unique (player_id, seq) index cost the writer one more
 *   random leaf page per player per batch (measured: about 9 us of writer CPU per write). The
 *   single writer's fencing (seq = player seq + 1) keeps seqs unique; the audit checks them.
 * - A slot round is one journal entry, so its record lives in the journal row (`round_*`
 *   columns) rather than in a second table: one row fewer per spin.
 * - There is no balance row for house, cash or promo accounts: updating one on every spin would
 *   make every write contend on the same page. Their balances are sums of postings.
 * - `event` is NULL when the sequenced event is the reply itself (a spin), so the text is stored once.
 * - The day's running net loss (`loss_day`, `day_loss`) lives in the `players` row the write
 *   updates anyway; `player_limits` holds the limits, written rarely.
 *
 * - Table rounds (`table_rounds`) and the bets recorded against them (`table_bets`, keyed like the
 *   journal entry that debited the bet) are written a few times per round, not per spin.
 * - `table_seats` holds who is joined to which table (until `table.leave`), so seats outlive a
 *   restart. It moves no money; created wherever it is missing (no version step: a file with or
 *   without it is read the same by every version 4 build).
 *
 * - Command ids are found through `command_index` (player, command id -> journal row), filled
 *   lazily: a player's newest commands are only in the journal (above `players.indexed_through`)
 *   and in the writer's memory, and go into the index a player's batch at a time (commandIndex.ts).
 *   A unique index on the journal would put every write on a random leaf page of its own: with a
 *   thousand players writing, a batch of 250 spins dirtied 250 leaves (4 KiB WAL frames each),
 *   which cost the writer half its time per spin. `command_index_floor` names the oldest journal
 *   row that may still be missing from the index, so the writer rebuilds its memory from there.
 *   Entries without a slot round (deposits, withdrawals, table bets and settlements) keep a
 *   unique index on the journal as well: the table-round queries find them by command id.
 *
 * Version 2 added the loss columns and `player_limits`, version 3 the table-round tables, version 4
 * the chain (`prev_id`, `last_id`) in place of the index `journal_by_seq`, version 5 the player
 * in the index of bets by round (a player's bets in a round are a seek, not a scan of the
 * round), version 6 `command_index` in place of the unique journal index over every entry;
 * older files are upgraded in place.
 */
export const schemaVersion = 6;

/** Versions `openWriterDatabase` upgrades in place (0 is a new, empty file). */
const upgradableVersions: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5]);

export const ledgerFileName = "ledger.db";

export function ledgerPath(dataDir: string): string {
  return join(dataDir, ledgerFileName);
}

const limitsTableSql = `
CREATE TABLE IF NOT EXISTS player_limits (
  player_id TEXT PRIMARY KEY,
  self_excluded_until INTEGER,
  loss_limit_per_day INTEGER CHECK (loss_limit_per_day >= 0)
) WITHOUT ROWID;
`;

/**
 * Version 3. The partial unique index is the store's "one unfinished round per table" rule; the
 * other partial indexes cover only the rows recovery and the fairness count look for, so they
 * stay small however many rounds a table has played.
 */
const tableRoundsSql = `
CREATE TABLE IF NOT EXISTS table_rounds (
  round_id TEXT PRIMARY KEY,
  table_id TEXT NOT NULL,
  game TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'settled', 'voided')),
  server_seed TEXT NOT NULL,
  commit_hex TEXT NOT NULL,
  client_seeds TEXT,
  result INTEGER,
  opened_at INTEGER NOT NULL,
  closes_at INTEGER NOT NULL,
  closed_at INTEGER,
  finished_at INTEGER,
  paid INTEGER NOT NULL DEFAULT 0 CHECK (paid IN (0, 1))
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS table_rounds_one_unfinished ON table_rounds (table_id)
  WHERE status IN ('open', 'closed');
CREATE INDEX IF NOT EXISTS table_rounds_unfinished ON table_rounds (table_id, opened_at)
  WHERE status IN ('open', 'closed') OR paid = 0;
CREATE INDEX IF NOT EXISTS table_rounds_voided ON table_rounds (table_id) WHERE status = 'voided';

CREATE TABLE IF NOT EXISTS table_bets (
  player_id TEXT NOT NULL,
  command_id TEXT NOT NULL,
  round_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  pick INTEGER,
  amount INTEGER NOT NULL CHECK (amount > 0),
  client_seed TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (player_id, command_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS table_bets_by_round_player ON table_bets (round_id, player_id);

CREATE TABLE IF NOT EXISTS table_seats (
  table_id TEXT NOT NULL,
  player_id TEXT NOT NULL,
  PRIMARY KEY (table_id, player_id)
) WITHOUT ROWID;
`;

/**
 * Version 6. Queries that find entries without a slot round by command id repeat the partial
 * index's condition (\`round_id IS NULL\`), so that SQLite uses it.
 */
const commandIndexSql = `
CREATE UNIQUE INDEX IF NOT EXISTS journal_by_command_unrounded ON journal (player_id, command_id)
  WHERE round_id IS NULL;
CREATE TABLE IF NOT EXISTS command_index (
  player_id TEXT NOT NULL,
  command_id TEXT NOT NULL,
  journal_id INTEGER NOT NULL,
  PRIMARY KEY (player_id, command_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS command_index_floor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  journal_id INTEGER NOT NULL
);
`;

const schemaSql = `
CREATE TABLE IF NOT EXISTS players (
  player_id TEXT PRIMARY KEY,
  balance INTEGER NOT NULL CHECK (balance >= 0),
  seq INTEGER NOT NULL CHECK (seq >= 0),
  loss_day INTEGER NOT NULL DEFAULT 0,
  day_loss INTEGER NOT NULL DEFAULT 0,
  last_id INTEGER,
  indexed_through INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS journal (
  id INTEGER PRIMARY KEY,
  player_id TEXT NOT NULL,
  seq INTEGER NOT NULL CHECK (seq >= 1),
  command_id TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  reply TEXT NOT NULL,
  event TEXT,
  at INTEGER NOT NULL,
  round_id TEXT,
  game TEXT,
  round_detail TEXT,
  prev_id INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS journal_by_round ON journal (round_id) WHERE round_id IS NOT NULL;
${commandIndexSql}
CREATE TABLE IF NOT EXISTS postings (
  journal_id INTEGER NOT NULL,
  n INTEGER NOT NULL,
  account TEXT NOT NULL,
  kind TEXT,
  amount INTEGER NOT NULL CHECK (amount != 0),
  balance_after INTEGER CHECK (balance_after >= 0),
  PRIMARY KEY (journal_id, n)
) WITHOUT ROWID;
${limitsTableSql}${tableRoundsSql}`;

/** Steps from version 1 to 2. */
const upgradeFrom1Sql = `
ALTER TABLE players ADD COLUMN loss_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE players ADD COLUMN day_loss INTEGER NOT NULL DEFAULT 0;
${limitsTableSql}`;

/**
 * Steps from versions 1-3 to 4 (after the tables of version 3 exist). The new columns go last, as
 * ALTER TABLE puts them, so new and upgraded files have one layout. The chain is filled while
 * `journal_by_seq` still exists: the window runs in its (player_id, seq) order without a sort, and
 * `last_id` is a seek in it. Rewrites every journal row but each player's first: proportional to
 * the journal, once.
 */
const upgradeTo4Sql = `
ALTER TABLE journal ADD COLUMN prev_id INTEGER;
ALTER TABLE players ADD COLUMN last_id INTEGER;
UPDATE journal SET prev_id = chain.prev_id
FROM (SELECT id, LAG(id) OVER (PARTITION BY player_id ORDER BY seq) AS prev_id FROM journal) chain
WHERE journal.id = chain.id AND chain.prev_id IS NOT NULL;
UPDATE players SET last_id = (SELECT j.id FROM journal j WHERE j.player_id = players.player_id
                              ORDER BY j.seq DESC LIMIT 1);
DROP INDEX IF EXISTS journal_by_seq;
`;

/** Steps from versions 3-4 to 5 (version 2 files get the new index with the tables of version 3). */
const upgradeTo5Sql = `
DROP INDEX IF EXISTS table_bets_by_round;
`;

/**
 * Steps from versions 1-5 to 6 (after the steps to 4 and 5, so the new column goes last, as in a
 * new file): every command so far goes into `command_index` at once, each player is then indexed
 * through their latest row, and the unique journal index over all entries goes. Proportional to
 * the journal, once.
 */
const upgradeTo6Sql = `
ALTER TABLE players ADD COLUMN indexed_through INTEGER NOT NULL DEFAULT 0;
INSERT INTO command_index (player_id, command_id, journal_id)
  SELECT player_id, command_id, id FROM journal ORDER BY player_id, command_id;
UPDATE players SET indexed_through = coalesce(last_id, 0);
INSERT INTO command_index_floor (id, journal_id) SELECT 1, coalesce(max(id), 0) + 1 FROM journal;
DROP INDEX IF EXISTS journal_by_command;
`;

export interface WriterPragmas {
  busyTimeoutMs: number;
  cacheKiB: number;
  walAutocheckpointPages: number;
}

/** What the writer connection reports after setup; read back from SQLite, not assumed. */
export interface Durability {
  journalMode: string;
  synchronous: number;
  busyTimeoutMs: number;
}

/** `PRAGMA synchronous` values; FULL syncs the WAL on every commit (safe against power loss). */
export const synchronousFull = 2;

function readPragma(db: Database, name: string): string | number {
  const row = db.query(`PRAGMA ${name}`).values()[0];
  const value = row?.[0];
  if (typeof value !== "string" && typeof value !== "number") {
    throw new Error(`PRAGMA ${name} returned no value`);
  }
  return value;
}

/** Reads the durability settings back and fails unless they are the ones the ledger promises. */
export function verifyDurability(db: Database, busyTimeoutMs: number): Durability {
  const durability: Durability = {
    journalMode: String(readPragma(db, "journal_mode")).toLowerCase(),
    synchronous: Number(readPragma(db, "synchronous")),
    busyTimeoutMs: Number(readPragma(db, "busy_timeout")),
  };
  if (durability.journalMode !== "wal") {
    throw new Error(`journal_mode is ${durability.journalMode}, not wal`);
  }
  if (durability.synchronous !== synchronousFull) {
    throw new Error(`synchronous is ${durability.synchronous}, not FULL (${synchronousFull})`);
  }
  if (durability.busyTimeoutMs !== busyTimeoutMs) {
    throw new Error(`busy_timeout is ${durability.busyTimeoutMs}, not ${busyTimeoutMs}`);
  }
  return durability;
}

/**
 * Closes the connection now. `close(true)` finalizes the statements prepared on it first; a plain
 * `close()` would leave a "zombie" connection, still holding the file and its locks, until the
 * garbage collector gets to those statements.
 */
export function closeNow(db: Database): void {
  try {
    db.close(true);
  } catch {
    db.close();
  }
}

/** Opens (creating if needed) the writer connection, applies pragmas and the schema. */
export function openWriterDatabase(path: string, pragmas: WriterPragmas): Database {
  const db = new Database(path, { create: true, readwrite: true, strict: true });
  try {
    db.run(`PRAGMA busy_timeout = ${pragmas.busyTimeoutMs}`);
    db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = FULL");
    db.run(`PRAGMA cache_size = -${pragmas.cacheKiB}`);
    db.run(`PRAGMA wal_autocheckpoint = ${pragmas.walAutocheckpointPages}`);
    // When the WAL starts over it is cut back to the size of a full autocheckpoint interval, so
    // a burst does not keep disk forever, while the usual cycle reuses the file as it is.
    const pageBytes = Number(readPragma(db, "page_size"));
    db.run(`PRAGMA journal_size_limit = ${pragmas.walAutocheckpointPages * pageBytes}`);
    const version = Number(readPragma(db, "user_version"));
    if (!upgradableVersions.has(version) && version !== schemaVersion) {
      throw new Error(`ledger schema version ${version} is not ${schemaVersion}`);
    }
    db.run("BEGIN IMMEDIATE");
    if (version === 1) db.run(upgradeFrom1Sql);
    // Creates what is missing: everything in a new file, the table-round tables in a version 2 one.
    db.run(schemaSql);
    if (version >= 1 && version <= 3) db.run(upgradeTo4Sql);
    if (version >= 3 && version <= 4) db.run(upgradeTo5Sql);
    if (version >= 1 && version <= 5) db.run(upgradeTo6Sql);
    db.run(`PRAGMA user_version = ${schemaVersion}`);
    db.run("COMMIT");
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The checkpointer's connection: it only runs checkpoints, which write the database file and
 * sync it (with synchronous=FULL, as the writer) before the WAL may be reused.
 */
export function openCheckpointerDatabase(path: string, busyTimeoutMs: number): Database {
  const db = new Database(path, { readwrite: true, strict: true });
  try {
    db.run(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    db.run("PRAGMA synchronous = FULL");
    verifyDurability(db, busyTimeoutMs);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** A read-only connection: WAL lets it read alongside the writer and see every commit so far. */
export function openReaderDatabase(path: string, busyTimeoutMs: number): Database {
  const db = new Database(path, { readonly: true, strict: true });
  db.run(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
  const version = Number(readPragma(db, "user_version"));
  if (version !== schemaVersion) {
    db.close();
    throw new Error(`ledger schema version ${version} is not ${schemaVersion}`);
  }
  return db;
}
