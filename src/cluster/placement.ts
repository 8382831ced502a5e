/**
 * Placement: which member owns a key (for actors, "kind/id"), by rendezvous hashing (highest
 * random weight). Every member scores the key; the highest score owns it. Adding a member moves
 * only the keys the newcomer now wins (about 1/n of them); removing one moves only its keys.
 * The result does not depend on the order of `members`.
 *
 * The score is 64-bit FNV-1a over the UTF-8 bytes of key, a 0xff separator (a byte that never
 * occurs in UTF-8, so ("ab","c") and ("a","bc") differ) and member, then the MurmurHash3 64-bit
 * finalizer (fmix64). FNV-1a is fully specified and written out here, so every process, runtime
 * and version computes the same owner; a runtime's built-in hash may change algorithm or seed.
 * The finalizer is needed because FNV-1a barely stirs the high bits with the last bytes, and
 * keys like "player-1" and "player-2" differ only there.
 *
 * 64-bit arithmetic is done on two unsigned 32-bit halves: exact, and no BigInt on the hot path.
 */

const twoTo32 = 4_294_967_296;
const fnvOffsetHi = 0xcbf29ce4;
const fnvOffsetLo = 0x84222325;
/** The FNV 64-bit prime is 2^40 + 0x1b3. */
const fnvPrimeLow = 0x1b3;
const separatorByte = 0xff;

/** A 64-bit value as two unsigned 32-bit halves; mutated in place to avoid allocation. */
interface Word64 {
  hi: number;
  lo: number;
}

/** The owner of `key` among `members`. Throws when there is no member. */
export function ownerOf(key: string, members: readonly string[]): string {
  if (members.length === 0) throw new RangeError("ownerOf: members must not be empty");
  const keyState: Word64 = { hi: fnvOffsetHi, lo: fnvOffsetLo };
  fnvString(keyState, key);
  fnvByte(keyState, separatorByte);
  const score: Word64 = { hi: 0, lo: 0 };
  let owner = members[0] as string;
  let bestHi = -1;
  let bestLo = -1;
  for (const member of members) {
    score.hi = keyState.hi;
    score.lo = keyState.lo;
    fnvString(score, member);
    fmix64(score);
    const better =
      score.hi > bestHi ||
      (score.hi === bestHi && (score.lo > bestLo || (score.lo === bestLo && member < owner)));
    if (better) {
      owner = member;
      bestHi = score.hi;
      bestLo = score.lo;
    }
  }
  return owner;
}

/** The score `member` gives `key`, as an unsigned 64-bit integer: for tests and tooling. */
export function rendezvousScore(key: string, member: string): bigint {
  const state: Word64 = { hi: fnvOffsetHi, lo: fnvOffsetLo };
  fnvString(state, key);
  fnvByte(state, separatorByte);
  fnvString(state, member);
  fmix64(state);
  return toBigInt(state);
}

/** Plain 64-bit FNV-1a of the UTF-8 bytes of `text`: for checking against published vectors. */
export function fnv1a64(text: string): bigint {
  const state: Word64 = { hi: fnvOffsetHi, lo: fnvOffsetLo };
  fnvString(state, text);
  return toBigInt(state);
}

function toBigInt(word: Word64): bigint {
  return (BigInt(word.hi) << 32n) | BigInt(word.lo);
}

/** Feeds the UTF-8 encoding of `text` (lone surrogates as U+FFFD, like TextEncoder). */
function fnvString(state: Word64, text: string): void {
  for (let index = 0; index < text.length; index += 1) {
    let code = text.charCodeAt(index);
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = text.charCodeAt(index + 1);
      if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        index += 1;
      } else {
        code = 0xfffd;
      }
    }
    if (code < 0x80) {
      fnvByte(state, code);
    } else if (code < 0x800) {
      fnvByte(state, 0xc0 | (code >> 6));
      fnvByte(state, 0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      fnvByte(state, 0xe0 | (code >> 12));
      fnvByte(state, 0x80 | ((code >> 6) & 0x3f));
      fnvByte(state, 0x80 | (code & 0x3f));
    } else {
      fnvByte(state, 0xf0 | (code >> 18));
      fnvByte(state, 0x80 | ((code >> 12) & 0x3f));
      fnvByte(state, 0x80 | ((code >> 6) & 0x3f));
      fnvByte(state, 0x80 | (code & 0x3f));
    }
  }
}

/** state = (state XOR byte) * prime, modulo 2^64. */
function fnvByte(state: Word64, byte: number): void {
  const lo = (state.lo ^ byte) >>> 0;
  const loProduct = lo * fnvPrimeLow; // < 2^41: exact in a double
  const carry = Math.floor(loProduct / twoTo32);
  // The 2^40 part of the prime shifts lo by 8 into the high half.
  state.hi = (state.hi * fnvPrimeLow + carry + ((lo << 8) >>> 0)) >>> 0;
  state.lo = loProduct >>> 0;
}

/** MurmurHash3 fmix64: every input bit affects every output bit. */
function fmix64(word: Word64): void {
  word.lo = (word.lo ^ (word.hi >>> 1)) >>> 0; // k ^= k >>> 33
  multiply64(word, 0xff51afd7, 0xed558ccd);
  word.lo = (word.lo ^ (word.hi >>> 1)) >>> 0;
  multiply64(word, 0xc4ceb9fe, 0x1a85ec53);
  word.lo = (word.lo ^ (word.hi >>> 1)) >>> 0;
}

/** word = word * (hi:lo) modulo 2^64. */
function multiply64(word: Word64, hi: number, lo: number): void {
  // The full 64-bit product of the low halves, from 16-bit pieces so each part stays exact.
  const a0 = word.lo & 0xffff;
  const a1 = word.lo >>> 16;
  const b0 = lo & 0xffff;
  const b1 = lo >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const middle = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const productLo = (((middle & 0xffff) << 16) | (p00 & 0xffff)) >>> 0;
  const productHi = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + Math.floor(middle / 65_536);
  // Cross terms only reach the high half; their own high parts fall off the 64-bit end.
  word.hi = (productHi + Math.imul(word.hi, lo) + Math.imul(word.lo, hi)) >>> 0;
  word.lo = productLo;
}
