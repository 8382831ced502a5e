import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evaluateStops } from "../src/games/slot/evaluate.ts";
import { linePays, scatterPays } from "../src/games/slot/paytable.ts";
import { RedisRateLimiter } from "../src/redis/rateLimiter.ts";
import { readRowsMax } from "../src/store/embedded/reader.ts";
import {
  ConfigError,
  checkDataDir,
  environmentKeys,
  loadConfig,
  setButEmptyReason,
} from "./load.ts";
import type { TableConfig } from "./tables.ts";

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  test("config - defaults give dev mode on loopback", () => {
    const config = loadConfig({});
    expect(config.operatorKey).toBeUndefined();
    expect(config.host).toBe("127.0.0.1");
    expect(config.heartbeatMs).toBe(15_000);
    expect(config.commandsPerSecond).toBe(50);
    expect(config.commandBurst).toBe(100);
  });

  test("config - operator mode binds all interfaces unless HOST says otherwise", () => {
    expect(loadConfig({ OPERATOR_KEY: "k".repeat(32) }).host).toBe("0.0.0.0");
    expect(loadConfig({ OPERATOR_KEY: "k".repeat(32), HOST: "10.0.0.5" }).host).toBe("10.0.0.5");
  });

  test("config - dev mode stays on loopback unless exposed on purpose", () => {
    expect(refusal({ HOST: "0.0.0.0" })).toContain("config HOST: 0.0.0.0 is not loopback");
    expect(refusal({ HOST: "10.0.0.5" })).toContain("DEV_MODE_PUBLIC=1");
    expect(loadConfig({ HOST: "0.0.0.0", DEV_MODE_PUBLIC: "1" }).host).toBe("0.0.0.0");
    expect(loadConfig({ HOST: "127.0.0.2" }).host).toBe("127.0.0.2");
    expect(loadConfig({ HOST: "::1" }).host).toBe("::1");
    for (const host of ["localhost", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "[::1]"])
      expect(loadConfig({ HOST: host }).host).toBe(host);
    expect(refusal({ HOST: "[127.0.0.1]" })).toContain("is not an IP address or a host name");
    expect(refusal({ METRICS_PORT: "8080" })).toBe(
      "config METRICS_PORT: 8080 is PORT too; give metrics a port of their own",
    );
  });

  test("config - trusted proxies are addresses or CIDR networks, each checked", () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(
      loadConfig({ TRUSTED_PROXIES: "10.0.0.0/8, fd00::/8,192.0.2.7" }).trustedProxies,
    ).toEqual(["10.0.0.0/8", "fd00::/8", "192.0.2.7"]);
    expect(refusal({ TRUSTED_PROXIES: "10.0.0.0/8,10.0.0.0/33" })).toBe(
      'config TRUSTED_PROXIES: "10.0.0.0/33" is not an IP address or CIDR network (e.g. 10.0.0.0/8, fd00::/8)',
    );
    expect(refusal({ TRUSTED_PROXIES: "10.0.0.0/8," })).toContain('"" is not an IP address');
    expect(refusal({ TRUSTED_PROXIES: "lb.internal" })).toContain('"lb.internal" is not');
    expect(refusal({ TRUSTED_PROXIES: " " })).toBe(
      "config TRUSTED_PROXIES: is set but empty; unset it to use the default, or give a value",
    );
  });

  test("config - an operator key that no Bearer header could carry is refused", () => {
    for (const key of [
      "operator-key-0123456789\n",
      "operator key with spaces",
      "operator-key-\t0123456",
    ]) {
      expect(refusal({ OPERATOR_KEY: key })).toBe(
        "config OPERATOR_KEY: must be visible ASCII characters only (no spaces, newlines or other whitespace)",
      );
    }
  });

  test("config - environment overrides are parsed as integers with units", () => {
    const config = loadConfig({ HEARTBEAT_MS: "250", ACTOR_MAILBOX_CAPACITY: "8", PORT: "0" });
    expect([config.heartbeatMs, config.mailboxCapacity, config.port]).toEqual([250, 8, 0]);
  });

  test("config - a bad value names the key and the reason", () => {
    expect(refusal({ HEARTBEAT_MS: "fast" })).toBe('config HEARTBEAT_MS: "fast" is not an integer');
    expect(refusal({ HEARTBEAT_MS: "1.5" })).toContain("HEARTBEAT_MS");
    expect(refusal({ PORT: "70000" })).toBe("config PORT: 70000 is outside 0..65535");
    expect(refusal({ ACTOR_MAILBOX_CAPACITY: "0" })).toContain("ACTOR_MAILBOX_CAPACITY");
    expect(refusal({ OPERATOR_KEY: "short" })).toContain("OPERATOR_KEY");
    expect(refusal({ DATABASE_URL: "mysql://x" })).toContain("DATABASE_URL");
    // Set but empty (an unfilled template) is not "unset": no silent dev mode or embedded ledger.
    for (const key of [
      "OPERATOR_KEY",
      "DATABASE_URL",
      "REDIS_URL",
      "NATS_URL",
      "PORT",
      "HOST",
      "DATA_DIR",
      "CURRENCY",
      "NODE_ID",
      "REDIS_KEY_PREFIX",
      "TABLES",
    ]) {
      expect(refusal({ [key]: "" })).toBe(`config ${key}: ${setButEmptyReason}`);
      expect(refusal({ [key]: "  " })).toBe(`config ${key}: ${setButEmptyReason}`);
    }
    expect(refusal({ REDIS_URL: "not a url" })).toBe("config REDIS_URL: is not a URL");
    // An integer is exactly digits: no whitespace around it (a stray newline from a file).
    expect(refusal({ PORT: " 0 " })).toBe('config PORT: " 0 " is not an integer');
    expect(refusal({ RATE_COMMANDS_PER_SECOND: "\n50\n" })).toContain("is not an integer");
    expect(refusal({ CURRENCY: "euro" })).toContain("CURRENCY");
    expect(refusal({ SLOT_BET_MIN: "400", SLOT_BET_MAX: "200" })).toContain("SLOT_BET_MIN");
    expect(refusal({ SLOT_BET_STEP: "30", SLOT_BET_MIN: "30", SLOT_BET_MAX: "300" })).toContain(
      "SLOT_BET_STEP",
    );
  });

  test("config - HOST is an IP address or a host name", () => {
    const operator = { OPERATOR_KEY: "k".repeat(32) };
    for (const host of [
      "0.0.0.0",
      "::",
      "[::]",
      "10.1.2.3",
      "fd00::1",
      "node-1.internal",
      "localhost",
      "my_service",
      "node-1.internal.",
    ])
      expect(loadConfig({ ...operator, HOST: host }).host).toBe(host);
    for (const host of [
      "not a host!",
      "256.1.1.1",
      "1.2.3",
      "-lead.example",
      "a..b",
      "x".repeat(64),
    ])
      expect(refusal({ ...operator, HOST: host })).toContain(
        `config HOST: "${host}" is not an IP address`,
      );
  });

  test("config - DATA_DIR must be creatable and writable when the ledger is embedded", () => {
    const parent = mkdtempSync(join(tmpdir(), "croupier-config-"));
    try {
      const fresh = join(parent, "a", "b");
      checkDataDir(loadConfig({ DATA_DIR: fresh }));
      expect(statSync(fresh).isDirectory()).toBe(true);
      const file = join(parent, "a-file");
      writeFileSync(file, "");
      const blocked = join(file, "ledger");
      expect(() => checkDataDir(loadConfig({ DATA_DIR: blocked }))).toThrow(
        `config DATA_DIR: ${blocked} cannot be created or written (ENOTDIR)`,
      );
      // With Postgres the directory is not used, and not checked.
      checkDataDir(loadConfig({ DATA_DIR: blocked, DATABASE_URL: "postgres://db/x" }));
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  test("config - REPLAY_EVENTS_MAX is at most what one ledger read returns", () => {
    expect(loadConfig({ REPLAY_EVENTS_MAX: String(readRowsMax) }).replayEventsMax).toBe(
      readRowsMax,
    );
    expect(refusal({ REPLAY_EVENTS_MAX: String(readRowsMax + 1) })).toBe(
      `config REPLAY_EVENTS_MAX: ${readRowsMax + 1} is outside 1..${readRowsMax} ` +
        "(the ledger reads at most that many events at once)",
    );
  });

  test("config - RATE_LIMIT_KEYS_MAX is at most what the Redis limiter's fallback tracks", async () => {
    const { rateLimitKeysMax } = loadConfig({ RATE_LIMIT_KEYS_MAX: "10000000" });
    expect(rateLimitKeysMax).toBe(10_000_000);
    // The limiter takes the largest value the config accepts (no Redis needed to build one).
    const limiter = new RedisRateLimiter({
      url: "redis://127.0.0.1:1",
      keyPrefix: "config-test",
      localKeysMax: rateLimitKeysMax,
    });
    await limiter.close();
    expect(refusal({ RATE_LIMIT_KEYS_MAX: "10000001" })).toBe(
      "config RATE_LIMIT_KEYS_MAX: 10000001 is outside 100..10000000 " +
        "(the Redis rate limiter's local fallback tracks at most that many keys)",
    );
  });

  test("config - SLOT_BET_MAX keeps the top slot win a safe integer", () => {
    // Every line at the top line pay plus the top scatter pay, in multiples of the total bet.
    const winPerBetMax = Math.max(...Object.values(linePays).flat()) + Math.max(...scatterPays);
    const betMax = Math.floor(Number.MAX_SAFE_INTEGER / winPerBetMax);
    const step = 20;
    const largestBet = betMax - (betMax % step);
    const config = loadConfig({ SLOT_BET_MAX: String(largestBet), SLOT_BET_STEP: String(step) });
    expect(config.slotBetMax).toBe(largestBet);
    expect(Number.isSafeInteger(largestBet * winPerBetMax)).toBe(true);
    // The stops of the reels' top win (docs/PAR-slot.md) pay a safe integer at that bet.
    expect(Number.isSafeInteger(evaluateStops([30, 16, 19, 11, 7], largestBet).win)).toBe(true);
    for (const tooLarge of [largestBet + step, 9_007_199_254_740_980]) {
      expect(refusal({ SLOT_BET_MAX: String(tooLarge) })).toBe(
        `config SLOT_BET_MAX: ${tooLarge} is outside 1..${betMax} ` +
          `(a spin wins up to ${winPerBetMax} x its bet, which must stay a safe integer)`,
      );
    }
  });

  test("config - TABLES is a JSON array of tables, checked field by field", () => {
    expect(loadConfig({}).tables.map((table) => table.id)).toEqual(["roulette-1"]);
    const table = {
      id: "vip",
      game: "roulette",
      minBet: 500,
      maxBet: 50_000,
      bettingWindowMs: 20_000,
      resultDisplayMs: 4_000,
    };
    // The optional bounds take their defaults when not given.
    expect(loadConfig({ TABLES: JSON.stringify([table]) }).tables).toEqual([
      { ...table, seatsMax: 10_000, betsPerRoundMax: 10_000 } as TableConfig,
    ]);
    const bounded = { ...table, seatsMax: 3, betsPerRoundMax: 100_000 };
    expect(loadConfig({ TABLES: JSON.stringify([bounded]) }).tables).toEqual([
      bounded as TableConfig,
    ]);
    expect(loadConfig({ TABLES: "[]" }).tables).toEqual([]);
    const bad = (tables: unknown) => refusal({ TABLES: JSON.stringify(tables) });
    expect(refusal({ TABLES: "{oops" })).toBe("config TABLES: is not valid JSON");
    expect(bad({ ...table })).toBe("config TABLES: must be a JSON array of tables");
    expect(bad([{ ...table, id: "no spaces" }])).toContain("[0].id");
    expect(bad([table, table])).toContain('[1].id "vip" appears twice');
    expect(bad([{ ...table, game: "blackjack" }])).toContain("[0].game");
    expect(bad([{ ...table, minBet: 1.5 }])).toContain("[0].minBet");
    expect(bad([{ ...table, maxBet: 100 }])).toContain("[0].maxBet");
    expect(bad([{ ...table, bettingWindowMs: 5 }])).toContain("[0].bettingWindowMs");
    expect(bad([{ ...table, resultDisplayMs: "1s" }])).toContain("[0].resultDisplayMs");
    for (const key of ["seatsMax", "betsPerRoundMax"]) {
      for (const wrong of [0, -1, 2.5, "10", null, 100_001]) {
        expect(bad([table, { ...table, id: "other", [key]: wrong }])).toBe(
          `config TABLES: [1].${key} must be an integer in 1..100000 (default 10000)`,
        );
      }
    }
    // Tables given in code are checked the same way.
    expect(() => loadConfig({}, { tables: [{ ...table, minBet: 0 }] as never })).toThrow(
      "config TABLES: [0].minBet",
    );
  });

  test("config - the node refuses to start on a bad value and says which", () => {
    const result = Bun.spawnSync(
      [process.execPath, new URL("../src/main.ts", import.meta.url).pathname],
      {
        env: { ...process.env, HEARTBEAT_MS: "-5", PORT: "0" },
      },
    );
    expect(result.exitCode).toBe(78);
    expect(result.stderr.toString()).toContain("HEARTBEAT_MS");
  });

  test("config - every environment key the node reads has its row in the README", async () => {
    const readme = await Bun.file(new URL("../README.md", import.meta.url)).text();
    const undocumented = environmentKeys.filter((key) => !readme.includes(`| \`${key}\` |`));
    expect(undocumented).toEqual([]);
  });
});
