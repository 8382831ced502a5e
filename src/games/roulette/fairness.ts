/**
 * Provably fair roulette draws (docs/PROTOCOL.md, "Fairness").
 *
 * The server draws a fresh 32-byte seed per round and publishes the hex SHA-256 of those bytes
 * (the commit) when betting opens. The number is derived from
 * H = HMAC-SHA256(key = seed bytes, message = roundId + ":" + sorted client seeds joined with ",")
 * read as eight big-endian 32-bit words: the first word below 37 x 116080197 = 4294967289,
 * taken mod 37. Words at or above that bound are skipped so no pocket is favoured; if all
 * eight are skipped the message is suffixed with ":1", ":2", ... and hashed again.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { pocketCount } from "./bets.ts";

/** Bytes in a server seed; its hex form has twice as many characters. */
export const serverSeedBytes = 32;

/** The largest multiple of 37 not above 2^32: words at or above it are rejected. */
export const acceptedWordLimit = pocketCount * 116080197;

/**
 * Rehash attempts before giving up. All eight words of one digest are rejected with probability
 * (7 / 2^32)^8 < 2^-250, so even a second attempt is never needed in practice; reaching the bound
 * means HMAC-SHA256 is broken, not bad luck.
 */
const attemptsMax = 1_000_000;

const seedPattern = /^[0-9a-fA-F]{64}$/;

/** A fresh server seed: 32 bytes from the operating system's CSPRNG, as 64 lowercase hex characters. */
export function newServerSeed(): string {
  return randomBytes(serverSeedBytes).toString("hex");
}

function seedBytes(serverSeedHex: string): Buffer {
  if (typeof serverSeedHex !== "string" || !seedPattern.test(serverSeedHex)) {
    throw new Error("server seed must be 64 hex characters");
  }
  return Buffer.from(serverSeedHex, "hex");
}

/** The published commit: hex SHA-256 of the 32 seed bytes (not of the hex text). */
export function commitOf(serverSeedHex: string): string {
  return createHash("sha256").update(seedBytes(serverSeedHex)).digest("hex");
}

/** The client seeds in their published order: sorted by UTF-16 code units. */
export function sortClientSeeds(clientSeeds: readonly string[]): string[] {
  return [...clientSeeds].sort();
}

/** The HMAC message of a round's first attempt: roundId + ":" + sorted client seeds joined with ",". */
export function clientSeedsMessage(roundId: string, clientSeeds: readonly string[]): string {
  return `${roundId}:${sortClientSeeds(clientSeeds).join(",")}`;
}

/**
 * The number a digest selects: the first big-endian 32-bit word below the accepted limit, mod 37;
 * undefined when every word is rejected.
 */
export function numberFromDigest(digest: Uint8Array): number | undefined {
  if (digest.length % 4 !== 0) {
    throw new Error(`digest length must be a multiple of 4 bytes, got ${digest.length}`);
  }
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  for (let offset = 0; offset < digest.length; offset += 4) {
    const word = view.getUint32(offset, false);
    if (word < acceptedWordLimit) return word % pocketCount;
  }
  return undefined;
}

/** The round's number in 0..36 from the revealed server seed, the round id and the client seeds. */
export function drawNumber(
  serverSeedHex: string,
  roundId: string,
  clientSeeds: readonly string[],
): number {
  const key = seedBytes(serverSeedHex);
  const message = clientSeedsMessage(roundId, clientSeeds);
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const input = attempt === 0 ? message : `${message}:${attempt}`;
    const digest = createHmac("sha256", key).update(input, "utf8").digest();
    const number = numberFromDigest(digest);
    if (number !== undefined) return number;
  }
  throw new Error(`roulette draw rejected ${attemptsMax} digests in a row`);
}

export interface RoundProof {
  readonly serverSeed: string;
  readonly commit: string;
  readonly roundId: string;
  readonly clientSeeds: readonly string[];
  readonly number: number;
}

/**
 * What an outside verifier checks once a round's seed is revealed: the seed matches the commit
 * published before betting, and the seed, round id and client seeds give the announced number.
 * Malformed input is simply not a valid proof.
 */
export function verifyRound(proof: RoundProof): boolean {
  try {
    const { serverSeed, commit, roundId, clientSeeds, number } = proof;
    if (typeof commit !== "string" || !seedPattern.test(commit)) return false;
    if (typeof roundId !== "string" || !Array.isArray(clientSeeds)) return false;
    if (!clientSeeds.every((seed) => typeof seed === "string")) return false;
    const expected = Buffer.from(commitOf(serverSeed), "hex");
    if (!timingSafeEqual(expected, Buffer.from(commit, "hex"))) return false;
    return drawNumber(serverSeed, roundId, clientSeeds) === number;
  } catch {
    return false;
  }
}
