/**
 * One token-bucket check, atomic in Redis: refill by elapsed time, take one token if there is
 * one, store, and let the key expire once the bucket would be full again anyway (an absent
 * bucket starts full, so expiring a full one changes nothing and idle keys cost no memory).
 *
 * Time comes from Redis (TIME), not from the callers: nodes' clocks differ, and a node whose
 * clock is ahead would otherwise refill everyone's buckets early. Redis 5+ replicates a
 * script's effects, not the script, so TIME is allowed before writes.
 *
 * Same semantics as MemoryRateLimiter: a new bucket holds `burst`; refill is `perSecond`,
 * capped at `burst`; one event takes one whole token.
 *
 * KEYS[1] bucket; ARGV[1] perSecond; ARGV[2] burst; ARGV[3] idle expiry in ms.
 * Returns 1 (allowed) or 0 (refused).
 */
export const tokenBucketLua = `
local per_second = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local idle_ms = tonumber(ARGV[3])
local time = redis.call('TIME')
local now_ms = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at_ms')
local tokens = tonumber(state[1])
local at_ms = tonumber(state[2])
if tokens == nil or at_ms == nil then
  tokens = burst
else
  local elapsed_ms = math.max(0, now_ms - at_ms)
  tokens = math.min(burst, tokens + elapsed_ms / 1000 * per_second)
end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at_ms', string.format('%.17g', now_ms))
redis.call('PEXPIRE', KEYS[1], idle_ms)
return allowed
`;

/** The name the script is defined under on the ioredis client (EVALSHA, EVAL when not loaded). */
export const tokenBucketCommand = "croupierTakeToken";

/** How long until an emptied bucket is full again: past that an absent key is equivalent. */
export function bucketIdleMs(perSecond: number, burst: number): number {
  return Math.max(1, Math.ceil((burst / perSecond) * 1000));
}
