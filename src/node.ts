import type { Config } from "../config/defaults.ts";
import { playerActorFactory, playerActorKind } from "./actors/player.ts";
import { ActorSystem } from "./actors/system.ts";
import { tableActorFactory, tableActorKind } from "./actors/table.ts";
import { LocalPlayerEventBus } from "./cluster/playerEvents.ts";
import { type ActorRouter, LocalActorRouter } from "./cluster/router.ts";
import { LocalSettledRoundQueue } from "./cluster/settledRounds.ts";
import { randomInt } from "./games/rng.ts";
import { newServerSeed } from "./games/roulette/fairness.ts";
import { WinRecorder } from "./leaderboard/winRecorder.ts";
import { JsonLogger, type Logger } from "./log.ts";
import { createApp, metricsResponse } from "./net/app.ts";
import type { GatewayContext } from "./net/context.ts";
import { endExcludedPlayerHere } from "./net/exclusion.ts";
import { errorResponse } from "./net/httpReply.ts";
import { createNodeMetrics } from "./net/nodeMetrics.ts";
import { OutboundFrames } from "./net/outboundFrames.ts";
import { closeUnconfirmedSockets, revalidateSockets } from "./net/revalidate.ts";
import { SocketRegistry } from "./net/socketRegistry.ts";
import { closeCodes } from "./net/socketSession.ts";
import { TableFanout } from "./net/tableFanout.ts";
import { openEmbeddedLedger } from "./store/embedded/embeddedLedger.ts";
import type { Ledger } from "./store/ledger.ts";
import { isExcluded } from "./store/limits.ts";
import { openPostgresLedger } from "./store/postgres/postgresLedger.ts";
import { openSharedStores } from "./stores.ts";

export interface RunningNode {
  /** The port actually bound (useful with port 0). */
  port: number;
  httpUrl: string;
  wsUrl: string;
  /** Where `GET /metrics` is served when METRICS_PORT is set (else on `httpUrl`). */
  metricsUrl: string | undefined;
  context: GatewayContext;
  actors: ActorSystem;
  /** Drains: not ready, sockets closed with 1012, actors passivated, ledger flushed and closed. */
  stop(): Promise<void>;
  /** What backs this node, for the start-up line. */
  describe: string;
}

/** The ledger named by the config: Postgres when DATABASE_URL is set, else the embedded file. */
export async function openLedger(config: Config): Promise<Ledger> {
  if (config.databaseUrl !== undefined) {
    return openPostgresLedger({
      url: config.databaseUrl,
      poolSize: config.databasePoolSize,
      connectTimeoutMs: config.databaseConnectTimeoutMs,
      acquireTimeoutMs: config.databaseAcquireTimeoutMs,
      statementTimeoutMs: config.databaseStatementTimeoutMs,
      groupCommitWindowMs: config.groupCommitWindowMs,
      groupCommitWritesMax: config.groupCommitWritesMax,
      queueMax: config.ledgerQueueMax,
    });
  }
  return openEmbeddedLedger({
    dataDir: config.dataDir,
    groupCommitWindowMs: config.groupCommitWindowMs,
    groupCommitWritesMax: config.groupCommitWritesMax,
    queueMax: config.ledgerQueueMax,
  });
}

/**
 * A table with seated players must run its rounds. One that is not active (its start failed, or
 * it was stopped after failures) is woken again: the tables are looked at this often (at least
 * as often as actors may passivate).
 */
function tableKeeperIntervalMs(actorIdleMs: number): number {
  return Math.min(5_000, actorIdleMs);
}

/**
 * Wakes every configured table that is not active here but has seated players in the ledger. A
 * shared ledger (Postgres) may serve other nodes, whose tables must not be run here as well (each
 * would void the other's rounds): there, only a table with a seated player connected here.
 */
async function wakeSeatedTables(
  tableIds: Iterable<string>,
  router: ActorRouter,
  ledger: Ledger,
  seatedHere: ((playerId: string) => boolean) | undefined,
  log: Logger,
): Promise<void> {
  const tables = [...tableIds];
  const active = new Set(router.activeTables(tables));
  for (const tableId of tables) {
    if (active.has(tableId)) continue;
    try {
      const seats = await ledger.tableSeats(tableId);
      if (seats.length === 0) continue;
      if (seatedHere !== undefined && !seats.some(seatedHere)) continue;
      await router.askTable(tableId, { type: "summary" });
    } catch (error) {
      log.warn("table could not start; tried again soon", { table: tableId }, error);
    }
  }
}

/** Runs `task` every `intervalMs`, skipping a tick while the previous run is still going. */
function everyUnlessRunning(
  intervalMs: number,
  task: () => Promise<void>,
): ReturnType<typeof setInterval> {
  let running = false;
  return setInterval(() => {
    if (running) return;
    running = true;
    void task().finally(() => {
      running = false;
    });
  }, intervalMs);
}

/** Leaderboard updates of one settled round sent at once (then the next slice). */
const leaderboardSliceMax = 32;

/** Settled-round events waiting for the leaderboard consumer at most. */
const settledRoundQueueMax = 1_000;

/**
 * Activates every table at start: activation recovers what a crash left (rounds voided and
 * refunded, unfinished settlements completed). A table that cannot recover now (the ledger is
 * down) does so on its next activation; the node starts either way.
 */
async function activateTables(
  tableIds: Iterable<string>,
  router: ActorRouter,
  log: Logger,
): Promise<void> {
  await Promise.all(
    [...tableIds].map((tableId) =>
      router.askTable(tableId, { type: "summary" }).catch((error: unknown) => {
        log.warn(
          "table recovery at start failed; it runs again on next use",
          { table: tableId },
          error,
        );
      }),
    ),
  );
}

/** Parts a caller may supply instead of the ones the config names (benches, tests). */
export interface NodeParts {
  /** Used as is, and closed when the node stops. */
  ledger?: Ledger;
  /** Where the node reports what goes wrong while it runs (by default JSON lines on stderr). */
  log?: Logger;
}

/** Builds and starts one node from a validated config. */
export async function startNode(config: Config, parts: NodeParts = {}): Promise<RunningNode> {
  const ledger = parts.ledger ?? (await openLedger(config));
  const events = new LocalPlayerEventBus();
  const ownLog = parts.log === undefined ? new JsonLogger(config.nodeId) : undefined;
  const log = parts.log ?? (ownLog as JsonLogger);
  const stores = await openSharedStores(config, log);
  const { sessions, limiter, leaderboards } = stores;
  for (const warning of stores.warnings) log.warn(warning);
  const sockets = new SocketRegistry();
  const tables = new Map(config.tables.map((table) => [table.id, table] as const));
  const outboundFrames = new OutboundFrames();
  const tableFanout = new TableFanout(config.socketBackpressureBytesMax, outboundFrames);
  const metrics = createNodeMetrics({
    sockets: () => sockets.size,
    actors: () => actors.stats().activeActors,
    slowTableWatchersClosed: () => tableFanout.slowClosed,
  });
  const wins = new WinRecorder(leaderboards, 1_000, (reason) =>
    metrics.leaderboardUpdatesLost.inc({ reason }),
  );
  // A round's credits a slice at a time: the queue holds rounds meanwhile (bounded), so a round
  // with more winners than the recorder's pending bound loses none of them, and a slow store
  // (each update waits up to its command timeout) holds the queue for slices, not for every winner.
  const settledRounds = new LocalSettledRoundQueue(
    async (event) => {
      for (let at = 0; at < event.credits.length; at += leaderboardSliceMax) {
        const slice = event.credits.slice(at, at + leaderboardSliceMax);
        await Promise.all(slice.map((credit) => wins.recordNow(credit.playerId, credit.amount)));
      }
    },
    settledRoundQueueMax,
    () => metrics.leaderboardUpdatesLost.inc({ reason: "dropped" }),
  );
  const actors = new ActorSystem({
    mailboxCapacity: config.mailboxCapacity,
    idleMs: config.actorIdleMs,
    restartsMax: config.actorRestartsMax,
    restartWindowMs: 60_000,
    restartDelayMs: 10,
    onEvent: (event) => {
      if (event.type === "restarted" || event.type === "stopped-after-failures") {
        log.warn(
          `actor ${event.type}`,
          { actor: `${event.address.kind}/${event.address.id}`, restarts: event.restarts },
          event.error,
        );
      }
    },
  });
  const router = new LocalActorRouter(actors, config.askTimeoutMs);
  actors.register(
    playerActorKind,
    playerActorFactory({
      ledger,
      events,
      random: randomInt,
      slotBetMin: config.slotBetMin,
      slotBetMax: config.slotBetMax,
      slotBetStep: config.slotBetStep,
      startingBalance: config.operatorKey === undefined ? config.startingBalance : 0,
      now: Date.now,
      onSettled: (playerId, win) => wins.record(playerId, win),
      tables,
      askTable: (tableId, message) => router.askTable(tableId, message),
    }),
  );
  actors.register(
    tableActorKind,
    tableActorFactory({
      ledger,
      tables,
      broadcast: tableFanout,
      async settlePlayer(table, roundId, settlement) {
        await router.askPlayer(settlement.playerId, {
          type: "tableSettlement",
          table: table.id,
          game: table.game,
          roundId,
          kind: settlement.kind,
          amount: settlement.amount,
        });
      },
      tellSelf: (tableId, message) => router.tellTable(tableId, message),
      onRoundSettled: (event) => settledRounds.publish(event),
      onRoundFinished: (tableId, outcome) => metrics.tableRounds.inc({ table: tableId, outcome }),
      onError(tableId, what, error, roundId) {
        if (what.startsWith("settling")) metrics.tableSettlementsIncomplete.inc({ table: tableId });
        log.warn("table step failed", { table: tableId, step: what, roundId }, error);
      },
      newServerSeed,
      now: Date.now,
      settlementConcurrencyMax: config.tableSettlementConcurrencyMax,
      isPresent: (playerId) => sockets.countOfPlayer(playerId) > 0,
      seatAbsenceMs: config.tableSeatAbsenceMs,
    }),
    { mailboxCapacity: config.tableMailboxCapacity },
  );
  let draining = false;

  const context: GatewayContext = {
    config,
    log,
    ledger,
    sessions,
    limiter,
    leaderboards,
    events,
    sockets,
    metrics,
    askPlayer: (playerId, message, dedupeKey) => router.askPlayer(playerId, message, dedupeKey),
    askTable: (tableId, message) => router.askTable(tableId, message),
    tables,
    liveTables: () => router.activeTables(tables.keys()),
    tableFanout,
    outboundFrames,
    isDraining: () => draining,
    failingDependencies() {
      const failing: string[] = [];
      if (!ledger.healthy()) failing.push("ledger");
      if (!sessions.healthy()) failing.push("sessions");
      return failing;
    },
  };

  sessions.onRevoked((token) =>
    sockets.closeByToken(token, closeCodes.sessionRevoked, "session revoked"),
  );
  sessions.onPlayerExcluded((playerId) => {
    void endExcludedPlayerHere(sockets, sessions, playerId, log);
  });
  sessions.onReconnected(() => {
    void revalidateSockets(sockets, sessions, config.revalidationConcurrencyMax, async (playerId) =>
      isExcluded(await ledger.getLimits(playerId), Date.now()),
    );
  });
  const app = createApp(context);
  app.listen({ port: config.port, hostname: config.host });
  const server = app.server;
  if (server === null || server.port === undefined) throw new Error("the server did not start");
  const port = server.port;
  tableFanout.attach(server);
  await activateTables(tables.keys(), router, log);
  // The embedded ledger has one node (its writer lock); Postgres may have several.
  const seatedHere =
    config.databaseUrl === undefined
      ? undefined
      : (playerId: string) => sockets.countOfPlayer(playerId) > 0;
  const tableKeeper = everyUnlessRunning(tableKeeperIntervalMs(config.actorIdleMs), () =>
    wakeSeatedTables(tables.keys(), router, ledger, seatedHere, log),
  );

  // While the session store is down, sockets play on cached sessions only as long as it vouches
  // for them (SESSION_OUTAGE_GRACE_MS); checked from its cache, so the check costs no round trip.
  const outageCheckIntervalMs = Math.min(5_000, Math.floor(config.sessionOutageGraceMs / 4));
  const outageCheck = everyUnlessRunning(outageCheckIntervalMs, async () => {
    if (!sessions.healthy())
      await closeUnconfirmedSockets(sockets, sessions, config.revalidationConcurrencyMax);
  });

  const heartbeatMs = config.heartbeatMs;
  const pinger = setInterval(() => sockets.pingAll(), heartbeatMs);
  // Checked four times per period so a silent socket goes within 2.25 x heartbeatMs, not 3 x;
  // a socket whose session expired goes within a quarter period of the expiry.
  const evictor = setInterval(
    () => {
      const nowMs = Date.now();
      sockets.evictSilent(nowMs, 2 * heartbeatMs);
      sockets.closeExpired(nowMs);
    },
    Math.max(10, Math.floor(heartbeatMs / 4)),
  );

  let metricsServer: ReturnType<typeof Bun.serve> | undefined;
  if (config.metricsPort !== undefined) {
    try {
      metricsServer = Bun.serve({
        hostname: config.host,
        port: config.metricsPort,
        fetch: (request) =>
          new URL(request.url).pathname === "/metrics"
            ? metricsResponse(context)
            : errorResponse("NOT_FOUND", "only /metrics is served here"),
      });
    } catch (error) {
      app.server?.stop(true);
      // Says which key's port it was: the start-up report names it (main.ts).
      throw Object.assign(error instanceof Error ? error : new Error(String(error)), {
        configKey: "METRICS_PORT",
        configPort: config.metricsPort,
      });
    }
  }

  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host;
  return {
    port,
    httpUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    metricsUrl: metricsServer === undefined ? undefined : `http://${host}:${metricsServer.port}`,
    context,
    actors,
    describe: `ledger: ${ledger.durability()}; ${stores.describe}; at most ${config.socketsMax} sockets`,
    async stop() {
      if (draining) return;
      draining = true; // readiness 503 and new sockets refused from here on
      // Open sockets keep playing while the load balancer learns of it (DRAIN_NOTICE_MS).
      if (config.drainNoticeMs > 0) await Bun.sleep(config.drainNoticeMs);
      clearInterval(pinger);
      clearInterval(evictor);
      clearInterval(outageCheck);
      clearInterval(tableKeeper);
      sockets.closeAll(closeCodes.draining, "node draining");
      await actors.stop(config.drainTimeoutMs);
      await app.stop(true);
      await metricsServer?.stop(true);
      await sessions.close();
      await limiter.close();
      await leaderboards.close();
      await ledger.close();
      ownLog?.close();
    },
  };
}
