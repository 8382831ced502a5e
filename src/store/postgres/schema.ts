import type { Sql } from "postgres";
import { settleAll } from "./writeStatements.ts";

/**
 * The Postgres ledger's tables, as numbered migrations applied at every start.
 *
 * - `journal` is one row per committed command (idempotency key, stored reply, sequenced event,
 *   the slot round if any). UNIQUE (player_id, command_id) makes idempotency a property of the
 *   database, and UNIQUE (player_id, seq) makes fencing one: two writers that read the same
 *   player state cannot both commit, whatever the application does.
 * - `postings` is the double entry: one row per movement, keyed by (journal_id, n). There is no
 *   balance row for house, cash or promo accounts: updating one on every spin would serialize
 *   every transaction on that row. Their balances are sums of postings.
 * - `players` holds each player's balance and seq, the row every write of that player locks.
 * - Journal and postings are append-only: a statement-level trigger refuses UPDATE, DELETE and
 *   TRUNCATE (it costs nothing on INSERT). Correcting money is a new, compensating entry.
 * - `players.loss_day` / `day_loss` are the running net loss of the player's current UTC day,
 *   updated with the balance; `player_limits` holds the limits every wager is checked against
 *   under the player's row lock.
 * - `at` is the commit transaction's start (`now()`), one clock for every node.
 * - Journal ids come from an identity sequence (CACHE 1), so a player's entries get ids in seq
 *   order across nodes: each write of a player starts after the previous one committed.
 * - `table_rounds` is a round's status machine (store/tableRounds.ts); every step is an UPDATE
 *   guarded by the status it leaves, and a partial unique index keeps one unfinished round per
 *   table. `table_bets` is append-only like the journal: one row per committed bet, keyed like
 *   its journal row. A settlement's journal row is found by its command id (`~round:<roundId>`)
 *   through a partial index that holds settlements only, so the audit never scans the journal.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "players, journal, postings",
    sql: `
CREATE TABLE players (
  player_id text PRIMARY KEY,
  balance bigint NOT NULL CHECK (balance >= 0),
  seq bigint NOT NULL CHECK (seq >= 0)
);

CREATE TABLE journal (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  player_id text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 1),
  command_id text NOT NULL,
  request_hash text NOT NULL,
  reply text NOT NULL,
  event text,
  at timestamptz NOT NULL DEFAULT now(),
  round_id text,
  game text,
  round_detail text,
  CONSTRAINT journal_player_seq_key UNIQUE (player_id, seq),
  CONSTRAINT journal_player_command_key UNIQUE (player_id, command_id),
  CONSTRAINT journal_round_whole CHECK (
    (round_id IS NULL) = (game IS NULL) AND (round_id IS NULL) = (round_detail IS NULL))
);
CREATE UNIQUE INDEX journal_round_key ON journal (round_id) WHERE round_id IS NOT NULL;

CREATE TABLE postings (
  journal_id bigint NOT NULL,
  n smallint NOT NULL CHECK (n >= 0),
  account text NOT NULL,
  kind text,
  amount bigint NOT NULL CHECK (amount <> 0),
  balance_after bigint CHECK (balance_after >= 0),
  PRIMARY KEY (journal_id, n),
  CONSTRAINT postings_player_fields CHECK ((kind IS NULL) = (balance_after IS NULL))
);

CREATE FUNCTION croupier_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $$;
CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON journal
  FOR EACH STATEMENT EXECUTE FUNCTION croupier_refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON postings
  FOR EACH STATEMENT EXECUTE FUNCTION croupier_refuse_change();

-- Lets one statement refuse to finish (and so abort its transaction) when a count is off.
CREATE FUNCTION croupier_assert(ok boolean, message text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION 'croupier assertion failed: %', message;
  END IF;
  RETURN true;
END $$;
`,
  },
  {
    version: 2,
    name: "player limits and the day's running loss",
    sql: `
ALTER TABLE players
  ADD COLUMN loss_day bigint NOT NULL DEFAULT 0,
  ADD COLUMN day_loss bigint NOT NULL DEFAULT 0;

CREATE TABLE player_limits (
  player_id text PRIMARY KEY,
  self_excluded_until_ms bigint,
  loss_limit_per_day bigint CHECK (loss_limit_per_day >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 3,
    name: "table rounds and their bets",
    sql: `
CREATE TABLE table_rounds (
  round_id text PRIMARY KEY,
  table_id text NOT NULL,
  game text NOT NULL,
  status text NOT NULL CHECK (status IN ('open', 'closed', 'settled', 'voided')),
  server_seed text NOT NULL,
  commit_hex text NOT NULL,
  -- JSON array of the sorted client seeds, fixed at close; null before.
  client_seeds text,
  result smallint CHECK (result BETWEEN 0 AND 36),
  opened_at_ms bigint NOT NULL,
  closes_at_ms bigint NOT NULL,
  closed_at timestamptz,
  finished_at timestamptz,
  paid boolean NOT NULL DEFAULT false,
  CONSTRAINT table_rounds_result_when_settled CHECK ((status = 'settled') = (result IS NOT NULL)),
  CONSTRAINT table_rounds_paid_when_finished CHECK (NOT paid OR status IN ('settled', 'voided'))
);
-- At most one unfinished round per table: opening a second one is this index's violation.
CREATE UNIQUE INDEX table_rounds_one_unfinished ON table_rounds (table_id)
  WHERE status IN ('open', 'closed');
-- Unfinished rounds are exactly the unpaid ones (paid implies finished), oldest first.
CREATE INDEX table_rounds_unpaid ON table_rounds (table_id, opened_at_ms) WHERE NOT paid;
CREATE INDEX table_rounds_voided ON table_rounds (table_id) WHERE status = 'voided';

CREATE TABLE table_bets (
  player_id text NOT NULL,
  command_id text NOT NULL,
  round_id text NOT NULL REFERENCES table_rounds (round_id),
  kind text NOT NULL,
  pick smallint,
  amount bigint NOT NULL CHECK (amount > 0),
  client_seed text,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (player_id, command_id)
);
CREATE INDEX table_bets_round ON table_bets (round_id);
CREATE TRIGGER table_bets_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON table_bets
  FOR EACH STATEMENT EXECUTE FUNCTION croupier_refuse_change();

-- Settlement entries only (payouts and refunds of table rounds): the audit reads them here.
CREATE INDEX journal_table_settlements ON journal (player_id, command_id)
  WHERE starts_with(command_id, '~round:');

-- What a roulette bet credits when the ball lands on result: stake * (odds + 1) if it wins, 0 if
-- it loses, null for a (kind, pick) no valid bet has (games/roulette/bets.ts, for the audit).
CREATE FUNCTION croupier_roulette_credit(kind text, pick integer, amount bigint, result integer)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN kind = 'straight' AND pick BETWEEN 0 AND 36 THEN
      CASE WHEN pick = result THEN amount * 36 ELSE 0 END
    WHEN kind IN ('dozen', 'column') AND pick BETWEEN 1 AND 3 THEN
      CASE WHEN result <> 0 AND CASE kind
          WHEN 'dozen' THEN (result + 11) / 12 = pick
          ELSE result % 3 = pick % 3 END
        THEN amount * 3 ELSE 0 END
    WHEN kind IN ('red', 'black', 'even', 'odd', 'low', 'high') AND pick IS NULL THEN
      CASE WHEN result <> 0 AND CASE kind
          WHEN 'red' THEN result IN (1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36)
          WHEN 'black' THEN result NOT IN (1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36)
          WHEN 'even' THEN result % 2 = 0
          WHEN 'odd' THEN result % 2 = 1
          WHEN 'low' THEN result <= 18
          ELSE result >= 19 END
        THEN amount * 2 ELSE 0 END
  END
$$;
`,
  },
  {
    version: 4,
    name: "table seats",
    sql: `
-- Who is joined to which table, until table.leave: seats outlive a restart. No money moves here.
CREATE TABLE table_seats (
  table_id text NOT NULL,
  player_id text NOT NULL,
  PRIMARY KEY (table_id, player_id)
);
`,
  },
  {
    version: 5,
    name: "bets by round and player",
    sql: `
-- A player's bets in a round are a seek (what a player actor reloads), not a scan of the round.
CREATE INDEX table_bets_round_player ON table_bets (round_id, player_id);
DROP INDEX table_bets_round;
`,
  },
];

export const schemaVersion = migrations.at(-1)?.version ?? 0;

/**
 * Applies the migrations this database lacks, in order, in one transaction. Safe on every start
 * and from many nodes at once: an advisory lock (per schema) makes the second node wait, and it
 * then finds the versions the first one recorded. A database migrated by a newer build is refused.
 */
export async function migrate(sql: Sql, schema: string): Promise<number> {
  for (const [index, migration] of migrations.entries()) {
    if (migration.version !== index + 1) throw new Error("migrations must be numbered 1..n");
  }
  // Identifier already validated (options.ts); quoted anyway.
  const quoted = `"${schema}"`;
  const [, , , , versionRows] = await settleAll([
    sql.unsafe("BEGIN").execute(),
    sql`SELECT pg_advisory_xact_lock(hashtext('croupier_migrations'), hashtext(${schema}))`.execute(),
    sql
      .unsafe(`CREATE SCHEMA IF NOT EXISTS ${quoted}; SET LOCAL search_path = ${quoted}`)
      .execute(),
    sql
      .unsafe(
        `CREATE TABLE IF NOT EXISTS croupier_migrations (
           version integer PRIMARY KEY,
           name text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now())`,
      )
      .execute(),
    sql<{ version: number }[]>`SELECT version FROM croupier_migrations ORDER BY version`.execute(),
  ]).catch(async (error: unknown) => {
    await sql.unsafe("ROLLBACK").catch(() => undefined);
    throw error;
  });
  try {
    const applied = new Set(versionRows.map((row) => row.version));
    const newest = Math.max(0, ...applied);
    if (newest > schemaVersion) {
      throw new Error(
        `ledger schema ${schema} is at version ${newest}, newer than this build's ${schemaVersion}`,
      );
    }
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await sql.unsafe(migration.sql);
      await sql`INSERT INTO croupier_migrations (version, name)
                VALUES (${migration.version}, ${migration.name})`;
    }
    await sql.unsafe("COMMIT");
    return schemaVersion;
  } catch (error) {
    await sql.unsafe("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** The database does not hold exactly this build's ledger schema; the message says how. */
export class LedgerSchemaError extends Error {
  override readonly name = "LedgerSchemaError";
}

/**
 * Checks, changing nothing, that the schema on the connection's search_path (`schema` names it in
 * messages) holds exactly this build's migrations; throws LedgerSchemaError otherwise. For
 * readers that must never create or upgrade the tables, such as the audit.
 */
export async function assertSchemaCurrent(sql: Sql, schema: string): Promise<void> {
  const [found] = await sql<{ table: string | null }[]>`
    SELECT to_regclass('croupier_migrations')::text AS table`;
  if (found?.table == null) {
    throw new LedgerSchemaError(
      `schema ${schema} holds no Croupier ledger (no croupier_migrations table)`,
    );
  }
  const rows = await sql<{ version: number }[]>`
    SELECT version FROM croupier_migrations ORDER BY version`;
  const applied = rows.map((row) => row.version);
  const newest = Math.max(0, ...applied);
  if (newest > schemaVersion) {
    throw new LedgerSchemaError(
      `ledger schema ${schema} is at version ${newest}, newer than this build's ${schemaVersion}`,
    );
  }
  const expected = migrations.map((migration) => migration.version);
  if (applied.join(",") !== expected.join(",")) {
    throw new LedgerSchemaError(
      `ledger schema ${schema} has migrations [${applied.join(", ")}] applied, this build's ` +
        `ledger is version ${schemaVersion}; a node of this build migrates it when it starts`,
    );
  }
}
