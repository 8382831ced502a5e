/** Field validation shared by the WebSocket commands and the HTTP routes (docs/PROTOCOL.md, Conventions). */

const playerIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
const commandIdPattern = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isPlayerId(value: unknown): value is string {
  return typeof value === "string" && playerIdPattern.test(value);
}

export function isCommandId(value: unknown): value is string {
  return typeof value === "string" && commandIdPattern.test(value);
}

/** Money: a positive safe integer of minor units. Floats, strings, zero and negatives are refused. */
export function isAmount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
