import { randomBytes } from "node:crypto";
import { LRUCache } from "lru-cache";

export interface Session {
  token: string;
  playerId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/**
 * Where sessions live. The in-memory store serves a single node; a Redis store shares them
 * across nodes. `revoke` resolves only once the revocation is stored.
 */
export interface SessionStore {
  create(playerId: string, ttlMs: number): Promise<Session>;
  /** The live session for a token, or undefined when unknown, revoked or expired. */
  find(token: string): Promise<Session | undefined>;
  revoke(token: string): Promise<void>;
  /** Called with each revoked token (on any node, once shared stores exist). */
  onRevoked(listener: (token: string) => void): () => void;
  /**
   * Announces that the player is self-excluded, so every node closes the player's sockets.
   * Resolves once announced (shared stores: published to every node); rejects when the shared
   * store cannot be reached.
   */
  excludePlayer(playerId: string): Promise<void>;
  /** Called with each excluded player (on every node, the announcing one included, once). */
  onPlayerExcluded(listener: (playerId: string) => void): () => void;
  /**
   * Called after the shared store comes back from an outage: revocations made meanwhile were
   * not heard, so open sockets must be checked again.
   */
  onReconnected(listener: () => void): () => void;
  healthy(): boolean;
  close(): Promise<void>;
}

/** 32 random bytes, URL-safe: unguessable and fits a query string. */
export function newSessionToken(): string {
  return randomBytes(32).toString("base64url");
}

/** How often expired sessions are dropped from memory (a session never looked up again stays until then). */
export const expiredSessionsPurgeIntervalMs = 60_000;

export class MemorySessionStore implements SessionStore {
  private readonly sessions: LRUCache<string, Session>;
  private readonly listeners = new Set<(token: string) => void>();
  private readonly excludedListeners = new Set<(playerId: string) => void>();
  private readonly purger: ReturnType<typeof setInterval>;

  /** `sessionsMax` bounds memory: past it the least recently used session is dropped. */
  constructor(sessionsMax: number, purgeIntervalMs = expiredSessionsPurgeIntervalMs) {
    this.sessions = new LRUCache<string, Session>({ max: sessionsMax });
    // Expired sessions go on a timer, not only when looked up or pushed out by newer ones.
    this.purger = setInterval(() => this.sessions.purgeStale(), purgeIntervalMs);
    this.purger.unref();
  }

  /** Sessions held now, expired ones not yet dropped included. */
  get size(): number {
    return this.sessions.size;
  }

  async create(playerId: string, ttlMs: number): Promise<Session> {
    const session: Session = { token: newSessionToken(), playerId, expiresAt: Date.now() + ttlMs };
    this.sessions.set(session.token, session, { ttl: ttlMs });
    return session;
  }

  async find(token: string): Promise<Session | undefined> {
    const session = this.sessions.get(token);
    if (session === undefined) return undefined;
    if (session.expiresAt <= Date.now()) {
      this.sessions.delete(token);
      return undefined;
    }
    return session;
  }

  async revoke(token: string): Promise<void> {
    this.sessions.delete(token);
    for (const listener of this.listeners) listener(token);
  }

  onRevoked(listener: (token: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async excludePlayer(playerId: string): Promise<void> {
    for (const listener of [...this.excludedListeners]) listener(playerId);
  }

  onPlayerExcluded(listener: (playerId: string) => void): () => void {
    this.excludedListeners.add(listener);
    return () => this.excludedListeners.delete(listener);
  }

  /** Memory never disconnects: the listener never runs. */
  onReconnected(_listener: () => void): () => void {
    return () => {};
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.purger);
    this.listeners.clear();
    this.excludedListeners.clear();
  }
}
