import { expect, test } from "bun:test";
import { StaticMembership } from "./membership.ts";
import { fnv1a64, ownerOf, rendezvousScore } from "./placement.ts";

const mask64 = (1n << 64n) - 1n;

/** Independent BigInt implementation of the documented score, over TextEncoder's bytes. */
function referenceScore(key: string, member: string): bigint {
  const encoder = new TextEncoder();
  const bytes = [...encoder.encode(key), 0xff, ...encoder.encode(member)];
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & mask64;
  hash ^= hash >> 33n;
  hash = (hash * 0xff51afd7ed558ccdn) & mask64;
  hash ^= hash >> 33n;
  hash = (hash * 0xc4ceb9fe1a85ec53n) & mask64;
  hash ^= hash >> 33n;
  return hash;
}

const keys = Array.from({ length: 20_000 }, (_, index) => `player/${index}`);
const nodes = (count: number) =>
  Array.from({ length: count }, (_, index) => `croupier-${index + 1}`);

function owners(members: readonly string[]): string[] {
  return keys.map((key) => ownerOf(key, members));
}

test("placement - hash matches the published FNV-1a 64 vectors", () => {
  expect(fnv1a64("")).toBe(0xcbf29ce484222325n);
  expect(fnv1a64("a")).toBe(0xaf63dc4c8601ec8cn);
  expect(fnv1a64("foobar")).toBe(0x85944171f73967e8n);
});

test("placement - score matches an independent 64-bit reference, non-ASCII included", () => {
  const samples = ["", "player/1", "player/2", "joueur/é", "玩家/42", "emoji/🂡", "lone/\ud800x"];
  for (const key of samples) {
    for (const member of ["croupier-1", "node-β"]) {
      expect(rendezvousScore(key, member)).toBe(referenceScore(key, member));
    }
  }
});

test("placement - is deterministic and ignores the order of members", () => {
  const members = nodes(5);
  const shuffled = [members[3], members[0], members[4], members[2], members[1]] as string[];
  for (const key of keys.slice(0, 2_000)) {
    const owner = ownerOf(key, members);
    expect(ownerOf(key, members)).toBe(owner);
    expect(ownerOf(key, shuffled)).toBe(owner);
  }
  // Pinned: a change of hash would silently move every actor between versions.
  expect(keys.slice(0, 8).map((key) => ownerOf(key, members))).toEqual([
    "croupier-1",
    "croupier-3",
    "croupier-4",
    "croupier-4",
    "croupier-3",
    "croupier-3",
    "croupier-5",
    "croupier-5",
  ]);
});

test("placement - spreads keys evenly over 3 to 5 members (chi-square)", () => {
  // Critical values at p = 0.001 for 2, 3 and 4 degrees of freedom.
  const chiSquareCritical: Record<number, number> = { 3: 13.82, 4: 16.27, 5: 18.47 };
  for (const count of [3, 4, 5]) {
    const tally = new Map<string, number>();
    for (const owner of owners(nodes(count))) tally.set(owner, (tally.get(owner) ?? 0) + 1);
    expect(tally.size).toBe(count);
    const expected = keys.length / count;
    let chiSquare = 0;
    for (const observed of tally.values()) chiSquare += (observed - expected) ** 2 / expected;
    expect(chiSquare).toBeLessThan(chiSquareCritical[count] as number);
  }
});

test("placement - adding a member moves about 1/n of the keys, all to the newcomer", () => {
  const before = owners(nodes(4));
  const after = owners(nodes(5));
  let moved = 0;
  for (let index = 0; index < keys.length; index += 1) {
    if (before[index] === after[index]) continue;
    moved += 1;
    expect(after[index]).toBe("croupier-5");
  }
  const movedShare = moved / keys.length;
  expect(movedShare).toBeGreaterThan(0.2 - 0.02);
  expect(movedShare).toBeLessThan(0.2 + 0.02);
});

test("placement - removing a member moves only that member's keys", () => {
  const members = nodes(5);
  const before = owners(members);
  const after = owners(members.filter((member) => member !== "croupier-3"));
  for (let index = 0; index < keys.length; index += 1) {
    if (before[index] === "croupier-3") expect(after[index]).not.toBe("croupier-3");
    else expect(after[index]).toBe(before[index] as string);
  }
});

test("placement - with no members throws; one member owns every key", () => {
  expect(() => ownerOf("player/1", [])).toThrow(RangeError);
  const membership = new StaticMembership("croupier-1");
  expect(membership.members()).toEqual(["croupier-1"]);
  expect(ownerOf("player/1", membership.members())).toBe(membership.self);
  const unsubscribe = membership.onChange(() => {
    throw new Error("a static membership never changes");
  });
  unsubscribe();
  expect(() => new StaticMembership("")).toThrow(RangeError);
});
