/** Exact non-negative rational numbers on BigInt, enough for the slot's math and PAR sheet. */
export interface Ratio {
  num: bigint;
  den: bigint;
}

export function ratio(num: bigint, den: bigint): Ratio {
  if (den <= 0n) throw new Error("ratio denominator must be positive");
  if (num < 0n) throw new Error("ratio must not be negative");
  const divisor = gcd(num, den);
  return { num: num / divisor, den: den / divisor };
}

export function compareRatio(a: Ratio, b: Ratio): -1 | 0 | 1 {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function equalRatio(a: Ratio, b: Ratio): boolean {
  return compareRatio(a, b) === 0;
}

/** The value rounded half up to `decimals` places, e.g. "96.0123". */
export function formatDecimal(value: Ratio, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const scaled = (value.num * scale * 2n + value.den) / (value.den * 2n);
  const whole = scaled / scale;
  if (decimals === 0) return whole.toString();
  const fraction = (scaled % scale).toString().padStart(decimals, "0");
  return `${whole}.${fraction}`;
}

export function formatPercent(value: Ratio, decimals: number): string {
  return `${formatDecimal({ num: value.num * 100n, den: value.den }, decimals)}%`;
}

/** The square root of `value`, rounded down to `decimals` places. */
export function formatSquareRoot(value: Ratio, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const root = integerSquareRoot((value.num * scale * scale) / value.den);
  const fraction = (root % scale).toString().padStart(decimals, "0");
  return decimals === 0 ? (root / scale).toString() : `${root / scale}.${fraction}`;
}

/** floor(sqrt(n)) by Newton's method, which decreases monotonically from above to the root. */
export function integerSquareRoot(n: bigint): bigint {
  if (n < 0n) throw new Error("square root of a negative number");
  if (n < 2n) return n;
  let x = n;
  let y = (x + 1n) / 2n;
  while (y < x) {
    x = y;
    y = (x + n / x) / 2n;
  }
  return x;
}

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}
