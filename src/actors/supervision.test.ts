import { expect, test } from "bun:test";
import { CroupierError } from "../errors.ts";
import { failureExceedsLimit } from "./supervision.ts";
import { ActorSystem } from "./system.ts";
import { EventLog, rejectionOf } from "./testKit.ts";
import type { ActorContext } from "./types.ts";

const askTimeoutMs = 5_000;

/** A wallet-like actor: started() loads the balance from a "durable" map, receive() mutates memory. */
function walletKind(
  durable: Map<string, number>,
  contexts: ActorContext[],
  startedCalls: { n: number },
) {
  return (context: ActorContext) => {
    contexts.push(context);
    let balance = 0;
    return {
      async started() {
        startedCalls.n += 1;
        balance = durable.get(context.address.id) ?? 0;
      },
      async receive(message: string): Promise<number> {
        switch (message) {
          case "bump":
            balance += 1; // in memory only: lost on restart, as it should be
            return balance;
          case "read":
            return balance;
          case "refuse":
            throw new CroupierError("INSUFFICIENT_FUNDS", "balance too low");
          case "boom":
            throw new Error("bug in receive");
          default:
            throw new Error(`unexpected message ${message}`);
        }
      },
    };
  };
}

test("actors - a refusal (CroupierError other than INTERNAL) answers the ask without a restart", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent, restartDelayMs: 0 });
  const contexts: ActorContext[] = [];
  const startedCalls = { n: 0 };
  system.register("wallet", walletKind(new Map([["p", 100]]), contexts, startedCalls));
  const ask = (message: string) =>
    system.ask<string, number>("wallet", "p", message, { timeoutMs: askTimeoutMs });
  expect(await ask("bump")).toBe(101);
  const error = await rejectionOf(ask("refuse"));
  expect(error).toBeInstanceOf(CroupierError);
  expect(error.code).toBe("INSUFFICIENT_FUNDS");
  expect(await ask("read")).toBe(101); // same instance, memory kept
  expect(contexts.length).toBe(1);
  expect(startedCalls.n).toBe(1);
  expect(system.stats().restarts).toBe(0);
  expect(log.types()).not.toContain("restarted");
  await system.stop(1_000);
});

test("actors - a throw answers INTERNAL and restarts the actor, which reloads durable state", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent, restartDelayMs: 0 });
  const contexts: ActorContext[] = [];
  const startedCalls = { n: 0 };
  system.register("wallet", walletKind(new Map([["p", 100]]), contexts, startedCalls));
  const ask = (message: string) =>
    system.ask<string, number>("wallet", "p", message, { timeoutMs: askTimeoutMs });
  expect(await ask("bump")).toBe(101);
  const restarted = log.next("restarted");
  const error = await rejectionOf(ask("boom"));
  expect(error).toBeInstanceOf(CroupierError);
  expect(error.code).toBe("INTERNAL");
  expect((error.cause as Error).message).toBe("bug in receive");
  const event = await restarted;
  expect(event.restarts).toBe(1);
  expect(event.address).toEqual({ kind: "wallet", id: "p" });
  // The next message runs on a new instance whose started() reloaded 100 from the store.
  expect(await ask("read")).toBe(100);
  expect(contexts.map((context) => context.restarts)).toEqual([0, 1]);
  expect(startedCalls.n).toBe(2);
  expect(system.stats().restarts).toBe(1);
  await system.stop(1_000);
});

test("actors - an INTERNAL CroupierError from receive passes through and restarts", async () => {
  const system = new ActorSystem({ restartDelayMs: 0 });
  const thrown = new CroupierError("INTERNAL", "commit in doubt");
  let instances = 0;
  system.register<string, string>("ledgerish", () => {
    instances += 1;
    return {
      async receive(message) {
        if (message === "doubt") throw thrown;
        return message;
      },
    };
  });
  const ask = (message: string) =>
    system.ask<string, string>("ledgerish", "p", message, { timeoutMs: askTimeoutMs });
  expect(await rejectionOf(ask("doubt"))).toBe(thrown);
  expect(await ask("ok")).toBe("ok");
  expect(instances).toBe(2);
  expect(system.stats().restarts).toBe(1);
  await system.stop(1_000);
});

test("actors - a failing started() fails that message with BUSY and the next message restarts it", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent, restartDelayMs: 0 });
  let startedCalls = 0;
  const received: string[] = [];
  system.register<string, string>("flaky", () => ({
    async started() {
      startedCalls += 1;
      if (startedCalls === 1) throw new Error("store unavailable");
    },
    async receive(message) {
      received.push(message);
      return message;
    },
  }));
  const restarted = log.next("restarted");
  const error = await rejectionOf(system.ask("flaky", "p", "first", { timeoutMs: askTimeoutMs }));
  // receive() never saw the message, so it certainly moved nothing.
  expect(error.code).toBe("BUSY");
  expect((error.cause as Error).message).toBe("store unavailable");
  expect((await restarted).restarts).toBe(1);
  expect(await system.ask("flaky", "p", "second", { timeoutMs: askTimeoutMs })).toBe("second");
  expect(received).toEqual(["second"]);
  expect(startedCalls).toBe(2);
  await system.stop(1_000);
});

test("actors - past restartsMax the actor stops, its queue gets BUSY, and the next message starts it afresh", async () => {
  const log = new EventLog();
  const restartsMax = 2;
  const system = new ActorSystem({
    onEvent: log.onEvent,
    restartsMax,
    restartWindowMs: 60_000,
    restartDelayMs: 0,
  });
  const contexts: ActorContext[] = [];
  const received: string[] = [];
  system.register<string, string>("fragile", (context) => {
    contexts.push(context);
    return {
      async receive(message) {
        received.push(message);
        if (message.startsWith("boom")) throw new Error(message);
        return message;
      },
    };
  });
  const ask = (message: string) =>
    system.ask<string, string>("fragile", "p", message, { timeoutMs: askTimeoutMs });
  const stopped = log.next("stopped-after-failures");
  // Sent together: the three failures run first, "after" waits behind them.
  const replies = ["boom1", "boom2", "boom3", "after"].map((message) => rejectionOf(ask(message)));
  const [boom1, boom2, boom3, after] = await Promise.all(replies);
  expect([boom1?.code, boom2?.code, boom3?.code]).toEqual(["INTERNAL", "INTERNAL", "INTERNAL"]);
  expect(after?.code).toBe("BUSY"); // never ran: nothing moved
  expect(received).toEqual(["boom1", "boom2", "boom3"]);
  const event = await stopped;
  expect(event.restarts).toBe(restartsMax);
  expect((event.error as Error).message).toBe("boom3");
  expect(log.types().filter((type) => type === "restarted").length).toBe(restartsMax);
  expect(system.activeCount("fragile")).toBe(0);
  // A fresh activation: restart count back to zero.
  expect(await ask("hello")).toBe("hello");
  expect(contexts.map((context) => context.restarts)).toEqual([0, 1, 2, 0]);
  expect(system.stats()).toMatchObject({ activeActors: 1, activations: 2, restarts: restartsMax });
  await system.stop(1_000);
});

test("actors - restartsMax 0 stops the actor on its first failure", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent, restartsMax: 0, restartDelayMs: 0 });
  system.register<string, string>("fragile", () => ({
    async receive() {
      throw new Error("bug");
    },
  }));
  const stopped = log.next("stopped-after-failures");
  const error = await rejectionOf(system.ask("fragile", "p", "x", { timeoutMs: askTimeoutMs }));
  expect(error.code).toBe("INTERNAL");
  expect((await stopped).restarts).toBe(0);
  expect(system.stats().restarts).toBe(0);
  expect(system.activeCount()).toBe(0);
  await system.stop(1_000);
});

test("actors - restart window forgets failures older than restartWindowMs", () => {
  const restartsMax = 2;
  const windowMs = 1_000;
  const timesMs: number[] = [];
  expect(failureExceedsLimit(timesMs, 0, restartsMax, windowMs)).toBe(false);
  expect(failureExceedsLimit(timesMs, 500, restartsMax, windowMs)).toBe(false);
  // The failure at 0 has left the window by 1_000: still two inside, within the limit.
  expect(failureExceedsLimit(timesMs, 1_000, restartsMax, windowMs)).toBe(false);
  expect(timesMs).toEqual([500, 1_000]);
  // Three inside the window now.
  expect(failureExceedsLimit(timesMs, 1_200, restartsMax, windowMs)).toBe(true);
});

test("actors - a restarted actor's new instance starts no sooner than restartDelayMs", async () => {
  const restartDelayMs = 30;
  const system = new ActorSystem({ restartDelayMs });
  const createdAtMs: number[] = [];
  system.register<string, string>("fragile", () => {
    createdAtMs.push(performance.now());
    return {
      async receive(message) {
        if (message === "boom") throw new Error("bug");
        return message;
      },
    };
  });
  const ask = (message: string) =>
    system.ask<string, string>("fragile", "p", message, { timeoutMs: askTimeoutMs });
  const failedAtMs = await ask("boom").catch(() => performance.now());
  expect(await ask("after")).toBe("after");
  expect(createdAtMs.length).toBe(2);
  // One millisecond of slack for timer rounding; a missing delay would be about zero.
  expect((createdAtMs[1] as number) - (failedAtMs as number)).toBeGreaterThanOrEqual(
    restartDelayMs - 1,
  );
  await system.stop(1_000);
});
