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
