/**
 * Waits until `predicate` holds, checking every `intervalMs`, and fails after `timeoutMs`.
 * For tests: wait on a condition with a bound, never a fixed sleep.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs: number,
  description = "condition",
  intervalMs = 5,
): Promise<void> {
  const deadlineMs = performance.now() + timeoutMs;
  // Bounded by the deadline.
  while (!(await predicate())) {
    if (performance.now() > deadlineMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await Bun.sleep(intervalMs);
  }
}
