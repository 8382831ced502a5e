import { latencyBucketsMs, MetricsRegistry } from "../observability/metrics.ts";

/** The node's metrics, created once per node (never process-global: two nodes may share a process in tests). */
export function createNodeMetrics(gauges: {
  sockets: () => number;
  actors: () => number;
  slowTableWatchersClosed: () => number;
}) {
  const registry = new MetricsRegistry();
  return {
    registry,
    commands: registry.counter(
      "croupier_commands_total",
      "Client commands by type and outcome code",
    ),
    commandLatencyMs: registry.histogram(
      "croupier_command_latency_ms",
      "Time from a command frame arriving to its reply being sent",
      latencyBucketsMs,
    ),
    httpRequests: registry.counter(
      "croupier_http_requests_total",
      "HTTP requests by method and status",
    ),
    closes: registry.counter(
      "croupier_socket_closes_total",
      "Sockets closed by the server, by close code",
    ),
    rateLimited: registry.counter(
      "croupier_rate_limited_total",
      "Requests refused for rate, by limit",
    ),
    socketsOpen: registry.gauge(
      "croupier_sockets_open",
      "Open WebSockets on this node",
      gauges.sockets,
    ),
    tableRounds: registry.counter(
      "croupier_table_rounds_total",
      "Table rounds finished on this node, by table and outcome (settled, voided)",
    ),
    tableSettlementsIncomplete: registry.counter(
      "croupier_table_settlements_incomplete_total",
      "Finished rounds whose payouts or refunds fell short and wait for the next recovery",
    ),
    slowTableWatchers: registry.gauge(
      "croupier_table_watchers_closed_slow",
      "Sockets closed (4002) because table broadcasts backed up, since start",
      gauges.slowTableWatchersClosed,
    ),
    leaderboardUpdatesLost: registry.counter(
      "croupier_leaderboard_updates_lost_total",
      "Leaderboard updates lost, by reason (dropped: too many pending; failed: the store refused)",
    ),
    actorsActive: registry.gauge(
      "croupier_actors_active",
      "Activated actors on this node",
      gauges.actors,
    ),
  };
}

export type NodeMetrics = ReturnType<typeof createNodeMetrics>;
