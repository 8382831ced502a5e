/**
 * The revocations (and player self-exclusions) every node hears, over Redis pub/sub on a
 * connection of its own (a connection in subscriber mode cannot be used for ordinary commands
 * in RESP2, and a subscription must not wait behind them either).
 *
 * Pub/sub delivers at most once: whatever is published while this connection is down is lost.
 * So the feed tells its owner when the subscription is lost and when it is live again, and the
 * owner stops trusting what it cached in between.
 */
import type { Redis } from "ioredis";
import { createRedisClient } from "./client.ts";
import { asError } from "./errors.ts";
import { revocationChannel } from "./keys.ts";
import type { ResolvedRedisConnection } from "./options.ts";

/** A revocation as published: the token (useless once revoked) and the node that revoked it. */
export interface RevocationMessage {
  token: string;
  origin: string;
}

/** A self-exclusion as published: the player whose sockets must close, and the node that set it. */
export interface ExclusionMessage {
  playerId: string;
  origin: string;
}

export interface RevocationFeedHandlers {
  onRevocation(message: RevocationMessage): void;
  onExclusion(message: ExclusionMessage): void;
  /** The subscription is live (first time or after a loss): messages from now on arrive. */
  onSubscribed(): void;
  /** The subscription was lost: messages published from now on may never arrive. */
  onLost(): void;
}

/** Tokens are 43 characters; anything far longer on the channel is not ours. */
const messageBytesMax = 1_024;

export function encodeRevocation(message: RevocationMessage): string {
  return JSON.stringify({ token: message.token, origin: message.origin });
}

export function decodeRevocation(text: string): RevocationMessage | undefined {
  if (text.length > messageBytesMax) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const { token, origin } = value as Record<string, unknown>;
    if (typeof token !== "string" || typeof origin !== "string") return undefined;
    return { token, origin };
  } catch {
    return undefined;
  }
}

/** Tells exclusions apart from revocations, which carry no kind (older nodes publish those). */
const exclusionKind = "player-excluded";

export function encodeExclusion(message: ExclusionMessage): string {
  return JSON.stringify({
    kind: exclusionKind,
    playerId: message.playerId,
    origin: message.origin,
  });
}

export function decodeExclusion(text: string): ExclusionMessage | undefined {
  if (text.length > messageBytesMax) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const { kind, playerId, origin } = value as Record<string, unknown>;
    if (kind !== exclusionKind) return undefined;
    if (typeof playerId !== "string" || typeof origin !== "string") return undefined;
    return { playerId, origin };
  } catch {
    return undefined;
  }
}

/**
 * How often a live subscription is pinged. A connection that stops carrying bytes without
 * closing (a half-open TCP connection, a NAT that forgot it) delivers nothing and reports
 * nothing; a pending ping lets the socket timeout drop it, so the loss is noticed (and the node
 * turns unready and revalidates its sockets) within about this plus `socketTimeoutMs`.
 */
const pingIntervalMs = 1_000;

export class RevocationFeed {
  readonly channel: string;
  private readonly subscriber: Redis;
  private readonly pinger: ReturnType<typeof setInterval>;
  private subscribed = false;
  private closed = false;

  constructor(
    private readonly options: ResolvedRedisConnection,
    private readonly handlers: RevocationFeedHandlers,
  ) {
    this.channel = revocationChannel(options.keyPrefix);
    this.subscriber = createRedisClient(options, "revocations");
    this.subscriber.on("ready", () => this.subscribe());
    this.subscriber.on("close", () => this.lose());
    this.subscriber.on("message", (channel: string, text: string) => this.receive(channel, text));
    // Only while nothing is pending: a pending ping already arms the socket timeout.
    this.pinger = setInterval(() => {
      if (this.subscribed && this.subscriber.commandQueue.length === 0)
        this.subscriber.ping().catch(() => undefined);
    }, pingIntervalMs);
    this.pinger.unref();
  }

  isSubscribed(): boolean {
    return this.subscribed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribed = false;
    clearInterval(this.pinger);
    // No QUIT: a subscribed RESP2 connection only accepts subscriber commands.
    this.subscriber.disconnect(false);
  }

  private subscribe(): void {
    this.subscriber.subscribe(this.channel).then(
      () => {
        if (this.closed || this.subscriber.status !== "ready") return;
        this.subscribed = true;
        this.handlers.onSubscribed();
      },
      (error: unknown) => {
        // The connection dropped while subscribing; the next 'ready' tries again.
        this.options.onError("revocations", asError(error));
      },
    );
  }

  private lose(): void {
    if (!this.subscribed) return;
    this.subscribed = false;
    if (!this.closed) this.handlers.onLost();
  }

  private receive(channel: string, text: string): void {
    if (channel !== this.channel) return;
    const revocation = decodeRevocation(text);
    if (revocation !== undefined) {
      this.handlers.onRevocation(revocation);
      return;
    }
    const exclusion = decodeExclusion(text);
    if (exclusion !== undefined) {
      this.handlers.onExclusion(exclusion);
      return;
    }
    this.options.onError("revocations", new Error("ignored a malformed revocation message"));
  }
}
