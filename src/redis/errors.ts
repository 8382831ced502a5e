/**
 * Redis failures as protocol errors. Whatever ioredis throws (refused connection, timeout,
 * closed stream, a reply error) is mapped here, at the boundary, so callers see one typed
 * error whose code the HTTP layer already answers with 503.
 */
import { CroupierError } from "../errors.ts";

/**
 * Redis could not be reached in time, so the operation was not done or its outcome is unknown.
 * Code BUSY (HTTP 503): the caller retries later. Nothing in Redis moves money, so a write
 * whose outcome is unknown is harmless: an unseen session token, a repeated revocation, one
 * extra rate-limit token counted, a leaderboard score recorded once more (it keeps the max).
 */
export class RedisUnavailableError extends CroupierError {
  constructor(
    readonly operation: string,
    cause?: unknown,
  ) {
    super(
      "BUSY",
      `${operation}: Redis is unavailable; retry later`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The cause as an Error, for logs (ioredis rejects with Errors, but a reply may be anything). */
export function asError(cause: unknown): Error {
  return cause instanceof Error ? cause : new Error(String(cause));
}
