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

export class CommandFailed extends Error {
  override readonly name = "CommandFailed";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export class CommandTimeout extends Error {
  override readonly name = "CommandTimeout";
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

/** Pauses of `commandWithRetry` before its retries: 50, 100, 200 ... ms, at most 1 s. */
const retryPauseBaseMs = 50;
const retryPauseMaxMs = 1_000;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How long a reconnection made to fill a seq gap waits for its welcome. */
const resyncWelcomeTimeoutMs = 5_000;

let idCounter = 0;

/** Unique enough per client process: a prefix of random bits and a counter. */
export function newCommandId(): string {
  idCounter += 1;
  return `${Math.random().toString(36).slice(2, 10)}-${idCounter}`;
}

function isOpen(socket: WebSocket | undefined): socket is WebSocket {
  return socket !== undefined && socket.readyState === WebSocket.OPEN;
}

export class CroupierClient {
  welcome: Welcome | undefined;
  private socket: WebSocket | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly pendingMax: number;
  private readonly seqs: SeqTracker;
  /** True from a seq gap until the reconnection that fills it is welcomed. */
  private resyncing = false;

  constructor(private readonly options: ClientOptions) {
    this.seqs = new SeqTracker(options.lastSeq ?? 0);
    this.pendingMax = options.pendingCommandsMax ?? 1_000;
  }

  /** Last seq delivered to the application, with none missing before it. */
  get lastSeq(): number {
    return this.seqs.lastDelivered;
  }

  /** Opens the socket and resolves with the welcome. With `resume`, replays from the last seen seq. */
  async connect(timeoutMs = 5_000, resume = false): Promise<Welcome> {
    const query = new URLSearchParams({ token: this.options.token });
    if (resume || this.options.lastSeq !== undefined) query.set("lastSeq", String(this.lastSeq));
    const socket = new WebSocket(`${this.options.baseUrl}/v1/ws?${query}`);
    this.socket = socket;
    const welcome = Promise.withResolvers<Welcome>();
    const timer = setTimeout(() => {
      welcome.reject(new CommandTimeout("no welcome in time"));
      // Given up: the socket must not stay open on the server, unseen and unclosed.
      if (this.socket === socket) this.socket = undefined;
      socket.close();
    }, timeoutMs);
    socket.onmessage = (event) => {
      // A replaced socket's frames are stale: its replacement resumes after lastSeq and gets
      // them again, and the commands in flight are sent again on it.
      if (this.socket !== socket) return;
      const message = JSON.parse(String(event.data)) as ServerMessage;
      if (message.type === "welcome") {
        clearTimeout(timer);
        welcome.resolve(this.welcomed(message as unknown as Welcome, resume));
        return;
      }
      this.dispatch(message);
    };
    socket.onclose = (event) => {
      clearTimeout(timer);
      welcome.reject(
        new CommandFailed(String(event.code), `closed before welcome: ${event.reason}`),
      );
      // A socket replaced by a reconnection no longer owns the pending commands.
      if (this.socket !== socket) return;
      this.failPending(new CommandFailed("CLOSED", `socket closed ${event.code} ${event.reason}`));
      this.options.onClose?.(event.code, event.reason);
    };
    return welcome.promise;
  }

  private welcomed(welcome: Welcome, resume: boolean): Welcome {
    this.welcome = welcome;
    if (!resume && this.options.lastSeq === undefined) this.seqs.startAfter(welcome.seq);
    if (welcome.replayFrom !== undefined) this.seqs.skipLostBefore(welcome.replayFrom);
    this.options.onWelcome?.(welcome);
    return welcome;
  }

  private dispatch(message: ServerMessage): void {
    if (typeof message.seq === "number") this.deliverInOrder(message.seq, message);
    else if (message.id === undefined) this.options.onEvent?.(message);
    // Also a reply beyond a gap answers its command: the command did happen, and its sequenced
    // delivery comes in order with the replay.
    this.settle(message);
  }

  private deliverInOrder(seq: number, message: ServerMessage): void {
    const verdict = this.seqs.receive(seq);
    if (verdict === "next") this.options.onSequenced?.(message);
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
    if (this.resyncing) return;
    this.resyncing = true;
    const stale = this.socket;
    const resumed = this.connect(resyncWelcomeTimeoutMs, true);
    stale?.close(1000, "seq gap; resuming with lastSeq");
    resumed.then(
      () => {
        this.resyncing = false;
        this.resendPending();
      },
      (error: unknown) => {
        this.resyncing = false;
        const reason = error instanceof Error ? error.message : String(error);
        this.failPending(new CommandFailed("CLOSED", `no resumption after a seq gap: ${reason}`));
        this.socket?.close();
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
          ),
        );
        continue;
      }
      pending.sent = true;
      socket.send(pending.frame);
    }
  }

  /** Resolves or rejects the pending command a reply or error answers, if any. */
  private settle(message: ServerMessage): void {
    const id = message.id;
    if (typeof id !== "string") return;
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (message.type === "error")
      pending.reject(new CommandFailed(String(message.code), String(message.message)));
    else pending.resolve(message);
  }

  /** Sends a command and waits for its reply (or error) with the same id. */
  command(
    command: { type: string; id?: string; [field: string]: unknown },
    timeoutMs = 5_000,
  ): Promise<ServerMessage> {
    if (!this.resyncing && !isOpen(this.socket)) {
      return Promise.reject(new CommandFailed("CLOSED", "not connected"));
    }
    const id = command.id ?? newCommandId();
    if (this.pending.has(id))
      return Promise.reject(new Error(`a command with id ${id} is already pending`));
    if (this.pending.size >= this.pendingMax)
      return Promise.reject(new Error("too many pending commands"));
    const { promise, resolve, reject } = Promise.withResolvers<ServerMessage>();
    const timer = setTimeout(() => {
      this.pending.delete(id);
      reject(new CommandTimeout(`no reply to ${id} within ${timeoutMs} ms`));
    }, timeoutMs);
    const frame = JSON.stringify({ ...command, id });
    const idempotent = idempotentCommandTypes.has(command.type);
    this.pending.set(id, { resolve, reject, timer, frame, sent: !this.resyncing, idempotent });
    // During a resync it goes out with the other pending commands once the new socket is welcomed.
    if (!this.resyncing) this.socket?.send(frame);
    return promise;
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
   * Retries a command with the same id until it gets a reply or `attemptsMax` is reached,
   * reconnecting (with lastSeq) when the socket closed, and pausing longer before each retry.
   * Only commands the server answers from their id (spins, table bets) and pings are retried: a
   * join or leave sent again could be applied twice, so its failure is the caller's to judge.
   */
  async commandWithRetry(
    command: { type: string; id: string; [field: string]: unknown },
    attemptsMax = 5,
    timeoutMs = 5_000,
  ): Promise<ServerMessage> {
    const retryable = idempotentCommandTypes.has(command.type) || command.type === "ping";
    let lastError: unknown;
    for (let attempt = 0; attempt < (retryable ? attemptsMax : 1); attempt++) {
      if (attempt > 0)
        await pause(Math.min(retryPauseMaxMs, retryPauseBaseMs * 2 ** (attempt - 1)));
      try {
        // A resync already reconnects, and sends the command once its socket is welcomed.
        if (!this.resyncing && !isOpen(this.socket)) await this.connect(timeoutMs, true);
        return await this.command(command, timeoutMs);
      } catch (error) {
        lastError = error;
        const transient =
          error instanceof CommandTimeout ||
          (error instanceof CommandFailed && ["CLOSED", "BUSY", "INTERNAL"].includes(error.code));
        if (!transient) throw error;
      }
    }
    throw lastError;
  }

  private failPending(error: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
  }

  close(code = 1000): void {
    this.socket?.close(code);
  }
}
