import type { TableReply } from "../actors/table.ts";
import { CroupierError } from "../errors.ts";
import { rouletteBetOf } from "../games/roulette/settlement.ts";
import type { GatewayContext } from "./context.ts";
import { closeCodes, type SocketSession } from "./socketSession.ts";

/**
 * Times a reconnect asks a busy or slow table for the player's seat before giving the socket up,
 * and the first pause between asks (doubled each time: 0.1 + 0.2 + 0.4 + 0.8 s).
 */
const rejoinAttemptsMax = 5;
const rejoinRetryBaseMs = 100;

/** How long a join or leave waits for the restore of its table's seat on the same socket. */
const restoreWaitMaxMs = 1_000;

function isOutcomeUnknown(error: unknown): boolean {
  return error instanceof CroupierError && error.code === "INTERNAL";
}

/**
 * A socket's seats at tables: `table.join` and `table.leave`, and the restore of a reconnecting
 * player's tables (`table.state` for each, then `table.seats`). The table actors hold the seats;
 * this keeps each socket's watching of table broadcasts in step with them.
 */
export class TableSeats {
  constructor(private readonly context: GatewayContext) {}

  /**
   * A player stays joined across reconnects (docs/PROTOCOL.md): a new socket of a joined player
   * watches its tables again and gets each one's `table.state`, then `table.seats`, the tables
   * the player is seated at (extension): a client that believed itself seated elsewhere learns
   * that the seat is gone (left on another socket, or released after a long absence) instead of
   * waiting for a `table.state` that will not come. Only the tables running here are asked
   * (asking wakes a table); a seated table is always running, except one whose start failed,
   * which the table keeper starts again within seconds.
   */
  async restore(session: SocketSession): Promise<void> {
    const restores = new Map<string, Promise<void>>();
    session.seatRestores = restores;
    for (const table of this.context.liveTables())
      restores.set(table, this.restoreTable(session, table));
    await Promise.all(restores.values());
    if (session.seatRestores === restores) session.seatRestores = undefined;
    if (session.closed) return;
    // What the socket watches now: the seats confirmed, with the joins and leaves made meanwhile
    // (a join still waiting for its answer is not a seat yet).
    const tables = [...session.tables].filter((table) => !session.joinsInFlight?.has(table));
    session.send(JSON.stringify({ type: "table.seats", tables }));
  }

  /**
   * Lets the restore of this table's seat finish first, if one runs, for `restoreWaitMaxMs` at
   * most: a join or leave then comes after the `table.state` it would otherwise race, and a
   * restore that is stuck (a slow ledger) holds the socket's later frames no longer than that.
   */
  private async afterRestoreOf(session: SocketSession, table: string): Promise<void> {
    const restoring = session.seatRestores?.get(table);
    if (restoring === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, restoreWaitMaxMs);
    });
    await Promise.race([restoring, bound]);
    clearTimeout(timer);
  }

  /**
   * Watches the table again if the player is seated there, after its `table.state`. A table that
   * is busy or slow to answer is asked again a few times; should it still not answer, the ledger
   * says whether the player is seated there: if so, the socket is closed with 1011 (reconnect)
   * rather than left open without the table's events; if not, the table is none of its business.
   */
  private async restoreTable(session: SocketSession, table: string): Promise<void> {
    const { context } = this;
    // Held, not sent, until the table's state has gone out (then in order, after it).
    context.tableFanout.watchPending(table, session);
    let version = session.seatVersion(table);
    for (let attempt = 1; !session.closed; attempt++) {
      try {
        const answer = await context.askTable(table, {
          type: "membership",
          playerId: session.playerId,
        });
        const member = answer.type === "membership" && answer.member;
        const bets = member
          ? await this.betsInRound(session.playerId, answer.state.round?.roundId)
          : [];
        // A join or leave of the player since the ask makes this answer stale. One that seated
        // the socket has set its watching itself; otherwise (a leave, or a join that failed)
        // the table is asked again.
        if (session.seatVersion(table) !== version) {
          if (session.tables.has(table) && !session.joinsInFlight?.has(table)) return;
          version = session.seatVersion(table);
          context.tableFanout.watchPending(table, session);
          continue;
        }
        if (!member) {
          context.tableFanout.unwatch(table, session);
          return;
        }
        if (answer.type !== "membership") return; // (member implies it; for the type checker)
        session.send(JSON.stringify({ type: "table.state", table, state: answer.state, bets }));
        context.tableFanout.confirm(table, session, answer.broadcastsUpTo);
        return;
      } catch (error) {
        if (attempt >= rejoinAttemptsMax) {
          await this.gaveUp(session, table, error);
          return;
        }
        await Bun.sleep(rejoinRetryBaseMs * 2 ** (attempt - 1));
      }
    }
    context.tableFanout.unwatch(table, session);
  }

  /** The table did not answer: closes the socket if the ledger says the player is seated there. */
  private async gaveUp(session: SocketSession, table: string, error: unknown): Promise<void> {
    const { context } = this;
    context.tableFanout.unwatch(table, session);
    let seated = true; // unknown counts as seated: better a reconnect than events missed
    try {
      seated = (await context.ledger.tableSeats(table)).includes(session.playerId);
    } catch {
      // The ledger is in trouble too; the socket is closed below.
    }
    if (!seated) return;
    context.log.warn("could not restore a table", { table, playerId: session.playerId }, error);
    session.close(closeCodes.internalError, `could not restore table ${table}; reconnect`);
  }

  /**
   * A join or leave whose answer did not come may still apply: once the table answers again,
   * this socket watches the table (with its `table.state`) if and only if the player is seated.
   */
  private async settle(session: SocketSession, table: string): Promise<void> {
    this.context.tableFanout.unwatch(table, session);
    await this.restoreTable(session, table);
  }

  /** The player's own bets in the table's current round, from the ledger (what a reconnect shows). */
  private async betsInRound(playerId: string, roundId: string | undefined) {
    if (roundId === undefined) return [];
    const bets = await this.context.ledger.tableRoundBets(roundId);
    return bets
      .filter((bet) => bet.playerId === playerId)
      .map((bet) => ({
        id: bet.commandId,
        bet: rouletteBetOf(bet),
        amount: bet.amount,
        clientSeed: bet.clientSeed,
      }));
  }

  requireTable(table: string): void {
    if (!this.context.tables.has(table)) {
      throw new CroupierError("UNKNOWN_TABLE", `no table "${table}"`);
    }
  }

  /**
   * Watches before joining, so no broadcast between the table's snapshot and the subscription is
   * missed; then every other socket of the player here watches too.
   */
  async join(session: SocketSession, id: string, table: string): Promise<void> {
    this.requireTable(table);
    await this.afterRestoreOf(session, table);
    const { tableFanout } = this.context;
    const watchedBefore = session.tables.has(table);
    // Any answer about this seat from before the join is stale from now on.
    session.seatChanged(table);
    session.joinsInFlight ??= new Set();
    session.joinsInFlight.add(table);
    tableFanout.watch(table, session);
    let answer: TableReply;
    try {
      answer = await this.context.askTable(table, { type: "join", playerId: session.playerId });
    } catch (error) {
      if (isOutcomeUnknown(error)) void this.settle(session, table);
      else if (!watchedBefore) {
        tableFanout.unwatch(table, session);
        // A restore of this seat running meanwhile must not trust what it held: it asks again.
        session.seatChanged(table);
      }
      throw error;
    } finally {
      session.joinsInFlight.delete(table);
    }
    if (answer.type !== "state") throw new Error(`table answered join with ${answer.type}`);
    for (const other of this.context.sockets.ofPlayer(session.playerId)) {
      tableFanout.watch(table, other);
      other.seatChanged(table);
    }
    session.send(JSON.stringify({ type: "table.joined", id, table, state: answer.state }));
  }

  async leave(session: SocketSession, id: string, table: string): Promise<void> {
    this.requireTable(table);
    await this.afterRestoreOf(session, table);
    session.seatChanged(table);
    try {
      await this.context.askTable(table, { type: "leave", playerId: session.playerId });
    } catch (error) {
      if (isOutcomeUnknown(error)) void this.settle(session, table);
      throw error;
    }
    for (const other of this.context.sockets.ofPlayer(session.playerId)) {
      this.context.tableFanout.unwatch(table, other);
      other.seatChanged(table);
    }
    session.send(JSON.stringify({ type: "table.left", id, table }));
  }
}
