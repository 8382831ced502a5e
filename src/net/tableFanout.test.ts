import { expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { closeCodes, SocketSession } from "./socketSession.ts";
import { TableFanout } from "./tableFanout.ts";

/** A stand-in for Bun's socket: only what SocketSession calls. */
function fakeSocket(buffered: () => number) {
  const calls = { closed: [] as number[], topics: new Set<string>() };
  const ws = {
    send: () => 1,
    getBufferedAmount: buffered,
    subscribe: (topic: string) => calls.topics.add(topic),
    unsubscribe: (topic: string) => calls.topics.delete(topic),
    close: (code: number) => calls.closed.push(code),
    ping: () => undefined,
  };
  return { ws: ws as unknown as ServerWebSocket<unknown>, calls };
}

test("table fan-out - one publish per event; a watcher over the backpressure limit is closed first with 4002", () => {
  const published: [string, string][] = [];
  const fanout = new TableFanout(1_000);
  fanout.attach({ publish: (topic, data) => published.push([topic, data]) && 1 });
  let slowBuffered = 0;
  const fast = fakeSocket(() => 0);
  const slow = fakeSocket(() => slowBuffered);
  const a = new SocketSession("a", "p1", "t1", fast.ws, 0);
  const b = new SocketSession("b", "p2", "t2", slow.ws, 0);
  fanout.watch("t", a);
  fanout.watch("t", b);
  expect(fast.calls.topics.has("table:t")).toBe(true);
  expect(fanout.watcherCount("t")).toBe(2);

  fanout.publish("t", "e1");
  expect(published).toEqual([["table:t", "e1"]]);
  expect(slow.calls.closed).toEqual([]);

  slowBuffered = 1_001;
  fanout.publish("t", "e2");
  expect(slow.calls.closed).toEqual([closeCodes.slowConsumer]);
  expect(fast.calls.closed).toEqual([]);
  expect(fanout.watcherCount("t")).toBe(1);
  expect(fanout.slowClosed).toBe(1);
  expect(published).toHaveLength(2);

  fanout.unwatch("t", a);
  expect(fast.calls.topics.has("table:t")).toBe(false);
  fanout.publish("t", "e3"); // nobody watches here: nothing to publish
  expect(published).toHaveLength(2);
});

test("table fan-out - a closed socket is forgotten everywhere", () => {
  const fanout = new TableFanout(1_000);
  const socket = fakeSocket(() => 0);
  const session = new SocketSession("a", "p1", "t1", socket.ws, 0);
  fanout.watch("t1", session);
  fanout.watch("t2", session);
  fanout.forget(session);
  expect(fanout.watcherCount("t1")).toBe(0);
  expect(fanout.watcherCount("t2")).toBe(0);
  expect(session.tables.size).toBe(0);
});
