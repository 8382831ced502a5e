import { CroupierError } from "../../errors.ts";

/**
 * How a failed statement of the Postgres ledger maps onto the protocol's codes: BUSY when the
 * request never reached the server (no connection could be opened), INTERNAL otherwise, in
 * particular when a COMMIT went out and no answer came back: the outcome is then unknown.
 */

/** Errors of opening a connection: the request never reached the server. */
const connectErrorCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "CONNECT_TIMEOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "28P01", // invalid password
  "28000", // invalid authorization
  "3D000", // no such database
  "53300", // too many connections
  "55000", // database not accepting connections
  "57P03", // server starting up or shutting down
]);

export interface ServerError {
  name: "PostgresError";
  code: string;
  constraint_name?: string;
  message: string;
}

export function isServerError(error: unknown): error is ServerError {
  return error instanceof Error && error.name === "PostgresError" && "code" in error;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `what` names the operation and where it failed, e.g. "ledger transaction failed at COMMIT". */
export function failure(what: string, error: unknown): CroupierError {
  const code = connectErrorCodes.has(String((error as { code?: unknown })?.code))
    ? "BUSY"
    : "INTERNAL";
  return new CroupierError(code, `${what}: ${errorText(error)}`, { cause: error });
}

/** Refusals of a batch blocked by another session's row lock: load, not a broken database. */
const contentionRefusals = new WeakSet<Error>();

/** Statement timeout (57014) and lock not available (55P03): waiting on another session. */
export function isLockWait(error: unknown): boolean {
  return isServerError(error) && (error.code === "57014" || error.code === "55P03");
}

/**
 * A batch whose reads (the first statements of its transaction, which wrote nothing) waited too
 * long on another session's lock: BUSY, because nothing moved, and retried by the caller.
 */
export function contentionRefusal(stage: string, error: unknown): CroupierError {
  const refusal = new CroupierError(
    "BUSY",
    `ledger transaction waited too long ${stage} (another session holds a player's row); nothing was written: ${errorText(error)}`,
    { cause: error },
  );
  contentionRefusals.add(refusal);
  return refusal;
}

export function isContentionRefusal(error: unknown): boolean {
  return error instanceof Error && contentionRefusals.has(error);
}
