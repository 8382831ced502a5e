/**
 * Postgres BIGINT columns arrive from postgres.js as decimal strings (a JS number cannot hold
 * every int8). Money and sequence numbers are converted here, once, and only when the value is
 * exactly representable: a balance that silently rounded would be money created or destroyed.
 */

/** The integer a BIGINT (string), INTEGER (number) or bigint column holds, if it is a safe one. */
export function safeInteger(value: unknown, what: string): number {
  let result: number;
  if (typeof value === "number") {
    result = value;
  } else if (typeof value === "string") {
    result = Number(value);
    // "1e3", " 12", "0x10" parse as numbers too; only the canonical decimal form is an int8.
    if (String(result) !== value) throw new RangeError(`${what}: ${value} is not a safe integer`);
  } else if (typeof value === "bigint") {
    result = Number(value);
    if (BigInt(result) !== value) throw new RangeError(`${what}: ${value} is not a safe integer`);
  } else {
    throw new TypeError(`${what}: expected an integer column, got ${typeof value}`);
  }
  if (!Number.isSafeInteger(result))
    throw new RangeError(`${what}: ${value} is not a safe integer`);
  return result;
}

/** Like `safeInteger`, but SQL NULL stays null. */
export function safeIntegerOrNull(value: unknown, what: string): number | null {
  return value === null ? null : safeInteger(value, what);
}
