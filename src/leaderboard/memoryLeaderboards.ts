/**
 * Leaderboards in this process: for a single node and for tests. Each board is an array kept in
 * rank order, never longer than `entriesMax`, plus a map from player to score for the players
 * on it. A win that cannot make the board is refused in O(1); one that can costs two binary
 * searches and the array's move of O(entriesMax) references.
 */
import {
  assertWin,
  checkBoard,
  checkLimit,
  compareEntries,
  type LeaderboardEntry,
  type LeaderboardLimits,
  type Leaderboards,
  resolveLeaderboardLimits,
} from "./leaderboards.ts";

export type MemoryLeaderboardsOptions = Partial<LeaderboardLimits>;

interface Ranked {
  playerId: string;
  score: number;
}

class Board {
  /** In rank order; at most `entriesMax` long. */
  readonly ranked: Ranked[] = [];
  readonly scoreByPlayer = new Map<string, number>();

  constructor(private readonly entriesMax: number) {}

  record(win: Ranked): void {
    const best = this.scoreByPlayer.get(win.playerId);
    if (best !== undefined && best >= win.score) return;
    const last = this.ranked.at(-1);
    const full = this.ranked.length >= this.entriesMax;
    if (best === undefined && full && last !== undefined && compareEntries(win, last) > 0) return;
    if (best !== undefined) {
      // Found by its old score (the order is total), not by a scan of the board.
      let at = this.insertionIndex({ playerId: win.playerId, score: best });
      if (this.ranked[at]?.playerId !== win.playerId)
        at = this.ranked.findIndex((r) => r.playerId === win.playerId); // cannot happen; stay right
      this.ranked.splice(at, 1);
    }
    this.ranked.splice(this.insertionIndex(win), 0, win);
    this.scoreByPlayer.set(win.playerId, win.score);
    if (this.ranked.length > this.entriesMax) {
      const dropped = this.ranked.pop() as Ranked;
      this.scoreByPlayer.delete(dropped.playerId);
    }
  }

  /** Binary search for the first position that ranks after `win`. */
  private insertionIndex(win: Ranked): number {
    let low = 0;
    let high = this.ranked.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareEntries(this.ranked[middle] as Ranked, win) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

export class MemoryLeaderboards implements Leaderboards {
  private readonly boards = new Map<string, Board>();
  private readonly limits: LeaderboardLimits;

  constructor(options: MemoryLeaderboardsOptions = {}) {
    this.limits = resolveLeaderboardLimits(options);
  }

  async recordWin(board: string, playerId: string, score: number): Promise<void> {
    checkBoard(board);
    assertWin(playerId, score);
    let entries = this.boards.get(board);
    if (entries === undefined) {
      if (this.boards.size >= this.limits.boardsMax) {
        throw new RangeError(`leaderboards: more than ${this.limits.boardsMax} boards`);
      }
      entries = new Board(this.limits.entriesMax);
      this.boards.set(board, entries);
    }
    entries.record({ playerId, score });
  }

  async top(board: string, limit: number): Promise<LeaderboardEntry[]> {
    checkBoard(board);
    checkLimit(limit);
    const ranked = this.boards.get(board)?.ranked ?? [];
    return ranked.slice(0, limit).map((r, index) => ({ rank: index + 1, ...r }));
  }

  async close(): Promise<void> {
    this.boards.clear();
  }
}
