import { expect, test } from "bun:test";
import { safeInteger, safeIntegerOrNull } from "./integers.ts";

test("integers - BIGINT text converts exactly, or not at all", () => {
  expect(safeInteger("0", "x")).toBe(0);
  expect(safeInteger("-1500", "x")).toBe(-1_500);
  expect(safeInteger("9007199254740991", "x")).toBe(Number.MAX_SAFE_INTEGER);
  expect(safeInteger(42, "x")).toBe(42);
  expect(safeInteger(7n, "x")).toBe(7);
  expect(safeIntegerOrNull(null, "x")).toBeNull();
  // One past the safe range would round to a neighbour: money made or lost.
  expect(() => safeInteger("9007199254740993", "balance")).toThrow(/balance/);
  expect(() => safeInteger(2n ** 60n, "x")).toThrow();
  for (const text of ["1e3", " 12", "0x10", "1.5", "", "-0"]) {
    expect(() => safeInteger(text, "x")).toThrow();
  }
  expect(() => safeInteger(1.5, "x")).toThrow();
  expect(() => safeInteger(null, "x")).toThrow();
});
