import { expect, test } from "bun:test";
import { slotMathFingerprint } from "./fingerprint.ts";
import { paytableVersion } from "./paytable.ts";

/**
 * Every released paytable version and the math it stands for. Rounds store the version, so a
 * version's math must never change: a new strip, line or pay gets a new version and a new entry
 * here (and a regenerated docs/PAR-slot.md).
 */
const fingerprintByVersion: Record<string, string> = {
  "slot-v1": "1cd787fbfad7c56c7857b0c33e163febe1740b2509073e653432daec4c7fd9c7",
};

test("slot - the math matches the fingerprint recorded for its paytable version", () => {
  expect(slotMathFingerprint()).toBe(
    fingerprintByVersion[paytableVersion] ?? "no entry for version",
  );
});
