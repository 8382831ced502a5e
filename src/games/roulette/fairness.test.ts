import { expect, test } from "bun:test";
import {
  acceptedWordLimit,
  clientSeedsMessage,
  commitOf,
  drawNumber,
  newServerSeed,
  numberFromDigest,
  verifyRound,
} from "./fairness.ts";

// A second implementation of the protocol's draw, on WebCrypto, written from docs/PROTOCOL.md
// ("Fairness") alone, so the two check each other.

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function referenceCommit(seedHex: string): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", hexToBytes(seedHex))));
}

async function referenceDraw(
  seedHex: string,
  roundId: string,
  clientSeeds: string[],
): Promise<number> {
  const key = await crypto.subtle.importKey(
    "raw",
    hexToBytes(seedHex),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const base = `${roundId}:${[...clientSeeds].sort().join(",")}`;
  for (let attempt = 0; attempt < 100; attempt++) {
    const message = attempt === 0 ? base : `${base}:${attempt}`;
    const h = new Uint8Array(
      await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)),
    );
    for (let i = 0; i < 32; i += 4) {
      const v =
        (h[i] ?? 0) * 2 ** 24 + ((h[i + 1] ?? 0) << 16) + ((h[i + 2] ?? 0) << 8) + (h[i + 3] ?? 0);
      if (v < 37 * 116080197) return v % 37;
    }
  }
  throw new Error("reference draw found no word");
}

function randomSeedString(): string {
  const length = 1 + Math.floor(Math.random() * 20);
  return bytesToHex(crypto.getRandomValues(new Uint8Array(length))).slice(0, length);
}

/** Digest bytes holding the given big-endian 32-bit words. */
function digestOf(words: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(words.length * 4);
  const view = new DataView(bytes.buffer);
  words.forEach((word, i) => {
    view.setUint32(4 * i, word, false);
  });
  return bytes;
}

const fixedSeed = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

test("fairness - new server seeds are 64 lowercase hex characters and never repeat", () => {
  const seeds = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const seed = newServerSeed();
    expect(seed).toMatch(/^[0-9a-f]{64}$/);
    seeds.add(seed);
  }
  expect(seeds.size).toBe(1000);
});

test("fairness - the commit is SHA-256 of the 32 seed bytes, not of the hex text", async () => {
  // SHA-256 of 32 zero bytes, a published constant.
  expect(commitOf("0".repeat(64))).toBe(
    "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925",
  );
  expect(commitOf(fixedSeed)).toBe(
    "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd",
  );
  const ofText = bytesToHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(fixedSeed))),
  );
  expect(commitOf(fixedSeed)).not.toBe(ofText);
  for (let i = 0; i < 50; i++) {
    const seed = newServerSeed();
    expect(commitOf(seed)).toBe(await referenceCommit(seed));
    expect(commitOf(seed.toUpperCase())).toBe(commitOf(seed));
  }
});

test("fairness - malformed server seeds are refused", () => {
  for (const seed of [
    "",
    "0".repeat(63),
    "0".repeat(65),
    `${"0".repeat(63)}g`,
    ` ${"0".repeat(63)}`,
  ]) {
    expect(() => commitOf(seed)).toThrow(/64 hex/);
    expect(() => drawNumber(seed, "r", [])).toThrow(/64 hex/);
  }
});

test("fairness - the message is roundId, a colon and the sorted client seeds joined by commas", () => {
  const seeds = ["bob", "alice", "Zed", "carol"];
  expect(clientSeedsMessage("round-9", seeds)).toBe("round-9:Zed,alice,bob,carol");
  expect(seeds).toEqual(["bob", "alice", "Zed", "carol"]);
  expect(clientSeedsMessage("round-9", [])).toBe("round-9:");
  expect(clientSeedsMessage("r", ["x"])).toBe("r:x");
});

test("fairness - known answer: a fixed seed, round and client seeds draw 12", async () => {
  // First word 0x682c1d6a = 1747721578 < 4294967289; 1747721578 mod 37 = 12.
  const clientSeeds = ["bob-seed", "alice-seed"];
  expect(drawNumber(fixedSeed, "table-1:42", clientSeeds)).toBe(12);
  expect(await referenceDraw(fixedSeed, "table-1:42", clientSeeds)).toBe(12);
  // The client seeds' order on input does not matter: they are sorted first.
  expect(drawNumber(fixedSeed, "table-1:42", ["alice-seed", "bob-seed"])).toBe(12);
});

test("fairness - drawNumber agrees with an independent WebCrypto implementation", async () => {
  for (let i = 0; i < 500; i++) {
    const seed = newServerSeed();
    const roundId = `t${i % 7}:${i}`;
    const clientSeeds = Array.from({ length: i % 5 }, randomSeedString);
    const number = drawNumber(seed, roundId, clientSeeds);
    expect(number).toBe(await referenceDraw(seed, roundId, clientSeeds));
    expect(Number.isInteger(number) && number >= 0 && number <= 36).toBe(true);
  }
});

test("fairness - words at or above 37 x 116080197 are skipped", () => {
  expect(acceptedWordLimit).toBe(4294967289);
  expect(acceptedWordLimit % 37).toBe(0);
  expect(acceptedWordLimit + 37).toBeGreaterThan(2 ** 32);

  expect(numberFromDigest(digestOf([0, 1, 2, 3, 4, 5, 6, 7]))).toBe(0);
  expect(numberFromDigest(digestOf([38, 0, 0, 0, 0, 0, 0, 0]))).toBe(1);
  expect(numberFromDigest(digestOf([4294967288, 0, 0, 0, 0, 0, 0, 0]))).toBe(36);
  expect(numberFromDigest(digestOf([4294967289, 5, 0, 0, 0, 0, 0, 0]))).toBe(5);
  expect(numberFromDigest(digestOf([2 ** 32 - 1, 4294967289, 4294967290, 40, 0, 0, 0, 0]))).toBe(3);
  const rejected = [4294967289, 4294967290, 4294967291, 4294967292, 4294967293, 4294967294];
  expect(numberFromDigest(digestOf([...rejected, 2 ** 32 - 1, 75]))).toBe(1);
  expect(numberFromDigest(digestOf([...rejected, 2 ** 32 - 1, 4294967289]))).toBeUndefined();
  // Words are big-endian: bytes 00 00 01 00 are 256, and 256 mod 37 = 34.
  expect(numberFromDigest(new Uint8Array([0, 0, 1, 0]))).toBe(34);
});

test("fairness - numberFromDigest reads a view at an offset and refuses ragged digests", () => {
  const backing = digestOf([4294967295, 4294967290, 100, 0]);
  expect(numberFromDigest(backing.subarray(4))).toBe(100 % 37);
  expect(numberFromDigest(backing.subarray(8, 12))).toBe(100 % 37);
  expect(() => numberFromDigest(new Uint8Array(5))).toThrow(/multiple of 4/);
});

/** Chi-square critical value at p = 0.001 (Wilson–Hilferty approximation), as in rng.test.ts. */
function chiSquareCritical(degreesOfFreedom: number): number {
  const k = degreesOfFreedom;
  return k * (1 - 2 / (9 * k) + 3.090232306167813 * Math.sqrt(2 / (9 * k))) ** 3;
}

function drawStatistic(draws: number): number {
  const observed = new Array<number>(37).fill(0);
  for (let i = 0; i < draws; i++) {
    const number = drawNumber(newServerSeed(), `round-${i}`, ["c"]);
    observed[number] = (observed[number] ?? 0) + 1;
  }
  const expected = draws / 37;
  return observed.reduce((sum, o) => sum + (o - expected) ** 2 / expected, 0);
}

test("fairness - drawNumber passes a chi-square test at p = 0.001 over random seeds", () => {
  const critical = chiSquareCritical(36);
  expect(critical).toBeCloseTo(67.98, 0);
  // A fair draw exceeds the critical value once in a thousand samples; one pass in two
  // independent samples keeps false alarms to one in a million runs.
  const statistics = [0, 1].map(() => drawStatistic(37_000));
  console.log(
    `chi-square roulette: ${statistics.map((s) => s.toFixed(1))} < ${critical.toFixed(1)}`,
  );
  expect(Math.min(...statistics)).toBeLessThan(critical);
});

test("fairness - a revealed round verifies against its commit", () => {
  const serverSeed = newServerSeed();
  const commit = commitOf(serverSeed);
  const roundId = "roulette-1:77";
  const clientSeeds = ["q", "a", "m"];
  const number = drawNumber(serverSeed, roundId, clientSeeds);
  const proof = { serverSeed, commit, roundId, clientSeeds, number };

  expect(commitOf(serverSeed)).toBe(commit);
  expect(verifyRound(proof)).toBe(true);
  expect(verifyRound({ ...proof, clientSeeds: ["a", "m", "q"] })).toBe(true);
  expect(verifyRound({ ...proof, commit: commit.toUpperCase() })).toBe(true);

  expect(verifyRound({ ...proof, number: (number + 1) % 37 })).toBe(false);
  expect(verifyRound({ ...proof, commit: commitOf(newServerSeed()) })).toBe(false);
  const otherSeed = newServerSeed();
  expect(verifyRound({ ...proof, serverSeed: otherSeed })).toBe(false);
  expect(
    verifyRound({
      ...proof,
      serverSeed: otherSeed,
      commit: commitOf(otherSeed),
      number: (drawNumber(otherSeed, roundId, clientSeeds) + 1) % 37,
    }),
  ).toBe(false);
  const hexTextCommit = new Bun.CryptoHasher("sha256").update(serverSeed).digest("hex");
  expect(verifyRound({ ...proof, commit: hexTextCommit })).toBe(false);
});

test("fairness - malformed proofs do not verify and do not throw", () => {
  const serverSeed = newServerSeed();
  const proof = {
    serverSeed,
    commit: commitOf(serverSeed),
    roundId: "r",
    clientSeeds: [] as string[],
    number: drawNumber(serverSeed, "r", []),
  };
  expect(verifyRound(proof)).toBe(true);
  const broken: any[] = [
    { ...proof, serverSeed: "xyz" },
    { ...proof, commit: "abc" },
    { ...proof, commit: 5 },
    { ...proof, roundId: 7 },
    { ...proof, clientSeeds: "a,b" },
    { ...proof, clientSeeds: [1] },
    { ...proof, number: 37 },
    { ...proof, number: "0" },
  ];
  for (const candidate of broken) expect(verifyRound(candidate)).toBe(false);
});
