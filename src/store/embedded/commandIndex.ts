import type { Database, Statement } from "bun:sqlite";
import { CommandFilter } from "./commandFilter.ts";

/**
 * How the writer finds a command id among every command ever stored (idempotency is permanent),
 * without a random index page per write.
 *
 * A unique journal index on (player, command id) keeps each player's ids together, so a batch of
 * 250 spins by 250 players dirtied 250 leaf pages: a 4 KiB WAL frame each to checksum, write,
 * sync and checkpoint, about half the writer's time per spin. Here a player's newest commands are
 * only in the journal and in this object's memory; once a player has `commandsPerMergeMin` of
 * them, they go into `command_index` together, onto the one leaf that holds that player's ids.
 *
 * What is true between transactions (and rebuilt from the file on open):
 * - every journal row of a player with id <= `players.indexed_through` has its `command_index`
 *   entry, and every later row of theirs is in `#recent`;
 * - `command_index_floor` is at most the id of every row in `#recent`, so on open the journal is
 *   read from there only. `unindexedRowsBehindMax` keeps that close to the newest row (and so
 *   the commands held few): a player whose oldest unindexed row is further behind is merged
 *   whatever their count, up to 64 such players per transaction, so a backlog (after a restart
 *   with many players behind) is worked off over a few batches rather than in one.
 *
 * A lookup in `command_index` happens only when a Bloom filter over its keys (commandFilter.ts)
 * cannot rule the id out: for almost every write, a new id, it can. The filter is filled from the
 * table a slice at a time after the ledger opens (`fillFilter`), so opening does not grow with
 * the ledger's history; until it is full, every id is looked up.
 *
 * Should a player's commands fail to go into the index (a command id stored twice, which the
 * audit reports), that player's merge is undone on its own and not tried again until the writer
 * opens anew: their commands stay in memory and are still found, and everyone else's writes go on.
 *
 * Changes made in a transaction are kept apart until it commits (`committed`) and undone when it
 * does not (`rolledBack`, or `undo` back to a `mark` for a write rolled back to its savepoint).
 * Only the writer uses this; readers find recent commands by walking the player's chain back to
 * `indexed_through` (reader.ts).
 */

export interface CommandIndexLimits {
  /** A player's unindexed commands go into the index together once there are this many. */
  commandsPerMergeMin: number;
  /** A player whose oldest unindexed row is this many rows behind the newest is merged too. */
  unindexedRowsBehindMax: number;
}

export const commandIndexDefaults: CommandIndexLimits = {
  commandsPerMergeMin: 16,
  unindexedRowsBehindMax: 65_536,
};
/** Players merged for age in one transaction at most, so a backlog is worked off in steps. */
const agedMergesPerTransactionMax = 64;

interface Unindexed {
  key: string;
  commandId: string;
  journalId: number;
}

interface Added {
  key: string;
  playerId: string;
}

/** The map key of a command; the length prefix keeps any two (player, id) pairs apart. */
function keyOf(playerId: string, commandId: string): string {
  return `${playerId.length}:${playerId}${commandId}`;
}

function playerOf(key: string): string {
  const colon = key.indexOf(":");
  return key.slice(colon + 1, colon + 1 + Number(key.slice(0, colon)));
}

export class CommandIndex {
  /** Unindexed commands (key -> journal id), in journal order: the first is the oldest. */
  readonly #recent = new Map<string, number>();
  /** The same commands per player, in journal order. */
  readonly #byPlayer = new Map<string, Unindexed[]>();
  /** Players with at least `commandsPerMergeMin` unindexed commands. */
  readonly #due = new Set<string>();
  /** Commands added in the open transaction, in order. */
  #added: Added[] = [];
  /** Every key in `command_index` (and some of the open transaction's merges). */
  readonly #filter = new CommandFilter();
  /** Players whose merge failed (see the class comment); they stay unindexed. */
  readonly #unmergeable = new Set<string>();
  #filterReady = false;
  /** The last key the filter was filled with, in the table's order. */
  #fillAfter: { playerId: string; commandId: string } | undefined;
  /** Players whose commands the open transaction put into the index. */
  #merged: string[] = [];
  #floorStored: number;
  #lastPlayerId = "";
  #lastCommandId = "";
  #lastKey = keyOf("", "");
  #floorPending: number | undefined;
  #lastJournalId: number;
  readonly #statements: {
    probe: Statement<{ journalId: number }, [string, string]>;
    insert: Statement<never, [string, string, number]>;
    fillFirst: Statement<{ playerId: string; commandId: string }, [number]>;
    fillNext: Statement<{ playerId: string; commandId: string }, [string, string, number]>;
    savepoint: Statement;
    release: Statement;
    rollbackTo: Statement;
    markIndexed: Statement<never, [number, string]>;
    storeFloor: Statement<never, [number]>;
  };

  readonly #limits: CommandIndexLimits;

  readonly #db: Database;

  constructor(db: Database, limits: CommandIndexLimits = commandIndexDefaults) {
    this.#db = db;
    this.#limits = limits;
    this.#statements = {
      probe: db.prepare(
        "SELECT journal_id AS journalId FROM command_index WHERE player_id = ? AND command_id = ?",
      ),
      insert: db.prepare(
        "INSERT INTO command_index (player_id, command_id, journal_id) VALUES (?, ?, ?)",
      ),
      fillFirst: db.prepare(
        `SELECT player_id AS playerId, command_id AS commandId FROM command_index
         ORDER BY player_id, command_id LIMIT ?`,
      ),
      fillNext: db.prepare(
        `SELECT player_id AS playerId, command_id AS commandId FROM command_index
         WHERE (player_id, command_id) > (?, ?) ORDER BY player_id, command_id LIMIT ?`,
      ),
      savepoint: db.prepare("SAVEPOINT merge"),
      release: db.prepare("RELEASE merge"),
      rollbackTo: db.prepare("ROLLBACK TO merge"),
      markIndexed: db.prepare("UPDATE players SET indexed_through = ? WHERE player_id = ?"),
      storeFloor: db.prepare(
        `INSERT INTO command_index_floor (id, journal_id) VALUES (1, ?)
         ON CONFLICT (id) DO UPDATE SET journal_id = excluded.journal_id`,
      ),
    };
    const floor = db
      .query<{ journalId: number }, []>(
        "SELECT journal_id AS journalId FROM command_index_floor WHERE id = 1",
      )
      .get();
    this.#floorStored = floor?.journalId ?? 1;
    this.#lastJournalId =
      db.query<{ id: number | null }, []>("SELECT max(id) AS id FROM journal").get()?.id ?? 0;
    const unindexed = db
      .query<{ id: number; playerId: string; commandId: string }, [number]>(
        `SELECT j.id, j.player_id AS playerId, j.command_id AS commandId
         FROM journal j JOIN players p ON p.player_id = j.player_id
         WHERE j.id >= ? AND j.id > p.indexed_through
         ORDER BY j.id`,
      )
      .iterate(this.#floorStored);
    for (const row of unindexed) this.#remember(row.playerId, row.commandId, row.id);
  }

  /** Unindexed commands held in memory (bounded: see `unindexedRowsBehindMax`). */
  get unindexedCount(): number {
    return this.#recent.size;
  }

  /** The journal row of a stored command, or undefined when the id was never used. */
  find(playerId: string, commandId: string): number | undefined {
    const key = this.#keyOf(playerId, commandId);
    const recent = this.#recent.get(key);
    if (recent !== undefined) return recent;
    if (this.#filterReady && !this.#filter.mayHave(key)) return undefined;
    return this.#statements.probe.get(playerId, commandId)?.journalId;
  }

  /** A journal row was inserted in the open transaction. */
  added(playerId: string, commandId: string, journalId: number): void {
    const key = this.#remember(playerId, commandId, journalId);
    this.#added.push({ key, playerId });
  }

  /** Where the open transaction's additions stand, for `undo`. */
  mark(): number {
    return this.#added.length;
  }

  /** Forgets the additions made since `mark` (their rows were rolled back to a savepoint). */
  undo(mark: number): void {
    while (this.#added.length > mark) {
      const { key, playerId } = this.#added.pop() as Added;
      this.#recent.delete(key);
      const commands = this.#byPlayer.get(playerId);
      // Additions are appended, so the one undone last is at the end of the player's list.
      commands?.pop();
      if (commands === undefined || commands.length === 0) this.#byPlayer.delete(playerId);
      if ((commands?.length ?? 0) < this.#limits.commandsPerMergeMin) this.#due.delete(playerId);
    }
  }

  /**
   * In the open transaction, after its writes: indexes the commands of the players that have
   * enough of them, and of the players with the oldest ones when too many are held, and moves
   * the floor up to what is left.
   */
  mergeDue(): void {
    const players = new Set(this.#due);
    const agedBelow = this.#lastJournalId - this.#limits.unindexedRowsBehindMax;
    let aged = 0;
    for (const [key, journalId] of this.#recent) {
      if (journalId >= agedBelow || aged >= agedMergesPerTransactionMax) break;
      const playerId = playerOf(key);
      if (players.has(playerId) || this.#unmergeable.has(playerId)) continue;
      players.add(playerId);
      aged += 1;
    }
    const { insert, markIndexed, savepoint, release, rollbackTo } = this.#statements;
    for (const playerId of players) {
      if (this.#unmergeable.has(playerId)) continue;
      const commands = this.#byPlayer.get(playerId) ?? [];
      // In id order, the player's new entries fill their leaf from left to right.
      const sorted = commands.toSorted((a, b) =>
        a.commandId < b.commandId ? -1 : a.commandId > b.commandId ? 1 : 0,
      );
      savepoint.run();
      try {
        for (const { key, commandId, journalId } of sorted) {
          insert.run(playerId, commandId, journalId);
          // Added before the commit: should it fail, the filter says "maybe" once too often.
          this.#filter.add(key);
        }
        const latest = commands.at(-1);
        if (latest !== undefined) markIndexed.run(latest.journalId, playerId);
        release.run();
        this.#merged.push(playerId);
      } catch (error) {
        // The transaction itself is gone (I/O, full disk): the batch fails as a whole.
        if (!this.#db.inTransaction) throw error;
        rollbackTo.run();
        release.run();
        this.#unmergeable.add(playerId);
      }
    }
    const floor = this.#floorAfterMerge(new Set(this.#merged));
    if (floor !== this.#floorStored) {
      this.#statements.storeFloor.run(floor);
      this.#floorPending = floor;
    }
  }

  /**
   * Adds up to `rowsMax` keys of `command_index` to the filter, after those added before; true
   * once all are in. Between transactions: keys merged meanwhile are added as they are merged.
   */
  fillFilter(rowsMax: number): boolean {
    if (this.#filterReady) return true;
    const after = this.#fillAfter;
    const rows =
      after === undefined
        ? this.#statements.fillFirst.all(rowsMax)
        : this.#statements.fillNext.all(after.playerId, after.commandId, rowsMax);
    for (const { playerId, commandId } of rows) this.#filter.add(keyOf(playerId, commandId));
    const last = rows.at(-1);
    if (rows.length < rowsMax || last === undefined) this.#filterReady = true;
    else this.#fillAfter = last;
    return this.#filterReady;
  }

  /** The open transaction committed: its merges hold, and the merged commands leave memory. */
  committed(): void {
    for (const playerId of this.#merged) {
      for (const { key } of this.#byPlayer.get(playerId) ?? []) this.#recent.delete(key);
      this.#byPlayer.delete(playerId);
      this.#due.delete(playerId);
    }
    if (this.#floorPending !== undefined) this.#floorStored = this.#floorPending;
    this.#reset();
  }

  /** The open transaction was rolled back: nothing it added or merged happened. */
  rolledBack(): void {
    this.undo(0);
    this.#reset();
  }

  /**
   * The key of (player, command), the same string for a write's `find` and its `added`: a key
   * already hashed by the map costs nothing to look up again.
   */
  #keyOf(playerId: string, commandId: string): string {
    if (playerId !== this.#lastPlayerId || commandId !== this.#lastCommandId) {
      this.#lastPlayerId = playerId;
      this.#lastCommandId = commandId;
      this.#lastKey = keyOf(playerId, commandId);
    }
    return this.#lastKey;
  }

  #reset(): void {
    this.#added = [];
    this.#merged = [];
    this.#floorPending = undefined;
  }

  #remember(playerId: string, commandId: string, journalId: number): string {
    const key = this.#keyOf(playerId, commandId);
    this.#recent.set(key, journalId);
    let commands = this.#byPlayer.get(playerId);
    if (commands === undefined) {
      commands = [];
      this.#byPlayer.set(playerId, commands);
    }
    commands.push({ key, commandId, journalId });
    if (commands.length >= this.#limits.commandsPerMergeMin) this.#due.add(playerId);
    if (journalId > this.#lastJournalId) this.#lastJournalId = journalId;
    return key;
  }

  /** The oldest unindexed row once `merged` are indexed; past the last row when none is left. */
  #floorAfterMerge(merged: ReadonlySet<string>): number {
    for (const [key, journalId] of this.#recent) {
      if (merged.size === 0 || !merged.has(playerOf(key))) return journalId;
    }
    return this.#lastJournalId + 1;
  }
}
