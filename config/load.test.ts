import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "./load.ts";

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
    expect(refusal({ REDIS_URL: "not a url" })).toBe("config REDIS_URL: is not a URL");
    expect(refusal({ CURRENCY: "euro" })).toContain("CURRENCY");
    expect(refusal({ SLOT_BET_MIN: "400", SLOT_BET_MAX: "200" })).toContain("SLOT_BET_MIN");
    expect(refusal({ SLOT_BET_STEP: "30", SLOT_BET_MIN: "30", SLOT_BET_MAX: "300" })).toContain(
      "SLOT_BET_STEP",
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
});
