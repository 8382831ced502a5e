/**
 * Every Redis key and channel Croupier uses, in one place, all under `<keyPrefix>:` so that a
 * deployment (or a test run) can be listed and removed with one SCAN pattern.
 */
import { createHash } from "node:crypto";

/**
 * A session is stored under a SHA-256 of its token, not the token: whoever can read Redis (a
 * backup, a replica, a MONITOR session) still cannot use the sessions found there.
 */
export function sessionKey(keyPrefix: string, token: string): string {
  return `${keyPrefix}:session:${createHash("sha256").update(token).digest("base64url")}`;
}

/** The pub/sub channel on which every node hears every revocation. */
export function revocationChannel(keyPrefix: string): string {
  return `${keyPrefix}:session-revoked`;
}

export function rateBucketKey(keyPrefix: string, key: string): string {
  return `${keyPrefix}:rate:${key}`;
}

export function leaderboardKey(keyPrefix: string, board: string): string {
  return `${keyPrefix}:leaderboard:${board}`;
}

/** The SCAN pattern that matches every key above for one prefix. */
export function allKeysPattern(keyPrefix: string): string {
  return `${keyPrefix}:*`;
}
