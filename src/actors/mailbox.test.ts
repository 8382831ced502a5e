import { expect, test } from "bun:test";
import { Mailbox, mailboxSlotsInitial } from "./mailbox.ts";

test("actors - mailbox is first in, first out across wrap-around", () => {
  const mailbox = new Mailbox<number>(5);
  const out: number[] = [];
  let next = 0;
  // Interleave pushes and shifts so the head walks around the ring several times.
  for (let round = 0; round < 10; round += 1) {
    for (let push = 0; push < 3; push += 1) expect(mailbox.push(next++)).toBe(true);
    for (let shift = 0; shift < 3; shift += 1) out.push(mailbox.shift() as number);
  }
  expect(out).toEqual(Array.from({ length: 30 }, (_, index) => index));
  expect(mailbox.shift()).toBeUndefined();
  expect(mailbox.length).toBe(0);
});

test("actors - mailbox refuses the push past capacity and keeps what it holds", () => {
  const mailbox = new Mailbox<string>(3);
  expect([mailbox.push("a"), mailbox.push("b"), mailbox.push("c")]).toEqual([true, true, true]);
  expect(mailbox.push("d")).toBe(false);
  expect(mailbox.length).toBe(3);
  expect([mailbox.shift(), mailbox.shift(), mailbox.shift(), mailbox.shift()]).toEqual([
    "a",
    "b",
    "c",
    undefined,
  ]);
});

test("actors - mailbox storage starts empty and never grows past capacity", () => {
  const capacity = 10;
  const mailbox = new Mailbox<number>(capacity);
  expect(mailbox.slotsAllocated).toBe(0);
  mailbox.push(0);
  expect(mailbox.slotsAllocated).toBe(mailboxSlotsInitial);
  // Grow while the head is not at slot 0, so the copy must unwrap the ring.
  mailbox.shift();
  for (let index = 1; index <= capacity; index += 1) expect(mailbox.push(index)).toBe(true);
  expect(mailbox.push(99)).toBe(false);
  expect(mailbox.slotsAllocated).toBe(capacity);
  const out: number[] = [];
  for (let item = mailbox.shift(); item !== undefined; item = mailbox.shift()) out.push(item);
  expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test("actors - mailbox capacity must be a positive integer", () => {
  expect(() => new Mailbox(0)).toThrow(RangeError);
  expect(() => new Mailbox(1.5)).toThrow(RangeError);
});
