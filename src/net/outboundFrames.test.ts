import { expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { OutboundFrames } from "./outboundFrames.ts";
import { SocketSession } from "./socketSession.ts";
import { TableFanout } from "./tableFanout.ts";

/**
 * A stand-in for Bun's socket recording, in one shared list, what reaches the network; `full`: its
 * outbound buffer is over the limit, so `send` drops the frame (returns 0).
 */
function fakeSocket(name: string, wire: string[], full = false) {
  const ws = {
    send: (text: string) => wire.push(`${name} ${full ? "dropped " : ""}${text}`) && (full ? 0 : 1),
    getBufferedAmount: () => (full ? 1 << 30 : 0),
    subscribe: () => undefined,
    unsubscribe: () => undefined,
    close: (code: number) => wire.push(`${name} close ${code}`),
    ping: () => undefined,
  };
  return ws as unknown as ServerWebSocket<unknown>;
}

test("outbound frames - written together after the current task, each socket's in order", async () => {
  const wire: string[] = [];
  const outbound = new OutboundFrames();
  const a = new SocketSession("a", "p1", "t1", fakeSocket("a", wire), 0, Infinity, outbound);
  const b = new SocketSession("b", "p2", "t2", fakeSocket("b", wire), 0, Infinity, outbound);
  a.send("1");
  b.send("1");
  a.send("2");
  expect(wire).toEqual([]);
  const { promise, resolve } = Promise.withResolvers<void>();
  setImmediate(resolve);
  await promise;
  expect(wire).toEqual(["a 1", "b 1", "a 2"]);
});

test("outbound frames - a close and a table broadcast wait for the frames queued before them", () => {
  const wire: string[] = [];
  const outbound = new OutboundFrames();
  const a = new SocketSession("a", "p1", "t1", fakeSocket("a", wire), 0, Infinity, outbound);
  const b = new SocketSession("b", "p2", "t2", fakeSocket("b", wire), 0, Infinity, outbound);
  a.send("error: why");
  a.close(1008, "abuse");
  expect(wire).toEqual(["a error: why", "a close 1008"]);
  const fanout = new TableFanout(1_000, outbound);
  fanout.attach({ publish: (topic, data) => wire.push(`publish ${topic} ${data}`) && 1 });
  fanout.watch("t1", b);
  b.send("table.state");
  fanout.publish("t1", "result", 1);
  expect(wire.slice(2)).toEqual(["b table.state", "publish table:t1 result"]);
});

test("outbound frames - a frame the socket cannot take during a close's flush closes it once, not twice", () => {
  const wire: string[] = [];
  const full = fakeSocket("a", wire, true);
  const session = new SocketSession("a", "p1", "t1", full, 0, Infinity, new OutboundFrames());
  const counted: number[] = [];
  session.onServerClose = (code) => counted.push(code);
  session.send("error: rate limited");
  session.close(1008, "abuse");
  expect(wire).toEqual(["a dropped error: rate limited", "a close 4002"]);
  expect(counted).toEqual([4002]);
});
