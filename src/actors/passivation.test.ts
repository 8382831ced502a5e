import { expect, test } from "bun:test";
import { waitFor } from "../testing/waitFor.ts";
import { ActorSystem } from "./system.ts";
import { EventLog, macrotaskTurns, rejectionOf } from "./testKit.ts";

const askTimeoutMs = 5_000;
const waitMs = 2_000;
/** Small so that idle passivation happens within a test; one sweep per few milliseconds. */
const idle = { idleMs: 20, sweepIntervalMs: 5 };

interface Counts {
  instances: number;
  started: number;
  stopped: number;
}

test("actors - an idle actor is passivated (stopped() runs) and the next message re-activates it", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ ...idle, onEvent: log.onEvent });
  const counts: Counts = { instances: 0, started: 0, stopped: 0 };
  system.register<string, number>("player", () => {
    const instance = ++counts.instances;
    return {
      async started() {
        counts.started += 1;
      },
      async receive() {
        return instance;
      },
      async stopped() {
        counts.stopped += 1;
      },
    };
  });
  expect(await system.ask("player", "p", "hi", { timeoutMs: askTimeoutMs })).toBe(1);
  await waitFor(() => system.activeCount() === 0, waitMs, "idle passivation");
  expect(counts).toEqual({ instances: 1, started: 1, stopped: 1 });
  expect(log.types()).toEqual(["activated", "passivated"]);
  expect(await system.ask("player", "p", "hi", { timeoutMs: askTimeoutMs })).toBe(2);
  expect(counts).toEqual({ instances: 2, started: 2, stopped: 1 });
  expect(system.stats()).toMatchObject({ activeActors: 1, activations: 2, passivations: 1 });
  await system.stop(1_000);
});

test("actors - a busy actor is not passivated however long its message runs", async () => {
  const system = new ActorSystem(idle);
  const gate = Promise.withResolvers<void>();
  const running = Promise.withResolvers<void>();
  let stopped = 0;
  system.register<string, string>("player", () => ({
    async receive(message) {
      if (message === "block") {
        running.resolve();
        await gate.promise;
      }
      return message;
    },
    async stopped() {
      stopped += 1;
    },
  }));
  const blocked = system.ask("player", "busy", "block", { timeoutMs: askTimeoutMs });
  await running.promise;
  // Another actor's passivation proves that idleMs has passed and sweeps have run.
  await system.ask("player", "clock", "tick", { timeoutMs: askTimeoutMs });
  await waitFor(() => system.activeCount() === 1, waitMs, "the idle actor's passivation");
  expect(stopped).toBe(1);
  gate.resolve();
  expect(await blocked).toBe("block");
  await waitFor(() => system.activeCount() === 0, waitMs, "passivation once idle");
  expect(stopped).toBe(2);
  await system.stop(1_000);
});

test("actors - a message arriving during passivation waits and runs on a fresh instance", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ ...idle, onEvent: log.onEvent });
  const stopGate = Promise.withResolvers<void>();
  const stopping = Promise.withResolvers<void>();
  const receivedBy: number[] = [];
  let instances = 0;
  let startedCalls = 0;
  system.register<string, number>("player", () => {
    const instance = ++instances;
    let alive = true;
    return {
      async started() {
        startedCalls += 1;
      },
      async receive() {
        if (!alive) throw new Error("message ran on a stopped instance");
        receivedBy.push(instance);
        return instance;
      },
      async stopped() {
        alive = false;
        if (instance === 1) {
          stopping.resolve();
          await stopGate.promise;
        }
      },
    };
  });
  expect(await system.ask("player", "p", "first", { timeoutMs: askTimeoutMs })).toBe(1);
  await stopping.promise; // the sweep has begun passivating instance 1
  const reply = system.ask<string, number>("player", "p", "during", { timeoutMs: askTimeoutMs });
  await macrotaskTurns(5);
  expect(receivedBy).toEqual([1]); // not run yet, and not on the stopping instance
  stopGate.resolve();
  expect(await reply).toBe(2);
  expect(receivedBy).toEqual([1, 2]);
  expect(startedCalls).toBe(2);
  expect(log.types().slice(0, 3)).toEqual(["activated", "passivated", "activated"]);
  await system.stop(1_000);
});

test("actors - a failing stopped() is reported and the actor is removed all the same", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ ...idle, onEvent: log.onEvent });
  system.register<string, string>("player", () => ({
    receive: async (message) => message,
    async stopped() {
      throw new Error("flush failed");
    },
  }));
  const failed = log.next("passivation-failed");
  await system.ask("player", "p", "x", { timeoutMs: askTimeoutMs });
  expect(((await failed).error as Error).message).toBe("flush failed");
  await waitFor(() => system.activeCount() === 0, waitMs, "removal");
  expect(system.stats().passivations).toBe(1);
  await system.stop(1_000);
});

test("actors - stop() refuses new messages, drops waiting ones, lets running ones finish and passivates all", async () => {
  const log = new EventLog();
  const system = new ActorSystem({ onEvent: log.onEvent });
  const gate = Promise.withResolvers<void>();
  const running = Promise.withResolvers<void>();
  const received: string[] = [];
  let stopped = 0;
  system.register<string, string>("player", () => ({
    async receive(message) {
      received.push(message);
      if (message === "block") {
        running.resolve();
        await gate.promise;
      }
      return message;
    },
    async stopped() {
      stopped += 1;
    },
  }));
  const ask = (id: string, message: string) =>
    system.ask<string, string>("player", id, message, { timeoutMs: askTimeoutMs });
  await ask("idle", "x");
  const blocked = ask("busy", "block");
  await running.promise;
  const waiting = rejectionOf(ask("busy", "queued"));
  const report = system.stop(1_000);
  expect((await waiting).code).toBe("BUSY"); // dropped before it ran
  const late = await rejectionOf(ask("idle", "y"));
  expect(late.code).toBe("BUSY");
  expect(system.tell("player", "idle", "z")).toBe(false);
  expect(log.events.filter((e) => e.type === "dead-letter").map((e) => e.reason)).toEqual([
    "system-stopped",
    "system-stopped",
  ]);
  gate.resolve();
  expect(await blocked).toBe("block");
  expect(await report).toEqual({ passivated: 2, remaining: 0 });
  expect(stopped).toBe(2);
  expect(received).toEqual(["x", "block"]);
  expect(system.activeCount()).toBe(0);
  expect(await system.stop(1_000)).toEqual({ passivated: 2, remaining: 0 }); // same report
});

test("actors - stop() is bounded by its timeout when a message never finishes", async () => {
  const system = new ActorSystem();
  const running = Promise.withResolvers<void>();
  system.register<string, string>("stuck", () => ({
    async receive() {
      running.resolve();
      await new Promise<never>(() => {}); // never settles
      return "unreachable";
    },
  }));
  const stuck = rejectionOf(system.ask("stuck", "p", "x", { timeoutMs: 50 }));
  await running.promise;
  expect(await system.stop(20)).toEqual({ passivated: 0, remaining: 1 });
  await stuck;
});

test("actors - an idle actor that says it may not passivate stays until it may", async () => {
  const system = new ActorSystem(idle);
  let busyBetweenMessages = true;
  let sweepsAsked = 0;
  system.register<string, string>("table", () => ({
    async receive(message) {
      return message;
    },
    mayPassivate() {
      sweepsAsked += 1;
      return !busyBetweenMessages;
    },
  }));
  await system.ask("table", "t", "join", { timeoutMs: askTimeoutMs });
  // Idle far longer than idleMs, across many sweeps, and still there.
  await waitFor(() => sweepsAsked >= 5, waitMs, "several sweeps");
  expect(system.isActive("table", "t")).toBe(true);
  busyBetweenMessages = false;
  await waitFor(() => !system.isActive("table", "t"), waitMs, "passivation once allowed");
  await system.stop(1_000);
});
