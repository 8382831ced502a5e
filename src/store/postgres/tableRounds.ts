import { CroupierError } from "../../errors.ts";
import type { CloseOutcome, NewTableRound, TableRoundStatus } from "../tableRounds.ts";
import { failure, isServerError } from "./failures.ts";
import type { Connection, ConnectionPool } from "./pool.ts";
import { commit, rollbackQuietly, settleAll } from "./writeStatements.ts";

/**
 * The steps of a table round's status machine (store/tableRounds.ts), each one short transaction
 * on a pooled connection of its own, beside group commit: a step is one row of one table and
 * waits for nobody's batch. Every step is an UPDATE guarded by the status it leaves, so of two
 * tables (a stale activation, recovery) racing on one round exactly one step wins.
 *
 * The close is the one that orders against bets: a bet's transaction holds its round's row FOR
 * SHARE from its read to its COMMIT (writeStatements.ts), and the close's UPDATE waits for those
 * locks. So every bet that saw the round open has committed when the UPDATE returns, and every
 * bet reading after it sees the round closed; the client seeds are then read by a statement of
 * their own, whose fresh snapshot (READ COMMITTED) holds exactly the bets in the round.
 *
 * A share lock does not queue behind a waiting UPDATE, so a steady stream of new bets could keep
 * a close waiting. The table stops handing out its round before it closes it (actors/table.ts),
 * so the close waits only for the bets already in flight; statement_timeout bounds the rest.
 */

/** The partial unique index that keeps one unfinished round per table (schema.ts). */
const oneUnfinishedIndex = "table_rounds_one_unfinished";

/** Text fields as the store keeps them: bounds match the write links (validateWrite.ts). */
const roundIdLengthMax = 128;
const tableIdLengthMax = 64;
const gameLengthMax = 64;
/** A server seed and its commit are 32 bytes in hex (docs/PROTOCOL.md, "Fairness"). */
const seedHexLength = 64;

function assertText(value: unknown, lengthMax: number, what: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > lengthMax) {
    throw new RangeError(`${what} must be 1-${lengthMax} characters`);
  }
}

function assertNewRound(round: NewTableRound): void {
  assertText(round.roundId, roundIdLengthMax, "roundId");
  assertText(round.table, tableIdLengthMax, "table");
  assertText(round.game, gameLengthMax, "game");
  for (const [what, hex] of [
    ["serverSeed", round.serverSeed],
    ["commit", round.commit],
  ] as const) {
    if (typeof hex !== "string" || !/^[0-9a-f]+$/i.test(hex) || hex.length !== seedHexLength) {
      throw new RangeError(`${what} must be ${seedHexLength} hex characters`);
    }
  }
  for (const [what, ms] of [
    ["openedAt", round.openedAt],
    ["closesAt", round.closesAt],
  ] as const) {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`${what} must be epoch ms`);
  }
}

/** Runs one step on a pooled connection; a driver error becomes BUSY or INTERNAL (failures.ts). */
function step<T>(
  pool: ConnectionPool,
  what: string,
  body: (sql: Connection) => Promise<T>,
): Promise<T> {
  return pool.use(async (sql) => {
    try {
      return await body(sql);
    } catch (error) {
      if (error instanceof CroupierError) throw error;
      throw failure(`table round ${what} failed`, error);
    }
  });
}

export function openTableRound(pool: ConnectionPool, round: NewTableRound): Promise<boolean> {
  assertNewRound(round);
  return step(pool, "open", async (sql) => {
    try {
      await sql`
        INSERT INTO table_rounds (round_id, table_id, game, status, server_seed, commit_hex,
          opened_at_ms, closes_at_ms)
        VALUES (${round.roundId}, ${round.table}, ${round.game}, 'open', ${round.serverSeed},
          ${round.commit}, ${round.openedAt}, ${round.closesAt})`;
      return true;
    } catch (error) {
      // The table already has an unfinished round: a refusal, not a fault.
      if (isServerError(error) && error.constraint_name === oneUnfinishedIndex) return false;
      throw error;
    }
  });
}

export function closeTableRound(pool: ConnectionPool, roundId: string): Promise<CloseOutcome> {
  return step(pool, "close", async (sql) => {
    try {
      return await closeOn(sql, roundId);
    } catch (error) {
      // A lost session has no transaction left; reconnecting just to end it would only wait.
      if (!pool.lost(sql)) await rollbackQuietly(sql);
      throw error;
    }
  });
}

async function closeOn(sql: Connection, roundId: string): Promise<CloseOutcome> {
  // READ COMMITTED is what gives the seeds' statement below a snapshot taken after the UPDATE
  // waited; set here rather than trusted from the server's default.
  const [, closed] = await settleAll([
    sql.unsafe("BEGIN ISOLATION LEVEL READ COMMITTED").execute(),
    sql`
      UPDATE table_rounds SET status = 'closed', closed_at = now()
      WHERE round_id = ${roundId} AND status = 'open'
      RETURNING round_id`.execute(),
  ]);
  if (closed.length === 0) {
    const [, current] = await settleAll([
      sql.unsafe("ROLLBACK").execute(),
      sql<{ status: TableRoundStatus }[]>`
        SELECT status FROM table_rounds WHERE round_id = ${roundId}`.execute(),
    ]);
    return { closed: false, status: current[0]?.status ?? null };
  }
  // A statement of its own: a CTE of the UPDATE would share its snapshot, taken before the
  // UPDATE waited for the bets still committing.
  const seedRows = await sql<{ client_seed: string }[]>`
    SELECT client_seed FROM table_bets WHERE round_id = ${roundId} AND client_seed IS NOT NULL`;
  // UTF-16 code unit order (docs/PROTOCOL.md, "Fairness"), never the database's collation.
  const clientSeeds = seedRows.map((row) => row.client_seed).sort();
  const [, committed] = await settleAll([
    sql`
      UPDATE table_rounds SET client_seeds = ${JSON.stringify(clientSeeds)}
      WHERE round_id = ${roundId}`.execute(),
    commit(sql),
  ]);
  if (committed !== "COMMIT") throw new Error(`COMMIT answered ${committed}`);
  return { closed: true, clientSeeds };
}

/** Pockets of the wheel: 0..36. */
const resultMax = 36;

export function settleTableRound(
  pool: ConnectionPool,
  roundId: string,
  result: number,
): Promise<boolean> {
  if (!Number.isInteger(result) || result < 0 || result > resultMax) {
    throw new RangeError(`result ${result} is not an integer in 0..${resultMax}`);
  }
  return step(pool, "settle", async (sql) => {
    const updated = await sql`
      UPDATE table_rounds SET status = 'settled', result = ${result}, finished_at = now()
      WHERE round_id = ${roundId} AND status = 'closed'`;
    return updated.count === 1;
  });
}

export function voidTableRound(pool: ConnectionPool, roundId: string): Promise<boolean> {
  return step(pool, "void", async (sql) => {
    const updated = await sql`
      UPDATE table_rounds SET status = 'voided', finished_at = now()
      WHERE round_id = ${roundId} AND status IN ('open', 'closed')`;
    return updated.count === 1;
  });
}

/** True also for a round already marked paid: the step is idempotent. */
export function markTableRoundPaid(pool: ConnectionPool, roundId: string): Promise<boolean> {
  return step(pool, "mark paid", async (sql) => {
    const updated = await sql`
      UPDATE table_rounds SET paid = true
      WHERE round_id = ${roundId} AND status IN ('settled', 'voided')`;
    return updated.count === 1;
  });
}

/** Seats or unseats a player at a table; doing it twice changes nothing. */
export function setTableSeat(
  pool: ConnectionPool,
  table: string,
  playerId: string,
  seated: boolean,
): Promise<void> {
  return step(pool, "seat", async (sql) => {
    if (seated) {
      await sql`
        INSERT INTO table_seats (table_id, player_id) VALUES (${table}, ${playerId})
        ON CONFLICT DO NOTHING`;
    } else {
      await sql`DELETE FROM table_seats WHERE table_id = ${table} AND player_id = ${playerId}`;
    }
  });
}
