import { afterAll, describe, expect, test } from "bun:test";
import { LocalPlayerEventBus } from "../cluster/playerEvents.ts";
import { CroupierError } from "../errors.ts";
import { randomInt } from "../games/rng.ts";
import { openTempLedger, removeDataDirs } from "../store/embedded/testing/tempLedger.ts";
import type { Ledger, WalletWrite, WriteOutcome } from "../store/ledger.ts";
import { ledgerWithMethod } from "../testing/ledgerWithMethod.ts";
import { tableBetRequestHash } from "./commandFingerprints.ts";
import {
  type PlayerMessage,
  type PlayerReply,
  playerActorFactory,
  playerActorKind,
} from "./player.ts";
import { ActorSystem } from "./system.ts";
import type { SystemEvent } from "./types.ts";

afterAll(removeDataDirs);

/**
 * A real ledger whose next write commits but then reports failure, as when the connection drops
 * after the commit: the caller cannot know whether the money moved.
 */
function loseNextAcknowledgement(ledger: Ledger): { ledger: Ledger; arm(): void } {
  let armed = false;
  const write = async (write: WalletWrite): Promise<WriteOutcome> => {
    const outcome = await ledger.write(write);
    if (armed) {
      armed = false;
      throw new Error("connection lost after commit");
    }
    return outcome;
  };
  // Everything else goes to the real ledger.
  return { ledger: ledgerWithMethod(ledger, "write", write), arm: () => (armed = true) };
}

async function playerSystem(ledger: Ledger, events: SystemEvent[] = []) {
  const system = new ActorSystem({ mailboxCapacity: 16, onEvent: (event) => events.push(event) });
  system.register(
    playerActorKind,
    playerActorFactory({
      ledger,
      events: new LocalPlayerEventBus(),
      random: randomInt,
      slotBetMin: 20,
      slotBetMax: 10_000,
      slotBetStep: 20,
      startingBalance: 10_000,
      now: Date.now,
      tables: new Map(),
      askTable: () => Promise.reject(new Error("no tables in this test")),
    }),
  );
  const ask = (message: PlayerMessage) =>
    system.ask<PlayerMessage, PlayerReply>(playerActorKind, "p1", message, { timeoutMs: 5_000 });
  return { system, ask };
}

describe("player actor", () => {
  test("player actor - a commit in doubt answers INTERNAL, reloads, and the retry tells the truth", async () => {
    const real = await openTempLedger();
    const faulty = loseNextAcknowledgement(real);
    const events: SystemEvent[] = [];
    const { system, ask } = await playerSystem(faulty.ledger, events);
    const before = await ask({ type: "state" });
    faulty.arm();
    const failed = await ask({ type: "spin", id: "doubt-1", game: "slot", bet: 100 }).catch(
      (e) => e,
    );
    expect(failed).toBeInstanceOf(CroupierError);
    expect((failed as CroupierError).code).toBe("INTERNAL");
    expect(events.some((e) => e.type === "restarted")).toBe(true);
    // The restarted actor loaded the committed write: state and retry agree with the ledger.
    const stored = await real.findCommand("p1", "doubt-1");
    expect(stored).toBeDefined();
    const retry = await ask({ type: "spin", id: "doubt-1", game: "slot", bet: 100 });
    expect(retry.type === "command" && retry.reply).toBe(stored?.reply as string);
    const after = await ask({ type: "state" });
    const loaded = await real.loadPlayer("p1");
    expect(after).toEqual({ type: "state", balance: loaded.balance, seq: loaded.seq });
    expect(before.type === "state" && after.type === "state" && after.seq).toBe(
      before.type === "state" ? before.seq + 1 : -1,
    );
    expect((await real.audit()).ok).toBe(true);
    await system.stop(1_000);
    await real.close();
  });

  test("player actor - a dev-mode player is credited the starting balance exactly once", async () => {
    const ledger = await openTempLedger();
    const first = await playerSystem(ledger);
    expect(await first.ask({ type: "state" })).toEqual({ type: "state", balance: 10_000, seq: 1 });
    await first.system.stop(1_000);
    // A second activation (after passivation, a restart or on another node) finds the credit.
    const second = await playerSystem(ledger);
    expect(await second.ask({ type: "state" })).toEqual({ type: "state", balance: 10_000, seq: 1 });
    const history = await ledger.history("p1", 10);
    expect(history.filter((entry) => entry.kind === "start")).toMatchObject([
      { id: "start", amount: 10_000 },
    ]);
    await second.system.stop(1_000);
    await ledger.close();
  });

  test("player actor - a stale activation is fenced: its write moves nothing and it reloads", async () => {
    const ledger = await openTempLedger();
    const a = await playerSystem(ledger);
    const b = await playerSystem(ledger);
    await a.ask({ type: "state" });
    await b.ask({ type: "state" });
    const fromA = await a.ask({ type: "deposit", id: "dep-a", amount: 500 });
    expect(fromA.type === "command" && fromA.fresh).toBe(true);
    // B still believes seq 1: its write is refused by the ledger, not applied on top of the old
    // state; B reloads and writes again on the state it read.
    const fromB = await b.ask({ type: "deposit", id: "dep-b", amount: 700 });
    expect(fromB.type === "command" && fromB.reply).toBe(JSON.stringify({ balance: 11_200 }));
    expect(await b.ask({ type: "state" })).toEqual({ type: "state", balance: 11_200, seq: 3 });
    // Now A's copy is the old one: the same id there gets B's reply and moves nothing again.
    const again = await a.ask({ type: "deposit", id: "dep-b", amount: 700 });
    expect(again.type === "command" && again.reply).toBe(JSON.stringify({ balance: 11_200 }));
    expect(await a.ask({ type: "state", fresh: true })).toEqual({
      type: "state",
      balance: 11_200,
      seq: 3,
    });
    expect((await ledger.audit()).ok).toBe(true);
    await a.system.stop(1_000);
    await b.system.stop(1_000);
    await ledger.close();
  });
});

describe("table bet fingerprint", () => {
  const base = { id: "k", table: "roulette-1", bet: { kind: "red" as const }, amount: 100 };

  test("fingerprint - a separator inside a round id or seed cannot make two bets look alike", () => {
    const first = tableBetRequestHash({ ...base, roundId: "R", clientSeed: "a:b" });
    const second = tableBetRequestHash({ ...base, roundId: "R:a", clientSeed: "b" });
    expect(first).not.toBe(second);
    const percent = tableBetRequestHash({ ...base, roundId: "R", clientSeed: "%3A" });
    const colon = tableBetRequestHash({ ...base, roundId: "R", clientSeed: ":" });
    expect(percent).not.toBe(colon);
  });

  test("fingerprint - plain round ids and seeds keep the stored format", () => {
    expect(tableBetRequestHash({ ...base, roundId: "0193-ab", clientSeed: "lucky" })).toBe(
      'table.bet:roulette-1:{"kind":"red"}:100:0193-ab:lucky',
    );
    expect(tableBetRequestHash(base)).toBe('table.bet:roulette-1:{"kind":"red"}:100::');
  });
});
