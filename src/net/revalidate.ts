import { CroupierError } from "../errors.ts";
import type { SessionStore } from "./sessions.ts";
import type { SocketRegistry } from "./socketRegistry.ts";
import { closeCodes } from "./socketSession.ts";

/**
 * After the session store comes back from an outage, revocations and exclusions published
 * meanwhile were missed: every open socket's token is looked up again, at most `concurrencyMax`
 * at a time (the cache was emptied, so each check is a round trip), and sockets whose session is
 * gone, or whose player is now self-excluded, get 4001.
 */
export async function revalidateSockets(
  sockets: SocketRegistry,
  sessions: SessionStore,
  concurrencyMax: number,
  isExcluded: (playerId: string) => Promise<boolean> = async () => false,
): Promise<number> {
  const tokens = sockets.tokens();
  let next = 0;
  let closed = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next++] as string;
      try {
        const session = await sessions.find(token);
        if (session === undefined) {
          closed += sockets.closeByToken(
            token,
            closeCodes.sessionRevoked,
            "session revoked or expired",
          );
        } else if (await isExcluded(session.playerId)) {
          closed += sockets.closeByToken(token, closeCodes.sessionRevoked, "player self-excluded");
        }
      } catch {
        // The store went away again: its next reconnection runs this again.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrencyMax, tokens.length) }, worker));
  return closed;
}

/**
 * While the session store cannot reach its backend, open sockets play on sessions it serves from
 * its cache, for a bounded time (the Redis store's `cacheStaleMsMax`). Run periodically during
 * such an outage: a socket whose session the store can no longer vouch for is closed with 1013
 * (try again later), one whose session it knows to be gone with 4001; the rest play on.
 */
export async function closeUnconfirmedSockets(
  sockets: SocketRegistry,
  sessions: SessionStore,
  concurrencyMax: number,
): Promise<number> {
  const tokens = sockets.tokens();
  let next = 0;
  let closed = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const token = tokens[next++] as string;
      try {
        if ((await sessions.find(token)) === undefined)
          closed += sockets.closeByToken(
            token,
            closeCodes.sessionRevoked,
            "session revoked or expired",
          );
      } catch (error) {
        // BUSY is the store's "unavailable": it cannot confirm the session any more.
        if (error instanceof CroupierError && error.code === "BUSY")
          closed += sockets.closeByToken(
            token,
            closeCodes.tryAgainLater,
            "the session cannot be confirmed now; reconnect later",
          );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrencyMax, tokens.length) }, worker));
  return closed;
}
