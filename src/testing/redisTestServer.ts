/**
 * Redis for tests.
 *
 * - The shared server: `REDIS_TEST_URL`, or when unset a throwaway `redis-server` this process
 *   starts on a free port (once, on first use, shared by all its suites, killed at exit). If
 *   REDIS_TEST_URL does not answer, or it is unset and redis-server is not installed, Redis
 *   suites are skipped with a message saying how to get one; with `CROUPIER_REQUIRE_SERVICES=1`
 *   (CI) they fail instead, so a missing service is never mistaken for a pass. Each suite works
 *   under its own random key prefix and deletes its keys.
 * - Throwaway servers: a `redis-server` child on a free port, for tests that kill and restart
 *   Redis. The shared server is never restarted.
 */

import { afterAll, describe, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { Redis } from "ioredis";
import { runAtProcessExit } from "./exitWatchdog.ts";

const probeTimeoutMs = 1_000;
const serverStartTimeoutMs = 5_000;
const startAttemptsMax = 3;
/** SCAN rounds when deleting a test prefix: a test run never writes anywhere near this many. */
const cleanupScanRoundsMax = 1_000;

/** REDIS_TEST_URL, or undefined when unset (a throwaway server is used then). */
export function redisTestUrl(): string | undefined {
  return process.env.REDIS_TEST_URL || undefined;
}

/** CI sets this so that a missing Redis fails the run instead of skipping suites. */
export function servicesRequired(): boolean {
  return process.env.CROUPIER_REQUIRE_SERVICES === "1";
}

/** A prefix no other run uses, so runs sharing one Redis never see each other's keys. */
export function randomKeyPrefix(): string {
  return `croupier-test-${randomBytes(6).toString("hex")}`;
}

/** A connection for test code itself: fails fast, never retries, never queues. */
export function testClient(url: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: probeTimeoutMs,
    commandTimeout: probeTimeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => {}); // failures surface through the rejected commands
  return client;
}

/** True if a Redis server answers PING at `url` within a second. */
export async function probeRedis(url: string): Promise<boolean> {
  const client = testClient(url);
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export type RedisTarget =
  | { url: string; available: true }
  | { url: string; available: false; reason: string };

let sharedTarget: Promise<RedisTarget> | undefined;

/**
 * The shared test server, probed or started once per process: REDIS_TEST_URL, else a throwaway
 * redis-server (startThrowawayRedis) killed when the process exits.
 */
export function sharedRedis(): Promise<RedisTarget> {
  sharedTarget ??= (async (): Promise<RedisTarget> => {
    const url = redisTestUrl();
    if (url !== undefined) {
      if (await probeRedis(url)) return { url, available: true };
      return {
        url,
        available: false,
        reason:
          `nothing answers at REDIS_TEST_URL=${url}. Start that Redis, or unset REDIS_TEST_URL ` +
          "to use a throwaway redis-server (Debian/Ubuntu: apt-get install redis-server); set " +
          "CROUPIER_REQUIRE_SERVICES=1 to fail instead of skipping.",
      };
    }
    if (redisServerBinary() === undefined) {
      return {
        url: "",
        available: false,
        reason:
          "REDIS_TEST_URL is unset and redis-server is not installed. Install Redis " +
          "(Debian/Ubuntu: apt-get install redis-server) or point REDIS_TEST_URL at one; set " +
          "CROUPIER_REQUIRE_SERVICES=1 to fail instead of skipping.",
      };
    }
    return { url: await startSharedThrowawayRedis(), available: true };
  })();
  return sharedTarget;
}

/** A throwaway redis-server for the whole process: killed, and its directory deleted, at exit. */
async function startSharedThrowawayRedis(): Promise<string> {
  const server = await startThrowawayRedis();
  const client = testClient(server.url);
  let pid: string | undefined;
  let dir: string | undefined;
  try {
    await client.connect();
    pid = /^process_id:(\d+)/m.exec(await client.info("server"))?.[1];
    dir = ((await client.config("GET", "dir")) as string[])[1];
  } finally {
    client.disconnect();
  }
  if (pid === undefined || dir === undefined || !dir.includes("croupier-redis-")) {
    await server[Symbol.asyncDispose]();
    throw new Error(`throwaway redis-server at ${server.url}: no process_id or dir`);
  }
  // SIGKILL: the server never persists, so there is nothing to shut down cleanly.
  runAtProcessExit('kill -KILL "$1"; rm -rf -- "$2"', [pid, dir]);
  return server.url;
}

/**
 * `describe` that needs a Redis: skipped with the reason when there is none, or a failing test
 * when CROUPIER_REQUIRE_SERVICES=1.
 */
export function describeWithRedis(
  target: RedisTarget,
  name: string,
  body: (url: string) => void,
): void {
  if (target.available) {
    describe(name, () => body(target.url));
    return;
  }
  if (servicesRequired()) {
    describe(name, () => {
      test(`${name} - needs Redis (CROUPIER_REQUIRE_SERVICES=1)`, () => {
        throw new Error(`Redis is required: ${target.reason}`);
      });
    });
    return;
  }
  console.warn(`skipping "${name}": ${target.reason}`);
  describe.skip(name, () => body(target.url));
}

/**
 * `describe` for tests that start their own `redis-server` (startThrowawayRedis): skipped when
 * the binary is missing, or a failing test when CROUPIER_REQUIRE_SERVICES=1.
 */
export function describeWithRedisServer(name: string, body: () => void): void {
  if (redisServerBinary() !== undefined) {
    describe(name, body);
    return;
  }
  const reason =
    "redis-server is not installed (Debian/Ubuntu: apt-get install redis-server); set " +
    "CROUPIER_REQUIRE_SERVICES=1 to fail instead of skipping.";
  if (servicesRequired()) {
    describe(name, () => {
      test(`${name} - needs redis-server (CROUPIER_REQUIRE_SERVICES=1)`, () => {
        throw new Error(reason);
      });
    });
    return;
  }
  console.warn(`skipping "${name}": ${reason}`);
  describe.skip(name, body);
}

/**
 * Deletes every key whose name starts with `keyPrefix` (so also those of sub-prefixes such as
 * `<keyPrefix>-1`); answers how many there were.
 */
export async function deleteKeysWithPrefix(url: string, keyPrefix: string): Promise<number> {
  const client = testClient(url);
  await client.connect();
  try {
    let cursor = "0";
    let deleted = 0;
    for (let round = 0; round < cleanupScanRoundsMax; round += 1) {
      const [next, keys] = await client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1_000);
      if (keys.length > 0) deleted += await client.unlink(...keys);
      cursor = next;
      if (cursor === "0") return deleted;
    }
    throw new Error(`keys under ${keyPrefix} not all deleted after ${cleanupScanRoundsMax} rounds`);
  } finally {
    client.disconnect();
  }
}

/** A random key prefix for the calling suite, whose keys are deleted after it. */
export function suiteKeyPrefix(target: RedisTarget): string {
  const keyPrefix = randomKeyPrefix();
  afterAll(async () => {
    if (target.available) await deleteKeysWithPrefix(target.url, keyPrefix);
  });
  return keyPrefix;
}

/** The `redis-server` binary, or undefined when not installed. */
export function redisServerBinary(): string | undefined {
  return Bun.which("redis-server") ?? undefined;
}

export interface ThrowawayRedis extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  /** SIGKILL: no shutdown, no goodbye to clients, like a crash. Resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts a fresh, empty server on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that hangs with its connections still open, then recovers. */
  pause(): void;
  resume(): void;
}

/**
 * A redis-server child on a free port with no persistence (`--save "" --appendonly no`).
 * Extra arguments are appended, e.g. `["--maxmemory-policy", "allkeys-lru"]`.
 */
export async function startThrowawayRedis(extraArgs: string[] = []): Promise<ThrowawayRedis> {
  const binary = redisServerBinary();
  if (binary === undefined) {
    throw new Error("redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)");
  }
  const dir = mkdtempSync(join(tmpdir(), "croupier-redis-"));
  let port = 0;
  let child: Subprocess<"ignore", "pipe", "ignore"> | undefined;
  // Another process may take the free port before redis-server binds it: try a few.
  for (let attempt = 1; child === undefined; attempt += 1) {
    port = await freePort();
    try {
      child = await spawnRedisServer(binary, port, dir, extraArgs);
    } catch (error) {
      if (attempt >= startAttemptsMax) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const url = `redis://127.0.0.1:${port}`;
  let running: Subprocess<"ignore", "pipe", "ignore"> = child;
  const kill = async () => {
    running.kill("SIGKILL");
    await running.exited;
  };
  return {
    url,
    port,
    kill,
    async restart() {
      await kill();
      running = await spawnRedisServer(binary, port, dir, extraArgs);
    },
    pause: () => running.kill("SIGSTOP"),
    resume: () => running.kill("SIGCONT"),
    async [Symbol.asyncDispose]() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port the OS says is free now; a server started right after almost always gets it. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function spawnRedisServer(
  binary: string,
  port: number,
  dir: string,
  extraArgs: string[],
): Promise<Subprocess<"ignore", "pipe", "ignore">> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = Bun.spawn([binary, ...args, "--dir", dir, ...extraArgs], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "ignore", // redis-server logs to stdout
  });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), serverStartTimeoutMs);
  try {
    // Bounded by the timer: killing the child ends the stream.
    while (!output.includes("Ready to accept connections")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`redis-server on port ${port} did not start: ${output}`);
      output += decoder.decode(value);
    }
  } finally {
    clearTimeout(timer);
  }
  reader.releaseLock();
  void child.stdout.pipeTo(new WritableStream()); // keep draining so the child never blocks
  return child;
}
