import { describe, expect, test } from "bun:test";
import { SeqTracker } from "./seqTracker.ts";

describe("seq tracker", () => {
  test("seq tracker - the next seq is delivered and advances", () => {
    const seqs = new SeqTracker(4);
    expect(seqs.receive(5)).toBe("next");
    expect(seqs.receive(6)).toBe("next");
    expect(seqs.lastDelivered).toBe(6);
  });

  test("seq tracker - a seq at or below the last delivered is a duplicate", () => {
    const seqs = new SeqTracker(4);
    expect(seqs.receive(4)).toBe("duplicate");
    expect(seqs.receive(1)).toBe("duplicate");
    expect(seqs.lastDelivered).toBe(4);
  });

  test("seq tracker - a gap never advances, so the missing seq is still wanted", () => {
    const seqs = new SeqTracker(4);
    expect(seqs.receive(6)).toBe("gap");
    expect(seqs.receive(7)).toBe("gap");
    expect(seqs.lastDelivered).toBe(4);
    // The replay fills it in order; the message beyond the gap then counts once.
    expect(seqs.receive(5)).toBe("next");
    expect(seqs.receive(6)).toBe("next");
    expect(seqs.receive(6)).toBe("duplicate");
    expect(seqs.lastDelivered).toBe(6);
  });

  test("seq tracker - messages the server no longer has are skipped, never gone back to", () => {
    const seqs = new SeqTracker(4);
    seqs.skipLostBefore(9);
    expect(seqs.lastDelivered).toBe(8);
    expect(seqs.receive(9)).toBe("next");
    seqs.skipLostBefore(3);
    expect(seqs.lastDelivered).toBe(9);
  });

  test("seq tracker - a fresh start counts everything up to the welcome's seq as seen", () => {
    const seqs = new SeqTracker(0);
    seqs.startAfter(12);
    expect(seqs.receive(12)).toBe("duplicate");
    expect(seqs.receive(13)).toBe("next");
  });
});
