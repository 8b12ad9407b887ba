// Benchmark: how long a text bundle takes to load and how much resident memory it adds, each
// bundle loaded in a fresh process (one full-depth and one early-exit classification included,
// so that every session has run once).
//
//   pnpm --filter @beem-ts/text bench:load BUNDLE_DIR [BUNDLE_DIR ...] [--rounds 2]
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { median } from "@beem-ts/core";
import { TextClassifier } from "../src/index.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: "string", default: "2" }, one: { type: "boolean" } },
});

if (values.one === true) {
  const before = process.memoryUsage().rss;
  const started = performance.now();
  const classifier = await TextClassifier.load(positionals[0]!);
  const loadMs = performance.now() - started;
  const middle = Math.max(1, Math.floor(classifier.numExits / 2));
  await classifier.classify("the film was good", { full: true });
  await classifier.classify("the film was good", {
    policy: { version: 1, rule: "static", numExits: classifier.numExits, layer: middle },
  });
  const addedMb = (process.memoryUsage().rss - before) / 2 ** 20;
  await classifier.dispose();
  console.log(JSON.stringify({ loadMs, addedMb }));
} else {
  if (positionals.length === 0)
    throw new Error("Usage: load-memory.ts BUNDLE_DIR [BUNDLE_DIR ...] [--rounds 2]");
  for (const dir of positionals) {
    const runs = Array.from({ length: Number(values.rounds) }, () => {
      const r = spawnSync(
        process.execPath,
        [...process.execArgv, import.meta.filename, "--one", dir],
        { encoding: "utf8", env: { ...process.env, ORT_DISABLE_TELEMETRY: "1" } },
      );
      if (r.status !== 0) throw new Error(`${dir}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout) as { loadMs: number; addedMb: number };
    });
    console.log(
      `${dir}: load ${median(runs.map((r) => r.loadMs)).toFixed(0)} ms, ` +
        `+${median(runs.map((r) => r.addedMb)).toFixed(0)} MB resident (median of ${runs.length})`,
    );
  }
}
