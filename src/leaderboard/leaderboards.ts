/**
 * Leaderboards: per board, each player's best score, highest first.
 *
 * Order (the same in every backend): score descending; equal scores by playerId descending in
 * byte order (playerIds are ASCII, so this is plain string order). That is the order Redis
 * gives members of equal score in ZREVRANGE, so both backends agree without extra work. Ranks
 * are positions in that order, from 1: tied players get consecutive, distinct ranks.
 *
 * Each board keeps only its top `entriesMax` players; a player pushed out is forgotten, and
 * comes back only with a score that makes the top again.
 */
import { CroupierError } from "../errors.ts";
import { isPlayerId } from "../net/validate.ts";

export interface LeaderboardEntry {
  /** 1 for the best. */
  rank: number;
  playerId: string;
  /** Minor units for money boards (e.g. "biggest-win"). */
  score: number;
}

export interface Leaderboards {
  /** Keeps the max score per player: a lower score than the player's best changes nothing. */
  recordWin(board: string, playerId: string, score: number): Promise<void>;
  /** The best `limit` entries, best first: fewer if the board holds fewer. */
  top(board: string, limit: number): Promise<LeaderboardEntry[]>;
  close(): Promise<void>;
}

export const biggestWinBoard = "biggest-win";

/** The boards the node keeps; any other name is a client's mistake, not an empty board. */
export const leaderboardNames: readonly string[] = [biggestWinBoard];

export interface LeaderboardLimits {
  /** Players kept per board. */
  entriesMax: number;
  /** Distinct boards (in-memory backend): boards are named by the server, more is a bug. */
  boardsMax: number;
}

export const leaderboardDefaults: LeaderboardLimits = {
  entriesMax: 100, // players per board
  boardsMax: 16, // boards
};

const ranges: Record<keyof LeaderboardLimits, { min: number; max: number }> = {
  entriesMax: { min: 1, max: 100_000 },
  boardsMax: { min: 1, max: 1_000 },
};

/** Fills defaults and validates; throws a RangeError naming the key and the reason. */
export function resolveLeaderboardLimits(options: Partial<LeaderboardLimits>): LeaderboardLimits {
  const limits: LeaderboardLimits = {
    entriesMax: options.entriesMax ?? leaderboardDefaults.entriesMax,
    boardsMax: options.boardsMax ?? leaderboardDefaults.boardsMax,
  };
  for (const key of Object.keys(ranges) as (keyof LeaderboardLimits)[]) {
    const { min, max } = ranges[key];
    if (!Number.isInteger(limits[key]) || limits[key] < min || limits[key] > max) {
      throw new RangeError(
        `leaderboards option ${key}: ${limits[key]} is not an integer in [${min}, ${max}]`,
      );
    }
  }
  return limits;
}

/** Board names come from query strings: keep them short and plain (they become Redis keys). */
export const boardPattern = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Refuses what a caller can get wrong (board, limit) as BAD_REQUEST. */
export function checkBoard(board: string): void {
  if (!boardPattern.test(board)) {
    throw new CroupierError("BAD_REQUEST", "board must be 1-32 characters of [a-z0-9-]");
  }
}

/** A positive integer; more than a board keeps is simply all of it. */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new CroupierError("BAD_REQUEST", "limit must be a positive integer");
  }
}

/** Scores and player ids come from the server: a bad one is a programmer error. */
export function assertWin(playerId: string, score: number): void {
  if (!isPlayerId(playerId)) throw new RangeError(`leaderboard playerId "${playerId}" is invalid`);
  if (!Number.isSafeInteger(score) || score < 0) {
    throw new RangeError(`leaderboard score ${score} is not a non-negative safe integer`);
  }
}

/** Negative when `a` ranks before `b`: score descending, then playerId descending. */
export function compareEntries(
  a: { playerId: string; score: number },
  b: { playerId: string; score: number },
): number {
  if (a.score !== b.score) return b.score - a.score;
  if (a.playerId === b.playerId) return 0;
  return a.playerId > b.playerId ? -1 : 1;
}
