import { describe, expect, test } from "bun:test";
import { sharedAnswer } from "./sharedAnswer.ts";

describe("shared answer", () => {
  test("shared answer - callers within the period share one load; after it, the next loads again", async () => {
    let nowMs = 0;
    let loads = 0;
    const get = sharedAnswer(
      1_000,
      async () => {
        loads += 1;
        return loads;
      },
      () => nowMs,
    );
    const first = await Promise.all(Array.from({ length: 100 }, get));
    expect(new Set(first)).toEqual(new Set([1]));
    nowMs = 999;
    expect(await get()).toBe(1);
    nowMs = 1_000;
    expect(await get()).toBe(2);
    expect(loads).toBe(2);
  });

  test("shared answer - a failed load is not kept", async () => {
    let fail = true;
    let loads = 0;
    const get = sharedAnswer(60_000, async () => {
      loads += 1;
      if (fail) throw new Error("ledger down (test)");
      return "listing";
    });
    await expect(get()).rejects.toThrow("ledger down (test)");
    fail = false;
    expect(await get()).toBe("listing");
    expect(loads).toBe(2);
  });
});
