import type { PlayerMessage, PlayerReply } from "../actors/player.ts";
import { playerActorKind } from "../actors/player.ts";
import { type ActorSystem, AskTimeoutError } from "../actors/system.ts";
import type { TableMessage, TableReply } from "../actors/table.ts";
import { tableActorKind } from "../actors/table.ts";
import { CroupierError } from "../errors.ts";

/**
 * Delivers messages to the actor (kind, id) wherever it lives. One node delivers in process; in a
 * cluster the same calls travel to the owner node (placement) over the bus. Deadlines turn into
 * the protocol's codes here, once: a player's command that got no answer in time is INTERNAL
 * (its outcome is unknown: retry the same id), a table's is BUSY (table messages move no money).
 */
export interface ActorRouter {
  askPlayer(playerId: string, message: PlayerMessage, dedupeKey?: string): Promise<PlayerReply>;
  askTable(tableId: string, message: TableMessage): Promise<TableReply>;
  /** Fire and forget (a table's own timers); false when the message was not accepted. */
  tellTable(tableId: string, message: TableMessage): boolean;
  /** Tables activated on this node now (a table with joined players is always active). */
  activeTables(tableIds: Iterable<string>): string[];
}

export class LocalActorRouter implements ActorRouter {
  constructor(
    private readonly actors: ActorSystem,
    private readonly askTimeoutMs: number,
  ) {}

  askPlayer(playerId: string, message: PlayerMessage, dedupeKey?: string): Promise<PlayerReply> {
    return this.actors
      .ask<PlayerMessage, PlayerReply>(playerActorKind, playerId, message, {
        timeoutMs: this.askTimeoutMs,
        dedupeKey,
      })
      .catch((error: unknown) => {
        if (error instanceof AskTimeoutError) {
          throw new CroupierError(
            "INTERNAL",
            "no answer in time; retry with the same id to learn the outcome",
            { cause: error },
          );
        }
        throw error;
      });
  }

  async askTable(tableId: string, message: TableMessage): Promise<TableReply> {
    try {
      return await this.actors.ask<TableMessage, TableReply>(tableActorKind, tableId, message, {
        timeoutMs: this.askTimeoutMs,
      });
    } catch (error) {
      if (error instanceof AskTimeoutError) {
        // A timed-out message may still run. A seat change then may or may not happen (both are
        // safe to repeat); the other table messages change nothing when they are late.
        if (message.type === "join" || message.type === "leave")
          throw new CroupierError(
            "INTERNAL",
            "the table did not answer in time; the seat may have changed: send it again to be sure",
            { cause: error },
          );
        throw new CroupierError("BUSY", "the table did not answer in time", { cause: error });
      }
      throw error;
    }
  }

  tellTable(tableId: string, message: TableMessage): boolean {
    return this.actors.tell(tableActorKind, tableId, message);
  }

  activeTables(tableIds: Iterable<string>): string[] {
    return [...tableIds].filter((id) => this.actors.isActive(tableActorKind, id));
  }
}
