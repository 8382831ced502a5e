/**
 * Prints the slot's PAR sheet as Markdown. Every figure is computed here from the game's own
 * tables and evaluation code:
 *
 *   npx bun src/games/slot/parSheet.ts > docs/PAR-slot.md
 */
import { evaluateStops } from "./evaluate.ts";
import { slotMathFingerprint } from "./fingerprint.ts";
import { paylineCount, paylines, reelCount } from "./paylines.ts";
import { lineCountMax, lineCountMin, linePays, paytableVersion, scatterPays } from "./paytable.ts";
import { formatDecimal, formatPercent, formatSquareRoot, type Ratio, ratio } from "./rational.ts";
import { reelStrips } from "./reels.ts";
import { type SlotStatistics, slotStatistics } from "./statistics.ts";
import { allSymbols, lineSymbols, SCATTER } from "./symbols.ts";

const percentDecimals = 4;

/** A Markdown table with columns padded to their widest cell, as the formatter lays them out. */
function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, column) =>
    Math.max(3, ...cells.map((row) => (row[column] ?? "").length)),
  );
  const line = (row: readonly string[]) =>
    `| ${widths.map((width, column) => (row[column] ?? "").padEnd(width)).join(" | ")} |`;
  const [head = [], ...body] = cells;
  return [line(head), line(widths.map((width) => "-".repeat(width))), ...body.map(line)].join("\n");
}

function fraction(value: Ratio): string {
  return `${value.num} / ${value.den}`;
}

function summary(stats: SlotStatistics): string {
  const { rtp, distribution } = stats;
  const oneIn = ratio(stats.hitFrequency.den, stats.hitFrequency.num);
  return table(
    ["figure", "exact value", "decimal"],
    [
      ["RTP", fraction(rtp.total), formatPercent(rtp.total, percentDecimals)],
      ["RTP from line wins", fraction(rtp.lines), formatPercent(rtp.lines, percentDecimals)],
      ["RTP from scatter wins", fraction(rtp.scatter), formatPercent(rtp.scatter, percentDecimals)],
      [
        "Hit frequency (any win)",
        fraction(stats.hitFrequency),
        `${formatPercent(stats.hitFrequency, percentDecimals)} (1 in ${formatDecimal(oneIn, 4)})`,
      ],
      ["Max win (x total bet)", fraction(stats.maxWin), formatDecimal(stats.maxWin, 2)],
      ["Max win stops", `[${distribution.maxWinStops.join(", ")}]`, ""],
      ["Variance per unit bet", fraction(stats.variance), formatDecimal(stats.variance, 4)],
      ["Standard deviation per unit bet", "", formatSquareRoot(stats.variance, 4)],
      ["Stop combinations", distribution.combinations.toString(), ""],
    ],
  );
}

function paytableSection(): string {
  const counts = Array.from(
    { length: lineCountMax - lineCountMin + 1 },
    (_, i) => i + lineCountMin,
  );
  const lineRows = lineSymbols.map((symbol) => [symbol, ...linePays[symbol]]);
  const scatterRows = scatterPays.map((pay, count) => [count, pay]).filter(([, pay]) => pay !== 0);
  return [
    "Line pays, in multiples of the bet per line (total bet / lines):",
    "",
    table(["symbol", ...counts.map((count) => `${count} of a kind`)], lineRows),
    "",
    "Scatter pays, in multiples of the total bet, for scatters anywhere in the window:",
    "",
    table(["scatters", "pay"], scatterRows),
  ].join("\n");
}

function stripCounts(): string {
  const rows: (string | number)[][] = allSymbols.map((symbol) => [
    symbol,
    ...reelStrips.map((strip) => strip.filter((s) => s === symbol).length),
  ]);
  rows.push(["total", ...reelStrips.map((strip) => strip.length)]);
  const reels = reelStrips.map((_, reel) => `reel ${reel + 1}`);
  return table(["symbol", ...reels], rows);
}

function stripOrder(): string {
  return reelStrips
    .map((strip, reel) => `- Reel ${reel + 1}: ${strip.map((s, stop) => `${stop}:${s}`).join(" ")}`)
    .join("\n");
}

function paylineSection(): string {
  const rowNames = ["top", "middle", "bottom"];
  const reels = Array.from({ length: reelCount }, (_, reel) => `reel ${reel + 1}`);
  const rows = paylines.map((line, index) => [
    index + 1,
    ...line.map((row) => rowNames[row] ?? "?"),
  ]);
  return table(["line", ...reels], rows);
}

function contributions(stats: SlotStatistics): string {
  const stake = stats.count.combinations * BigInt(paylineCount);
  const rows = lineSymbols.flatMap((symbol) =>
    Array.from({ length: lineCountMax - lineCountMin + 1 }, (_, i) => {
      const sum = stats.count.lineWinSumByCombination.get(`${symbol}:${i + lineCountMin}`) ?? 0n;
      return [`${i + lineCountMin} x ${symbol}`, formatPercent(ratio(sum, stake), percentDecimals)];
    }),
  );
  const scatterRows = stats.count.scatterCountCombinations.map((combinations, count) => {
    const probability = ratio(combinations, stats.count.combinations);
    const pay = BigInt(scatterPays[count] ?? 0);
    return [
      count,
      formatPercent(probability, percentDecimals),
      formatPercent(ratio(combinations * pay, stats.count.combinations), percentDecimals),
    ];
  });
  return [
    table(["line combination", "RTP contribution"], rows),
    "",
    table([`${SCATTER} count`, "probability", "RTP contribution"], scatterRows),
  ].join("\n");
}

function maxWinSection(stats: SlotStatistics): string {
  const outcome = evaluateStops(stats.distribution.maxWinStops, paylineCount);
  const reels = outcome.window[0]?.map((_, reel) => `reel ${reel + 1}`) ?? [];
  const combinations = new Set(outcome.lines.map((line) => `${line.count} x ${line.symbol}`));
  return [
    `Stops [${outcome.stops.join(", ")}] show this window, the highest paying of all:`,
    "",
    table(reels, outcome.window),
    "",
    `It pays ${outcome.lines.length} line win(s) (${[...combinations].join(", ")})` +
      ` and ${outcome.scatter.count} scatter(s): ${formatDecimal(stats.maxWin, 2)} x the total bet.`,
  ].join("\n");
}

function parSheet(stats: SlotStatistics): string {
  return `# PAR sheet: slot, paytable \`${paytableVersion}\`

Generated by \`npx bun src/games/slot/parSheet.ts > docs/PAR-slot.md\` from the game's own tables and
evaluation code; do not edit by hand. Math fingerprint (SHA-256 of strips, paylines and pays):
\`${slotMathFingerprint()}\`.

5 reels x 3 rows, ${paylineCount} fixed paylines, all always played. The total bet is a whole
multiple of ${paylineCount} minor units; the bet per line is total bet / ${paylineCount}.

## Summary

All figures are exact: the RTP by counting symbol frequencies per reel, the rest by enumerating
every stop combination (and the RTP again, which must match). Probabilities assume each reel
stops uniformly on each of its stops.

${summary(stats)}

## Max win

${maxWinSection(stats)}

## Rules

- Lines pay left to right from reel 1, for 3, 4 or 5 of a kind; only the highest combination of
  each line pays, and wins on different lines add up.
- ${lineSymbols[0]} substitutes for every symbol except ${SCATTER} and also pays on its own. A line
  starting with wilds pays the higher of the wilds alone and the first other symbol with the
  wilds standing in for it; when both pay the same, the win is the wilds' (and counted as such
  in the table of contributions below).
- ${SCATTER} pays by how many appear anywhere in the window, times the total bet, on top of line
  wins. A strip never shows two scatters in one window, so the count is 0 to 5.

## Paytable

${paytableSection()}

## Reel strips

Symbol counts:

${stripCounts()}

Order (stop index: symbol; the window shows the stop and the next two):

${stripOrder()}

## Paylines

${paylineSection()}

## RTP by combination

${contributions(stats)}
`;
}

if (import.meta.main) process.stdout.write(parSheet(slotStatistics()));
