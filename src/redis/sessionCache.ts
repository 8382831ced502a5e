/**
 * The small local cache in front of the Redis session store. Bounded in entries; an entry is
 * fresh for `ttlMs` (the fallback should a revocation message be lost) and may be served stale,
 * while Redis is unreachable, for at most `staleMsMax` after Redis last confirmed it.
 */
import { LRUCache } from "lru-cache";
import type { Session } from "../net/sessions.ts";

interface Entry {
  session: Session;
  /** Date.now() when Redis last answered with this session. */
  confirmedAtMs: number;
}

export class SessionCache {
  private readonly entries: LRUCache<string, Entry>;
  /**
   * Bumped by every invalidation. A Redis read that started before an invalidation may carry a
   * session revoked since, so it must not fill the cache: `fill` compares epochs.
   */
  private epochNow = 0;

  constructor(
    entriesMax: number,
    ttlMs: number,
    private readonly staleMsMax: number,
  ) {
    if (!Number.isInteger(entriesMax) || entriesMax < 1) throw new RangeError("entriesMax < 1");
    if (!(ttlMs > 0 && ttlMs <= staleMsMax)) throw new RangeError("need 0 < ttlMs <= staleMsMax");
    // Stale entries are kept on a fresh lookup so an outage can still serve them.
    this.entries = new LRUCache<string, Entry>({
      max: entriesMax,
      ttl: ttlMs,
      noDeleteOnStaleGet: true,
    });
  }

  get epoch(): number {
    return this.epochNow;
  }

  get size(): number {
    return this.entries.size;
  }

  /** A session Redis confirmed less than `ttlMs` ago, unless it has expired. */
  fresh(token: string, nowMs: number): Session | undefined {
    return this.live(token, this.entries.get(token), nowMs);
  }

  /**
   * Any cached session not expired and vouched for within `staleMsMax`: for use while Redis is
   * down. A session is vouched for when Redis confirmed it, and also up to `heardUntilMs`: until
   * then revocations were being heard, and one would have dropped it from the cache.
   */
  stale(token: string, nowMs: number, heardUntilMs = 0): Session | undefined {
    const entry = this.entries.get(token, { allowStale: true });
    const vouchedAtMs = Math.max(entry?.confirmedAtMs ?? 0, heardUntilMs);
    if (entry !== undefined && nowMs - vouchedAtMs > this.staleMsMax) {
      this.entries.delete(token);
      return undefined;
    }
    return this.live(token, entry, nowMs);
  }

  /** Caches what Redis answered, unless an invalidation happened since the read began. */
  fill(session: Session, epochAtRead: number, nowMs: number): void {
    if (epochAtRead !== this.epochNow) return;
    this.entries.set(session.token, { session, confirmedAtMs: nowMs });
  }

  /** The token was revoked: drop it, and keep reads already in flight from caching it again. */
  invalidate(token: string): void {
    this.epochNow += 1;
    this.entries.delete(token);
  }

  /** Redis does not know the token: drop any stale copy so an outage cannot bring it back. */
  forget(token: string): void {
    this.entries.delete(token);
  }

  /** Revocations may have been missed: trust nothing cached so far. */
  clear(): void {
    this.epochNow += 1;
    this.entries.clear();
  }

  private live(token: string, entry: Entry | undefined, nowMs: number): Session | undefined {
    if (entry === undefined) return undefined;
    if (entry.session.expiresAt <= nowMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry.session;
  }
}
