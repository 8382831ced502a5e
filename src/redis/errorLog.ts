/** While Redis stays down ioredis reports an error per reconnection attempt: log one per window. */
export const errorLogIntervalMs = 10_000;

/** Where a throttled error goes, with how many of the same were skipped since the last one. */
export type RedisErrorReport = (role: string, error: Error, skipped: number) => void;

const toConsole: RedisErrorReport = (role, error, skipped) => {
  const more = skipped > 0 ? ` (${skipped} similar errors not shown)` : "";
  console.warn(`redis ${role}: ${error.message}${more}`);
};

/** Reports the first error, then at most one per `intervalMs` with a count of those skipped. */
export function throttledLogger(
  intervalMs: number,
  report: RedisErrorReport = toConsole,
): (role: string, error: Error) => void {
  let loggedAtMs = Number.NEGATIVE_INFINITY;
  let skipped = 0;
  return (role, error) => {
    const nowMs = performance.now();
    if (nowMs - loggedAtMs < intervalMs) {
      skipped += 1;
      return;
    }
    report(role, error, skipped);
    loggedAtMs = nowMs;
    skipped = 0;
  };
}
