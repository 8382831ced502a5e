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
   * watches its tables again and gets each one's `table.state`. A table that is busy or slow to
   * answer is asked again a few times; should it still not answer, the socket is closed with 1011
   * (reconnect) rather than left open without the table's events.
   */
  async restore(session: SocketSession): Promise<void> {
    // Joins and leaves of the player while the tables are asked (the socket's frames run
    // meanwhile): they are newer than the answers, and the list must agree with them.
    const changes = new Map<string, boolean>();
    session.seatChanges = changes;
    const live = this.context.liveTables();
    const seated = await Promise.all(live.map((table) => this.restoreTable(session, table)));
    session.seatChanges = undefined;
    // Then the list of the tables the player is seated at (extension): a client that believed
    // itself seated elsewhere learns that the seat is gone (left on another socket, or released
    // after a long absence) instead of waiting for a `table.state` that will not come. Only the
    // tables running here are asked (asking wakes a table); a seated table is always running,
    // except one whose start failed, which the table keeper starts again within seconds.
    if (session.closed) return;
    const tables = new Set(live.filter((_, i) => seated[i] === true));
    for (const [table, isSeated] of changes) {
      if (isSeated) tables.add(table);
      else tables.delete(table);
    }
    session.send(JSON.stringify({ type: "table.seats", tables: [...tables] }));
  }

  /** Watches the table again if the player is seated there; whether it is. */
  private async restoreTable(session: SocketSession, table: string): Promise<boolean> {
    const { context } = this;
    // Held, not sent, until the table says the player is seated there.
    context.tableFanout.watchPending(table, session);
    for (let attempt = 1; !session.closed; attempt++) {
      try {
        const answer = await context.askTable(table, {
          type: "membership",
          playerId: session.playerId,
        });
        if (answer.type !== "membership" || !answer.member) {
          context.tableFanout.unwatch(table, session);
          return false;
        }
        // Left meanwhile (the leave unwatched it): its state is no longer this socket's news.
        if (session.seatChanges?.get(table) === false) return false;
        context.tableFanout.confirm(table, session);
        const bets = await this.betsInRound(session.playerId, answer.state.round?.roundId);
        if (session.seatChanges?.get(table) === false) return false;
        session.send(JSON.stringify({ type: "table.state", table, state: answer.state, bets }));
        return true;
      } catch (error) {
        if (attempt >= rejoinAttemptsMax) {
          context.log.warn(
            "could not restore a table",
            { table, playerId: session.playerId },
            error,
          );
          context.tableFanout.unwatch(table, session);
          session.close(closeCodes.internalError, `could not restore table ${table}; reconnect`);
          return false;
        }
        await Bun.sleep(rejoinRetryBaseMs * 2 ** (attempt - 1));
      }
    }
    context.tableFanout.unwatch(table, session);
    return false;
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
    const { tableFanout } = this.context;
    const watchedBefore = session.tables.has(table);
    tableFanout.watch(table, session);
    let answer: TableReply;
    try {
      answer = await this.context.askTable(table, { type: "join", playerId: session.playerId });
    } catch (error) {
      if (isOutcomeUnknown(error)) void this.settle(session, table);
      else if (!watchedBefore) tableFanout.unwatch(table, session);
      throw error;
    }
    if (answer.type !== "state") throw new Error(`table answered join with ${answer.type}`);
    for (const other of this.context.sockets.ofPlayer(session.playerId)) {
      tableFanout.watch(table, other);
      other.seatChanges?.set(table, true);
    }
    session.send(JSON.stringify({ type: "table.joined", id, table, state: answer.state }));
  }

  async leave(session: SocketSession, id: string, table: string): Promise<void> {
    this.requireTable(table);
    try {
      await this.context.askTable(table, { type: "leave", playerId: session.playerId });
    } catch (error) {
      if (isOutcomeUnknown(error)) void this.settle(session, table);
      throw error;
    }
    for (const other of this.context.sockets.ofPlayer(session.playerId)) {
      this.context.tableFanout.unwatch(table, other);
      other.seatChanges?.set(table, false);
    }
    session.send(JSON.stringify({ type: "table.left", id, table }));
  }
}
