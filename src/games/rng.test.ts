import { expect, test } from "bun:test";
import { acceptedWordLimit, randomInt, uniformFromWords } from "./rng.ts";

const wordRange = 2 ** 32;

/** Upper-tail standard normal quantile for p = 0.001. */
const zAt999 = 3.090232306167813;

/** Chi-square critical value at p = 0.001 (Wilson–Hilferty approximation). */
function chiSquareCritical(degreesOfFreedom: number): number {
  const k = degreesOfFreedom;
  return k * (1 - 2 / (9 * k) + zAt999 * Math.sqrt(2 / (9 * k))) ** 3;
}

/**
 * Buckets [0, n) into `buckets` ranges of (nearly) equal size: value v goes to floor(v * buckets / n).
 * Returns the exact number of values of [0, n) in each bucket, so expectations stay exact even
 * when n is not a multiple of the bucket count.
 */
function bucketSizes(n: number, buckets: number): number[] {
  const firstValueOf = (bucket: number) => Math.ceil((bucket * n) / buckets);
  return Array.from({ length: buckets }, (_, b) => firstValueOf(b + 1) - firstValueOf(b));
}

function chiSquare(
  n: number,
  buckets: number,
  samples: number,
  draw: (n: number) => number,
): number {
  const observed = new Array<number>(buckets).fill(0);
  for (let i = 0; i < samples; i++) {
    const value = draw(n);
    const bucket = Math.floor((value * buckets) / n);
    observed[bucket] = (observed[bucket] ?? 0) + 1;
  }
  return bucketSizes(n, buckets).reduce((sum, size, bucket) => {
    const expected = (samples * size) / n;
    return sum + ((observed[bucket] ?? 0) - expected) ** 2 / expected;
  }, 0);
}

/** A plain `word % n`: the biased mapping that rejection sampling exists to avoid. */
function moduloMapping(n: number): number {
  const [word = 0] = crypto.getRandomValues(new Uint32Array(1));
  return word % n;
}

function wordsFrom(words: readonly number[]): { next: () => number; consumed: () => number } {
  let index = 0;
  return {
    next: () => {
      const word = words[index++];
      if (word === undefined) throw new Error("test source exhausted");
      return word;
    },
    consumed: () => index,
  };
}

const cases = [
  { n: 37, buckets: 37, samples: 370_000 },
  { n: 30, buckets: 30, samples: 300_000 },
  { n: 1000, buckets: 1000, samples: 1_000_000 },
  { n: 2 ** 31 + 1, buckets: 64, samples: 640_000 },
  // Three equal thirds; a modulo mapping would put half of all draws in the first one.
  { n: 3 * 2 ** 30, buckets: 3, samples: 300_000 },
  { n: wordRange, buckets: 256, samples: 512_000 },
];

for (const { n, buckets, samples } of cases) {
  test(`rng - randomInt(${n}) passes a chi-square test at p = 0.001`, () => {
    const critical = chiSquareCritical(buckets - 1);
    // A fair source exceeds the critical value in one sample out of a thousand; requiring
    // one pass in two independent samples keeps false alarms to one in a million runs while
    // a biased mapping still fails both.
    const statistics = [0, 1].map(() => chiSquare(n, buckets, samples, randomInt));
    console.log(
      `chi-square n=${n}: ${statistics.map((s) => s.toFixed(1))} < ${critical.toFixed(1)}`,
    );
    expect(Math.min(...statistics)).toBeLessThan(critical);
  });
}

test("rng - the chi-square test detects the bias of a plain modulo mapping", () => {
  const n = 3 * 2 ** 30;
  expect(chiSquare(n, 3, 30_000, moduloMapping)).toBeGreaterThan(chiSquareCritical(2));
});

test("rng - the accepted word limit is the largest multiple of n not above 2^32", () => {
  for (const n of [1, 2, 3, 30, 37, 1000, 2 ** 31 + 1, 3 * 2 ** 30, wordRange - 1, wordRange]) {
    const limit = acceptedWordLimit(n);
    expect(limit % n).toBe(0);
    expect(limit).toBeLessThanOrEqual(wordRange);
    expect(limit + n).toBeGreaterThan(wordRange);
  }
  // The same bound the roulette fairness rule publishes (docs/PROTOCOL.md).
  expect(acceptedWordLimit(37)).toBe(4294967289);
});

test("rng - words at or above the limit are skipped, the first word below it is used", () => {
  const limit3 = acceptedWordLimit(3);
  const source3 = wordsFrom([limit3, limit3 - 1]);
  expect(uniformFromWords(3, source3.next)).toBe((limit3 - 1) % 3);
  expect(source3.consumed()).toBe(2);

  const n = 3 * 2 ** 30;
  const source = wordsFrom([n, wordRange - 1, n + 12345, n - 1, 0]);
  expect(uniformFromWords(n, source.next)).toBe(n - 1);
  expect(source.consumed()).toBe(4);

  const whole = wordsFrom([wordRange - 1]);
  expect(uniformFromWords(wordRange, whole.next)).toBe(wordRange - 1);
  expect(uniformFromWords(1, wordsFrom([wordRange - 1]).next)).toBe(0);
});

test("rng - a source that only returns rejected words fails instead of looping forever", () => {
  expect(() => uniformFromWords(3, () => wordRange - 1)).toThrow(/rejected/);
});

test("rng - out-of-range words and ranges are rejected", () => {
  for (const word of [-1, wordRange, 1.5, Number.NaN]) {
    expect(() => uniformFromWords(10, () => word)).toThrow(/out of range/);
  }
  for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, wordRange + 1]) {
    expect(() => randomInt(n)).toThrow(/1\.\.2\^32/);
  }
});

test("rng - randomInt returns integers in range across buffer refills", () => {
  for (let i = 0; i < 5000; i++) {
    const value = randomInt(7);
    expect(Number.isInteger(value) && value >= 0 && value < 7).toBe(true);
  }
});
