import { describe, expect, test } from "bun:test";
import { environmentKeys } from "./load.ts";
import { misspelledKeys } from "./misspelled.ts";

describe("misspelled config keys", () => {
  test("config - a key a typo away from one the node reads is named with the key meant", () => {
    const env = {
      OPERATOR_KY: "x",
      DATABSE_URL: "x",
      RATE_COMMANDS_PER_SECODN: "x",
      operator_key: "x",
      HEARTBEAT_MS: "1000",
    };
    expect(misspelledKeys(env, environmentKeys)).toEqual([
      { key: "OPERATOR_KY", meant: "OPERATOR_KEY" },
      { key: "DATABSE_URL", meant: "DATABASE_URL" },
      { key: "RATE_COMMANDS_PER_SECODN", meant: "RATE_COMMANDS_PER_SECOND" },
      { key: "operator_key", meant: "OPERATOR_KEY" },
    ]);
  });

  test("config - other programs' variables are left alone", () => {
    const env = {
      PATH: "/bin",
      HOME: "/root",
      HOSTNAME: "vm",
      NODE_ENV: "x",
      TERM: "xterm",
      PGHOST: "db",
      PGPORT: "5432",
      DEVHOST: "x",
    };
    expect(misspelledKeys({ ...env, PWD: "/", LANG: "C" }, environmentKeys)).toEqual([]);
  });
});
