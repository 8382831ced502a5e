/**
 * A throwaway Postgres server for the tests of one process: `initdb` into a temporary directory,
 * then `postgres` as a child on a free port, listening on 127.0.0.1 only, with trust
 * authentication for the `postgres` user. Started on first use, shared by every suite of the
 * process, stopped (`pg_ctl stop -m fast`) and deleted when the process exits.
 *
 * Postgres refuses to run as root: as root, initdb and postgres run as the `postgres` user
 * (`runuser -u postgres --`), which then owns the directory.
 */

import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { runAtProcessExit } from "./exitWatchdog.ts";

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  pgCtl: string;
}

export type ThrowawayPostgresAvailability =
  | { url: string; skipReason?: undefined }
  | { url?: undefined; skipReason: string };

const installHint = "Install the Debian package postgresql (apt-get install postgresql)";
const readyTimeoutMs = 30_000;
const readyPollMs = 50;
const startAttemptsMax = 3;
const serverUser = "postgres";

/**
 * initdb, postgres and pg_ctl from one installation: the newest /usr/lib/postgresql/<version>/bin
 * (Debian's layout), else the PATH. Undefined when not all three are found.
 */
export function findPostgresBinaries(): PostgresBinaries | undefined {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((entry) => /^\d+(\.\d+)?$/.test(entry))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const version of versions) {
    const bin = join(root, version, "bin");
    const found = {
      initdb: join(bin, "initdb"),
      postgres: join(bin, "postgres"),
      pgCtl: join(bin, "pg_ctl"),
    };
    if (Object.values(found).every((path) => existsSync(path))) return found;
  }
  const initdb = Bun.which("initdb");
  const server = Bun.which("postgres");
  const pgCtl = Bun.which("pg_ctl");
  if (initdb && server && pgCtl) return { initdb, postgres: server, pgCtl };
  return undefined;
}

interface RunAs {
  /** Prefix for commands: `runuser -u postgres --` as root, nothing otherwise. */
  prefix: string[];
  owner?: { uid: number; gid: number };
}

function runAs(): RunAs | { error: string } {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const uid = idOf("-u");
  const gid = idOf("-g");
  if (uid === undefined || gid === undefined) {
    return { error: `running as root and there is no "${serverUser}" user to run Postgres as` };
  }
  const runuser = Bun.which("runuser");
  const prefix = runuser
    ? [runuser, "-u", serverUser, "--"]
    : [Bun.which("su") ?? "su", serverUser, "-s", "/bin/sh", "-c", '"$0" "$@"'];
  return { prefix, owner: { uid, gid } };
}

function idOf(flag: "-u" | "-g"): number | undefined {
  const result = Bun.spawnSync(["id", flag, serverUser], { stdout: "pipe", stderr: "ignore" });
  const id = Number.parseInt(result.stdout.toString().trim(), 10);
  return result.exitCode === 0 && Number.isInteger(id) ? id : undefined;
}

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

function readLog(path: string): string {
  try {
    return readFileSync(path, "utf8").trim().split("\n").slice(-20).join("\n");
  } catch {
    return "";
  }
}

/** Polls until the server answers a query, the child exits, or the timeout passes. */
async function waitUntilReady(
  url: string,
  exited: () => boolean,
  logPath: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  while (performance.now() < deadline) {
    if (exited()) throw new Error(`postgres exited while starting:\n${readLog(logPath)}`);
    const client = postgres(url, { max: 1, connect_timeout: 1, onnotice: () => {} });
    try {
      await client`SELECT 1`;
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await client.end({ timeout: 0 });
    }
    await Bun.sleep(readyPollMs);
  }
  throw new Error(
    `postgres did not accept connections within ${timeoutMs} ms (${String(lastError)}):\n` +
      readLog(logPath),
  );
}

export interface ThrowawayPostgres {
  /** URL of the `postgres` database, as the `postgres` superuser. */
  url: string;
  port: number;
  dir: string;
  /** `pg_ctl stop` for this server, without its `-m` (shutdown mode) argument. */
  stopCommand: string[];
  /** Stops the server (fast shutdown, waited for) and deletes its directory. Synchronous. */
  stop(): void;
}

/** initdb + postgres on a free port. Throws if the binaries are missing or it cannot start. */
export async function startThrowawayPostgres(
  binaries: PostgresBinaries | undefined = findPostgresBinaries(),
): Promise<ThrowawayPostgres> {
  if (binaries === undefined) throw new Error(`Postgres is not installed. ${installHint}`);
  const as = runAs();
  if ("error" in as) throw new Error(as.error);
  const dir = mkdtempSync(join(tmpdir(), "croupier-pg-"));
  const dataDir = join(dir, "data");
  const logPath = join(dir, "postgres.log");
  if (as.owner) chownSync(dir, as.owner.uid, as.owner.gid);
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const initdb = Bun.spawnSync(
      [
        ...as.prefix,
        binaries.initdb,
        "-D",
        dataDir,
        "-U",
        "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C.UTF-8",
        "--no-sync", // the cluster is thrown away; the server itself runs with fsync=on
      ],
      { stdout: "pipe", stderr: "pipe", env: { ...process.env, LC_ALL: "C.UTF-8" } },
    );
    if (initdb.exitCode !== 0) {
      throw new Error(`initdb failed (${initdb.exitCode}): ${initdb.stderr.toString().trim()}`);
    }
  } catch (error) {
    remove();
    throw error;
  }
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const child = Bun.spawn(
      [
        ...as.prefix,
        binaries.postgres,
        "-D",
        dataDir,
        "-p",
        String(port),
        "-k",
        dir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=on",
      ],
      { stdin: "ignore", stdout: "ignore", stderr: Bun.file(logPath) },
    );
    child.unref(); // the server must not keep the test process alive; the exit watchdog stops it
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let exited = false;
    void child.exited.then(() => {
      exited = true;
    });
    const stopCommand = [...as.prefix, binaries.pgCtl, "stop", "-D", dataDir, "-w", "-t", "10"];
    const stop = () => {
      if (!exited) {
        const stopped = Bun.spawnSync([...stopCommand, "-m", "fast"], {
          stdout: "ignore",
          stderr: "ignore",
        });
        if (stopped.exitCode !== 0) child.kill("SIGKILL");
      }
      remove();
    };
    try {
      await waitUntilReady(url, () => exited, logPath, readyTimeoutMs);
      return { url, port, dir, stopCommand, stop };
    } catch (error) {
      if (!exited) child.kill("SIGKILL");
      await child.exited;
      // Another process may have taken the port between freePort and the bind: try another.
      const portTaken = readLog(logPath).includes("could not bind");
      if (!portTaken || attempt >= startAttemptsMax) {
        remove();
        throw error;
      }
    }
  }
}

let shared: Promise<ThrowawayPostgresAvailability> | undefined;

/**
 * The process's throwaway server, started on first call; a skip reason naming the Debian package
 * when Postgres is not installed. A server that is installed but fails to start is an error.
 */
export function sharedThrowawayPostgres(): Promise<ThrowawayPostgresAvailability> {
  shared ??= (async (): Promise<ThrowawayPostgresAvailability> => {
    const binaries = findPostgresBinaries();
    if (binaries === undefined) {
      return {
        skipReason:
          "Postgres is not installed (no initdb/postgres/pg_ctl) and DATABASE_TEST_URL is unset: " +
          `Postgres tests skipped. ${installHint} or set DATABASE_TEST_URL`,
      };
    }
    const server = await startThrowawayPostgres(binaries);
    // Fast shutdown, else immediate; then the directory goes.
    runAtProcessExit(
      'dir="$1"; shift\n' + '"$@" -m fast || "$@" -m immediate\n' + 'rm -rf -- "$dir"',
      [server.dir, ...server.stopCommand],
    );
    return { url: server.url };
  })();
  return shared;
}
