import type { Logger } from "../log.ts";
import type { SessionStore } from "./sessions.ts";
import type { SocketRegistry } from "./socketRegistry.ts";
import { closeCodes } from "./socketSession.ts";

/**
 * Ends a self-excluded player's presence on this node: the sessions of its open sockets are
 * revoked (so they cannot simply reconnect) and the sockets closed with 4001. Safe to run twice.
 * Resolves once every revocation has settled; failures are reported, not thrown.
 */
export async function endExcludedPlayerHere(
  sockets: SocketRegistry,
  sessions: SessionStore,
  playerId: string,
  log: Logger,
): Promise<void> {
  const tokens = sockets.tokensOfPlayer(playerId);
  sockets.closeByPlayer(playerId, closeCodes.sessionRevoked, "player self-excluded");
  const results = await Promise.allSettled(tokens.map((token) => sessions.revoke(token)));
  for (const result of results) {
    if (result.status === "rejected") {
      log.warn("could not revoke a session of an excluded player", { playerId }, result.reason);
    }
  }
}
