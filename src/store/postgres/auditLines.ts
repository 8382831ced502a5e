import { safeInteger } from "./integers.ts";

/**
 * How the Postgres audit's checks report: each query returns at most a page of failing rows,
 * every row carrying the count of all failing ones (`count(*) OVER ()` as `failing`).
 */

/** The lines, and one more for the failing rows that were not shown. */
export function withRest(lines: string[], failing: number, shown: number): string[] {
  if (failing > shown) lines.push(`  ... and ${failing - shown} more like the above`);
  return lines;
}

/** Adds one check's lines to `failures`, with the count of its failing rows not shown. */
export function reportFailingRows(
  failures: string[],
  lines: string[],
  rows: readonly { failing: string }[],
): void {
  failures.push(...withRest(lines, safeInteger(rows[0]?.failing ?? "0", "failing"), rows.length));
}
