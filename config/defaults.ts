import { socketsMaxFallback } from "./openFiles.ts";
import { defaultTables, type TableConfig } from "./tables.ts";

/**
 * Every tunable of a Croupier node, with its default and unit, in one table.
 * Each key can be overridden by the environment variable named beside it (config/load.ts).
 */
export interface Config {
  /** HTTP and WebSocket port; 0 picks a free one. */
  port: number;
  /** Bind address; dev mode defaults to loopback. */
  host: string;
  /**
   * A port of its own for `GET /metrics` (on `host`), kept off the public port; unset: served on
   * `port` (fine on one machine, not behind a public load balancer).
   */
  metricsPort: number | undefined;
  /** This node's name in `welcome` and metrics. */
  nodeId: string;
  /** Where the embedded ledger keeps its file. */
  dataDir: string;
  /** Operator mode when set (sessions, deposits, withdrawals need it). */
  operatorKey: string | undefined;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  natsUrl: string | undefined;
  currency: string;
  /** Dev mode: credited once to a new player, minor units. */
  startingBalance: number;
  sessionTtlMs: number;
  sessionsMax: number;
  /**
   * With Redis sessions: how long after Redis last confirmed a session a node may go on serving
   * it from its cache while Redis is unreachable (open sockets are then closed with 1013).
   */
  sessionOutageGraceMs: number;
  heartbeatMs: number;
  /** Open WebSockets of one player on one node; past it an upgrade gets 429. */
  socketsPerPlayerMax: number;
  /** Open WebSockets from one address (an IPv6 /64 as one) on this node. */
  socketsPerAddressMax: number;
  /** Open WebSockets on this node; by default what the open-files limit allows (openFiles.ts). */
  socketsMax: number;
  /** Bytes a socket may have queued outbound before it is closed as too slow. */
  socketBackpressureBytesMax: number;
  commandsPerSecond: number;
  commandBurst: number;
  /** Commands refused for rate in a row before the socket is closed with 1008. */
  rateLimitStrikesMax: number;
  upgradesPerSecondPerIp: number;
  upgradeBurstPerIp: number;
  sessionsPerSecondPerIp: number;
  sessionBurstPerIp: number;
  /** HTTP reads (wallet, history, rounds, tables, leaderboard) per address, operator key exempt. */
  readsPerSecondPerIp: number;
  readBurstPerIp: number;
  /**
   * Proxies (addresses or CIDR networks) whose `X-Forwarded-For` names the client for the limits
   * per address; empty: the peer address counts and the header is ignored.
   */
  trustedProxies: readonly string[];
  /** Distinct keys the in-memory rate limiter tracks (least recently used are dropped). */
  rateLimitKeysMax: number;
  mailboxCapacity: number;
  actorIdleMs: number;
  actorRestartsMax: number;
  askTimeoutMs: number;
  /**
   * How long an idle ledger waits to gather more writes into one transaction. Under load writes
   * gather while the previous commit runs, so the wait applies only after the writer was idle.
   */
  groupCommitWindowMs: number;
  groupCommitWritesMax: number;
  /** Writes waiting for the ledger before new ones are refused with BUSY. */
  ledgerQueueMax: number;
  /** Sequenced messages replayed on reconnect at most; older ones set `replayFrom`. */
  replayEventsMax: number;
  slotBetMin: number;
  slotBetMax: number;
  slotBetStep: number;
  drainTimeoutMs: number;
  /**
   * How long a draining node stays up with readiness 503 before it closes its sockets, so a load
   * balancer stops sending new connections first (clients that reconnect then land elsewhere).
   */
  drainNoticeMs: number;
  /** Origins whose browser pages may call the HTTP API (`*`: any); empty: none. */
  corsOrigins: string[];
  /** A table seat whose player has had no socket for this long is released between rounds. */
  tableSeatAbsenceMs: number;
  /** Postgres connections per node (DATABASE_URL). */
  databasePoolSize: number;
  /** How long a ledger write waits for a Postgres connection before BUSY. */
  databaseAcquireTimeoutMs: number;
  databaseConnectTimeoutMs: number;
  /**
   * Longest a Postgres statement may run. It also bounds how long a silently dropped
   * connection can keep the ledger looking healthy.
   */
  databaseStatementTimeoutMs: number;
  /** Every Redis key and channel starts with `<redisKeyPrefix>:`. */
  redisKeyPrefix: string;
  /** Players kept per leaderboard. */
  leaderboardEntriesMax: number;
  /** Open sockets re-checked at once after the session store reconnects. */
  revalidationConcurrencyMax: number;
  /** The live tables (config/tables.ts); TABLES as a JSON array. */
  tables: readonly TableConfig[];
  /** Messages that may wait in one table actor's mailbox: every bettor of a round asks it once. */
  tableMailboxCapacity: number;
  /** Player settlements of one round in flight at once. */
  tableSettlementConcurrencyMax: number;
}

export const defaults: Config = {
  port: 8080,
  host: "", // resolved by mode: 127.0.0.1 in dev mode, 0.0.0.0 in operator mode
  metricsPort: undefined,
  nodeId: "", // resolved to "<hostname>-<pid>"
  dataDir: "./data",
  operatorKey: undefined,
  databaseUrl: undefined,
  redisUrl: undefined,
  natsUrl: undefined,
  currency: "EUR",
  startingBalance: 100_000, // 1,000.00
  sessionTtlMs: 24 * 60 * 60 * 1000,
  sessionsMax: 1_000_000,
  sessionOutageGraceMs: 5 * 60_000,
  heartbeatMs: 15_000,
  socketsPerPlayerMax: 8,
  socketsPerAddressMax: 1_000,
  socketsMax: socketsMaxFallback,
  socketBackpressureBytesMax: 1024 * 1024,
  commandsPerSecond: 50,
  commandBurst: 100,
  rateLimitStrikesMax: 200,
  upgradesPerSecondPerIp: 20,
  upgradeBurstPerIp: 40,
  sessionsPerSecondPerIp: 10,
  sessionBurstPerIp: 20,
  readsPerSecondPerIp: 100,
  readBurstPerIp: 200,
  trustedProxies: [],
  rateLimitKeysMax: 1_000_000,
  mailboxCapacity: 64,
  actorIdleMs: 10 * 60 * 1000,
  actorRestartsMax: 3,
  askTimeoutMs: 10_000,
  groupCommitWindowMs: 1,
  groupCommitWritesMax: 500,
  ledgerQueueMax: 20_000,
  replayEventsMax: 1_000,
  slotBetMin: 20,
  slotBetMax: 10_000,
  slotBetStep: 20,
  drainTimeoutMs: 10_000,
  drainNoticeMs: 0,
  corsOrigins: [],
  tableSeatAbsenceMs: 3_600_000,
  databasePoolSize: 8,
  databaseAcquireTimeoutMs: 2_000,
  databaseConnectTimeoutMs: 5_000,
  databaseStatementTimeoutMs: 5_000,
  redisKeyPrefix: "croupier",
  leaderboardEntriesMax: 100,
  revalidationConcurrencyMax: 64,
  tables: defaultTables,
  tableMailboxCapacity: 10_000,
  tableSettlementConcurrencyMax: 256,
};

/** Protocol constants: not configurable, they are part of the wire contract. */
export const frameBytesMax = 4096;
