import type { ServerWebSocket } from "bun";
import type { PlayerReply } from "../actors/player.ts";
import { CroupierError, toCroupierError } from "../errors.ts";
import { type ClientCommand, CommandError, parseCommand } from "./commands.ts";
import type { GatewayContext } from "./context.ts";
import { errorResponse, responseForError } from "./httpReply.ts";
import type { Session } from "./sessions.ts";
import { closeCodes, SocketSession } from "./socketSession.ts";

/** What the upgrade check found; kept on the connection for `open`. */
export interface UpgradeGrant {
  session: Session;
  lastSeq: number | undefined;
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
    const params = new URL(request.url).searchParams;
    const token = params.get("token");
    const session = token ? await context.sessions.find(token) : undefined;
    if (session === undefined)
      return errorResponse("UNAUTHENTICATED", "missing, unknown, revoked or expired token");
    const rawLastSeq = params.get("lastSeq");
    if (rawLastSeq === null) return { session, lastSeq: undefined };
    if (!/^\d{1,16}$/.test(rawLastSeq) || !Number.isSafeInteger(Number(rawLastSeq))) {
      return errorResponse("BAD_REQUEST", "lastSeq must be a non-negative integer");
    }
    const lastSeq = Number(rawLastSeq);
    const state = await context.askPlayer(session.playerId, { type: "state" });
    if (state.type !== "state") throw new Error("player actor answered state with a command reply");
    if (lastSeq > state.seq)
      return errorResponse(
        "BAD_REQUEST",
        `lastSeq ${lastSeq} is ahead of the latest seq ${state.seq}`,
      );
    return { session, lastSeq };
  } catch (error) {
    return responseForError(error);
  }
}

let socketCounter = 0;

export class WsGateway {
  private readonly ready = new WeakMap<SocketSession, Promise<void>>();

  constructor(private readonly context: GatewayContext) {}

  open(ws: ServerWebSocket<unknown>, grant: UpgradeGrant): SocketSession {
    socketCounter += 1;
    const socketId = `${this.context.config.nodeId}:${socketCounter}`;
    const session = new SocketSession(
      socketId,
      grant.session.playerId,
      grant.session.token,
      ws,
      Date.now(),
    );
    this.context.sockets.add(session);
    session.setUnsubscribe(
      this.context.events.subscribe(session.playerId, (seq, event, origin) => {
        // The socket whose command produced the event gets it as that command's reply instead.
        if (origin === undefined || !origin.startsWith(`${socketId}/`))
          session.sendSequenced(seq, event);
      }),
    );
    this.ready.set(session, this.welcome(session, grant.lastSeq));
    return session;
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
    } catch (error) {
      console.error("welcome failed", error);
      session.close(closeCodes.internalError, "could not load the player; reconnect");
    }
  }

  async message(session: SocketSession, frame: unknown): Promise<void> {
    session.lastHeardAtMs = Date.now();
    const ready = this.ready.get(session);
    if (ready !== undefined) await ready;
    if (session.closed) return;
    const startedAt = performance.now();
    let command: ClientCommand;
    try {
      command = parseCommand(frame);
    } catch (error) {
      const id = error instanceof CommandError ? error.commandId : null;
      if (await this.allowed(session))
        this.sendError(session, id, toCroupierError(error), "invalid");
      return;
    }
    if (!(await this.allowed(session))) {
      this.sendError(
        session,
        command.id,
        new CroupierError("RATE_LIMITED", "too many commands; back off"),
        command.type,
      );
      return;
    }
    try {
      await this.dispatch(session, command);
      this.context.metrics.commands.inc({ type: command.type, code: "OK" });
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
        const reply = await this.context.askPlayer(
          session.playerId,
          { type: "spin", id: command.id, game: command.game, bet: command.bet, origin },
          `${command.id}|spin:${command.game}:${command.bet}`,
        );
        this.sendReply(session, reply, origin);
        return;
      }
    }
  }

  /**
   * The execution that moved the money answers with this socket's copy of the sequenced message;
   * a duplicate (even one that waited on it) answers with a plain copy of the stored reply.
   */
  private sendReply(session: SocketSession, reply: PlayerReply, origin: string): void {
    if (reply.type !== "command") throw new Error("player actor answered a command with state");
    if (reply.fresh && reply.origin === origin) session.sendSequenced(reply.seq, reply.reply);
    else session.send(reply.reply);
  }

  /** Per-player command rate; sustained abuse after being limited closes the socket with 1008. */
  private async allowed(session: SocketSession): Promise<boolean> {
    const { config } = this.context;
    const ok = await this.context.limiter.take(`player:${session.playerId}:commands`, {
      perSecond: config.commandsPerSecond,
      burst: config.commandBurst,
    });
    if (ok) {
      session.rateStrikes = 0;
      return true;
    }
    this.context.metrics.rateLimited.inc({ limit: "commands-per-player" });
    session.rateStrikes += 1;
    if (session.rateStrikes > config.rateLimitStrikesMax) {
      this.context.metrics.closes.inc({ code: String(closeCodes.policyViolation) });
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
      console.error("command failed", error.cause);
    session.send(JSON.stringify({ type: "error", id, code: error.code, message: error.message }));
  }

  pong(session: SocketSession): void {
    session.lastHeardAtMs = Date.now();
  }

  close(session: SocketSession): void {
    session.release();
    this.context.sockets.remove(session);
  }
}
