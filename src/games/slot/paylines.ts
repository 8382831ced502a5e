/**
 * The fixed paylines. Each line lists, for reels 1 to 5, the row it crosses (0 top, 1 middle,
 * 2 bottom). Every line is always played: the bet per line is the total bet over the line count.
 */
export const reelCount = 5;
export const rowCount = 3;

export const paylines: readonly (readonly number[])[] = [
  [1, 1, 1, 1, 1],
  [0, 0, 0, 0, 0],
  [2, 2, 2, 2, 2],
  [0, 1, 2, 1, 0],
  [2, 1, 0, 1, 2],
  [0, 0, 1, 2, 2],
  [2, 2, 1, 0, 0],
  [1, 0, 0, 0, 1],
  [1, 2, 2, 2, 1],
  [1, 0, 1, 2, 1],
  [1, 2, 1, 0, 1],
  [0, 1, 1, 1, 0],
  [2, 1, 1, 1, 2],
  [0, 1, 0, 1, 0],
  [2, 1, 2, 1, 2],
  [1, 1, 0, 1, 1],
  [1, 1, 2, 1, 1],
  [0, 0, 2, 0, 0],
  [2, 2, 0, 2, 2],
  [0, 2, 2, 2, 0],
];

export const paylineCount = paylines.length;

assertPaylines();

function assertPaylines(): void {
  const seen = new Set<string>();
  for (const line of paylines) {
    if (line.length !== reelCount) throw new Error(`payline ${line} must cross ${reelCount} reels`);
    for (const row of line) {
      if (!Number.isInteger(row) || row < 0 || row >= rowCount) {
        throw new Error(`payline ${line} has a row outside 0..${rowCount - 1}`);
      }
    }
    const key = line.join(",");
    if (seen.has(key)) throw new Error(`payline ${key} is listed twice`);
    seen.add(key);
  }
}
