import { CroupierError } from "../../errors.ts";
import type { WalletWrite } from "../ledger.ts";
import { planBatch, type WriteResult } from "./batchPlan.ts";
import {
  contentionRefusal,
  failure as failureOf,
  isLockWait,
  isServerError,
  type ServerError,
} from "./failures.ts";
import type { Connection, ConnectionPool } from "./pool.ts";
import {
  commit,
  insertPlan,
  type LockedState,
  readLocked,
  rollbackQuietly,
} from "./writeStatements.ts";

/**
 * Commits one group-commit batch in ONE transaction, with per-write outcomes. A refused write
 * never fails its batch: every check runs before any insert, and the rows of the writes that
 * pass go in with one statement.
 *
 * When that statement fails anyway (nothing of the batch is then stored):
 * - a collision with another node on a player created at the same moment (unique keys of the
 *   journal or players), or a deadlock: the batch runs again from the start and now sees the
 *   other node's write, so the collision becomes an ordinary `stale_seq` or `duplicate`;
 * - anything else the rows themselves are refused for (a constraint no check foresaw, e.g. a
 *   round id used twice; or text the server cannot take, e.g. U+0000, which fails even the
 *   reads): the batch runs again with one savepoint per write, which stores every write but the
 *   failing one. Rare, so its extra round trips per write do not matter.
 *
 * Failures of the transaction itself map to the protocol's codes: BUSY when nothing was sent
 * (no connection in time, or none could be opened), INTERNAL otherwise, in particular when the
 * COMMIT went out and no answer came back: the caller reloads and retries with the same command
 * id, and idempotency says whether it committed.
 */

/** Times a batch restarts after colliding with another node before it falls back to savepoints. */
const collisionRetriesMax = 3;

/** Unique keys two nodes can collide on when both create the same player at once. */
const collisionConstraints: ReadonlySet<string> = new Set([
  "players_pkey",
  "journal_player_seq_key",
  "journal_player_command_key",
]);

/** A statement refused by the server whose transaction could go on after a restart. */
function isCollision(error: ServerError): boolean {
  if (error.code === "40P01" || error.code === "40001") return true;
  return error.code === "23505" && collisionConstraints.has(error.constraint_name ?? "");
}

/**
 * Data exceptions (SQLSTATE class 22): a value of one write the server cannot take, such as
 * U+0000 in text (22021). It is that write's fault, not the database's.
 */
function isDataError(error: ServerError): boolean {
  return error.code.startsWith("22");
}

/** A refusal of the rows themselves (data, constraints, the insert's own assertion). */
function isRowRefusal(error: ServerError): boolean {
  return isDataError(error) || error.code.startsWith("23") || error.code === "P0001";
}

function failure(stage: string, error: unknown): CroupierError {
  return failureOf(`ledger transaction failed ${stage}`, error);
}

type Attempt = { kind: "done"; results: WriteResult[] } | { kind: "retry" | "isolate" };

/**
 * What the reads left: the state, or their refusal: a collision (start over), or a write's data
 * the server cannot take or a stored row this process cannot read exactly (isolate the writes).
 */
type ReadOutcome = { state: LockedState } | { refused: Error; collision: boolean };

export class BatchTransaction {
  readonly #pool: ConnectionPool;
  readonly #connection: Connection;

  private constructor(pool: ConnectionPool, connection: Connection) {
    this.#pool = pool;
    this.#connection = connection;
  }

  /** Commits the batch; throws a CroupierError (BUSY or INTERNAL) for the batch as a whole. */
  static commit(pool: ConnectionPool, writes: readonly WalletWrite[]): Promise<WriteResult[]> {
    return pool.use(async (connection) => {
      for (let attempt = 0; attempt <= collisionRetriesMax; attempt++) {
        const result = await new BatchTransaction(pool, connection).#guarded((batch) =>
          batch.#setWise(writes),
        );
        if (result.kind === "done") return result.results;
        if (result.kind === "isolate") break;
      }
      return await new BatchTransaction(pool, connection).#guarded((batch) =>
        batch.#perWrite(writes),
      );
    });
  }

  /** Leaves the connection outside any transaction whatever `body` throws. */
  async #guarded<T>(body: (batch: BatchTransaction) => Promise<T>): Promise<T> {
    try {
      return await body(this);
    } catch (error) {
      // A lost session has no transaction left; reconnecting just to end it would only wait.
      if (this.#sameSession()) await rollbackQuietly(this.#connection);
      throw error instanceof CroupierError ? error : failure("unexpectedly", error);
    }
  }

  /** The connection's session has not ended: every statement so far ran in this transaction. */
  #sameSession(): boolean {
    return !this.#pool.lost(this.#connection);
  }

  /**
   * The transaction's reads, or their refusal: a lost deadlock (start over), or a write's id the
   * server cannot take (isolate that write). Anything else fails the batch.
   */
  async #read(opening: readonly string[], writes: readonly WalletWrite[]): Promise<ReadOutcome> {
    try {
      return { state: await readLocked(this.#connection, opening, writes) };
    } catch (error) {
      if (
        isServerError(error) &&
        (isCollision(error) || isDataError(error)) &&
        this.#sameSession()
      ) {
        return { refused: error, collision: isCollision(error) };
      }
      // A stored value past 2^53 (a row written by hand): only that player's writes fail.
      if (error instanceof RangeError && this.#sameSession())
        return { refused: error, collision: false };
      throw failure("reading players and commands", error);
    }
  }

  /** The common path: read under lock, decide every write, insert all rows, commit. */
  async #setWise(writes: readonly WalletWrite[]): Promise<Attempt> {
    const read = await this.#read(["BEGIN"], writes).catch((error: unknown) => {
      // The transaction's first statements: a wait on another session's lock wrote nothing.
      const cause = error instanceof CroupierError ? error.cause : error;
      if (isLockWait(cause) && this.#sameSession())
        throw contentionRefusal("reading players and commands", cause);
      throw error;
    });
    if ("refused" in read) {
      await rollbackQuietly(this.#connection);
      return { kind: read.collision ? "retry" : "isolate" };
    }
    const { state } = read;
    const plan = planBatch(writes, state.players, state.commands, state);
    if (plan.journal.length === 0) {
      // Every write was refused or a retry: nothing to commit, and the outcomes rest on
      // committed data only.
      await rollbackQuietly(this.#connection);
      return { kind: "done", results: plan.results };
    }
    const [inserted, committed] = await Promise.allSettled([
      insertPlan(this.#connection, plan, state.xid),
      commit(this.#connection),
    ]);
    if (!this.#sameSession()) {
      throw failure("during COMMIT (outcome unknown)", new Error("the connection was lost"));
    }
    if (inserted.status === "fulfilled") {
      if (committed.status === "fulfilled" && committed.value === "COMMIT") {
        return { kind: "done", results: plan.results };
      }
      const reason = committed.status === "rejected" ? committed.reason : committed.value;
      throw failure("at COMMIT (outcome unknown)", reason);
    }
    // The insert failed in the server, so the COMMIT behind it could only end the aborted
    // transaction: nothing of the batch is stored.
    if (committed.status !== "fulfilled" || committed.value !== "ROLLBACK") {
      throw failure("at the insert", inserted.reason);
    }
    const reason: unknown = inserted.reason;
    if (!isServerError(reason) || !(isRowRefusal(reason) || isCollision(reason))) {
      throw failure("at the insert", reason);
    }
    return { kind: isCollision(reason) ? "retry" : "isolate" };
  }

  /** The fallback: each write in a savepoint of its own, so one failing write stores nothing. */
  async #perWrite(writes: readonly WalletWrite[]): Promise<WriteResult[]> {
    const results: WriteResult[] = [];
    let opening = ["BEGIN"];
    for (const write of writes) {
      results.push(await this.#oneWrite(opening, write));
      opening = [];
    }
    let committed: string;
    try {
      committed = await commit(this.#connection);
    } catch (error) {
      throw failure("at COMMIT (outcome unknown)", error);
    }
    if (!this.#sameSession() || committed !== "COMMIT") {
      throw failure("at COMMIT (outcome unknown)", new Error(`COMMIT answered ${committed}`));
    }
    return results;
  }

  async #oneWrite(opening: string[], write: WalletWrite): Promise<WriteResult> {
    const connection = this.#connection;
    let refusal = "";
    for (let attempt = 0; attempt <= collisionRetriesMax; attempt++) {
      const read = await this.#read([...opening, "SAVEPOINT one_write"], [write]);
      opening = [];
      if ("refused" in read) {
        // A deadlock here aborted the whole transaction, savepoints or not.
        if (read.collision) throw failure("reading one write", read.refused);
        // The savepoint was set before the read that failed: only this write is undone.
        await connection.unsafe("ROLLBACK TO SAVEPOINT one_write; RELEASE SAVEPOINT one_write");
        return { error: `the database refused the write: ${read.refused.message}` };
      }
      const { state } = read;
      const plan = planBatch([write], state.players, state.commands, state);
      const result = plan.results[0] as WriteResult;
      try {
        if (plan.journal.length > 0) await insertPlan(connection, plan, state.xid);
        await connection.unsafe("RELEASE SAVEPOINT one_write");
        return result;
      } catch (error) {
        if (!isServerError(error) || !this.#sameSession()) {
          throw failure("at a write's insert", error);
        }
        await connection.unsafe("ROLLBACK TO SAVEPOINT one_write; RELEASE SAVEPOINT one_write");
        refusal = error.message;
        if (!isCollision(error)) break;
      }
    }
    return { error: `the database refused the write: ${refusal}` };
  }
}
