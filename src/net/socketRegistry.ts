import { closeCodes, SocketSession } from "./socketSession.ts";

function addTo(index: Map<string, Set<SocketSession>>, key: string, session: SocketSession): void {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(session);
}

function removeFrom(
  index: Map<string, Set<SocketSession>>,
  key: string,
  session: SocketSession,
): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(session);
  if (set.size === 0) index.delete(key);
}

/**
 * The sockets open on this node, by id, by session token (for revocation) and by player (for
 * self-exclusion).
 */
export class SocketRegistry {
  private readonly sockets = new Set<SocketSession>();
  private readonly byToken = new Map<string, Set<SocketSession>>();
  private readonly byPlayer = new Map<string, Set<SocketSession>>();
  private readonly byAddress = new Map<string, Set<SocketSession>>();

  add(session: SocketSession): void {
    this.sockets.add(session);
    addTo(this.byToken, session.token, session);
    addTo(this.byPlayer, session.playerId, session);
    addTo(this.byAddress, session.address, session);
  }

  remove(session: SocketSession): void {
    this.sockets.delete(session);
    removeFrom(this.byToken, session.token, session);
    removeFrom(this.byPlayer, session.playerId, session);
    removeFrom(this.byAddress, session.address, session);
  }

  /** Sockets open here from the address (as `SocketSession.address` keys it). */
  countOfAddress(address: string): number {
    return this.byAddress.get(address)?.size ?? 0;
  }

  /** The player's sockets open here. */
  countOfPlayer(playerId: string): number {
    return this.byPlayer.get(playerId)?.size ?? 0;
  }

  ofPlayer(playerId: string): SocketSession[] {
    const set = this.byPlayer.get(playerId);
    return set === undefined ? [] : [...set];
  }

  /** The distinct session tokens of the player's sockets open here. */
  tokensOfPlayer(playerId: string): string[] {
    const set = this.byPlayer.get(playerId);
    return set === undefined ? [] : [...new Set([...set].map((session) => session.token))];
  }

  /** Closes every socket of the player open here; returns how many. */
  closeByPlayer(playerId: string, code: number, reason: string): number {
    const set = this.byPlayer.get(playerId);
    if (set === undefined) return 0;
    const sessions = [...set];
    for (const session of sessions) session.close(code, reason);
    return sessions.length;
  }

  /** The distinct session tokens with an open socket here. */
  tokens(): string[] {
    return [...this.byToken.keys()];
  }

  get size(): number {
    return this.sockets.size;
  }

  closeByToken(token: string, code: number, reason: string): number {
    const set = this.byToken.get(token);
    if (set === undefined) return 0;
    for (const session of [...set]) session.close(code, reason);
    return set.size;
  }

  /** Closes with 4000 every socket silent for more than `silenceMsMax`. */
  evictSilent(nowMs: number, silenceMsMax: number): void {
    this.closeWhere(
      (session) => nowMs - session.lastHeardAtMs > silenceMsMax,
      closeCodes.heartbeatTimeout,
      "heartbeat timeout",
    );
  }

  /** Closes with 4001 every socket whose session has expired. */
  closeExpired(nowMs: number): void {
    this.closeWhere(
      (session) => session.expiresAtMs <= nowMs,
      closeCodes.sessionRevoked,
      "session expired",
    );
  }

  /** A socket already closing stays listed until its close completes: it is not closed again. */
  private closeWhere(
    matches: (session: SocketSession) => boolean,
    code: number,
    reason: string,
  ): void {
    for (const session of this.sockets)
      if (!session.closed && matches(session)) session.close(code, reason);
  }

  pingAll(): void {
    for (const session of this.sockets) session.ping();
  }

  closeAll(code: number, reason: string): void {
    for (const session of [...this.sockets]) session.close(code, reason);
  }
}

export { SocketSession };
