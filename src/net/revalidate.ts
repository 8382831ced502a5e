import type { SessionStore } from "./sessions.ts";
import type { SocketRegistry } from "./socketRegistry.ts";
import { closeCodes } from "./socketSession.ts";

/**
 * After the session store comes back from an outage, revocations made meanwhile were missed:
 * every open socket's token is looked up again, at most `concurrencyMax` at a time (the cache
 * was emptied, so each check is a round trip), and sockets whose session is gone get 4001.
 */
export async function revalidateSockets(
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
        if ((await sessions.find(token)) === undefined) {
          closed += sockets.closeByToken(
            token,
            closeCodes.sessionRevoked,
            "session revoked or expired",
          );
        }
      } catch {
        // The store went away again: its next reconnection runs this again.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrencyMax, tokens.length) }, worker));
  return closed;
}
