import type { ServerWebSocket } from "bun";
import type { CommandOrigin } from "../cluster/playerEvents.ts";
import type { OutboundFrames } from "./outboundFrames.ts";
import type { Bucket } from "./rateLimiter.ts";

/** Close codes (docs/PROTOCOL.md, "Close codes"). */
export const closeCodes = {
  goingAway: 1001,
  policyViolation: 1008,
  frameTooLarge: 1009,
  internalError: 1011,
  draining: 1012,
  tryAgainLater: 1013,
  heartbeatTimeout: 4000,
  sessionRevoked: 4001,
  slowConsumer: 4002,
} as const;

/** Live events buffered per socket while its replay is being sent; past this the socket is closed. */
export const replayBufferEventsMax = 1_000;

/**
 * Client frames that may run held per socket while earlier ones wait their turn (the welcome
 * being prepared, a shared rate limiter answering); past this the socket is closed with 1008.
 * Above the default command burst, so a client that sends its queued commands on connect is never
 * cut off; at most 128 x 4 KiB per socket. Frames refused for rate are not counted here: only
 * their id waits for their answer, at most `RATE_LIMIT_STRIKES_MAX` of them, then 1008.
 */
export const inboundFramesWaitingMax = 128;

/**
 * One open WebSocket of one player. Sequenced messages pass through `sendSequenced`, which keeps
 * them in order, drops any the socket already has, and holds live ones back while a replay runs.
 */
export class SocketSession {
  lastHeardAtMs: number;
  lastSentSeq = 0;
  rateStrikes = 0;
  closed = false;
  /** Set while frames must wait their turn (welcome in progress, or a slow rate-limit check). */
  inbound: Promise<void> | undefined;
  /** Frames that may run chained behind `inbound` and not yet handled. */
  framesWaiting = 0;
  /** Answers of frames refused for rate, chained behind `inbound` and not yet sent. */
  refusalsWaiting = 0;
  /**
   * Per table, the restore of this socket's seat while it runs: the socket's own join or leave of
   * that table waits for it (a while at most), so the two seldom race; when they do, the restore
   * sees the seat version move and asks again.
   */
  seatRestores: Map<string, Promise<void>> | undefined;
  /** Tables this socket has a join in flight for (watched ahead of the answer, not yet seated). */
  joinsInFlight: Set<string> | undefined;
  /** Per table, how many joins and leaves of the player this socket has seen (made on first one). */
  private seatChanges: Map<string, number> | undefined;
  /** The client's address as its limits key it (an IPv6 /64 as one); set before registering. */
  address = "";
  /** Tables whose broadcasts this socket receives (see tableFanout.ts). */
  readonly tables = new Set<string>();
  /** Non-null while the welcome and replay are being prepared. */
  private pending: { seq: number; text: string }[] | null = [];
  private unsubscribe: (() => void) | undefined;
  private commandSerial = 0;
  /**
   * This socket's commands still waiting for their reply, by serial, each with the sequenced
   * message it produced once that is published (null until then). The reply carries that message
   * to this socket; if no reply comes (the ask timed out, the command failed), `endCommand` sends
   * it on its own, so the socket never misses a seq. Bounded by the commands in flight.
   */
  private readonly awaitingReply = new Map<number, { seq: number; text: string } | null>();
  /** Resolved when `awaitingReply` next becomes empty (see `playerCommandsSettled`). */
  private allReplied: PromiseWithResolvers<void> | undefined;
  /** This socket's own command bucket (see WsGateway.allowed); infinite tokens: it starts full. */
  readonly commandBucket: Bucket = {
    tokens: Number.POSITIVE_INFINITY,
    refilledAtMs: 0,
    fullAtMs: 0,
  };
  /** The key of this player's command rate limit, built once (it is taken on every command). */
  readonly commandRateKey: string;

  constructor(
    readonly socketId: string,
    readonly playerId: string,
    readonly token: string,
    private readonly ws: ServerWebSocket<unknown>,
    nowMs: number,
    /** When the session behind the socket expires (epoch ms); the socket is closed then. */
    readonly expiresAtMs = Number.POSITIVE_INFINITY,
    /** Where frames wait to be written together; without it, each is written at once. */
    private readonly outbound?: OutboundFrames,
  ) {
    this.lastHeardAtMs = nowMs;
    this.commandRateKey = `player:${playerId}:commands`;
  }

  /**
   * A join or leave of the player at `table` took effect: an answer about the seat obtained
   * before it (a reconnect's restore, an unknown outcome being settled) is out of date.
   */
  seatChanged(table: string): void {
    this.seatChanges ??= new Map();
    this.seatChanges.set(table, (this.seatChanges.get(table) ?? 0) + 1);
  }

  /** Compared before and after an ask about the seat: unchanged means the answer still holds. */
  seatVersion(table: string): number {
    return this.seatChanges?.get(table) ?? 0;
  }

  /**
   * Names one command of this socket, so its reply can be told from a duplicate's, and holds the
   * sequenced message it produces for that reply until `endCommand`.
   */
  nextOrigin(): CommandOrigin {
    this.commandSerial += 1;
    this.awaitingReply.set(this.commandSerial, null);
    return { socketId: this.socketId, serial: this.commandSerial };
  }

  /**
   * A sequenced message of this player: held for its command's reply when the command is this
   * socket's and still waiting, else sent as a pushed message.
   */
  deliverEvent(seq: number, text: string, origin: CommandOrigin | undefined): void {
    if (
      origin !== undefined &&
      origin.socketId === this.socketId &&
      this.awaitingReply.has(origin.serial)
    ) {
      this.awaitingReply.set(origin.serial, { seq, text });
      return;
    }
    this.sendSequenced(seq, text);
  }

  /**
   * The command's reply has been sent, or will never be (a timeout, a failure): a message it
   * produced goes out now unless the reply already carried it (then `sendSequenced` drops it).
   */
  endCommand(origin: CommandOrigin): void {
    const held = this.awaitingReply.get(origin.serial);
    this.awaitingReply.delete(origin.serial);
    if (held) this.sendSequenced(held.seq, held.text);
    if (this.awaitingReply.size === 0 && this.allReplied !== undefined) {
      this.allReplied.resolve();
      this.allReplied = undefined;
    }
  }

  /**
   * Resolves once every command this socket has sent to the player actor so far has its answer
   * (or has given up waiting for it). The caller holds later frames back meanwhile, so no command
   * sent after it is waited for.
   */
  playerCommandsSettled(): Promise<void> {
    if (this.awaitingReply.size === 0) return Promise.resolve();
    this.allReplied ??= Promise.withResolvers<void>();
    return this.allReplied.promise;
  }

  setUnsubscribe(unsubscribe: () => void): void {
    this.unsubscribe = unsubscribe;
  }

  /** Sends a frame that is not sequenced (replies, errors, welcome). */
  send(text: string): void {
    if (this.closed) return;
    if (this.outbound === undefined) this.write(text);
    else this.outbound.push(this, text);
  }

  /** Writes a frame to the socket now (OutboundFrames calls this for the frames it queued). */
  write(text: string): void {
    if (this.closed) return;
    const status = this.ws.send(text);
    // 0: dropped because the outbound buffer is over its limit. The client cannot keep up, and
    // buffering without bound is not an option: close it, it reconnects with lastSeq.
    if (status === 0) this.close(closeCodes.slowConsumer, "outbound buffer full");
  }

  sendSequenced(seq: number, text: string): void {
    if (this.pending !== null) {
      if (this.pending.length >= replayBufferEventsMax) {
        this.close(
          closeCodes.slowConsumer,
          "too many events during replay; reconnect with lastSeq",
        );
        return;
      }
      this.pending.push({ seq, text });
      return;
    }
    if (seq <= this.lastSentSeq) return;
    this.lastSentSeq = seq;
    this.send(text);
  }

  /**
   * Ends the replay phase: the replayed events go out, then the live events buffered meanwhile,
   * in seq order, each at most once.
   */
  goLiveWith(replay: readonly { seq: number; event: string }[]): void {
    const pending = this.pending ?? [];
    this.pending = null;
    for (const event of replay) this.sendSequenced(event.seq, event.event);
    pending.sort((a, b) => a.seq - b.seq);
    for (const event of pending) this.sendSequenced(event.seq, event.text);
  }

  /** Bytes queued for this client and not yet written to the network. */
  bufferedBytes(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  subscribeTopic(topic: string): void {
    if (!this.closed) this.ws.subscribe(topic);
  }

  unsubscribeTopic(topic: string): void {
    if (!this.closed) this.ws.unsubscribe(topic);
  }

  ping(): void {
    if (!this.closed) this.ws.ping();
  }

  /** Told of every close this side starts (for the close counter), once per socket. */
  onServerClose: ((code: number) => void) | undefined;

  close(code: number, reason: string): void {
    if (this.closed) return;
    // What was sent before the close (an error saying why) goes out before it.
    this.outbound?.flush();
    // A frame of that flush the socket could not take closed it already (4002): once is all.
    if (this.closed) return;
    this.closed = true;
    this.onServerClose?.(code);
    this.ws.close(code, reason);
  }

  /** Called once the socket is gone, whoever closed it. */
  release(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
