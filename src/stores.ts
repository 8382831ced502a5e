import type { Config } from "../config/defaults.ts";
import type { Leaderboards } from "./leaderboard/leaderboards.ts";
import { MemoryLeaderboards } from "./leaderboard/memoryLeaderboards.ts";
import { RedisLeaderboards } from "./leaderboard/redisLeaderboards.ts";
import type { Logger } from "./log.ts";
import { MemoryRateLimiter, type RateLimiter } from "./net/rateLimiter.ts";
import { MemorySessionStore, type SessionStore } from "./net/sessions.ts";
import { errorLogIntervalMs, throttledLogger } from "./redis/errorLog.ts";
import { RedisRateLimiter } from "./redis/rateLimiter.ts";
import { RedisSessionStore } from "./redis/sessionStore.ts";

export interface SharedStores {
  sessions: SessionStore;
  limiter: RateLimiter;
  leaderboards: Leaderboards;
  /** Printed at start: e.g. a Redis that may evict sessions. */
  warnings: string[];
  describe: string;
}

/** Sessions, rate limits and leaderboards: in memory by default, in Redis when REDIS_URL is set. */
export async function openSharedStores(config: Config, log: Logger): Promise<SharedStores> {
  if (config.redisUrl === undefined) {
    return {
      sessions: new MemorySessionStore(config.sessionsMax),
      limiter: new MemoryRateLimiter(config.rateLimitKeysMax),
      leaderboards: new MemoryLeaderboards({ entriesMax: config.leaderboardEntriesMax }),
      warnings: [],
      describe: "sessions, rate limits and leaderboards in memory",
    };
  }
  const connection = {
    url: config.redisUrl,
    keyPrefix: config.redisKeyPrefix,
    onError: throttledLogger(errorLogIntervalMs, (role, error, skipped) =>
      log.warn("redis error", { role, ...(skipped > 0 && { skipped }) }, error),
    ),
  };
  const sessions = await RedisSessionStore.open({
    ...connection,
    cacheStaleMsMax: config.sessionOutageGraceMs,
  });
  const limiter = await RedisRateLimiter.open({
    ...connection,
    localKeysMax: config.rateLimitKeysMax,
  });
  const leaderboards = await RedisLeaderboards.open({
    ...connection,
    entriesMax: config.leaderboardEntriesMax,
  });
  const warning = sessions.evictionPolicyWarning();
  return {
    sessions,
    limiter,
    leaderboards,
    warnings: warning === undefined ? [] : [warning],
    describe: `sessions, rate limits and leaderboards in Redis (prefix ${config.redisKeyPrefix})`,
  };
}
