/**
 * Restart accounting: how many restarts an activation has had within the sliding window.
 * A failure beyond `restartsMax` in `restartWindowMs` stops the activation instead.
 */

/**
 * Records a failure at `nowMs` in `timesMs` (restart times inside the window, oldest first) and
 * says whether it exceeds the limit. The list holds at most restartsMax + 1 entries: older ones
 * leave the window, and the activation stops as soon as a failure would make it longer.
 */
export function failureExceedsLimit(
  timesMs: number[],
  nowMs: number,
  restartsMax: number,
  restartWindowMs: number,
): boolean {
  const windowStartMs = nowMs - restartWindowMs;
  while (timesMs.length > 0 && (timesMs[0] as number) <= windowStartMs) timesMs.shift();
  timesMs.push(nowMs);
  if (timesMs.length > restartsMax + 1) throw new Error("restart window overflow"); // programmer error
  return timesMs.length > restartsMax;
}
