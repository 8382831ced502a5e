import type { Config } from "../../config/defaults.ts";
import type { TableConfig } from "../../config/tables.ts";
import type { PlayerMessage, PlayerReply } from "../actors/player.ts";
import type { TableMessage, TableReply } from "../actors/table.ts";
import type { PlayerEventBus } from "../cluster/playerEvents.ts";
import type { Leaderboards } from "../leaderboard/leaderboards.ts";
import type { Logger } from "../log.ts";
import type { Ledger } from "../store/ledger.ts";
import type { NodeMetrics } from "./nodeMetrics.ts";
import type { OutboundFrames } from "./outboundFrames.ts";
import type { RateLimiter } from "./rateLimiter.ts";
import type { SessionStore } from "./sessions.ts";
import type { SocketRegistry } from "./socketRegistry.ts";
import type { TableFanout } from "./tableFanout.ts";

/** What the gateway needs from the node. It holds sockets, never game state. */
export interface GatewayContext {
  config: Config;
  /** What goes wrong while serving, one JSON line per event (src/log.ts). */
  log: Logger;
  ledger: Ledger;
  sessions: SessionStore;
  limiter: RateLimiter;
  leaderboards: Leaderboards;
  events: PlayerEventBus;
  sockets: SocketRegistry;
  metrics: NodeMetrics;
  /** Sends a message to a table's actor, wherever it lives; errors are CroupierErrors. */
  askTable(tableId: string, message: TableMessage): Promise<TableReply>;
  /** The configured tables by id. */
  tables: ReadonlyMap<string, TableConfig>;
  /**
   * Tables that may have joined players now. A table with players never passivates (its
   * `mayPassivate`), so on one node these are the active table actors: a reconnect asks only
   * them, never waking idle tables.
   */
  liveTables(): string[];
  /** Table broadcasts to this node's sockets. */
  tableFanout: TableFanout;
  /** Frames for this node's sockets, written together after the current task. */
  outboundFrames: OutboundFrames;
  /** Sends a message to the player's actor, wherever it lives; errors are CroupierErrors. */
  askPlayer(playerId: string, message: PlayerMessage, dedupeKey?: string): Promise<PlayerReply>;
  isDraining(): boolean;
  /** Names of the dependencies that are not usable now (readiness). */
  failingDependencies(): string[];
}
