import { CroupierError } from "../errors.ts";
import type { Session, SessionStore } from "./sessions.ts";
import type { SocketRegistry } from "./socketRegistry.ts";
import { closeCodes } from "./socketSession.ts";

/** What to do with the sockets of one token, given what the store said of its session. */
type Verdict = (
  found: { session: Session | undefined } | { error: unknown },
) => Promise<{ code: number; reason: string } | undefined>;

/**
 * Looks every open socket's token up in the session store, at most `concurrencyMax` at a time,
 * and closes the sockets of each token its verdict names a close for; returns how many closed.
 */
async function checkEverySocket(
  sockets: SocketRegistry,
  sessions: SessionStore,
  concurrencyMax: number,
  verdict: Verdict,
): Promise<number> {
  const tokens = sockets.tokens();
  let next = 0;
  let closed = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next++] as string;
      const found = await sessions.find(token).then(
        (session) => ({ session }),
        (error: unknown) => ({ error }),
      );
      const close = await verdict(found);
      if (close !== undefined) closed += sockets.closeByToken(token, close.code, close.reason);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrencyMax, tokens.length) }, worker));
  return closed;
}

const revoked = { code: closeCodes.sessionRevoked, reason: "session revoked or expired" };

/**
 * After the session store comes back from an outage, revocations and exclusions published
 * meanwhile were missed: every open socket's token is looked up again (the cache was emptied,
 * so each check is a round trip), and sockets whose session is gone, or whose player is now
 * self-excluded, get 4001. Should the store go away again, its next reconnection runs this again.
 */
export function revalidateSockets(
  sockets: SocketRegistry,
  sessions: SessionStore,
  concurrencyMax: number,
  isExcluded: (playerId: string) => Promise<boolean> = async () => false,
): Promise<number> {
  return checkEverySocket(sockets, sessions, concurrencyMax, async (found) => {
    if ("error" in found) return undefined;
    if (found.session === undefined) return revoked;
    const excluded = await isExcluded(found.session.playerId).catch(() => false);
    return excluded
      ? { code: closeCodes.sessionRevoked, reason: "player self-excluded" }
      : undefined;
  });
}

/**
 * While the session store cannot reach its backend, open sockets play on sessions it serves from
 * its cache, for a bounded time (the Redis store's `cacheStaleMsMax`). Run periodically during
 * such an outage: a socket whose session the store can no longer vouch for is closed with 1013
 * (try again later), one whose session it knows to be gone with 4001; the rest play on.
 */
export function closeUnconfirmedSockets(
  sockets: SocketRegistry,
  sessions: SessionStore,
  concurrencyMax: number,
): Promise<number> {
  return checkEverySocket(sockets, sessions, concurrencyMax, async (found) => {
    if (!("error" in found)) return found.session === undefined ? revoked : undefined;
    // BUSY is the store's "unavailable": it cannot confirm the session any more.
    const unavailable = found.error instanceof CroupierError && found.error.code === "BUSY";
    return unavailable
      ? {
          code: closeCodes.tryAgainLater,
          reason: "the session cannot be confirmed now; reconnect later",
        }
      : undefined;
  });
}
