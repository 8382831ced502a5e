/** The slot game's public surface. */

export { paytableVersion } from "./paytable.ts";
export type { LineWin, SlotGame, SlotOutcome } from "./play.ts";
export { evaluateStops, slotGame } from "./play.ts";
