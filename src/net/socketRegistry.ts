import { closeCodes, SocketSession } from "./socketSession.ts";

/** The sockets open on this node, by id and by session token (for revocation). */
export class SocketRegistry {
  private readonly sockets = new Set<SocketSession>();
  private readonly byToken = new Map<string, Set<SocketSession>>();

  add(session: SocketSession): void {
    this.sockets.add(session);
    let set = this.byToken.get(session.token);
    if (set === undefined) {
      set = new Set();
      this.byToken.set(session.token, set);
    }
    set.add(session);
  }

  remove(session: SocketSession): void {
    this.sockets.delete(session);
    const set = this.byToken.get(session.token);
    if (set === undefined) return;
    set.delete(session);
    if (set.size === 0) this.byToken.delete(session.token);
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

  /** Closes with 4000 every socket silent for more than `silenceMsMax`; returns how many. */
  evictSilent(nowMs: number, silenceMsMax: number): number {
    let evicted = 0;
    for (const session of this.sockets) {
      if (nowMs - session.lastHeardAtMs > silenceMsMax) {
        session.close(closeCodes.heartbeatTimeout, "heartbeat timeout");
        evicted += 1;
      }
    }
    return evicted;
  }

  pingAll(): void {
    for (const session of this.sockets) session.ping();
  }

  closeAll(code: number, reason: string): void {
    for (const session of [...this.sockets]) session.close(code, reason);
  }
}

export { SocketSession };
