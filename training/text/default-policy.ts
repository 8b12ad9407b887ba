// Calibrates the bundle's default policy (BEEM-A) on its calibration-split exit log, with the
// measured per-exit costs, and names it in the manifest.
// Usage: tsx default-policy.ts BUNDLE_DIR [--lambda 0.01]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { calibrate, foldFixedCost, parseExitLog, serializePolicy } from "@beem-ts/core";
import { readTextManifest } from "@beem-ts/text";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { lambda: { type: "string", default: "0.01" } },
});
const dir = positionals[0];
if (dir === undefined) throw new Error("Usage: default-policy.ts BUNDLE_DIR [--lambda X]");
const manifestPath = join(dir, "manifest.json");
const checked = await readTextManifest(dir);
if (checked.costs === undefined) throw new Error(`${manifestPath}: measure the costs first`);
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const logPath = join(dir, "calibration-exits.jsonl");
const table = parseExitLog(readFileSync(logPath, "utf8"), { source: logPath });
const policy = calibrate(table, {
  rule: "beem-a",
  lambda: Number(values.lambda),
  costs: foldFixedCost(checked.costs.exits, checked.costs.fixed),
});
writeFileSync(join(dir, "policy.json"), serializePolicy(policy));
manifest.policy = "policy.json";
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
const c = policy.calibration!;
console.log(
  `policy.json: accuracy ${c.accuracy.toFixed(4)} (final exit ${c.finalAccuracy.toFixed(4)}), ` +
    `mean exit ${c.meanExitLayer.toFixed(2)}, counted speed-up ${c.countedSpeedup.toFixed(2)}x on the calibration split`,
);
