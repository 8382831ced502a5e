import { createHash } from "node:crypto";
import { paylines } from "./paylines.ts";
import { linePays, scatterPays } from "./paytable.ts";
import { reelStrips } from "./reels.ts";

/**
 * SHA-256 (hex) of everything that decides what a spin pays: strips, paylines, line pays and
 * scatter pays. A test pins it to `paytableVersion`, so the math cannot change silently under
 * a version that stored rounds already refer to.
 */
export function slotMathFingerprint(): string {
  const math = { reelStrips, paylines, linePays, scatterPays };
  return createHash("sha256").update(JSON.stringify(math)).digest("hex");
}
