import { expect, test } from "bun:test";
import type { WalletWrite } from "../ledger.ts";
import { betWrite, depositWrite, spinWrite } from "../ledgerContract.ts";
import { betWriteOn, newRound, settlementWriteOn } from "../tableRoundContract.ts";
import type { WriteResult } from "./batchWriter.ts";
import {
  appendWrite,
  decodeResults,
  decodeWrites,
  encodeResults,
  writesTag,
} from "./writerProtocol.ts";

/** Encodes as the client does, clones as postMessage does, decodes as the worker does. */
function roundTrip(writes: WalletWrite[]): WalletWrite[] {
  const flat: unknown[] = [writesTag];
  writes.forEach((write, index) => {
    appendWrite(flat, index + 1, write);
  });
  const decoded = decodeWrites(structuredClone(flat));
  expect(decoded.map((numbered) => numbered.id)).toEqual(writes.map((_, index) => index + 1));
  return decoded.map((numbered) => numbered.write);
}

test("ledger - writes cross to the writer unchanged: rounds, events, postings without kind", () => {
  const writes = [
    spinWrite("p1", 2, "s1", 100, 250),
    depositWrite("p2", 1, "d1", 5_000),
    { ...spinWrite("p3", 7, "s9", 20, 0), reply: 'he said "\\u0000" \n' },
    betWrite("p4", 3, "b1", 40, 80),
  ];
  expect(roundTrip(writes)).toEqual(writes);
});

test("ledger - table bets and settlements cross with their round link", () => {
  const round = newRound("t1");
  const writes = [
    betWriteOn(round, "p1", 2, "b1", { kind: "straight", pick: 0, clientSeed: 'a "seed"' }),
    betWriteOn(round, "p2", 5, "b2", { kind: "red", pick: null, clientSeed: null }),
    settlementWriteOn(round, "p1", 3, "payout", 3_600),
    settlementWriteOn(round, "p3", 9, "refund", 0),
  ];
  expect(roundTrip(writes)).toEqual(writes);
});

test("ledger - a malformed round link stays malformed; one JSON cannot hold is refused", () => {
  const base = betWriteOn(newRound(), "p1", 2, "b1");
  const malformed = [
    { ...base, tableRound: null },
    { ...base, tableRound: { ...base.tableRound, bet: { kind: "red", amount: Number.NaN } } },
  ] as unknown as WalletWrite[];
  const decoded = roundTrip(malformed) as unknown as Record<string, unknown>[];
  expect(decoded[0]?.tableRound).toBeNull();
  expect(decoded[1]?.tableRound).toMatchObject({ bet: { kind: "red", amount: null } });
  // Dropping it would let a table bet through unchecked.
  const unreadable = { ...base, tableRound: () => "bet" } as unknown as WalletWrite;
  expect(() => appendWrite([writesTag], 1, unreadable)).toThrow(TypeError);
});

test("ledger - a malformed write stays malformed on the way, so the writer refuses it", () => {
  const base = depositWrite("p1", 1, "d1", 100);
  const malformed = [
    { ...base, event: null },
    { ...base, reply: undefined, event: undefined },
    { ...base, seq: "1" },
    { ...base, postings: [{ account: "cash", amount: 10n }] },
    { ...base, wager: {} },
    { ...base, wager: null },
    { ...base, wager: { amount: "10" } },
  ] as unknown as WalletWrite[];
  const decoded = roundTrip(malformed) as unknown as Record<string, unknown>[];
  // A wager without a usable amount still arrives as a wager, for the writer to refuse.
  expect(decoded.slice(4).map((write) => write.wager)).toEqual([
    { amount: undefined },
    { amount: undefined },
    { amount: "10" },
  ]);
  expect(decoded[0]?.event).toBeNull();
  expect(decoded[1]?.reply).toBeUndefined();
  expect(decoded[1]?.event).toBeUndefined();
  expect(decoded[2]?.seq).toBe("1");
  expect(decoded[3]?.postings).toEqual([{ account: "cash", amount: 10n }]);
});

test("ledger - a write whose shape cannot be read is refused before it is sent", () => {
  const flat: unknown[] = [writesTag];
  const bad = { ...depositWrite("p1", 1, "d1", 100), postings: "none" };
  expect(() => appendWrite(flat, 1, bad as unknown as WalletWrite)).toThrow(TypeError);
});

test("ledger - every kind of result crosses back with its id", () => {
  const results: WriteResult[] = [
    { outcome: { status: "committed", balance: 2 ** 53 - 1 } },
    { outcome: { status: "duplicate", reply: '{"type":"spin.result"}' } },
    { outcome: { status: "conflict" } },
    { outcome: { status: "insufficient_funds" } },
    { outcome: { status: "stale_seq", currentSeq: 41 } },
    { error: "postings of s1 sum to 5, not 0" },
    { outcome: { status: "self_excluded" } },
    { outcome: { status: "loss_limit" } },
    { outcome: { status: "round_closed", roundStatus: "closed" } },
    { outcome: { status: "round_closed", roundStatus: null } },
  ];
  const ids = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
  const settled: [number, WriteResult][] = [];
  const flat = structuredClone(encodeResults(ids, results, 3.5));
  expect(decodeResults(flat, (id, result) => settled.push([id, result]))).toBe(3.5);
  expect(settled).toEqual(ids.map((id, index) => [id, results[index] as WriteResult]));
});
