/**
 * One answer shared by every caller for `maxAgeMs`: for an anonymous read whose cost grows with
 * the data (the table listing reads every seat), so that a flood of requests costs one read per
 * period whatever its rate. Callers that arrive while a read is running wait for it instead of
 * starting another; a failed read is not kept, so the next caller tries again.
 */
export function sharedAnswer<T>(
  maxAgeMs: number,
  load: () => Promise<T>,
  nowMs: () => number = performance.now.bind(performance),
): () => Promise<T> {
  let current: { promise: Promise<T>; loadedAtMs: number | undefined } | undefined;
  return () => {
    const atMs = nowMs();
    if (
      current !== undefined &&
      (current.loadedAtMs === undefined || atMs - current.loadedAtMs < maxAgeMs)
    )
      return current.promise;
    const entry: { promise: Promise<T>; loadedAtMs: number | undefined } = {
      promise: load(),
      loadedAtMs: undefined,
    };
    current = entry;
    entry.promise.then(
      () => {
        entry.loadedAtMs = nowMs();
      },
      () => {
        if (current === entry) current = undefined;
      },
    );
    return entry.promise;
  };
}
