/**
 * Errors the actor runtime answers with. Both are protocol errors (CroupierError), so the
 * gateway forwards them unchanged:
 *   - BUSY: the message certainly did not run; nothing moved; the caller may retry later.
 *   - INTERNAL (AskTimeoutError included): the outcome is unknown; retry with the same id.
 */
import { CroupierError } from "../errors.ts";
import type { ActorAddress } from "./types.ts";

/**
 * The caller stopped waiting. The message may still run (it may be queued or running right
 * now), so the outcome is unknown: code INTERNAL. A reply that arrives later is a dead letter.
 */
export class AskTimeoutError extends CroupierError {
  constructor(
    readonly address: ActorAddress,
    readonly timeoutMs: number,
  ) {
    super(
      "INTERNAL",
      `no reply from ${address.kind}/${address.id} within ${timeoutMs} ms; the outcome is unknown, retry with the same id to learn it`,
    );
  }
}

/** A message refused or dropped before it ran: nothing moved. */
export function busyError(address: ActorAddress, why: string, cause?: unknown): CroupierError {
  const message = `${address.kind}/${address.id}: ${why}; nothing was done, retry later`;
  return cause === undefined
    ? new CroupierError("BUSY", message)
    : new CroupierError("BUSY", message, { cause });
}

/**
 * A duplicate refused while the first message with its id is still in flight: that message may
 * yet move money, so this is not a BUSY (which promises nothing moved) but INTERNAL.
 */
export function duplicateNotWaitedError(address: ActorAddress, why: string): CroupierError {
  return new CroupierError(
    "INTERNAL",
    `${address.kind}/${address.id}: ${why}; the first copy is still running and its outcome is unknown, retry with the same id to learn it`,
  );
}

/** What the caller of a failed message gets: an INTERNAL error passes through, others are wrapped. */
export function internalError(address: ActorAddress, cause: unknown): CroupierError {
  if (cause instanceof CroupierError && cause.code === "INTERNAL") return cause;
  return new CroupierError(
    "INTERNAL",
    `${address.kind}/${address.id} failed; the outcome is unknown, retry with the same id to learn it`,
    { cause },
  );
}

/** A refusal is an answer, not a failure: any protocol error other than INTERNAL. */
export function isRefusal(error: unknown): error is CroupierError {
  return error instanceof CroupierError && error.code !== "INTERNAL";
}
