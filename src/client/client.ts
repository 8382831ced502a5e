/**
 * A small typed client for the Croupier protocol (docs/PROTOCOL.md): connect with a token,
 * commands as promises with timeouts, retries with the same id, reconnection with `lastSeq`,
 * and delivery of sequenced messages to the application exactly once each, in seq order.
 */

import { SeqTracker } from "./seqTracker.ts";

export interface Welcome {
  type: "welcome";
  playerId: string;
  balance: number;
  seq: number;
  node: string;
  heartbeatMs: number;
  serverTime: string;
  replayFrom?: number;
}

export interface ServerMessage {
  type: string;
  id?: string | null;
  seq?: number;
  [field: string]: unknown;
}

/** The server refused the command (`code` from its error), or the client could not send it. */
export class CommandFailed extends Error {
  override readonly name = "CommandFailed";
  constructor(
    readonly code: string,
    /** The text after the code. */
    readonly reason: string,
    /** The command's id, to send it again as the same intent (a new id is a new intent). */
    readonly id?: string,
  ) {
    super(`${code}: ${reason}`);
  }
}

/** No answer in time: the command may or may not have run. Send it again with the same `id`. */
export class CommandTimeout extends Error {
  override readonly name = "CommandTimeout";
  constructor(
    message: string,
    readonly id?: string,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** ws://host:port (no path). */
  baseUrl: string;
  token: string;
  /** Sequenced messages with seq at or below this were already seen. */
  lastSeq?: number;
  /** Commands waiting for a reply at once; more is a programming error in the caller. */
  pendingCommandsMax?: number;
  /** Each seq once, in order: after a gap the client reconnects and the replay fills it first. */
  onSequenced?: (message: ServerMessage) => void;
  /**
   * Every welcome, also on the reconnections the client makes by itself. With `replayFrom`, the
   * sequenced messages before it are gone from the server: refresh the state over HTTP.
   */
  onWelcome?: (welcome: Welcome) => void;
  onEvent?: (message: ServerMessage) => void;
  onClose?: (code: number, reason: string) => void;
  /**
   * An exception thrown by one of the callbacks above: the application's bug. The client carries
   * on either way; by default the exception is thrown again outside the client, uncaught.
   */
  onCallbackError?: (error: unknown) => void;
}

interface Pending {
  resolve: (message: ServerMessage) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
  /** The command as sent, kept to send again with the same id after a resync reconnection. */
  frame: string;
  /** Whether it went out on a socket (commands issued during a resync wait for the new one). */
  sent: boolean;
  /** Keyed by its id on the server (money-moving): sent again, it is answered, not redone. */
  idempotent: boolean;
}

/** Commands the server deduplicates by id (PROTOCOL.md, idempotency). */
const idempotentCommandTypes: ReadonlySet<string> = new Set(["spin", "table.bet"]);

/**
 * Pauses of `commandWithRetry` before its retries: 100, 200, 400 ... ms, at most 2 s, each between
 * half and all of that at random ("equal jitter"): clients cut off together do not come back in
 * lockstep, and the retries of the default 10 attempts span at least ~5.5 s (a node's restart).
 */
const retryPauseBaseMs = 100;
const retryPauseMaxMs = 2_000;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function retryPauseMs(attempt: number): number {
  const ceilingMs = Math.min(retryPauseMaxMs, retryPauseBaseMs * 2 ** (attempt - 1));
  return ceilingMs / 2 + (Math.random() * ceilingMs) / 2;
}

/** How long a reconnection made to fill a seq gap waits for its welcome. */
const resyncWelcomeTimeoutMs = 5_000;

/** How long a ping sent after a command timed out may take before the socket counts as dead. */
const livenessProbeMs = 2_000;

/** Close codes after which reconnecting with the same token cannot help (PROTOCOL.md). */
const sessionRevokedCode = 4001;
const policyViolationCode = 1008;

/** Errors `commandWithRetry` retries: the command certainly did not run, or its outcome is unknown. */
const retryableCodes: ReadonlySet<string> = new Set(["CLOSED", "BUSY", "INTERNAL", "RATE_LIMITED"]);

let idCounter = 0;

/** Unique enough per client process: a prefix of random bits and a counter. */
export function newCommandId(): string {
  idCounter += 1;
  return `${Math.random().toString(36).slice(2, 10)}-${idCounter}`;
}

function isOpen(socket: WebSocket | undefined): socket is WebSocket {
  return socket !== undefined && socket.readyState === WebSocket.OPEN;
}

/** The error with the command's id on it, for the caller to send the command again. */
function withId(error: unknown, id: string): unknown {
  if (error instanceof CommandFailed && error.id === undefined)
    return new CommandFailed(error.code, error.reason, id);
  if (error instanceof CommandTimeout && error.id === undefined)
    return new CommandTimeout(error.message, id);
  return error;
}

/**
 * Exactly-once money with this client: give each intent (a spin, a bet) an id of its own, and
 * send it again with the same id whenever its answer did not come (`CommandTimeout`, `CLOSED`,
 * `INTERNAL`): the server answers a repeat with the original reply and moves nothing again. The
 * errors carry the id; `commandWithRetry` does the resending, reconnecting as needed.
 */
export class CroupierClient {
  welcome: Welcome | undefined;
  private socket: WebSocket | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly pendingMax: number;
  private readonly seqs: SeqTracker;
  /** True from a seq gap until the reconnection that fills it is welcomed. */
  private resyncing = false;
  /** The connection being opened, shared by everyone who needs one meanwhile. */
  private connecting: Promise<Welcome> | undefined;
  /** Set by `close()`: nothing reconnects any more. */
  private closedByApplication = false;
  /** Set by a close with 4001 (revoked or expired session): this token is done. */
  private revoked = false;

  constructor(private readonly options: ClientOptions) {
    this.seqs = new SeqTracker(options.lastSeq ?? 0);
    this.pendingMax = options.pendingCommandsMax ?? 1_000;
  }

  /**
   * Runs an application callback: an exception there is the application's bug, and must not
   * leave the client half way through a message.
   */
  private safely(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      const rethrowOutside = (thrown: unknown) =>
        setTimeout(() => {
          throw thrown;
        }, 0);
      const report = this.options.onCallbackError;
      if (report === undefined) return void rethrowOutside(error);
      try {
        report(error);
      } catch (reportFailed) {
        rethrowOutside(reportFailed);
      }
    }
  }

  /** Last seq delivered to the application, with none missing before it. */
  get lastSeq(): number {
    return this.seqs.lastDelivered;
  }

  /**
   * Opens the socket and resolves with the welcome. The first connection starts after the
   * player's latest seq (or after `options.lastSeq` when given); every later one resumes after
   * the last seq delivered, so nothing sequenced is missed across reconnections. While a
   * connection is being opened, every caller shares it; an open one is kept.
   */
  connect(timeoutMs = 5_000): Promise<Welcome> {
    if (this.closedByApplication)
      return Promise.reject(new CommandFailed("CLOSED", "the client was closed"));
    if (this.revoked)
      return Promise.reject(
        new CommandFailed("SESSION_REVOKED", "the session was revoked or expired; sign in again"),
      );
    if (this.connecting !== undefined) return this.connecting;
    if (isOpen(this.socket) && this.welcome !== undefined) return Promise.resolve(this.welcome);
    const connecting = this.open(timeoutMs).finally(() => {
      if (this.connecting === connecting) this.connecting = undefined;
    });
    this.connecting = connecting;
    return connecting;
  }

  private open(timeoutMs: number): Promise<Welcome> {
    const resume = this.welcome !== undefined || this.options.lastSeq !== undefined;
    const query = new URLSearchParams({ token: this.options.token });
    if (resume) query.set("lastSeq", String(this.lastSeq));
    // The socket being replaced, if any, must not stay open on the server, unseen.
    const previous = this.socket;
    const socket = new WebSocket(`${this.options.baseUrl}/v1/ws?${query}`);
    this.socket = socket;
    previous?.close(1000, "replaced");
    const welcome = Promise.withResolvers<Welcome>();
    const timer = setTimeout(() => {
      welcome.reject(new CommandTimeout("no welcome in time"));
      // Given up: the socket must not stay open on the server, unseen and unclosed, and the
      // commands waiting for it will not go out on it.
      if (this.socket === socket) {
        this.socket = undefined;
        this.connecting = undefined;
        this.resyncing = false;
        this.failPending(new CommandFailed("CLOSED", "no welcome in time"));
      }
      socket.close();
    }, timeoutMs);
    socket.onmessage = (event) => {
      // A replaced socket's frames are stale: its replacement resumes after lastSeq and gets
      // them again, and the commands in flight are sent again on it.
      if (this.socket !== socket) return;
      const message = JSON.parse(String(event.data)) as ServerMessage;
      if (message.type === "welcome") {
        clearTimeout(timer);
        const welcomed = this.welcomed(message as unknown as Welcome, resume);
        // Settled before the application hears of it: nothing it does can leave connect hanging.
        welcome.resolve(welcomed);
        const { onWelcome } = this.options;
        if (onWelcome !== undefined) this.safely(() => onWelcome(welcomed));
        return;
      }
      this.dispatch(message);
    };
    socket.onclose = (event) => {
      clearTimeout(timer);
      if (event.code === sessionRevokedCode) this.revoked = true;
      welcome.reject(
        event.code === sessionRevokedCode
          ? new CommandFailed("SESSION_REVOKED", `closed before welcome: ${event.reason}`)
          : event.code === policyViolationCode
            ? new CommandFailed("POLICY", `closed before welcome: ${event.reason}`)
            : new CommandFailed("CLOSED", `closed before welcome: ${event.code} ${event.reason}`),
      );
      // A socket replaced by a reconnection no longer owns the pending commands.
      if (this.socket !== socket) return;
      this.socket = undefined;
      // This attempt is over (a resync's too): a connect() made from onClose starts a new one,
      // and the commands it is given go out on it.
      this.connecting = undefined;
      this.resyncing = false;
      this.failPending(
        this.revoked
          ? new CommandFailed("SESSION_REVOKED", "the session was revoked or expired")
          : new CommandFailed("CLOSED", `socket closed ${event.code} ${event.reason}`),
      );
      const { onClose } = this.options;
      if (onClose !== undefined) this.safely(() => onClose(event.code, event.reason));
    };
    return welcome.promise;
  }

  private welcomed(welcome: Welcome, resume: boolean): Welcome {
    this.welcome = welcome;
    if (!resume) this.seqs.startAfter(welcome.seq);
    if (welcome.replayFrom !== undefined) this.seqs.skipLostBefore(welcome.replayFrom);
    return welcome;
  }

  private dispatch(message: ServerMessage): void {
    // The command's caller first: its promise settles whatever the callbacks below do. A reply
    // beyond a gap answers its command too: the command did happen, and its sequenced delivery
    // comes in order with the replay.
    const answered = this.settle(message);
    if (typeof message.seq === "number") this.deliverInOrder(message.seq, message);
    // Events, and errors about no command (`"id": null`); a late reply to a command given up on
    // is dropped (its caller already has its CommandTimeout).
    else if (!answered && (message.id === undefined || message.id === null)) {
      const { onEvent } = this.options;
      if (onEvent !== undefined) this.safely(() => onEvent(message));
    }
  }

  private deliverInOrder(seq: number, message: ServerMessage): void {
    const verdict = this.seqs.receive(seq);
    if (verdict === "next") {
      const { onSequenced } = this.options;
      if (onSequenced !== undefined) this.safely(() => onSequenced(message));
    }
    // A duplicate (e.g. a retry's reply carries its original seq) is dropped.
    else if (verdict === "gap") this.resync();
  }

  /**
   * Reconnects after the last seq delivered in order: the server replays every later sequenced
   * message, in order, before new ones. The commands in flight are sent again with the same id
   * once the new socket is welcomed (as `commandWithRetry` does): the id makes that safe, and a
   * command that already ran answers with its original reply.
   */
  private resync(): void {
    if (this.resyncing || this.closedByApplication) return;
    this.resyncing = true;
    const stale = this.socket;
    // Detached first: the gap's socket is closed on purpose, with no one to tell.
    this.socket = undefined;
    stale?.close(1000, "seq gap; resuming with lastSeq");
    this.connect(resyncWelcomeTimeoutMs).then(
      () => {
        this.resyncing = false;
        this.resendPending();
      },
      (error: unknown) => {
        this.resyncing = false;
        // A connection the application started meanwhile (from onClose) owns what is pending.
        if (this.connecting !== undefined || isOpen(this.socket)) return;
        const reason = error instanceof Error ? error.message : String(error);
        this.failPending(new CommandFailed("CLOSED", `no resumption after a seq gap: ${reason}`));
        // The application learns it is disconnected: a socket that closed has said so itself;
        // one given up for want of a welcome has not (nor is anything said after close()).
        const { onClose } = this.options;
        if (onClose !== undefined && error instanceof CommandTimeout && !this.closedByApplication)
          this.safely(() => onClose(1006, "no resumption after a seq gap"));
      },
    );
  }

  /**
   * After a resync reconnection: commands issued meanwhile go out now, money-moving ones already
   * sent go out again (the server answers a repeat from its record). Any other command already
   * sent (a join or leave) may or may not have run, and running it twice would not be the same
   * (a second leave is NOT_SEATED): it fails with CLOSED for the caller to check and retry.
   */
  private resendPending(): void {
    const socket = this.socket;
    if (socket === undefined) return;
    for (const [id, pending] of this.pending) {
      if (pending.sent && !pending.idempotent) {
        this.pending.delete(id);
        clearTimeout(pending.timer);
        pending.reject(
          new CommandFailed(
            "CLOSED",
            "the connection was replaced before the answer; check and retry",
            id,
          ),
        );
        continue;
      }
      pending.sent = true;
      socket.send(pending.frame);
    }
  }

  /** Resolves or rejects the pending command a reply or error answers; whether there was one. */
  private settle(message: ServerMessage): boolean {
    const id = message.id;
    if (typeof id !== "string") return false;
    const pending = this.pending.get(id);
    if (pending === undefined) return false;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (message.type === "error")
      pending.reject(new CommandFailed(String(message.code), String(message.message), id));
    else pending.resolve(message);
    return true;
  }

  /** Sends a command once and waits for its reply (or error) with the same id. */
  command(
    command: { type: string; id?: string; [field: string]: unknown },
    timeoutMs = 5_000,
  ): Promise<ServerMessage> {
    const id = command.id ?? newCommandId();
    if (this.closedByApplication)
      return Promise.reject(new CommandFailed("CLOSED", "the client was closed", id));
    if (this.revoked)
      return Promise.reject(
        new CommandFailed("SESSION_REVOKED", "the session was revoked or expired", id),
      );
    const waiting = this.resyncing || this.connecting !== undefined;
    if (!waiting && !isOpen(this.socket))
      return Promise.reject(new CommandFailed("CLOSED", "not connected", id));
    if (this.pending.has(id))
      return Promise.reject(
        new CommandFailed("DUPLICATE_ID", `a command with id ${id} is already pending`, id),
      );
    if (this.pending.size >= this.pendingMax)
      return Promise.reject(new CommandFailed("TOO_MANY_PENDING", "too many pending commands", id));
    const { promise, resolve, reject } = Promise.withResolvers<ServerMessage>();
    const timer = setTimeout(() => {
      this.pending.delete(id);
      reject(new CommandTimeout(`no reply to ${id} within ${timeoutMs} ms`, id));
    }, timeoutMs);
    const frame = JSON.stringify({ ...command, id });
    const idempotent = idempotentCommandTypes.has(command.type);
    this.pending.set(id, { resolve, reject, timer, frame, sent: !waiting, idempotent });
    if (!waiting) this.socket?.send(frame);
    // While a connection is opened it goes out once the socket is welcomed (a resync sends it
    // with the others); a connection that fails fails it with the rest.
    else if (!this.resyncing)
      this.connecting?.then(
        () => this.sendIfWaiting(id),
        () => undefined,
      );
    return promise;
  }

  private sendIfWaiting(id: string): void {
    const pending = this.pending.get(id);
    if (pending === undefined || pending.sent || !isOpen(this.socket)) return;
    pending.sent = true;
    this.socket.send(pending.frame);
  }

  spin(bet: number, id = newCommandId(), timeoutMs?: number): Promise<ServerMessage> {
    return this.command({ type: "spin", id, game: "slot", bet }, timeoutMs);
  }

  /** Joins a table: its broadcasts (`table.round.*`) then arrive through `onEvent`. */
  joinTable(table: string, id = newCommandId(), timeoutMs?: number): Promise<ServerMessage> {
    return this.command({ type: "table.join", id, table }, timeoutMs);
  }

  leaveTable(table: string, id = newCommandId(), timeoutMs?: number): Promise<ServerMessage> {
    return this.command({ type: "table.leave", id, table }, timeoutMs);
  }

  /**
   * Places a roulette bet, e.g. `{ kind: "straight", number: 17 }` or `{ kind: "dozen", n: 2 }`.
   * `roundId` pins it to one round (else the open one); `clientSeed` joins the round's draw.
   */
  tableBet(
    table: string,
    bet: { kind: string; number?: number; n?: number },
    amount: number,
    options: { id?: string; roundId?: string; clientSeed?: string; timeoutMs?: number } = {},
  ): Promise<ServerMessage> {
    const { id = newCommandId(), roundId, clientSeed, timeoutMs } = options;
    return this.command(
      {
        type: "table.bet",
        id,
        table,
        bet,
        amount,
        ...(roundId === undefined ? {} : { roundId }),
        ...(clientSeed === undefined ? {} : { clientSeed }),
      },
      timeoutMs,
    );
  }

  /**
   * Sends a command until it gets a reply, with the same id every time, or `attemptsMax` is
   * reached: reconnecting (after the last seq delivered) when the socket closed or stopped
   * answering, and pausing a random, growing time before each retry. Only commands the server
   * answers from their id (spins, table bets) and pings are retried: a join or leave sent again
   * could be applied twice, so its failure is the caller's to judge. A revoked session
   * (SESSION_REVOKED) or a closed client ends the retries at once.
   */
  async commandWithRetry(
    command: { type: string; id: string; [field: string]: unknown },
    attemptsMax = 10,
    timeoutMs = 5_000,
  ): Promise<ServerMessage> {
    const retryable = idempotentCommandTypes.has(command.type) || command.type === "ping";
    let lastError: unknown;
    for (let attempt = 0; attempt < (retryable ? attemptsMax : 1); attempt++) {
      if (attempt > 0) await pause(retryPauseMs(attempt));
      try {
        // A resync already reconnects, and sends the command once its socket is welcomed.
        if (!this.resyncing && !isOpen(this.socket)) await this.connect(timeoutMs);
        return await this.command(command, timeoutMs);
      } catch (caught) {
        const error = withId(caught, command.id);
        lastError = error;
        const transient =
          error instanceof CommandTimeout ||
          (error instanceof CommandFailed && retryableCodes.has(error.code));
        if (!transient || this.closedByApplication || this.revoked) throw error;
        // No answer: the socket may be dead without a close (a half-open connection).
        if (error instanceof CommandTimeout) await this.dropIfSilent();
      }
    }
    throw lastError;
  }

  /** Closes the socket if it does not answer a ping in time, so the next attempt reconnects. */
  private async dropIfSilent(): Promise<void> {
    const socket = this.socket;
    // A socket still waiting for its welcome is not silent: its connect has a limit of its own.
    if (!isOpen(socket) || this.resyncing || this.connecting !== undefined) return;
    try {
      await this.command({ type: "ping" }, livenessProbeMs);
    } catch (error) {
      // Only silence condemns the socket (not, say, too many commands pending here).
      if (error instanceof CommandTimeout && this.socket === socket) {
        this.socket = undefined;
        this.failPending(new CommandFailed("CLOSED", "the connection stopped answering"));
        socket.close(1000, "no answer; reconnecting");
      }
    }
  }

  private failPending(error: CommandFailed): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new CommandFailed(error.code, error.reason, id));
      this.pending.delete(id);
    }
  }

  /** Closes the connection for good: pending commands fail with CLOSED, nothing reconnects. */
  close(code = 1000): void {
    this.closedByApplication = true;
    this.failPending(new CommandFailed("CLOSED", "the client was closed"));
    this.socket?.close(code);
  }
}
