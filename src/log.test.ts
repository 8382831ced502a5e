import { describe, expect, test } from "bun:test";
import { JsonLogger, type LogLevel } from "./log.ts";
import { waitFor } from "./testing/waitFor.ts";

function recordingLogger(limits = { linesPerWindowMax: 3, windowMs: 1_000 }) {
  const lines: { level: LogLevel; line: string }[] = [];
  let nowMs = 1_700_000_000_000;
  const log = new JsonLogger(
    "node-a",
    (level, line) => lines.push({ level, line }),
    limits,
    () => nowMs,
  );
  return {
    log,
    lines,
    parsed: () => lines.map(({ line }) => JSON.parse(line) as Record<string, unknown>),
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

describe("log", () => {
  test("log - one JSON line per event with time, level, node, event and fields", () => {
    const { log, lines, parsed } = recordingLogger();
    log.warn("table step failed", { table: "roulette-1", step: "settling" });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe("warn");
    expect(lines[0]?.line).not.toContain("\n");
    expect(parsed()[0]).toEqual({
      ts: "2023-11-14T22:13:20.000Z",
      level: "warn",
      node: "node-a",
      event: "table step failed",
      table: "roulette-1",
      step: "settling",
    });
  });

  test("log - an error keeps its message, causes and stack inside the one line", () => {
    const { log, lines, parsed } = recordingLogger();
    const cause = Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
    log.error("command failed", new Error("the outcome is unknown", { cause }), { playerId: "p1" });
    expect(lines[0]?.line.split("\n")).toHaveLength(1);
    const [line] = parsed();
    expect(line?.error).toBe("the outcome is unknown");
    expect(line?.errorName).toBe("Error");
    expect(line?.cause).toBe("Error: disk I/O error");
    expect(String(line?.stack)).toContain("disk I/O error");
    expect(line?.playerId).toBe("p1");
    log.warn("odd value", {}, "not an Error");
    expect(parsed()[1]?.error).toBe("not an Error");
  });

  test("log - an event repeated past its window's limit is suppressed, then counted in a line of its own", async () => {
    const { log, parsed, advance } = recordingLogger({ linesPerWindowMax: 3, windowMs: 1_000 });
    for (let i = 0; i < 50; i++) log.error("command failed", new Error(`failure ${i}`));
    log.warn("another event");
    expect(parsed().map((line) => line.event)).toEqual([
      "command failed",
      "command failed",
      "command failed",
      "another event",
    ]);
    advance(999);
    log.error("command failed", new Error("still inside the window"));
    expect(parsed()).toHaveLength(4);
    advance(1);
    log.error("command failed", new Error("next window"));
    const [summary, next] = parsed().slice(-2);
    expect(summary).toMatchObject({ event: "command failed", level: "error", suppressed: 48 });
    expect(next?.error).toBe("next window");
    expect(next?.suppressed).toBeUndefined();
  });

  test("log - a window that ends suppressed is reported by flush even if its event never comes again", () => {
    const { log, parsed, advance } = recordingLogger({ linesPerWindowMax: 1, windowMs: 1_000 });
    for (let i = 0; i < 5; i++) log.warn("table step failed", { table: "a", step: "seat" });
    log.flush();
    expect(parsed()).toHaveLength(1); // the window has not ended yet
    advance(1_000);
    log.flush();
    expect(parsed().at(-1)).toMatchObject({
      event: "table step failed",
      table: "a",
      suppressed: 4,
    });
    log.flush();
    expect(parsed()).toHaveLength(2);
  });

  test("log - the flush timer reports a suppressed window by itself", async () => {
    const lines: string[] = [];
    const log = new JsonLogger(
      "node-t",
      (_level, line) => lines.push(line),
      { linesPerWindowMax: 1, windowMs: 30 },
      Date.now,
      10,
    );
    try {
      for (let i = 0; i < 5; i++) log.warn("redis error", { role: "sessions" });
      expect(lines).toHaveLength(1);
      await waitFor(() => lines.length === 2, 2_000, "the timer's summary line");
      expect(JSON.parse(lines[1] as string)).toMatchObject({ event: "redis error", suppressed: 4 });
    } finally {
      log.close();
    }
  });

  test("log - one table's burst does not hide another table's failure", () => {
    const { log, parsed } = recordingLogger({ linesPerWindowMax: 2, windowMs: 1_000 });
    for (let i = 0; i < 10; i++) log.warn("table step failed", { table: "a", step: "seat" });
    log.warn("table step failed", { table: "b", step: "settling round", roundId: "r1" });
    log.warn("table step failed", { table: "a", step: "settling round", roundId: "r2" });
    // Round ids do not key windows: a hundred failing rounds of one table stay within its window.
    for (let i = 0; i < 100; i++)
      log.warn("table step failed", { table: "c", step: "settling round", roundId: `r-${i}` });
    const lines = parsed();
    expect(lines.filter((line) => line.table === "a" && line.step === "seat")).toHaveLength(2);
    expect(lines.some((line) => line.table === "b")).toBe(true);
    expect(lines.some((line) => line.roundId === "r2")).toBe(true);
    expect(lines.filter((line) => line.table === "c")).toHaveLength(2);
  });

  test("log - a field JSON cannot write does not cost the line", () => {
    const { log, parsed } = recordingLogger();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    log.info("big", { amount: 2n ** 64n });
    log.info("cyclic", { cycle });
    expect(parsed()).toEqual([
      expect.objectContaining({ event: "big", amount: "18446744073709551616" }),
      expect.objectContaining({ event: "cyclic", level: "info", node: "node-a" }),
    ]);
  });
});
