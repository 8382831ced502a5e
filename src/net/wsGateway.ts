import type { ServerWebSocket } from "bun";
import { spinRequestHash, tableBetRequestHash } from "../actors/commandFingerprints.ts";
import type { PlayerMessage, PlayerReply } from "../actors/player.ts";
import type { CommandOrigin } from "../cluster/playerEvents.ts";
import { CroupierError, toCroupierError } from "../errors.ts";
import { isExcluded } from "../store/limits.ts";
import { type ClientCommand, CommandError, parseCommand } from "./commands.ts";
import type { GatewayContext } from "./context.ts";
import { errorResponse, responseForError } from "./httpReply.ts";
import { type RateLimit, takeToken } from "./rateLimiter.ts";
import type { Session } from "./sessions.ts";
import { closeCodes, inboundFramesWaitingMax, SocketSession } from "./socketSession.ts";
import { TableSeats } from "./tableSeats.ts";

/** The id and type of a frame refused for rate, for its answer: the frame itself is not kept. */
function identify(frame: unknown): { id: string | null; type: string } {
  try {
    const command = parseCommand(frame);
    return { id: command.id, type: command.type };
  } catch (error) {
    return { id: error instanceof CommandError ? error.commandId : null, type: "invalid" };
  }
}

/** Bun's reason when it closes a socket for a frame over `maxPayloadLength` (a test pins it). */
const bunFrameTooLargeReason = "Received too big message";
/** The code a close handler sees for a connection that ended without a close frame of its own. */
const abnormalClosure = 1006;

/** What the upgrade check found; kept on the connection for `open`. */
export interface UpgradeGrant {
  session: Session;
  lastSeq: number | undefined;
  /** The client's address as its limits key it. */
  address: string;
}

/**
 * Why a new socket may not be held now: the node's, the address's or (once the token names it)
 * the player's socket cap is reached.
 */
function socketCapReached(
  context: GatewayContext,
  address: string,
  playerId?: string,
): { code: "BUSY" | "RATE_LIMITED"; message: string } | undefined {
  const { socketsMax, socketsPerAddressMax, socketsPerPlayerMax } = context.config;
  if (context.sockets.size >= socketsMax)
    return {
      code: "BUSY",
      message: `this node holds its most sockets (${socketsMax}); connect to another or retry later`,
    };
  if (context.sockets.countOfAddress(address) >= socketsPerAddressMax)
    return {
      code: "RATE_LIMITED",
      message: `at most ${socketsPerAddressMax} open sockets per address on this node`,
    };
  // Every socket of a player gets every one of its messages: a bound keeps one token from
  // turning each spin into thousands of frames.
  if (playerId !== undefined && context.sockets.countOfPlayer(playerId) >= socketsPerPlayerMax)
    return {
      code: "RATE_LIMITED",
      message: `at most ${socketsPerPlayerMax} open sockets per player on this node; close one first`,
    };
  return undefined;
}

/**
 * Runs before the upgrade: a refused connection gets an HTTP status and never becomes a socket.
 * Returns a Response to refuse, or the grant.
 */
export async function checkUpgrade(
  context: GatewayContext,
  request: Request,
  ip: string,
): Promise<Response | UpgradeGrant> {
  try {
    if (context.isDraining())
      return errorResponse("BUSY", "this node is draining; connect to another");
    const { config } = context;
    const limit = { perSecond: config.upgradesPerSecondPerIp, burst: config.upgradeBurstPerIp };
    if (!(await context.limiter.take(`ip:${ip}:upgrade`, limit))) {
      context.metrics.rateLimited.inc({ limit: "upgrade-per-ip" });
      return errorResponse("RATE_LIMITED", "too many connections from this address; back off");
    }
    // Before the token is looked up: a flood of sockets must not cost the session store either.
    const capped = socketCapReached(context, ip);
    if (capped !== undefined) {
      context.metrics.rateLimited.inc({
        limit: capped.code === "BUSY" ? "sockets" : "sockets-per-address",
      });
      return errorResponse(capped.code, capped.message);
    }
    const params = new URL(request.url).searchParams;
    const token = params.get("token");
    const session = token ? await context.sessions.find(token) : undefined;
    if (session === undefined)
      return errorResponse("UNAUTHENTICATED", "missing, unknown, revoked or expired token");
    const playerCapped = socketCapReached(context, ip, session.playerId);
    if (playerCapped !== undefined) return errorResponse(playerCapped.code, playerCapped.message);
    // A player's other tokens outlive an exclusion (only sockets are closed): none may play.
    if (isExcluded(await context.ledger.getLimits(session.playerId), Date.now()))
      return errorResponse("SELF_EXCLUDED", "the player is self-excluded");
    const rawLastSeq = params.get("lastSeq");
    if (rawLastSeq === null) return { session, lastSeq: undefined, address: ip };
    if (!/^\d{1,16}$/.test(rawLastSeq) || !Number.isSafeInteger(Number(rawLastSeq))) {
      return errorResponse("BAD_REQUEST", "lastSeq must be a non-negative integer");
    }
    const lastSeq = Number(rawLastSeq);
    let state = await context.askPlayer(session.playerId, { type: "state" });
    // Ahead of this node's copy: the client may have seen it on another node; read the ledger.
    if (state.type === "state" && lastSeq > state.seq)
      state = await context.askPlayer(session.playerId, { type: "state", fresh: true });
    if (state.type !== "state") throw new Error("player actor answered state with a command reply");
    if (lastSeq > state.seq)
      return errorResponse(
        "BAD_REQUEST",
        `lastSeq ${lastSeq} is ahead of the latest seq ${state.seq}`,
      );
    return { session, lastSeq, address: ip };
  } catch (error) {
    return responseForError(error, context.log);
  }
}

let socketCounter = 0;

export class WsGateway {
  /** `commands{type, code="OK"}` per command type, resolved once (counted on every command). */
  readonly #okCounters = new Map<string, { inc(): void }>();

  readonly #commandLimit: RateLimit;
  /** Counts a close this server made, by code (a handful of codes: closeCodes). */
  readonly #countClose: (code: number) => void;
  readonly #seats: TableSeats;

  constructor(private readonly context: GatewayContext) {
    this.#seats = new TableSeats(context);
    const { commandsPerSecond, commandBurst } = context.config;
    this.#commandLimit = { perSecond: commandsPerSecond, burst: commandBurst };
    this.#countClose = (code) => context.metrics.closes.inc({ code: String(code) });
  }

  open(ws: ServerWebSocket<unknown>, grant: UpgradeGrant): SocketSession {
    socketCounter += 1;
    const socketId = `${this.context.config.nodeId}:${socketCounter}`;
    const session = new SocketSession(
      socketId,
      grant.session.playerId,
      grant.session.token,
      ws,
      Date.now(),
      grant.session.expiresAt,
      this.context.outboundFrames,
    );
    session.onServerClose = this.#countClose;
    session.address = grant.address;
    // Upgrades checked at once all passed the caps before any of them was registered: the caps
    // are held here, where registering cannot race.
    const capped = socketCapReached(this.context, session.address, session.playerId);
    if (capped !== undefined) {
      const code = capped.code === "BUSY" ? closeCodes.tryAgainLater : closeCodes.policyViolation;
      session.close(code, capped.message);
      return session;
    }
    this.context.sockets.add(session);
    // A revocation between the upgrade's check and this registration found no socket to close:
    // look again now that any later one will.
    void this.closeIfRevoked(session);
    session.setUnsubscribe(
      // The socket whose command produced the event gets it as that command's reply instead.
      this.context.events.subscribe(session.playerId, (seq, event, origin) =>
        session.deliverEvent(seq, event, origin),
      ),
    );
    // Frames that arrive before the welcome is out wait for it (see `message`).
    const welcomed = this.welcome(session, grant.lastSeq).then(() => {
      if (session.inbound === welcomed) session.inbound = undefined;
    });
    session.inbound = welcomed;
    return session;
  }

  private async closeIfRevoked(session: SocketSession): Promise<void> {
    try {
      if ((await this.context.sessions.find(session.token)) === undefined)
        session.close(closeCodes.sessionRevoked, "session revoked or expired");
    } catch {
      // The store is unreachable: its reconnection checks every open socket again (revalidate.ts).
    }
  }

  /** Sends welcome, then the replay, then whatever arrived meanwhile: nothing lost, nothing twice. */
  private async welcome(session: SocketSession, lastSeq: number | undefined): Promise<void> {
    const { context } = this;
    try {
      const state = await context.askPlayer(session.playerId, { type: "state" });
      if (state.type !== "state")
        throw new Error("player actor answered state with a command reply");
      let replay: { seq: number; event: string }[] = [];
      let replayFrom: number | undefined;
      if (lastSeq !== undefined && lastSeq < state.seq) {
        const after = Math.max(lastSeq, state.seq - context.config.replayEventsMax);
        replay = await context.ledger.eventsAfter(
          session.playerId,
          after,
          context.config.replayEventsMax,
        );
        const first = replay[0]?.seq;
        if (first !== lastSeq + 1) replayFrom = first ?? state.seq + 1;
      }
      session.send(
        JSON.stringify({
          type: "welcome",
          playerId: session.playerId,
          balance: state.balance,
          seq: state.seq,
          node: context.config.nodeId,
          heartbeatMs: context.config.heartbeatMs,
          serverTime: new Date().toISOString(),
          ...(replayFrom === undefined ? {} : { replayFrom }),
        }),
      );
      session.lastSentSeq = lastSeq ?? state.seq;
      session.goLiveWith(replay);
      void this.#seats.restore(session);
    } catch (error) {
      // While the node drains, actors refuse new work: expected, and the socket closes anyway.
      if (!this.context.isDraining())
        this.context.log.error("welcome failed", error, { playerId: session.playerId });
      session.close(closeCodes.internalError, "could not load the player; reconnect");
    }
  }

  /**
   * Handles one client frame. Frames of a socket are applied in the order they arrived: while the
   * welcome is being prepared (or an earlier frame waits on a shared rate limiter, or a join
   * waits for earlier commands) later frames queue behind it; otherwise a frame goes straight to
   * its actor, with no extra turn. The rate is decided as the frame arrives, so a shared
   * limiter's checks of a burst run together instead of one round trip after another.
   */
  message(session: SocketSession, frame: unknown): void {
    session.lastHeardAtMs = Date.now();
    if (session.closed) return;
    const verdict = this.allowed(session);
    if (session.closed) return; // a flood that went past the strikes
    const queued = session.inbound;
    if (queued === undefined && typeof verdict === "boolean") {
      const pending = this.handle(session, frame, verdict);
      if (pending !== undefined) this.holdLaterFrames(session, pending);
      return;
    }
    if (verdict === false) {
      // Refused: only its answer waits its turn, and no more of those than a flood's strikes.
      if (session.refusalsWaiting >= this.context.config.rateLimitStrikesMax) {
        session.close(closeCodes.policyViolation, "too many frames refused for rate");
        return;
      }
      session.refusalsWaiting += 1;
      const { id, type } = identify(frame);
      this.holdLaterFrames(
        session,
        (queued as Promise<void>).then(() => {
          session.refusalsWaiting -= 1;
          if (!session.closed) this.sendRateLimited(session, id, type);
        }),
      );
      return;
    }
    if (session.framesWaiting >= inboundFramesWaitingMax) {
      session.close(
        closeCodes.policyViolation,
        "too many frames sent before earlier ones were handled",
      );
      return;
    }
    session.framesWaiting += 1;
    const decided =
      typeof verdict === "boolean"
        ? verdict
        : verdict.catch((error: unknown) => {
            // The shared limiter falls back by itself; this is the last resort.
            this.context.log.warn("command rate check failed; the frame is refused", {}, error);
            return false;
          });
    this.holdLaterFrames(
      session,
      Promise.all([queued, decided]).then(([, allowed]) => {
        session.framesWaiting -= 1;
        return this.handle(session, frame, allowed);
      }),
    );
  }

  /** Frames that arrive until `pending` settles wait behind it. */
  private holdLaterFrames(session: SocketSession, pending: Promise<void>): void {
    const settled = () => {
      if (session.inbound === next) session.inbound = undefined;
    };
    const next: Promise<void> = pending.then(settled, (error: unknown) => {
      // A frame's handling never throws by design; should one, later frames must still run.
      this.context.log.error("a client frame failed", error, { playerId: session.playerId });
      settled();
    });
    session.inbound = next;
  }

  /**
   * Answers one frame whose rate is decided. Returns a promise only when this frame must hold
   * back later ones (a table join or leave).
   */
  private handle(
    session: SocketSession,
    frame: unknown,
    allowed: boolean,
  ): Promise<void> | undefined {
    if (session.closed) return undefined;
    let command: ClientCommand;
    try {
      command = parseCommand(frame);
    } catch (error) {
      const id = error instanceof CommandError ? error.commandId : null;
      if (allowed) this.sendError(session, id, toCroupierError(error), "invalid");
      else this.sendRateLimited(session, id, "invalid");
      return undefined;
    }
    if (!allowed) {
      this.sendRateLimited(session, command.id, command.type);
      return undefined;
    }
    if (command.type !== "table.join" && command.type !== "table.leave") {
      void this.run(session, command);
      return undefined;
    }
    // Joins and leaves go to the table, not through the player's mailbox: they wait for this
    // socket's earlier commands (a bet must not find its player already gone) and hold back
    // later ones, so the player's commands apply in the order they were sent.
    return session.playerCommandsSettled().then(() => this.run(session, command));
  }

  private sendRateLimited(session: SocketSession, id: string | null, type: string): void {
    this.sendError(
      session,
      id,
      new CroupierError("RATE_LIMITED", "too many commands; back off"),
      type,
    );
  }

  private async run(session: SocketSession, command: ClientCommand): Promise<void> {
    const startedAt = performance.now();
    try {
      await this.dispatch(session, command);
      this.#okCounter(command.type).inc();
    } catch (error) {
      this.sendError(session, command.id, toCroupierError(error), command.type);
    }
    this.context.metrics.commandLatencyMs.observe(performance.now() - startedAt);
  }

  private async dispatch(session: SocketSession, command: ClientCommand): Promise<void> {
    switch (command.type) {
      case "ping":
        session.send(JSON.stringify({ type: "pong", id: command.id }));
        return;
      case "spin": {
        const origin = session.nextOrigin();
        await this.askAndReply(
          session,
          origin,
          { type: "spin", id: command.id, game: command.game, bet: command.bet, origin },
          `${command.id}|${spinRequestHash(command.game, command.bet)}`,
        );
        return;
      }
      case "table.join":
        return this.#seats.join(session, command.id, command.table);
      case "table.leave":
        return this.#seats.leave(session, command.id, command.table);
      case "table.bet": {
        this.#seats.requireTable(command.table);
        const origin = session.nextOrigin();
        const { id, table, bet, amount, roundId, clientSeed } = command;
        await this.askAndReply(
          session,
          origin,
          {
            type: "tableBet",
            id,
            table,
            bet,
            amount,
            origin,
            ...(roundId === undefined ? {} : { roundId }),
            ...(clientSeed === undefined ? {} : { clientSeed }),
          },
          `${id}|${tableBetRequestHash(command)}`,
        );
        return;
      }
    }
  }

  /**
   * Asks the player actor for one of this socket's commands (`origin` from `nextOrigin`) and
   * answers it; whatever happens, the command then ends on the socket, which sends a sequenced
   * message it produced if the reply did not carry it.
   */
  private async askAndReply(
    session: SocketSession,
    origin: CommandOrigin,
    message: PlayerMessage,
    dedupeKey: string,
  ): Promise<void> {
    try {
      const reply = await this.context.askPlayer(session.playerId, message, dedupeKey);
      this.sendReply(session, reply, origin);
    } finally {
      session.endCommand(origin);
    }
  }

  #okCounter(type: string): { inc(): void } {
    let counter = this.#okCounters.get(type);
    if (counter === undefined) {
      counter = this.context.metrics.commands.child({ type, code: "OK" });
      this.#okCounters.set(type, counter);
    }
    return counter;
  }

  /**
   * The execution that moved the money answers with this socket's copy of the sequenced message;
   * a duplicate (even one that waited on it) answers with a plain copy of the stored reply. Every
   * sent command gets its answer: a socket whose duplicate waited on another socket's original
   * also got that original's sequenced message pushed, and drops the second copy by its seq
   * (docs/PROTOCOL.md).
   */
  private sendReply(session: SocketSession, reply: PlayerReply, origin: CommandOrigin): void {
    if (reply.type !== "command") throw new Error("player actor answered a command with state");
    const ours =
      reply.origin !== undefined &&
      reply.origin.socketId === origin.socketId &&
      reply.origin.serial === origin.serial;
    if (reply.fresh && ours) session.sendSequenced(reply.seq, reply.reply);
    else session.send(reply.reply);
  }

  /**
   * Per-player command rate; sustained abuse after being limited closes the socket with 1008.
   * The socket's own bucket (the same limit) answers first and at once: it never allows more than
   * the player's, and it keeps a flood from waiting on a shared limiter. Strikes are counted as
   * frames arrive: the socket's bucket refusing adds one and allowing ends the streak; a shared
   * limiter's later refusal adds one.
   */
  private allowed(session: SocketSession): boolean | Promise<boolean> {
    const limit = this.#commandLimit;
    if (!takeToken(session.commandBucket, limit, performance.now()))
      return this.countStrike(session, false);
    const taken = this.context.limiter.take(session.commandRateKey, limit);
    if (typeof taken === "boolean") return this.countStrike(session, taken);
    // Taken by the socket's own bucket, in arrival order: the streak of refusals is over.
    session.rateStrikes = 0;
    return taken.then((ok) => ok || this.countStrike(session, false));
  }

  private countStrike(session: SocketSession, allowed: boolean): boolean {
    if (allowed) {
      session.rateStrikes = 0;
      return true;
    }
    this.context.metrics.rateLimited.inc({ limit: "commands-per-player" });
    session.rateStrikes += 1;
    if (session.rateStrikes > this.context.config.rateLimitStrikesMax) {
      session.close(closeCodes.policyViolation, "rate limit abuse");
    }
    return false;
  }

  private sendError(
    session: SocketSession,
    id: string | null,
    error: CroupierError,
    type: string,
  ): void {
    this.context.metrics.commands.inc({ type, code: error.code });
    if (error.code === "INTERNAL" && error.cause !== undefined)
      this.context.log.error("command failed", error.cause, { playerId: session.playerId, type });
    session.send(JSON.stringify({ type: "error", id, code: error.code, message: error.message }));
  }

  /** A control frame (ping or pong) arrived: the connection is alive. */
  heard(session: SocketSession): void {
    session.lastHeardAtMs = Date.now();
  }

  /** The socket is gone, whichever side closed it, with this code and reason. */
  close(session: SocketSession, code: number, reason: string): void {
    // Bun closes a socket whose frame is too large by itself (the client gets 1009; this handler
    // sees 1006, which no close frame may carry, and Bun's reason): counted here, as the closes
    // this server makes are.
    if (!session.closed && code === abnormalClosure && reason === bunFrameTooLargeReason)
      this.#countClose(closeCodes.frameTooLarge);
    this.context.tableFanout.forget(session);
    session.release();
    this.context.sockets.remove(session);
  }
}
