import { accessSync, constants, mkdirSync } from "node:fs";
import { isIP } from "node:net";
import { hostname } from "node:os";
import { paylineCount } from "../src/games/slot/paylines.ts";
import { winPerTotalBetMax as slotWinPerTotalBetMax } from "../src/games/slot/paytable.ts";
import { isLoopbackAddress, parseNetwork } from "../src/net/clientAddress.ts";
import { readRowsMax } from "../src/store/embedded/reader.ts";
import { type Config, defaults } from "./defaults.ts";
import { defaultSocketsMax, openFilesLimit } from "./openFiles.ts";
import { parseTables, type TableConfig, TableConfigError, validateTables } from "./tables.ts";

/** A configuration value that cannot be used; the node refuses to start and says why. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`config ${key}: ${reason}`);
  }
}

type IntegerKey = {
  [K in keyof Config]: Config[K] extends number ? K : never;
}[keyof Config];

/** Keys the Redis rate limiter's local fallback tracks at most (src/redis/rateLimiter.ts). */
const redisLimiterKeysMax = 10_000_000;

interface IntegerSpec {
  env: string;
  min: number;
  max: number;
  /** Why the maximum is what it is, where another part of the node sets it. */
  maxBecause?: string;
}

/** Environment variable for every integer key, with its allowed range. */
const integerKeys: Record<IntegerKey, IntegerSpec> = {
  port: { env: "PORT", min: 0, max: 65_535 },
  startingBalance: { env: "DEV_STARTING_BALANCE", min: 0, max: Number.MAX_SAFE_INTEGER },
  sessionTtlMs: { env: "SESSION_TTL_MS", min: 1_000, max: 30 * 24 * 3_600_000 },
  sessionsMax: { env: "SESSIONS_MAX", min: 1, max: 100_000_000 },
  sessionOutageGraceMs: { env: "SESSION_OUTAGE_GRACE_MS", min: 1_000, max: 24 * 3_600_000 },
  heartbeatMs: { env: "HEARTBEAT_MS", min: 50, max: 600_000 },
  socketsPerPlayerMax: { env: "SOCKETS_PER_PLAYER_MAX", min: 1, max: 1_000 },
  socketsPerAddressMax: { env: "SOCKETS_PER_ADDRESS_MAX", min: 1, max: 10_000_000 },
  socketsMax: { env: "SOCKETS_MAX", min: 1, max: 10_000_000 },
  socketBackpressureBytesMax: { env: "SOCKET_BACKPRESSURE_BYTES_MAX", min: 4_096, max: 1 << 30 },
  commandsPerSecond: { env: "RATE_COMMANDS_PER_SECOND", min: 1, max: 1_000_000 },
  commandBurst: { env: "RATE_COMMAND_BURST", min: 1, max: 1_000_000 },
  rateLimitStrikesMax: { env: "RATE_LIMIT_STRIKES_MAX", min: 1, max: 1_000_000 },
  upgradesPerSecondPerIp: { env: "RATE_UPGRADES_PER_SECOND_PER_IP", min: 1, max: 1_000_000 },
  upgradeBurstPerIp: { env: "RATE_UPGRADE_BURST_PER_IP", min: 1, max: 1_000_000 },
  sessionsPerSecondPerIp: { env: "RATE_SESSIONS_PER_SECOND_PER_IP", min: 1, max: 1_000_000 },
  sessionBurstPerIp: { env: "RATE_SESSION_BURST_PER_IP", min: 1, max: 1_000_000 },
  readsPerSecondPerIp: { env: "RATE_READS_PER_SECOND_PER_IP", min: 1, max: 1_000_000 },
  readBurstPerIp: { env: "RATE_READ_BURST_PER_IP", min: 1, max: 1_000_000 },
  rateLimitKeysMax: {
    env: "RATE_LIMIT_KEYS_MAX",
    min: 100,
    max: redisLimiterKeysMax,
    maxBecause: "the Redis rate limiter's local fallback tracks at most that many keys",
  },
  mailboxCapacity: { env: "ACTOR_MAILBOX_CAPACITY", min: 1, max: 1_000_000 },
  actorIdleMs: { env: "ACTOR_IDLE_MS", min: 100, max: 24 * 3_600_000 },
  actorRestartsMax: { env: "ACTOR_RESTARTS_MAX", min: 0, max: 1_000 },
  askTimeoutMs: { env: "ASK_TIMEOUT_MS", min: 10, max: 600_000 },
  groupCommitWindowMs: { env: "LEDGER_GROUP_COMMIT_MS", min: 0, max: 1_000 },
  groupCommitWritesMax: { env: "LEDGER_GROUP_COMMIT_WRITES_MAX", min: 1, max: 100_000 },
  ledgerQueueMax: { env: "LEDGER_QUEUE_MAX", min: 1, max: 10_000_000 },
  replayEventsMax: {
    env: "REPLAY_EVENTS_MAX",
    min: 1,
    max: readRowsMax,
    maxBecause: "the ledger reads at most that many events at once",
  },
  slotBetMin: { env: "SLOT_BET_MIN", min: 1, max: Number.MAX_SAFE_INTEGER },
  slotBetMax: {
    env: "SLOT_BET_MAX",
    min: 1,
    max: Math.floor(Number.MAX_SAFE_INTEGER / slotWinPerTotalBetMax),
    maxBecause: `a spin wins up to ${slotWinPerTotalBetMax} x its bet, which must stay a safe integer`,
  },
  slotBetStep: { env: "SLOT_BET_STEP", min: 1, max: Number.MAX_SAFE_INTEGER },
  drainTimeoutMs: { env: "DRAIN_TIMEOUT_MS", min: 0, max: 600_000 },
  drainNoticeMs: { env: "DRAIN_NOTICE_MS", min: 0, max: 600_000 },
  tableSeatAbsenceMs: { env: "TABLE_SEAT_ABSENCE_MS", min: 1_000, max: 30 * 24 * 3_600_000 },
  leaderboardEntriesMax: { env: "LEADERBOARD_ENTRIES_MAX", min: 1, max: 100_000 },
  databasePoolSize: { env: "DATABASE_POOL_SIZE", min: 1, max: 1_000 },
  databaseAcquireTimeoutMs: { env: "DATABASE_ACQUIRE_TIMEOUT_MS", min: 0, max: 600_000 },
  databaseConnectTimeoutMs: { env: "DATABASE_CONNECT_TIMEOUT_MS", min: 1, max: 600_000 },
  databaseStatementTimeoutMs: { env: "DATABASE_STATEMENT_TIMEOUT_MS", min: 100, max: 3_600_000 },
  revalidationConcurrencyMax: { env: "REVALIDATION_CONCURRENCY_MAX", min: 1, max: 10_000 },
  tableMailboxCapacity: { env: "TABLE_MAILBOX_CAPACITY", min: 1, max: 1_000_000 },
  tableSettlementConcurrencyMax: {
    env: "TABLE_SETTLEMENT_CONCURRENCY_MAX",
    min: 1,
    max: 10_000,
  },
};

/** Every environment variable the node reads, for the README and for typo detection. */
export const environmentKeys = [
  "HOST",
  "NODE_ID",
  "DATA_DIR",
  "OPERATOR_KEY",
  "DATABASE_URL",
  "REDIS_URL",
  "NATS_URL",
  "CURRENCY",
  "REDIS_KEY_PREFIX",
  "TABLES",
  "DEV_MODE_PUBLIC",
  "METRICS_PORT",
  "TRUSTED_PROXIES",
  "CORS_ORIGINS",
  ...Object.values(integerKeys).map((spec) => spec.env),
];

function parseInteger(raw: string, spec: IntegerSpec): number {
  const { env, min, max, maxBecause } = spec;
  setButEmpty(env, raw);
  // No surrounding whitespace either: a value that is not exactly what was meant is refused.
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(env, `"${raw}" is not an integer`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const because = maxBecause === undefined ? "" : ` (${maxBecause})`;
    throw new ConfigError(env, `${raw} is outside ${min}..${max}${because}`);
  }
  return value;
}

/**
 * Keys whose absence switches the node to an embedded or dev default: set to an empty string
 * (an unfilled template, `KEY=${UNSET}`), they stop the node instead of silently running on that
 * default, which would give away starting balances or keep money on a container's own disk.
 */
export const setButEmptyReason = "is set but empty; unset it to use the default, or give a value";

function setButEmpty(key: string, raw: string | undefined): void {
  if (raw !== undefined && raw.trim() === "") throw new ConfigError(key, setButEmptyReason);
}

function parseUrl(key: string, raw: string | undefined, protocols: string[]): string | undefined {
  setButEmpty(key, raw);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(key, "is not a URL");
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(key, `protocol ${url.protocol} is not one of ${protocols.join(", ")}`);
  }
  return raw;
}

/** Reads, validates and resolves the configuration; throws ConfigError naming the key. */
export function loadConfig(
  env: Record<string, string | undefined>,
  overrides: Partial<Config> = {},
): Config {
  const config: Config = { ...defaults, socketsMax: defaultSocketsMax(openFilesLimit()) };
  for (const [key, spec] of Object.entries(integerKeys) as [
    IntegerKey,
    (typeof integerKeys)[IntegerKey],
  ][]) {
    const raw = env[spec.env];
    if (raw !== undefined) config[key] = parseInteger(raw, spec);
  }
  if (env.METRICS_PORT !== undefined)
    config.metricsPort = parseInteger(env.METRICS_PORT, {
      ...integerKeys.port,
      env: "METRICS_PORT",
    });
  const operatorKey = env.OPERATOR_KEY;
  setButEmpty("OPERATOR_KEY", operatorKey);
  if (operatorKey !== undefined) {
    if (operatorKey.length < 16)
      throw new ConfigError("OPERATOR_KEY", "must be at least 16 characters");
    // A Bearer token is one run of visible characters: a key with a space or a trailing newline
    // (read from a secret file) could never be presented, so no operator could ever sign in.
    if (!/^[\x21-\x7e]+$/.test(operatorKey))
      throw new ConfigError(
        "OPERATOR_KEY",
        "must be visible ASCII characters only (no spaces, newlines or other whitespace)",
      );
    config.operatorKey = operatorKey;
  }
  config.databaseUrl = parseUrl("DATABASE_URL", env.DATABASE_URL, ["postgres:", "postgresql:"]);
  config.redisUrl = parseUrl("REDIS_URL", env.REDIS_URL, ["redis:", "rediss:"]);
  config.natsUrl = parseUrl("NATS_URL", env.NATS_URL, ["nats:", "tls:"]);
  setButEmpty("DATA_DIR", env.DATA_DIR);
  if (env.DATA_DIR !== undefined) config.dataDir = env.DATA_DIR;
  setButEmpty("REDIS_KEY_PREFIX", env.REDIS_KEY_PREFIX);
  if (env.REDIS_KEY_PREFIX !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(env.REDIS_KEY_PREFIX)) {
      throw new ConfigError("REDIS_KEY_PREFIX", "must be 1-64 characters of [A-Za-z0-9_.-]");
    }
    config.redisKeyPrefix = env.REDIS_KEY_PREFIX;
  }
  setButEmpty("CURRENCY", env.CURRENCY);
  if (env.CURRENCY !== undefined) {
    if (!/^[A-Z]{3}$/.test(env.CURRENCY))
      throw new ConfigError("CURRENCY", "must be an ISO 4217 code like EUR");
    config.currency = env.CURRENCY;
  }
  setButEmpty("NODE_ID", env.NODE_ID);
  if (env.NODE_ID !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(env.NODE_ID)) {
      throw new ConfigError("NODE_ID", "must be 1-64 characters of [A-Za-z0-9_.-]");
    }
    config.nodeId = env.NODE_ID;
  }
  setButEmpty("HOST", env.HOST);
  if (env.HOST !== undefined && !isHost(env.HOST))
    throw new ConfigError(
      "HOST",
      `"${env.HOST}" is not an IP address or a host name to bind (e.g. 0.0.0.0, ::, localhost)`,
    );
  config.host = env.HOST ?? "";
  setButEmpty("CORS_ORIGINS", env.CORS_ORIGINS);
  if (env.CORS_ORIGINS !== undefined) config.corsOrigins = parseCorsOrigins(env.CORS_ORIGINS);
  setButEmpty("TRUSTED_PROXIES", env.TRUSTED_PROXIES);
  if (env.TRUSTED_PROXIES !== undefined)
    config.trustedProxies = parseTrustedProxies(env.TRUSTED_PROXIES);
  setButEmpty("TABLES", env.TABLES);
  if (env.TABLES !== undefined)
    config.tables = tablesOrThrow(() => parseTables(env.TABLES as string));
  Object.assign(config, overrides);
  config.tables = tablesOrThrow(() => validateTables(config.tables));
  if (!config.nodeId)
    config.nodeId = `${hostname()
      .replace(/[^A-Za-z0-9_.-]/g, "-")
      .slice(0, 40)}-${process.pid}`;
  if (!config.host) config.host = config.operatorKey ? "0.0.0.0" : "127.0.0.1";
  if (
    config.metricsPort !== undefined &&
    config.metricsPort !== 0 &&
    config.metricsPort === config.port
  )
    throw new ConfigError(
      "METRICS_PORT",
      `${config.metricsPort} is PORT too; give metrics a port of their own`,
    );
  if (!config.operatorKey && !isLoopback(config.host) && env.DEV_MODE_PUBLIC !== "1") {
    throw new ConfigError(
      "HOST",
      `${config.host} is not loopback, and dev mode (no OPERATOR_KEY) lets anyone open a session for any player; set OPERATOR_KEY, or DEV_MODE_PUBLIC=1 to expose dev mode on purpose`,
    );
  }
  validate(config);
  return config;
}

/**
 * An IPv4 or IPv6 literal (IPv6 bare or in brackets), or a host name: RFC 1123 labels, with the
 * underscores container networks allow and one trailing dot.
 */
function isHost(host: string): boolean {
  const bare = host.replace(/^\[(.*:.*)\]$/, "$1");
  if (isIP(bare) !== 0) return true;
  // Digits and dots only, yet not an IPv4 address (256.1.1.1): a typo, not a name.
  if (/^[\d.]+$/.test(host)) return false;
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  const label = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
  return name.length <= 253 && name.split(".").every((part) => label.test(part));
}

/**
 * The embedded ledger's directory must exist or be creatable, and be writable: checked before
 * anything starts, so a bad DATA_DIR is named rather than failing deep in the ledger's start.
 */
export function checkDataDir(config: Config): void {
  if (config.databaseUrl !== undefined) return;
  try {
    mkdirSync(config.dataDir, { recursive: true });
    accessSync(config.dataDir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new ConfigError("DATA_DIR", `${config.dataDir} cannot be created or written (${code})`);
  }
}

/** Loopback as a bind address: `localhost`, 127.x.x.x, or IPv6 `::1` (bare or in brackets). */
function isLoopback(host: string): boolean {
  return host.toLowerCase() === "localhost" || isLoopbackAddress(host);
}

/**
 * Comma-separated origins (`https://casino.example`, scheme, host and port only, as a browser
 * sends them in `Origin`), or `*` alone for any origin.
 */
function parseCorsOrigins(raw: string): string[] {
  const entries = raw.split(",").map((entry) => entry.trim());
  if (entries.includes("*")) {
    if (entries.length > 1)
      throw new ConfigError("CORS_ORIGINS", "* allows every origin; give it alone");
    return entries;
  }
  for (const entry of entries) {
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = undefined;
    }
    if (origin === undefined || origin === "null" || origin !== entry)
      throw new ConfigError(
        "CORS_ORIGINS",
        `"${entry}" is not an origin like https://casino.example (scheme, host, port; no path or trailing slash)`,
      );
  }
  return entries;
}

/** Comma-separated addresses or CIDR networks, each checked here so a typo stops the node. */
function parseTrustedProxies(raw: string): string[] {
  const entries = raw.split(",").map((entry) => entry.trim());
  for (const entry of entries) {
    if (parseNetwork(entry) === undefined)
      throw new ConfigError(
        "TRUSTED_PROXIES",
        `"${entry}" is not an IP address or CIDR network (e.g. 10.0.0.0/8, fd00::/8)`,
      );
  }
  return entries;
}

function tablesOrThrow(read: () => TableConfig[]): TableConfig[] {
  try {
    return read();
  } catch (error) {
    if (error instanceof TableConfigError) throw new ConfigError("TABLES", error.message);
    throw error;
  }
}

function validate(config: Config): void {
  if (config.slotBetMin > config.slotBetMax) {
    throw new ConfigError(
      "SLOT_BET_MIN",
      `${config.slotBetMin} is above SLOT_BET_MAX ${config.slotBetMax}`,
    );
  }
  if (
    config.slotBetMin % config.slotBetStep !== 0 ||
    config.slotBetMax % config.slotBetStep !== 0
  ) {
    throw new ConfigError("SLOT_BET_STEP", "SLOT_BET_MIN and SLOT_BET_MAX must be multiples of it");
  }
  if (config.slotBetStep % paylineCount !== 0) {
    throw new ConfigError(
      "SLOT_BET_STEP",
      `must be a multiple of the slot's ${paylineCount} paylines`,
    );
  }
  if (config.commandBurst < 1) throw new ConfigError("RATE_COMMAND_BURST", "must be at least 1");
}
