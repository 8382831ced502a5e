/**
 * Leaderboards shared by every node: one Redis sorted set per board, member = playerId,
 * score = the player's best. ZADD GT keeps the max per player in one step; each write trims the
 * set to the top `entriesMax` in the same transaction, so a board never grows past it.
 *
 * Redis orders equal scores by member, so ZREVRANGE gives ties playerId descending: the order
 * leaderboards.ts documents, and the trim removes exactly the entries ZREVRANGE would list last.
 * Scores are integers below 2^53, which a sorted set's double holds exactly.
 */
import type { Redis } from "ioredis";
import { redactUrl } from "../redactUrl.ts";
import { closeClient, createRedisClient, waitForReady } from "../redis/client.ts";
import { RedisUnavailableError } from "../redis/errors.ts";
import { leaderboardKey } from "../redis/keys.ts";
import {
  type RedisConnectionOptions,
  type ResolvedRedisConnection,
  resolveRedisConnection,
} from "../redis/options.ts";
import {
  assertWin,
  checkBoard,
  checkLimit,
  type LeaderboardEntry,
  type Leaderboards,
  resolveLeaderboardLimits,
} from "./leaderboards.ts";

export interface RedisLeaderboardsOptions extends RedisConnectionOptions {
  /** Players kept per board. */
  entriesMax?: number;
}

export class RedisLeaderboards implements Leaderboards {
  private readonly connection: ResolvedRedisConnection;
  private readonly entriesMax: number;
  private readonly client: Redis;

  /** Connects and waits (up to `connectTimeoutMs`) until usable; rejects if Redis is not there. */
  static async open(options: RedisLeaderboardsOptions): Promise<RedisLeaderboards> {
    const leaderboards = new RedisLeaderboards(options);
    const { connectTimeoutMs } = leaderboards.connection;
    if (!(await waitForReady(leaderboards.client, connectTimeoutMs))) {
      await leaderboards.close();
      throw new RedisUnavailableError(`open the leaderboards at ${redactUrl(options.url)}`);
    }
    return leaderboards;
  }

  /** Starts connecting at once but does not wait: calls fail until Redis answers. */
  constructor(options: RedisLeaderboardsOptions) {
    this.connection = resolveRedisConnection(options);
    const limits = resolveLeaderboardLimits(
      options.entriesMax === undefined ? {} : { entriesMax: options.entriesMax },
    );
    this.entriesMax = limits.entriesMax;
    this.client = createRedisClient(this.connection, "leaderboards");
  }

  async recordWin(board: string, playerId: string, score: number): Promise<void> {
    checkBoard(board);
    assertWin(playerId, score);
    const key = leaderboardKey(this.connection.keyPrefix, board);
    try {
      const replies = await this.client
        .multi()
        .zadd(key, "GT", score, playerId)
        // Ranks ascend from the lowest score: drop all but the highest `entriesMax`.
        .zremrangebyrank(key, 0, -(this.entriesMax + 1))
        .exec();
      if (replies === null) throw new Error("the leaderboard transaction was discarded");
      for (const [error] of replies) if (error) throw error;
    } catch (error) {
      throw new RedisUnavailableError("record a leaderboard win", error);
    }
  }

  async top(board: string, limit: number): Promise<LeaderboardEntry[]> {
    checkBoard(board);
    checkLimit(limit);
    const count = Math.min(limit, this.entriesMax);
    const key = leaderboardKey(this.connection.keyPrefix, board);
    let flat: string[];
    try {
      flat = await this.client.zrevrange(key, 0, count - 1, "WITHSCORES");
    } catch (error) {
      throw new RedisUnavailableError("read a leaderboard", error);
    }
    const entries: LeaderboardEntry[] = [];
    for (let index = 0; index + 1 < flat.length; index += 2) {
      const score = Number(flat[index + 1]);
      if (!Number.isSafeInteger(score)) throw new Error(`leaderboard ${board}: score ${score}`);
      entries.push({ rank: entries.length + 1, playerId: flat[index] as string, score });
    }
    return entries;
  }

  healthy(): boolean {
    return this.client.status === "ready";
  }

  async close(): Promise<void> {
    await closeClient(this.client, this.connection.commandTimeoutMs);
  }
}
