import { expect, test } from "bun:test";
import { CommandFilter } from "./commandFilter.ts";

test("command filter - every key added is maybe present, across the growth of the chain", () => {
  const filter = new CommandFilter();
  const added = 300_000; // past the first filters' capacities, so the chain grows
  for (let i = 0; i < added; i++) filter.add(`p${i % 997}:c${i}`);
  expect(filter.size).toBe(added);
  let missed = 0;
  for (let i = 0; i < added; i++) if (!filter.mayHave(`p${i % 997}:c${i}`)) missed += 1;
  expect(missed).toBe(0);
});

test("command filter - keys never added are ruled out almost always", () => {
  const filter = new CommandFilter();
  for (let i = 0; i < 300_000; i++) filter.add(`p${i % 997}:c${i}`);
  let maybe = 0;
  const absent = 100_000;
  for (let i = 0; i < absent; i++) if (filter.mayHave(`p${i % 997}:other${i}`)) maybe += 1;
  // Each filter of the chain answers "maybe" for ~1% of absent keys; the chain has a few.
  expect(maybe / absent).toBeLessThan(0.05);
  expect(new CommandFilter().mayHave("p1:c1")).toBe(false);
});
