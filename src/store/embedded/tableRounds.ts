import type { Database } from "bun:sqlite";
import type { CloseOutcome, NewTableRound, TableRoundStatus } from "../tableRounds.ts";
import type { TableRoundAnswer, TableRoundOp } from "./writerProtocol.ts";

/**
 * The steps of a table round's life (../tableRounds.ts) on the writer connection. Each is one
 * transaction of its own, run by the writer thread between two group-commit batches, so a step
 * and a bet never interleave: a bet either committed before the close (and its seed is in the
 * draw) or sees the round closed. Each step is a compare-and-set on the round's status, so a
 * stale table cannot undo what recovery did, or the reverse.
 */

/** Length bounds of a round's identifiers, as validateWrite.ts accepts them on a table write. */
const roundIdLengthMax = 128;
const tableIdLengthMax = 64;
const gameIdLengthMax = 64;
const playerIdLengthMax = 64;
/** Lowercase hex of 32 bytes: the server seed and its SHA-256 commit (games/roulette/fairness.ts). */
const seedHex = /^[0-9a-f]{64}$/;
/** The pockets of a European wheel, 0..36: the only results a round settles with. */
const resultMax = 36;

/** A step no table could have meant: a programmer error, refused with nothing changed. */
export class InvalidTableRoundError extends Error {
  override readonly name = "InvalidTableRoundError";
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvalidTableRoundError(message);
}

function isText(value: unknown, lengthMax: number): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= lengthMax;
}

function isEpochMs(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Throws InvalidTableRoundError unless the round is well formed. */
function validateNewRound(round: NewTableRound): void {
  check(typeof round === "object" && round !== null, "round must be an object");
  check(isText(round.roundId, roundIdLengthMax), "roundId must be 1-128 characters");
  check(isText(round.table, tableIdLengthMax), "table must be 1-64 characters");
  check(isText(round.game, gameIdLengthMax), "game must be 1-64 characters");
  check(
    typeof round.serverSeed === "string" && seedHex.test(round.serverSeed),
    "serverSeed must be 64 hex digits",
  );
  check(
    typeof round.commit === "string" && seedHex.test(round.commit),
    "commit must be 64 hex digits",
  );
  check(
    isEpochMs(round.openedAt) && isEpochMs(round.closesAt),
    "openedAt and closesAt must be epoch ms",
  );
}

type Binding = string | number | null;

export class TableRoundSteps {
  readonly #db: Database;
  readonly #statements;

  constructor(db: Database) {
    this.#db = db;
    this.#statements = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
      // A table with an unfinished round inserts nothing (changes = 0); a round id used twice
      // still fails loudly, on the primary key.
      insert: db.prepare<never, Binding[]>(
        `INSERT INTO table_rounds (round_id, table_id, game, status, server_seed, commit_hex,
           opened_at, closes_at)
         VALUES (?, ?, ?, 'open', ?, ?, ?, ?)
         ON CONFLICT (table_id) WHERE status IN ('open', 'closed') DO NOTHING`,
      ),
      status: db.prepare<{ status: TableRoundStatus }, [string]>(
        "SELECT status FROM table_rounds WHERE round_id = ?",
      ),
      clientSeeds: db.prepare<{ seed: string }, [string]>(
        "SELECT client_seed AS seed FROM table_bets WHERE round_id = ? AND client_seed IS NOT NULL",
      ),
      close: db.prepare<never, [number, string, string]>(
        `UPDATE table_rounds SET status = 'closed', closed_at = ?, client_seeds = ?
         WHERE round_id = ? AND status = 'open'`,
      ),
      settle: db.prepare<never, [number, number, string]>(
        `UPDATE table_rounds SET status = 'settled', result = ?, finished_at = ?
         WHERE round_id = ? AND status = 'closed'`,
      ),
      void: db.prepare<never, [number, string]>(
        `UPDATE table_rounds SET status = 'voided', finished_at = ?
         WHERE round_id = ? AND status IN ('open', 'closed')`,
      ),
      // Setting paid again on a paid round still matches the row: the answer stays true.
      markPaid: db.prepare<never, [string]>(
        "UPDATE table_rounds SET paid = 1 WHERE round_id = ? AND status IN ('settled', 'voided')",
      ),
      seat: db.prepare<never, [string, string]>(
        "INSERT INTO table_seats (table_id, player_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
      ),
      unseat: db.prepare<never, [string, string]>(
        "DELETE FROM table_seats WHERE table_id = ? AND player_id = ?",
      ),
    };
  }

  /** Runs one step in its own transaction; throws (nothing changed) when it cannot. */
  apply(op: TableRoundOp, nowMs: number): TableRoundAnswer {
    const { begin, commit, rollback } = this.#statements;
    begin.run();
    try {
      const answer = this.#step(op, nowMs);
      commit.run();
      return answer;
    } catch (error) {
      if (this.#db.inTransaction) rollback.run();
      throw error;
    }
  }

  #step(op: TableRoundOp, nowMs: number): TableRoundAnswer {
    switch (op.kind) {
      case "open":
        return this.#open(op.round);
      case "close":
        return this.#close(op.roundId, nowMs);
      case "settle":
        check(
          Number.isSafeInteger(op.result) && op.result >= 0 && op.result <= resultMax,
          `result ${op.result} is not an integer in 0..${resultMax}`,
        );
        return this.#statements.settle.run(op.result, nowMs, op.roundId).changes > 0;
      case "void":
        return this.#statements.void.run(nowMs, op.roundId).changes > 0;
      case "mark_paid":
        return this.#statements.markPaid.run(op.roundId).changes > 0;
      case "seat":
        return this.#seat(op.table, op.playerId, op.seated);
    }
  }

  /** True when the seat changed (false: it already was as asked). */
  #seat(table: string, playerId: string, seated: boolean): boolean {
    check(isText(table, tableIdLengthMax), "table must be 1-64 characters");
    check(isText(playerId, playerIdLengthMax), "playerId must be 1-64 characters");
    const { seat, unseat } = this.#statements;
    return (seated ? seat : unseat).run(table, playerId).changes > 0;
  }

  #open(round: NewTableRound): boolean {
    validateNewRound(round);
    const inserted = this.#statements.insert.run(
      round.roundId,
      round.table,
      round.game,
      round.serverSeed,
      round.commit,
      round.openedAt,
      round.closesAt,
    );
    return inserted.changes > 0;
  }

  /** Fixes the seeds of the bets committed so far; the status check and the seeds are one transaction. */
  #close(roundId: string, nowMs: number): CloseOutcome {
    // Sorted here, by UTF-16 code units as the protocol's verifiers sort, not by SQLite collation.
    const clientSeeds = this.#statements.clientSeeds
      .all(roundId)
      .map((row) => row.seed)
      .sort();
    const closed = this.#statements.close.run(nowMs, JSON.stringify(clientSeeds), roundId);
    if (closed.changes > 0) return { closed: true, clientSeeds };
    return { closed: false, status: this.#statements.status.get(roundId)?.status ?? null };
  }
}
