/**
 * Uniform random integers for game outcomes.
 *
 * Words come from the operating system's CSPRNG (`crypto.getRandomValues`), fetched in blocks
 * because one call per word dominates the cost of a spin. A word is mapped onto [0, n) by
 * rejection sampling: words at or above the largest multiple of n that fits in 2^32 are
 * thrown away, so every result has exactly the same number of words mapping onto it and no
 * value is favoured (a plain `word % n` favours the low values whenever n does not divide 2^32).
 */

/** A source of uniform integers in [0, maxExclusive). Games take one so tests can fix outcomes. */
export type RandomSource = (maxExclusive: number) => number;

const wordRange = 2 ** 32;
const bufferWords = 1024;

/**
 * Attempts before giving up on a word source. Each attempt is rejected with probability < 1/2,
 * so a working source needs more than 64 attempts with probability < 2^-64: reaching the bound
 * means the source is broken (for example, it repeats one rejected word), not bad luck.
 */
const attemptsMax = 64;

/** The number of words, counted from 0, that map onto [0, n) without bias. */
export function acceptedWordLimit(n: number): number {
  assertRange(n);
  return wordRange - (wordRange % n);
}

/**
 * Maps words from `nextWord` (uniform integers in [0, 2^32)) onto a uniform integer in [0, n),
 * consuming as many words as rejection sampling needs.
 */
export function uniformFromWords(n: number, nextWord: () => number): number {
  const limit = acceptedWordLimit(n);
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const word = nextWord();
    if (!Number.isInteger(word) || word < 0 || word >= wordRange) {
      throw new Error(`random word out of range: ${word}`);
    }
    if (word < limit) return word % n;
  }
  throw new Error(`random source rejected ${attemptsMax} times in a row for n = ${n}`);
}

const buffer = new Uint32Array(bufferWords);
let bufferNext = bufferWords;

function nextSecureWord(): number {
  if (bufferNext === bufferWords) {
    crypto.getRandomValues(buffer);
    bufferNext = 0;
  }
  const word = buffer[bufferNext];
  // Zero the consumed word so drawn values do not linger in memory longer than needed.
  buffer[bufferNext] = 0;
  bufferNext++;
  if (word === undefined) throw new Error("random buffer index out of range");
  return word;
}

/** A uniform integer in [0, maxExclusive) from the CSPRNG; maxExclusive is an integer in 1..2^32. */
export const randomInt: RandomSource = (maxExclusive) =>
  uniformFromWords(maxExclusive, nextSecureWord);

function assertRange(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > wordRange) {
    throw new Error(`random range must be an integer in 1..2^32, got ${n}`);
  }
}
