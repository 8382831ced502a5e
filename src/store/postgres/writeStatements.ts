import type { PlayerLimits } from "../ledger.ts";
import type { TableRoundStatus } from "../tableRounds.ts";
import type { BatchPlan, CommandIndex, PlayerRow } from "./batchPlan.ts";
import { commandIndexAdd } from "./batchPlan.ts";
import { safeInteger } from "./integers.ts";
import type { Connection } from "./pool.ts";

/**
 * The statements of a write transaction. Each is issued without awaiting the previous one, so
 * postgres.js pipelines them: a batch costs two round trips (read under lock, then insert +
 * COMMIT) whatever its size. The server runs them in order, each with a fresh snapshot (READ
 * COMMITTED), which is what makes the reads exact: the journal is read only after the players'
 * row locks are held, and every writer of a player holds that lock.
 */

export interface LockedState {
  /** The transaction's id, which the insert checks to prove it runs in the same transaction. */
  xid: string;
  players: Map<string, PlayerRow>;
  commands: CommandIndex;
  limits: Map<string, PlayerLimits>;
  /** Status of the table rounds the writes name, read FOR SHARE (absent: no such round). */
  rounds: Map<string, TableRoundStatus>;
  /** The transaction's `now()`, epoch ms. */
  nowMs: number;
}

/** What readLocked needs of a write. */
export interface LockedWrite {
  playerId: string;
  commandId: string;
  tableRound?: { roundId: string };
}

interface PlayerDbRow {
  player_id: string;
  balance: string;
  seq: string;
  loss_day: string;
  day_loss: string;
}

interface LimitsDbRow {
  player_id: string;
  self_excluded_until_ms: string | null;
  loss_limit_per_day: string | null;
}

function optionalInteger(value: string | null, what: string): number | null {
  return value === null ? null : safeInteger(value, what);
}

/** A player's stored limits, read with the row of the player locked or not. */
export async function readLimits(
  connection: Connection,
  playerId: string,
): Promise<PlayerLimits | undefined> {
  const [row] = await connection<LimitsDbRow[]>`
    SELECT player_id, self_excluded_until_ms, loss_limit_per_day FROM player_limits
    WHERE player_id = ${playerId}`;
  return row === undefined ? undefined : limitsOf(row);
}

function limitsOf(row: LimitsDbRow): PlayerLimits {
  return {
    selfExcludedUntil: optionalInteger(row.self_excluded_until_ms, "self_excluded_until_ms"),
    lossLimitPerDay: optionalInteger(row.loss_limit_per_day, "loss_limit_per_day"),
  };
}

interface CommandDbRow {
  player_id: string;
  command_id: string;
  request_hash: string;
  reply: string;
}

/** Ends the transaction; resolves with the command tag ("COMMIT", or "ROLLBACK" if it had failed). */
export async function commit(connection: Connection): Promise<string> {
  const result = await connection.unsafe("COMMIT");
  return result.command;
}

/**
 * Like Promise.all, but waits for every statement to settle before throwing the first failure.
 * A statement still queued in postgres.js when its connection is handed on would run later, in
 * the next holder's session (a stray BEGIN would leave that session inside a transaction).
 */
export async function settleAll<T extends readonly unknown[]>(
  statements: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(statements);
  const values: unknown[] = [];
  for (const result of settled) {
    if (result.status === "rejected") throw result.reason;
    values.push(result.value);
  }
  return values as unknown as T;
}

export async function rollbackQuietly(connection: Connection): Promise<void> {
  // A connection that is gone has no transaction left to end.
  await connection.unsafe("ROLLBACK").catch(() => undefined);
}

/**
 * Sends `opening` (BEGIN, SAVEPOINT: simple statements without parameters), then locks the rows
 * of the writes' players (sorted, so that two nodes locking overlapping sets cannot deadlock),
 * then reads the stored commands among the writes' ids and the statuses of their table rounds;
 * all in one round trip. A player without a row has nothing to lock: a second node creating it
 * at once collides on the journal's keys.
 *
 * The rounds are read FOR SHARE: a round's close is an UPDATE of its row, so it waits until
 * every transaction that saw the round open has committed its bets, and a transaction reading
 * after the close sees it closed. Share locks never wait for each other, only for that UPDATE.
 */
export async function readLocked(
  connection: Connection,
  opening: readonly string[],
  writes: readonly LockedWrite[],
): Promise<LockedState> {
  const playerIds = [...new Set(writes.map((write) => write.playerId))];
  // Shape is checked later, per write (planBatch): a malformed link must not fail the batch.
  const roundIds = [
    ...new Set(
      writes.flatMap((write) => {
        const roundId = write.tableRound?.roundId;
        return typeof roundId === "string" ? [roundId] : [];
      }),
    ),
  ];
  const pairPlayers = writes.map((write) => write.playerId);
  const pairCommands = writes.map((write) => write.commandId);
  // Simple protocol for the openings: they travel as text, never as prepared statements.
  const opened = opening.map((statement) => connection.unsafe(statement).execute());
  // The first statement sent comes first: its failure is the one that says why.
  const [, xidRows, playerRows, limitRows, commandRows, roundRows] = await settleAll([
    settleAll(opened),
    connection<{ xid: string; now_ms: string }[]>`
      SELECT pg_current_xact_id()::text AS xid,
             floor(extract(epoch FROM now()) * 1000)::bigint AS now_ms`.execute(),
    connection<PlayerDbRow[]>`
      SELECT player_id, balance, seq, loss_day, day_loss FROM players
      WHERE player_id = ANY(${playerIds}::text[])
      ORDER BY player_id FOR UPDATE`.execute(),
    // After the locks: a limit stored before this transaction took them is seen.
    connection<LimitsDbRow[]>`
      SELECT player_id, self_excluded_until_ms, loss_limit_per_day FROM player_limits
      WHERE player_id = ANY(${playerIds}::text[])`.execute(),
    connection<CommandDbRow[]>`
      SELECT j.player_id, j.command_id, j.request_hash, j.reply FROM journal j
      WHERE (j.player_id, j.command_id) IN (
        SELECT * FROM unnest(${pairPlayers}::text[], ${pairCommands}::text[]))`.execute(),
    // A batch without table writes (every slot spin) sends no statement for rounds.
    roundIds.length === 0
      ? Promise.resolve([])
      : connection<{ round_id: string; status: TableRoundStatus }[]>`
          SELECT round_id, status FROM table_rounds WHERE round_id = ANY(${roundIds}::text[])
          ORDER BY round_id FOR SHARE`.execute(),
  ]);
  const xid = xidRows[0]?.xid;
  if (xid === undefined) throw new Error("pg_current_xact_id returned no row");
  const nowMs = safeInteger(xidRows[0]?.now_ms ?? "", "now()");
  const players = new Map<string, PlayerRow>();
  for (const row of playerRows) {
    players.set(row.player_id, {
      balance: safeInteger(row.balance, `balance of ${row.player_id}`),
      seq: safeInteger(row.seq, `seq of ${row.player_id}`),
      lossDay: safeInteger(row.loss_day, `loss_day of ${row.player_id}`),
      dayLoss: safeInteger(row.day_loss, `day_loss of ${row.player_id}`),
    });
  }
  const limits = new Map<string, PlayerLimits>();
  for (const row of limitRows) limits.set(row.player_id, limitsOf(row));
  const commands: CommandIndex = new Map();
  for (const row of commandRows) {
    commandIndexAdd(commands, row.player_id, row.command_id, {
      requestHash: row.request_hash,
      reply: row.reply,
    });
  }
  const rounds = new Map<string, TableRoundStatus>();
  for (const row of roundRows) rounds.set(row.round_id, row.status);
  return { xid, players, commands, limits, rounds, nowMs };
}

/**
 * Inserts every row of the plan in one statement, each column sent as a typed array (unnest), so
 * the server parses no JSON. Journal ids are assigned in batch order (so a player's entries get
 * ids in seq order); postings find their journal row by (player, seq); table bets are keyed like
 * their journal row, (player, command id), and take the same `now()`. The statement fails, and
 * so aborts the transaction, unless it runs in the transaction that read the state (`xid`: a lost
 * session must not let the insert run on its own) and every row of the plan was inserted.
 */
export function insertPlan(connection: Connection, plan: BatchPlan, xid: string): Promise<unknown> {
  const { journal, postings, players, bets } = plan;
  return connection`
    WITH j AS (
      INSERT INTO journal (player_id, seq, command_id, request_hash, reply, event, round_id, game, round_detail)
      SELECT w.p, w.s, w.c, w.h, w.r, w.e, w.ri, w.g, w.d
      FROM unnest(${journal.map((row) => row.p)}::text[], ${journal.map((row) => row.s)}::bigint[],
        ${journal.map((row) => row.c)}::text[], ${journal.map((row) => row.h)}::text[],
        ${journal.map((row) => row.r)}::text[], ${journal.map((row) => row.e)}::text[],
        ${journal.map((row) => row.ri)}::text[], ${journal.map((row) => row.g)}::text[],
        ${journal.map((row) => row.d)}::text[])
        WITH ORDINALITY AS w(p, s, c, h, r, e, ri, g, d, i)
      ORDER BY w.i
      RETURNING id, player_id, seq
    ), ps AS (
      INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
      SELECT j.id, x.n, x.a, x.k, x.m, x.b
      FROM unnest(${postings.map((row) => row.p)}::text[], ${postings.map((row) => row.s)}::bigint[],
        ${postings.map((row) => row.n)}::smallint[], ${postings.map((row) => row.a)}::text[],
        ${postings.map((row) => row.k)}::text[], ${postings.map((row) => row.m)}::bigint[],
        ${postings.map((row) => row.b)}::bigint[])
        AS x(p, s, n, a, k, m, b)
      JOIN j ON j.player_id = x.p AND j.seq = x.s
      RETURNING 1
    ), u AS (
      INSERT INTO players (player_id, balance, seq, loss_day, day_loss)
      SELECT y.p, y.b, y.s, y.ld, y.dl
      FROM unnest(${players.map((row) => row.p)}::text[], ${players.map((row) => row.b)}::bigint[],
        ${players.map((row) => row.s)}::bigint[], ${players.map((row) => row.ld)}::bigint[],
        ${players.map((row) => row.dl)}::bigint[])
        AS y(p, b, s, ld, dl)
      ON CONFLICT (player_id) DO UPDATE SET balance = excluded.balance, seq = excluded.seq,
        loss_day = excluded.loss_day, day_loss = excluded.day_loss
      RETURNING 1
    ), tb AS (
      INSERT INTO table_bets (player_id, command_id, round_id, kind, pick, amount, client_seed)
      SELECT t.p, t.c, t.ri, t.k, t.pk, t.m, t.cs
      FROM unnest(${bets.map((row) => row.p)}::text[], ${bets.map((row) => row.c)}::text[],
        ${bets.map((row) => row.ri)}::text[], ${bets.map((row) => row.k)}::text[],
        ${bets.map((row) => row.pk)}::smallint[], ${bets.map((row) => row.m)}::bigint[],
        ${bets.map((row) => row.cs)}::text[])
        AS t(p, c, ri, k, pk, m, cs)
      RETURNING 1
    )
    SELECT croupier_assert(
      pg_current_xact_id() = ${xid}::xid8
        AND (SELECT count(*) FROM j) = ${journal.length}
        AND (SELECT count(*) FROM ps) = ${postings.length}
        AND (SELECT count(*) FROM u) = ${players.length}
        AND (SELECT count(*) FROM tb) = ${bets.length},
      'the batch insert ran outside its transaction or missed rows') AS ok`.execute();
}
