/**
 * Protocol error codes (docs/PROTOCOL.md, "Errors") and the one error class that carries them
 * across layers. Driver and runtime errors are mapped onto these at the boundary, so what a
 * client sees never depends on which backend is configured.
 */
export const errorCodes = [
  "BAD_REQUEST",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "PAYLOAD_TOO_LARGE",
  "INSUFFICIENT_FUNDS",
  "LIMIT_EXCEEDED",
  "IDEMPOTENCY_CONFLICT",
  "UNKNOWN_GAME",
  "UNKNOWN_TABLE",
  "NOT_SEATED",
  "BETTING_CLOSED",
  "RATE_LIMITED",
  "BUSY",
  "SELF_EXCLUDED",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export const httpStatusByCode: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  LIMIT_EXCEEDED: 400,
  UNKNOWN_GAME: 400,
  UNKNOWN_TABLE: 404,
  NOT_SEATED: 400,
  BETTING_CLOSED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SELF_EXCLUDED: 403,
  NOT_FOUND: 404,
  IDEMPOTENCY_CONFLICT: 409,
  INSUFFICIENT_FUNDS: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  BUSY: 503,
  INTERNAL: 500,
};

/** An error a client may see. `code` is stable; `message` is for humans. */
export class CroupierError extends Error {
  override readonly name = "CroupierError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Maps anything thrown onto a protocol error; unknown failures are INTERNAL (outcome unknown). */
export function toCroupierError(error: unknown): CroupierError {
  if (error instanceof CroupierError) return error;
  return new CroupierError(
    "INTERNAL",
    "internal error; retry with the same id to learn the outcome",
    {
      cause: error,
    },
  );
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
