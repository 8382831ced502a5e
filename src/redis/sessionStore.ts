/**
 * Sessions shared by every node through Redis: token -> {playerId, expiresAt} with the session's
 * life as the key's TTL, a small local cache in front, and revocations broadcast over pub/sub
 * so every node drops the token from its cache and closes its sockets. Self-exclusions travel
 * on the same channel, so every node closes the excluded player's sockets.
 *
 * While Redis is unreachable: `find` answers from the cache for tokens it holds (players
 * already signed in keep playing) and fails with RedisUnavailableError (503) for others;
 * `create`, `revoke` and `excludePlayer` fail the same way. When both connections are back, the cache is
 * emptied (revocations published meanwhile were not heard) and `onReconnected` listeners run,
 * so the gateway can revalidate the sockets it holds.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { newSessionToken, type Session, type SessionStore } from "../net/sessions.ts";
import { redactUrl } from "../redactUrl.ts";
import { closeClient, createRedisClient } from "./client.ts";
import { asError, RedisUnavailableError } from "./errors.ts";
import { evictionPolicyWarning, readEvictionPolicy } from "./evictionPolicy.ts";
import { sessionKey } from "./keys.ts";
import type { ResolvedRedisConnection } from "./options.ts";
import {
  type ExclusionMessage,
  encodeExclusion,
  encodeRevocation,
  RevocationFeed,
  type RevocationMessage,
} from "./revocationFeed.ts";
import { SessionCache } from "./sessionCache.ts";
import { decodeSessionRecord, encodeSessionRecord } from "./sessionRecord.ts";
import {
  type RedisSessionStoreOptions,
  resolveSessionStoreOptions,
} from "./sessionStoreOptions.ts";

/**
 * How often the store pings Redis. A Redis that hangs with the connection open is only noticed
 * while a command is pending (`socketTimeoutMs`); without traffic the node would go on reporting
 * ready until the next session lookup.
 */
const pingIntervalMs = 1_000;

/** Unconfirmed revocations remembered at most (the oldest are forgotten first). */
const unconfirmedRevocationsMax = 10_000;

export class RedisSessionStore implements SessionStore {
  /** Tells this store's own revocations apart from other nodes' on the shared channel. */
  readonly nodeId = randomBytes(8).toString("hex");
  private readonly connection: ResolvedRedisConnection;
  private readonly client: Redis;
  private readonly feed: RevocationFeed;
  private readonly cache: SessionCache;
  private readonly revokedListeners = new Set<(token: string) => void>();
  /** Revocations whose transaction failed on this node: applied or not, nobody knows yet. */
  private readonly unconfirmedRevocations = new Set<string>();
  private readonly excludedListeners = new Set<(playerId: string) => void>();
  private readonly reconnectedListeners = new Set<() => void>();
  private readonly healthWaiters = new Set<() => void>();
  private readonly pinger: ReturnType<typeof setInterval>;
  private evictionPolicy: string | undefined;
  private policyRead: Promise<void> = Promise.resolve();
  private commandConnected = false;
  /** A connection was lost after being up; cleared, and announced, once both are back. */
  private interrupted = false;
  /** Date.now() when the revocation subscription was last lost (revocations were heard until then). */
  private subscriptionLostAtMs = 0;
  private closed = false;

  /** Connects and waits (up to `connectTimeoutMs`) until usable; rejects if Redis is not there. */
  static async open(options: RedisSessionStoreOptions): Promise<RedisSessionStore> {
    const store = new RedisSessionStore(options);
    if (!(await store.waitUntilHealthy(store.connection.connectTimeoutMs))) {
      await store.close();
      throw new RedisUnavailableError(`open the session store at ${redactUrl(options.url)}`);
    }
    await store.policyRead;
    return store;
  }

  /** Starts connecting at once but does not wait: the store is unhealthy until Redis answers. */
  constructor(options: RedisSessionStoreOptions) {
    const resolved = resolveSessionStoreOptions(options);
    this.connection = resolved.connection;
    const { cacheEntriesMax, cacheTtlMs, cacheStaleMsMax } = resolved.cache;
    this.cache = new SessionCache(cacheEntriesMax, cacheTtlMs, cacheStaleMsMax);
    this.client = createRedisClient(this.connection, "sessions");
    this.client.on("ready", () => this.commandReady());
    this.client.on("close", () => this.commandLost());
    // A failed ping needs no handling here: a silent server drops the connection (socketTimeoutMs).
    // Only while nothing is pending: any pending command arms that timeout already, and pings
    // sent behind unanswered ones (a timed-out command stays queued) would pile up in front of
    // real lookups on a slow server.
    this.pinger = setInterval(() => {
      if (this.client.status === "ready" && this.client.commandQueue.length === 0)
        this.client.ping().catch(() => undefined);
    }, pingIntervalMs);
    this.pinger.unref();
    this.feed = new RevocationFeed(this.connection, {
      onRevocation: (message) => this.heardRevocation(message),
      onExclusion: (message) => this.heardExclusion(message),
      onSubscribed: () => {
        // Revocations published during the gap were missed: nothing cached before it may be
        // served from now on, even while the command connection is still down (then `find`
        // would vouch for it up to now).
        if (this.subscriptionLostAtMs > 0) this.cache.clear();
        this.stateChanged();
      },
      onLost: () => {
        this.subscriptionLostAtMs = Date.now();
        this.interrupted = true;
      },
    });
  }

  async create(playerId: string, ttlMs: number): Promise<Session> {
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`ttlMs ${ttlMs} < 1`);
    const session: Session = { token: newSessionToken(), playerId, expiresAt: Date.now() + ttlMs };
    const key = sessionKey(this.connection.keyPrefix, session.token);
    const epoch = this.cache.epoch;
    try {
      await this.client.set(key, encodeSessionRecord(session), "PX", ttlMs);
    } catch (error) {
      throw new RedisUnavailableError("create a session", error);
    }
    if (this.feed.isSubscribed()) this.cache.fill(session, epoch, Date.now());
    return session;
  }

  async find(token: string): Promise<Session | undefined> {
    // The cache is trusted only while revocations are being heard.
    const trusted = this.feed.isSubscribed();
    if (trusted) {
      const cached = this.cache.fresh(token, Date.now());
      if (cached !== undefined) return cached;
    }
    const epoch = this.cache.epoch;
    let text: string | null;
    try {
      text = await this.client.get(sessionKey(this.connection.keyPrefix, token));
    } catch (error) {
      const nowMs = Date.now();
      const heardUntilMs = this.feed.isSubscribed() ? nowMs : this.subscriptionLostAtMs;
      const cached = this.cache.stale(token, nowMs, heardUntilMs);
      if (cached !== undefined) return cached;
      throw new RedisUnavailableError("find a session", error);
    }
    const nowMs = Date.now();
    const session = text === null ? undefined : decodeSessionRecord(token, text);
    if (session === undefined || session.expiresAt <= nowMs) {
      this.cache.forget(token);
      return undefined;
    }
    if (trusted && this.feed.isSubscribed()) this.cache.fill(session, epoch, nowMs);
    return session;
  }

  /** Resolves once the revocation is stored and published; rejects if Redis cannot be reached. */
  async revoke(token: string): Promise<void> {
    this.cache.invalidate(token);
    const message = encodeRevocation({ token, origin: this.nodeId });
    try {
      // One transaction: no node can see the key gone without the message being sent.
      const replies = await this.client
        .multi()
        .del(sessionKey(this.connection.keyPrefix, token))
        .publish(this.feed.channel, message)
        .exec();
      if (replies === null) throw new Error("the revocation transaction was discarded");
      for (const [error] of replies) if (error) throw error;
    } catch (error) {
      // The revocation may have been applied (a reply too late) or not: this node acts on the
      // transaction's own message too, should it arrive after all (a socket may have opened
      // with the token meanwhile).
      this.rememberUnconfirmed(token);
      throw new RedisUnavailableError("revoke a session", error);
    } finally {
      // Again: a find that began during the transaction may have cached the token meanwhile.
      // This node's sockets of the session are closed whether or not the revocation was
      // confirmed (if the session survived, they reconnect).
      this.cache.invalidate(token);
      this.notifyRevoked(token);
    }
  }

  /** Runs for revocations made on this node (before `revoke` resolves) and on every other node. */
  onRevoked(listener: (token: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Resolves once the exclusion is published; rejects if Redis cannot be reached. */
  async excludePlayer(playerId: string): Promise<void> {
    const message = encodeExclusion({ playerId, origin: this.nodeId });
    try {
      await this.client.publish(this.feed.channel, message);
    } catch (error) {
      throw new RedisUnavailableError("announce a self-exclusion", error);
    }
    this.notifyExcluded(playerId);
  }

  /** Runs for exclusions announced on this node (before `excludePlayer` resolves) and on every other node. */
  onPlayerExcluded(listener: (playerId: string) => void): () => void {
    this.excludedListeners.add(listener);
    return () => this.excludedListeners.delete(listener);
  }

  /**
   * Runs each time Redis is usable again after a loss of either connection. Revocations made
   * meanwhile were not heard: the listener should revalidate the sockets it holds with `find`.
   */
  onReconnected(listener: () => void): () => void {
    this.reconnectedListeners.add(listener);
    return () => this.reconnectedListeners.delete(listener);
  }

  healthy(): boolean {
    return !this.closed && this.client.status === "ready" && this.feed.isSubscribed();
  }

  /** Resolves true once healthy, or false after `timeoutMs` (or on close). */
  waitUntilHealthy(timeoutMs: number): Promise<boolean> {
    if (this.healthy()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.healthWaiters.delete(done);
        resolve(this.healthy());
      };
      const timer = setTimeout(done, timeoutMs);
      this.healthWaiters.add(done);
    });
  }

  /** Set when Redis may evict keys (any policy but `noeviction`); undefined if fine or unknown. */
  evictionPolicyWarning(): string | undefined {
    return evictionPolicyWarning(this.evictionPolicy);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pinger);
    this.revokedListeners.clear();
    this.excludedListeners.clear();
    this.reconnectedListeners.clear();
    for (const done of [...this.healthWaiters]) done();
    await Promise.all([
      closeClient(this.client, this.connection.commandTimeoutMs),
      this.feed.close(),
    ]);
    this.cache.clear();
  }

  private commandReady(): void {
    this.commandConnected = true;
    // Read at every connection: the server may have been replaced by one configured otherwise.
    this.policyRead = readEvictionPolicy(this.client).then((policy) => {
      this.evictionPolicy = policy;
    });
    this.stateChanged();
  }

  private commandLost(): void {
    if (!this.commandConnected) return;
    this.commandConnected = false;
    this.interrupted = true;
  }

  private stateChanged(): void {
    if (!this.healthy()) return;
    for (const done of [...this.healthWaiters]) done();
    if (!this.interrupted) return;
    this.interrupted = false;
    this.cache.clear();
    for (const listener of [...this.reconnectedListeners]) {
      this.runListener(() => listener());
    }
  }

  private heardRevocation(message: RevocationMessage): void {
    this.cache.invalidate(message.token);
    // This node's own revocations were announced by `revoke` already, except those whose reply
    // came too late to know they were applied.
    const unconfirmed = this.unconfirmedRevocations.delete(message.token);
    if (message.origin !== this.nodeId || unconfirmed) this.notifyRevoked(message.token);
  }

  private rememberUnconfirmed(token: string): void {
    if (this.unconfirmedRevocations.size >= unconfirmedRevocationsMax) {
      const oldest = this.unconfirmedRevocations.values().next();
      if (!oldest.done) this.unconfirmedRevocations.delete(oldest.value);
    }
    this.unconfirmedRevocations.add(token);
  }

  private heardExclusion(message: ExclusionMessage): void {
    // This node's own exclusions were announced by `excludePlayer` already.
    if (message.origin !== this.nodeId) this.notifyExcluded(message.playerId);
  }

  private notifyExcluded(playerId: string): void {
    for (const listener of [...this.excludedListeners]) {
      this.runListener(() => listener(playerId));
    }
  }

  private notifyRevoked(token: string): void {
    for (const listener of [...this.revokedListeners]) {
      this.runListener(() => listener(token));
    }
  }

  /** A throwing listener is logged; it must not keep the others from running. */
  private runListener(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.connection.onError("session listener", asError(error));
    }
  }
}
