/**
 * Environment variables that look like a misspelt config key (`OPERATOR_KY`, `DATABSE_URL`).
 * The environment holds many variables of other programs, so an unknown key is not an error;
 * but one a typo away from a key the node reads is almost certainly meant for it, and silently
 * ignoring it could, for instance, start dev mode where operator mode was meant.
 */

/** Edits (insert, delete, substitute, swap of neighbours) that still count as a typo. */
const typoEditsMax = 2;

/**
 * Names shorter than this, on either side, are too short to tell a typo from another program's
 * variable (`PGHOST` is two edits from `HOST`).
 */
const typoKeyLengthMin = 6;

export interface Misspelling {
  key: string;
  meant: string;
}

export function misspelledKeys(
  env: Record<string, string | undefined>,
  knownKeys: readonly string[],
): Misspelling[] {
  const known = new Set(knownKeys);
  const found: Misspelling[] = [];
  for (const key of Object.keys(env)) {
    if (known.has(key) || key.length < typoKeyLengthMin) continue;
    const upper = key.toUpperCase();
    const meant = knownKeys.find(
      (candidate) =>
        candidate.length >= typoKeyLengthMin &&
        (candidate === upper || editDistanceAtMost(upper, candidate, typoEditsMax)),
    );
    if (meant !== undefined) found.push({ key, meant });
  }
  return found;
}

/** Optimal string alignment distance, cut short once every path exceeds `max`. */
function editDistanceAtMost(a: string, b: string, max: number): boolean {
  if (Math.abs(a.length - b.length) > max) return false;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        distance = Math.min(distance, (beforePrevious[j - 2] as number) + 1);
      current.push(distance);
      rowMin = Math.min(rowMin, distance);
    }
    if (rowMin > max) return false;
    beforePrevious = previous;
    previous = current;
  }
  return (previous[b.length] as number) <= max;
}
