import { afterAll, describe, expect, test } from "bun:test";
import { JsonLogger, type LogLevel } from "../src/log.ts";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { ledgerWithMethod } from "../src/testing/ledgerWithMethod.ts";
import { newSession, RecordingSocket, startTestNode } from "./harness.ts";

afterAll(removeDataDirs);

describe("logging", () => {
  test("logging - a failure on every command is reported in a bounded number of JSON lines", async () => {
    const lines: { level: LogLevel; line: string }[] = [];
    const log = new JsonLogger("log-test-node", (level, line) => lines.push({ level, line }));
    const ledger = await openTempLedger();
    // Every spin's write fails as a full disk would; the session's starting credit goes through.
    const failing = ledgerWithMethod(ledger, "write", async (write) => {
      if (write.commandId.startsWith("s-")) throw new Error("database or disk is full (test)");
      return ledger.write(write);
    });
    await using node = await startTestNode({ actorRestartsMax: 3 }, {}, { ledger: failing, log });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    // One at a time, as a client retrying after each error does: each spin fails in its write.
    const spins = 60;
    for (let i = 0; i < spins; i++) {
      socket.send({ type: "spin", id: `s-${i}`, game: "slot", bet: 100 });
      const answer = await socket.waitFor((m) => m.id === `s-${i}`, 5_000);
      expect(answer.code).toBe("INTERNAL");
    }

    const parsed = lines.map(({ line }) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.every(({ line }) => !line.includes("\n"))).toBe(true);
    expect(parsed.every((line) => line.node === "log-test-node")).toBe(true);
    const count = (event: string) => parsed.filter((line) => line.event === event).length;
    // Sixty failures and as many restarts, a default window of 10 lines per event.
    expect(count("command failed")).toBeGreaterThan(0);
    expect(count("command failed")).toBeLessThanOrEqual(10);
    expect(count("actor restarted")).toBeLessThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(40);
    const failure = parsed.find((line) => line.event === "command failed");
    expect(String(failure?.cause ?? failure?.error)).toContain("database or disk is full (test)");
  });
});
