import { expect, test } from "bun:test";
import { CroupierError } from "../errors.ts";
import { AskTimeoutError } from "./errors.ts";
import { ActorSystem } from "./system.ts";
import { EventLog, macrotaskTurns, rejectionOf } from "./testKit.ts";

const askTimeoutMs = 5_000;

test("actors - one message at a time, in arrival order, even when receive awaits", async () => {
  const system = new ActorSystem();
  const gates = Array.from({ length: 5 }, () => Promise.withResolvers<void>());
  const firstRunning = Promise.withResolvers<void>();
  const order: number[] = [];
  let running = 0;
  let runningMax = 0;
  system.register<number, number>("counter", () => ({
    async receive(n) {
      running += 1;
      runningMax = Math.max(runningMax, running);
      order.push(n);
      if (n === 0) firstRunning.resolve();
      await gates[n]?.promise;
      running -= 1;
      return n * 10;
    },
  }));
  const replies = [0, 1, 2, 3, 4].map((n) =>
    system.ask<number, number>("counter", "a", n, { timeoutMs: askTimeoutMs }),
  );
  await firstRunning.promise;
  await macrotaskTurns(5); // room for a wrongly concurrent receive to start
  expect(order).toEqual([0]);
  // Released last-first: any overlap would finish them out of order.
  for (const gate of [...gates].reverse()) gate.resolve();
  expect(await Promise.all(replies)).toEqual([0, 10, 20, 30, 40]);
  expect(order).toEqual([0, 1, 2, 3, 4]);
  expect(runningMax).toBe(1);
  await system.stop(1_000);
});

test("actors - different actors run concurrently", async () => {
  const system = new ActorSystem();
  const gate = Promise.withResolvers<void>();
  let running = 0;
  let runningMax = 0;
  system.register<string, string>("worker", () => ({
    async receive(message) {
      running += 1;
      runningMax = Math.max(runningMax, running);
      await gate.promise;
      running -= 1;
      return message;
    },
  }));
  const replies = ["a", "b", "c"].map((id) =>
    system.ask<string, string>("worker", id, id, { timeoutMs: askTimeoutMs }),
  );
  await macrotaskTurns(3);
  expect(runningMax).toBe(3);
  gate.resolve();
  expect(await Promise.all(replies)).toEqual(["a", "b", "c"]);
  expect(system.activeCount("worker")).toBe(3);
  expect(system.activeCount()).toBe(3);
  await system.stop(1_000);
});

test("actors - a full mailbox refuses the next message with BUSY and never runs it", async () => {
  const mailboxCapacity = 3;
  const system = new ActorSystem({ mailboxCapacity });
  const gate = Promise.withResolvers<void>();
  const blocking = Promise.withResolvers<void>();
  const ran: string[] = [];
  system.register<string, string>("box", () => ({
    async receive(message) {
      ran.push(message);
      if (message === "block") {
        blocking.resolve();
        await gate.promise;
      }
      return message;
    },
  }));
  const ask = (message: string) =>
    system.ask<string, string>("box", "p", message, { timeoutMs: askTimeoutMs });
  const running = ask("block");
  await blocking.promise;
  // Capacity counts waiting messages only: the running one takes no slot.
  const waiting = Array.from({ length: mailboxCapacity }, (_, index) => ask(`q${index}`));
  const overflow = ask("overflow");
  // Refused while the gate is still shut: immediately, not after a wait.
  const refusal = await rejectionOf(overflow);
  expect(refusal).toBeInstanceOf(CroupierError);
  expect(refusal.code).toBe("BUSY");
  expect(system.tell("box", "p", "told")).toBe(false);
  expect(system.stats().busyRejections).toBe(2);
  expect(system.stats().deadLetters).toBe(1);
  gate.resolve();
  expect(await running).toBe("block");
  expect(await Promise.all(waiting)).toEqual(["q0", "q1", "q2"]);
  expect(ran).toEqual(["block", "q0", "q1", "q2"]);
  await system.stop(1_000);
});

test("actors - a kind may have its own mailbox capacity (one table, many bettors)", async () => {
  const system = new ActorSystem({ mailboxCapacity: 1 });
  const gate = Promise.withResolvers<void>();
  const blocking = Promise.withResolvers<void>();
  const behaviour = () => ({
    async receive(message: string) {
      if (message === "block") {
        blocking.resolve();
        await gate.promise;
      }
      return message;
    },
  });
  system.register<string, string>("wide", behaviour, { mailboxCapacity: 5 });
  expect(() => system.register("bad", behaviour, { mailboxCapacity: 0 })).toThrow(
    /mailboxCapacity/,
  );
  const ask = (message: string) =>
    system.ask<string, string>("wide", "t", message, { timeoutMs: askTimeoutMs });
  const running = ask("block");
  await blocking.promise;
  const waiting = Array.from({ length: 5 }, (_, index) => ask(`q${index}`));
  expect((await rejectionOf(ask("overflow"))).code).toBe("BUSY");
  gate.resolve();
  expect(await running).toBe("block");
  expect(await Promise.all(waiting)).toEqual(["q0", "q1", "q2", "q3", "q4"]);
  await system.stop(1_000);
});

test("actors - asks with the same dedupeKey run once, share the reply and take no mailbox slot", async () => {
  const system = new ActorSystem({ mailboxCapacity: 1 });
  const gate = Promise.withResolvers<void>();
  const blocking = Promise.withResolvers<void>();
  let paid = 0;
  system.register<string, { paid: number }>("wallet", () => ({
    async receive(message) {
      if (message === "block") {
        blocking.resolve();
        await gate.promise;
      } else paid += 1;
      return { paid };
    },
  }));
  const options = { timeoutMs: askTimeoutMs, dedupeKey: "command-1" };
  const running = system.ask("wallet", "p", "block", { timeoutMs: askTimeoutMs });
  await blocking.promise;
  // The first takes the only slot; the other 19 wait on it.
  const duplicates = Array.from({ length: 20 }, () => system.ask("wallet", "p", "pay", options));
  const other = system.ask("wallet", "p", "other", { timeoutMs: askTimeoutMs });
  expect((await rejectionOf(other)).code).toBe("BUSY");
  gate.resolve();
  await running;
  const replies = await Promise.all(duplicates);
  expect(paid).toBe(1);
  for (const reply of replies) expect(reply).toBe(replies[0] as { paid: number });
  expect(system.stats().busyRejections).toBe(1);
  // The key is forgotten once settled: a later repeat is the actor's own business.
  await system.ask("wallet", "p", "pay", options);
  expect(paid).toBe(2);
  await system.stop(1_000);
});

test("actors - duplicates of a running message share its rejection", async () => {
  const system = new ActorSystem();
  const gate = Promise.withResolvers<void>();
  const runningNow = Promise.withResolvers<void>();
  let calls = 0;
  system.register<string, string>("wallet", () => ({
    async receive() {
      calls += 1;
      runningNow.resolve();
      await gate.promise;
      throw new CroupierError("INSUFFICIENT_FUNDS", "balance too low");
    },
  }));
  const options = { timeoutMs: askTimeoutMs, dedupeKey: "bet-7" };
  const first = system.ask("wallet", "p", "bet", options);
  await runningNow.promise;
  const duplicates = Array.from({ length: 4 }, () => system.ask("wallet", "p", "bet", options));
  gate.resolve();
  const errors = await Promise.all([first, ...duplicates].map((reply) => rejectionOf(reply)));
  expect(calls).toBe(1);
  expect(errors[0]?.code).toBe("INSUFFICIENT_FUNDS");
  for (const error of errors) expect(error).toBe(errors[0] as CroupierError);
  await system.stop(1_000);
});

test("actors - duplicates beyond dedupeWaitersMax get INTERNAL: the first may still move money", async () => {
  const system = new ActorSystem({ dedupeWaitersMax: 2 });
  const gate = Promise.withResolvers<void>();
  let calls = 0;
  system.register<string, string>("wallet", () => ({
    async receive(message) {
      calls += 1;
      await gate.promise;
      return message;
    },
  }));
  const options = { timeoutMs: askTimeoutMs, dedupeKey: "k" };
  const accepted = [
    system.ask("wallet", "p", "x", options),
    system.ask("wallet", "p", "x", options),
  ];
  const third = await rejectionOf(system.ask("wallet", "p", "x", options));
  expect(third.code).toBe("INTERNAL");
  expect(third.message).toContain("outcome is unknown");
  expect(system.stats().busyRejections).toBe(0);
  gate.resolve();
  expect(await Promise.all(accepted)).toEqual(["x", "x"]);
  expect(calls).toBe(1);
  await system.stop(1_000);
});

test("actors - duplicates that timed out no longer count against dedupeWaitersMax", async () => {
  const system = new ActorSystem({ dedupeWaitersMax: 2 });
  const gate = Promise.withResolvers<void>();
  system.register<string, string>("wallet", () => ({
    async receive(message) {
      await gate.promise;
      return message;
    },
  }));
  const first = system.ask("wallet", "p", "x", { timeoutMs: askTimeoutMs, dedupeKey: "k" });
  const shortLived = await rejectionOf(
    system.ask("wallet", "p", "x", { timeoutMs: 5, dedupeKey: "k" }),
  );
  expect(shortLived).toBeInstanceOf(AskTimeoutError);
  const later = system.ask("wallet", "p", "x", { timeoutMs: askTimeoutMs, dedupeKey: "k" });
  gate.resolve();
  expect(await Promise.all([first, later])).toEqual(["x", "x"]);
  await system.stop(1_000);
});

test("actors - an ask times out with AskTimeoutError and its late reply is a dead letter", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent });
  const gate = Promise.withResolvers<void>();
  system.register<string, string>("slow", () => ({
    async receive() {
      await gate.promise;
      return "late";
    },
  }));
  const error = await rejectionOf(system.ask("slow", "p", "go", { timeoutMs: 10 }));
  expect(error).toBeInstanceOf(AskTimeoutError);
  expect(error.code).toBe("INTERNAL"); // outcome unknown
  expect((error as AskTimeoutError).address).toEqual({ kind: "slow", id: "p" });
  expect(system.stats().deadLetters).toBe(0);
  const deadLetter = log.next("dead-letter");
  gate.resolve();
  expect((await deadLetter).reason).toBe("late-reply");
  expect(system.stats().deadLetters).toBe(1);
  await system.stop(1_000);
});

test("actors - a duplicate sent after the first ask timed out still learns the outcome", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent });
  const gate = Promise.withResolvers<void>();
  system.register<string, string>("slow", () => ({
    async receive() {
      await gate.promise;
      return "done";
    },
  }));
  const first = system.ask("slow", "p", "go", { timeoutMs: 10, dedupeKey: "c" });
  expect(await rejectionOf(first)).toBeInstanceOf(AskTimeoutError);
  const retry = system.ask("slow", "p", "go", { timeoutMs: askTimeoutMs, dedupeKey: "c" });
  gate.resolve();
  expect(await retry).toBe("done");
  expect(system.stats().deadLetters).toBe(0); // someone got the reply
  await system.stop(1_000);
});

test("actors - ask requires a positive timeout and a registered kind", async () => {
  const system = new ActorSystem();
  let received = 0;
  system.register<string, string>("echo", () => ({
    async receive(message) {
      received += 1;
      return message;
    },
  }));
  for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
    const error = await rejectionOf(system.ask("echo", "p", "x", { timeoutMs }));
    expect(error).toBeInstanceOf(RangeError);
  }
  expect(
    await rejectionOf(system.ask("echo", "p", "x", { timeoutMs: 1, dedupeKey: "" })),
  ).toBeInstanceOf(RangeError);
  expect(await rejectionOf(system.ask("nope", "p", "x", { timeoutMs: 1_000 }))).toBeInstanceOf(
    TypeError,
  );
  expect(() => system.tell("nope", "p", "x")).toThrow(TypeError);
  expect(() => system.register("echo", () => ({ receive: async () => "" }))).toThrow();
  expect(received).toBe(0);
  expect(system.activeCount()).toBe(0);
  await system.stop(1_000);
});

test("actors - tell runs the message without a reply; a refused tell is a dead letter", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent });
  const seen: string[] = [];
  system.register<string, string>("sink", () => ({
    async receive(message) {
      seen.push(message);
      if (message === "refuse") throw new CroupierError("BAD_REQUEST", "no");
      return message;
    },
  }));
  const deadLetter = log.next("dead-letter");
  expect(system.tell("sink", "p", "hello")).toBe(true);
  expect(system.tell("sink", "p", "refuse")).toBe(true);
  expect((await deadLetter).reason).toBe("tell-failed");
  expect(seen).toEqual(["hello", "refuse"]);
  expect(system.stats().restarts).toBe(0);
  await system.stop(1_000);
});

test("actors - a message that would exceed activeActorsMax gets BUSY", async () => {
  const system = new ActorSystem({ activeActorsMax: 2 });
  system.register<string, string>("echo", () => ({ receive: async (message) => message }));
  await system.ask("echo", "a", "x", { timeoutMs: askTimeoutMs });
  await system.ask("echo", "b", "x", { timeoutMs: askTimeoutMs });
  const error = await rejectionOf(system.ask("echo", "c", "x", { timeoutMs: askTimeoutMs }));
  expect(error.code).toBe("BUSY");
  expect(system.tell("echo", "c", "x")).toBe(false);
  // Actors already active still take messages.
  expect(await system.ask("echo", "a", "y", { timeoutMs: askTimeoutMs })).toBe("y");
  expect(system.stats()).toMatchObject({ activeActors: 2, busyRejections: 2, deadLetters: 1 });
  await system.stop(1_000);
});

test("actors - a throwing event listener changes nothing", async () => {
  const system = new ActorSystem({
    onEvent: () => {
      throw new Error("listener bug");
    },
  });
  system.register<string, string>("echo", () => ({ receive: async (message) => message }));
  expect(await system.ask("echo", "a", "x", { timeoutMs: askTimeoutMs })).toBe("x");
  expect(system.stats().activations).toBe(1);
  await system.stop(1_000);
});

test("actors - options are validated with the key and the reason", () => {
  expect(() => new ActorSystem({ mailboxCapacity: 0 })).toThrow(/mailboxCapacity/);
  expect(() => new ActorSystem({ idleMs: 1.5 })).toThrow(/idleMs/);
  expect(() => new ActorSystem({ restartsMax: -1 })).toThrow(/restartsMax/);
  expect(() => new ActorSystem({ restartDelayMs: 120_000 })).toThrow(/restartDelayMs/);
});
