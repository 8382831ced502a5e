import { describe, expect, test } from "bun:test";
import { CommandError, parseCommand } from "./commands.ts";

function errorOf(frame: unknown): { code: string; id: string | null } {
  try {
    parseCommand(frame);
  } catch (error) {
    if (error instanceof CommandError) return { code: error.code, id: error.commandId };
    throw error;
  }
  throw new Error("expected a CommandError");
}

describe("commands", () => {
  test("commands - parses a spin and a ping", () => {
    expect(parseCommand('{"type":"spin","id":"a1","game":"slot","bet":100,"extra":1}')).toEqual({
      type: "spin",
      id: "a1",
      game: "slot",
      bet: 100,
    });
    expect(parseCommand({ type: "ping", id: "p.1:x-y_z" })).toEqual({
      type: "ping",
      id: "p.1:x-y_z",
    });
  });

  test("commands - refuses malformed frames with BAD_REQUEST", () => {
    expect(errorOf("{not json")).toEqual({ code: "BAD_REQUEST", id: null });
    expect(errorOf("[1,2]")).toEqual({ code: "BAD_REQUEST", id: null });
    expect(errorOf("42")).toEqual({ code: "BAD_REQUEST", id: null });
    expect(errorOf({ id: "x" })).toEqual({ code: "BAD_REQUEST", id: "x" });
    expect(errorOf({ type: "spin" })).toEqual({ code: "BAD_REQUEST", id: null });
    expect(errorOf({ type: "spin", id: "x".repeat(65), game: "slot", bet: 1 }).code).toBe(
      "BAD_REQUEST",
    );
    expect(errorOf({ type: "spin", id: "bad id", game: "slot", bet: 1 }).code).toBe("BAD_REQUEST");
    expect(errorOf({ type: "launch", id: "x" })).toEqual({ code: "BAD_REQUEST", id: "x" });
  });

  test("commands - money must be a positive safe integer", () => {
    for (const bet of [1.5, -100, 0, "100", null, 2 ** 53, Number.NaN, true]) {
      expect(errorOf({ type: "spin", id: "s", game: "slot", bet })).toEqual({
        code: "BAD_REQUEST",
        id: "s",
      });
    }
    expect(errorOf({ type: "spin", id: "s", game: 7, bet: 100 })).toEqual({
      code: "BAD_REQUEST",
      id: "s",
    });
  });
});
