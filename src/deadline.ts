/** Waiting on a promise with a deadline, so that no wait in the node is unbounded. */

/** What `settleWithin` answers when the deadline came first. */
export const timedOut: unique symbol = Symbol("timed out");

/**
 * The value of `promise` if it settles within `timeoutMs`; otherwise `timedOut`. A rejection
 * becomes `{ error }`. The promise is always observed, so a late rejection is never unhandled.
 */
export async function settleWithin<T>(
  promise: Promise<T>,
  timeoutMs: number,
): Promise<{ value: T } | { error: unknown } | typeof timedOut> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, timedOut);
  });
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  try {
    return await Promise.race([outcome, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
