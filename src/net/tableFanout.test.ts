import { expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { closeCodes, SocketSession } from "./socketSession.ts";
import { pendingEventsMax, TableFanout } from "./tableFanout.ts";

/** A stand-in for Bun's socket: only what SocketSession calls. */
function fakeSocket(buffered: () => number) {
  const calls = { closed: [] as number[], topics: new Set<string>(), sent: [] as string[] };
  const ws = {
    send: (text: string) => {
      calls.sent.push(text);
      return 1;
    },
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

  fanout.publish("t", "e1", 1);
  expect(published).toEqual([["table:t", "e1"]]);
  expect(slow.calls.closed).toEqual([]);

  slowBuffered = 1_001;
  fanout.publish("t", "e2", 2);
  expect(slow.calls.closed).toEqual([closeCodes.slowConsumer]);
  expect(fast.calls.closed).toEqual([]);
  expect(fanout.watcherCount("t")).toBe(1);
  expect(fanout.slowClosed).toBe(1);
  expect(published).toHaveLength(2);

  fanout.unwatch("t", a);
  expect(fast.calls.topics.has("table:t")).toBe(false);
  fanout.publish("t", "e3", 3); // nobody watches here: nothing to publish
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

test("table fan-out - events held during a seat check go out on confirm, in order, once; none on unwatch", () => {
  const published: string[] = [];
  const fanout = new TableFanout(1_000);
  fanout.attach({ publish: (_topic, data) => published.push(data) && 1 });
  const seated = fakeSocket(() => 0);
  const stranger = fakeSocket(() => 0);
  const joining = fakeSocket(() => 0);
  const a = new SocketSession("a", "p1", "t1", seated.ws, 0);
  const b = new SocketSession("b", "p2", "t2", stranger.ws, 0);
  const c = new SocketSession("c", "p3", "t3", joining.ws, 0);
  for (const session of [a, b, c]) fanout.watchPending("t", session);
  fanout.publish("t", "e1", 4);
  fanout.publish("t", "e2", 5);
  // Nothing is sent while the seats are checked; a join watches live and drops what was held.
  expect([seated, stranger, joining].map((socket) => socket.calls.sent)).toEqual([[], [], []]);
  fanout.watch("t", c);
  fanout.confirm("t", a, 0);
  fanout.unwatch("t", b);
  fanout.confirm("t", c, 0);
  expect(seated.calls.sent).toEqual(["e1", "e2"]);
  expect(stranger.calls.sent).toEqual([]);
  expect(joining.calls.sent).toEqual([]);
  expect(seated.calls.topics.has("table:t")).toBe(true);
  expect(stranger.calls.topics.has("table:t")).toBe(false);
  expect(fanout.watcherCount("t")).toBe(2);
});

test("table fan-out - on confirm, held events the table's state already shows are dropped", () => {
  const fanout = new TableFanout(1_000);
  fanout.attach({ publish: () => 1 });
  const socket = fakeSocket(() => 0);
  const session = new SocketSession("a", "p1", "t1", socket.ws, 0);
  fanout.watchPending("t", session);
  fanout.publish("t", "before-the-snapshot", 7);
  fanout.publish("t", "also-before", 8);
  fanout.publish("t", "after-the-snapshot", 9);
  fanout.confirm("t", session, 8);
  expect(socket.calls.sent).toEqual(["after-the-snapshot"]);
});

test("table fan-out - confirm watches a seated socket even when nothing was held for it", () => {
  const fanout = new TableFanout(1_000);
  fanout.attach({ publish: () => 1 });
  const socket = fakeSocket(() => 0);
  const session = new SocketSession("a", "p1", "t1", socket.ws, 0);
  // A join watched ahead of its answer (so the seat check held nothing), then was refused.
  fanout.watch("t", session);
  fanout.watchPending("t", session);
  fanout.unwatch("t", session);
  fanout.confirm("t", session, 0);
  expect(fanout.watcherCount("t")).toBe(1);
  expect(socket.calls.topics.has("table:t")).toBe(true);
});

test("table fan-out - a seat check that outlasts pendingEventsMax events closes the socket with 4002", () => {
  const fanout = new TableFanout(1_000);
  fanout.attach({ publish: () => 1 });
  const socket = fakeSocket(() => 0);
  const session = new SocketSession("a", "p1", "t1", socket.ws, 0);
  fanout.watchPending("t", session);
  for (let i = 0; i < pendingEventsMax; i++) fanout.publish("t", `e${i}`, 100 + i);
  expect(socket.calls.closed).toEqual([]);
  fanout.publish("t", "one-too-many", 100 + pendingEventsMax);
  expect(socket.calls.closed).toEqual([closeCodes.slowConsumer]);
  fanout.confirm("t", session, 0);
  expect(socket.calls.sent).toEqual([]);
});
