// The photo bundle's default policy: BEEM-A at the largest lambda whose captions of the dev
// photos keep at least --keep (default 0.98) of full depth's CIDEr-D there. Thresholds are
// fitted on the bundle's calibration log (photos carved out of train); dev only chooses lambda;
// the test split is never looked at. Writes BUNDLE/policy.json and records the choice in the
// manifest's `training.policy`.
// Usage: tsx choose-lambda.ts BUNDLE_DIR --data WORK/data|captions.jsonl [--keep 0.98] [--lambdas 0,0.005,...]
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { serializePolicy } from "@beem-ts/core";
import { Captioner, scoreCaptions } from "@beem-ts/caption";

const usage =
  "Usage: choose-lambda.ts BUNDLE_DIR --data WORK/data|captions.jsonl [--keep 0.98] [--lambdas 0,0.005,0.01,...]";
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    data: { type: "string" },
    keep: { type: "string", default: "0.98" },
    lambdas: {
      type: "string",
      default: "0,0.002,0.005,0.01,0.02,0.03,0.05,0.08,0.12,0.2,0.3,0.4,0.5,0.7,1",
    },
  },
});
const dir = positionals[0];
if (dir === undefined || values.data === undefined) throw new Error(usage);
const keep = Number(values.keep);
if (!(keep > 0 && keep <= 1))
  throw new Error(`Expected --keep in (0, 1] but received ${values.keep}`);
const lambdas = values.lambdas.split(",").map(Number);
if (lambdas.some((x) => !(x >= 0))) throw new Error(`Expected --lambdas >= 0: ${values.lambdas}`);

interface Photo {
  readonly file: string;
  readonly split: string;
  readonly captions: string[];
}
const jsonLines = <T>(path: string): T[] =>
  readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
// WORK/data (prepare-data.ts's photos.jsonl, images under data.json's source), or the data set's
// own captions.jsonl ({"image", "split", "captions"}, images relative to it): the same dev split.
function readPhotos(data: string): Photo[] {
  if (data.endsWith(".jsonl"))
    return jsonLines<{ image: string; split: string; captions: string[] }>(data).map((p) => ({
      file: resolve(dirname(data), p.image),
      split: p.split,
      captions: p.captions,
    }));
  const { source } = JSON.parse(readFileSync(join(data, "data.json"), "utf8")) as {
    source: string;
  };
  return jsonLines<Photo>(join(data, "photos.jsonl")).map((p) => ({
    ...p,
    file: resolve(source, p.file),
  }));
}
const photos = readPhotos(values.data);
const dev = photos.filter((p) => p.split === "dev");
if (dev.length === 0) throw new Error(`${values.data}: no dev photos`);
const files = dev.map((p) => p.file);
const refs = Object.fromEntries(dev.map((p, i) => [files[i]!, p.captions]));

const captioner = await Captioner.load(dir);
const cider = async (options: Parameters<Captioner["caption"]>[1]) => {
  const cands: Record<string, string> = {};
  let layers = 0;
  let tokens = 0;
  for (const f of files) {
    const r = await captioner.caption(f, options);
    cands[f] = r.text;
    layers += r.exitLayers.reduce((s, x) => s + x, 0);
    tokens += r.exitLayers.length;
  }
  return { ciderD: scoreCaptions({ refs, cands }).ciderD, meanExitLayer: layers / tokens };
};
const full = await cider({ full: true });
console.log(`dev, ${dev.length} photos: full depth CIDEr-D ${full.ciderD.toFixed(4)}`);
let chosen: { lambda: number; ciderD: number; meanExitLayer: number } | undefined;
const tried = [];
for (const lambda of lambdas) {
  const r = await cider({ rule: "beem-a", lambda });
  tried.push({ lambda, ...r });
  const ok = r.ciderD >= keep * full.ciderD;
  console.log(
    `lambda ${lambda}: CIDEr-D ${r.ciderD.toFixed(4)} (${((100 * r.ciderD) / full.ciderD).toFixed(1)}%), mean exit layer ${r.meanExitLayer.toFixed(2)}${ok ? "" : " (below the bar)"}`,
  );
  if (ok && (chosen === undefined || lambda > chosen.lambda)) chosen = { lambda, ...r };
}
const belowBar = chosen === undefined;
if (chosen === undefined) {
  // None keeps the bar: the best on dev (the largest lambda among equals), said plainly.
  chosen = tried.reduce((a, b) => (b.ciderD >= a.ciderD ? b : a));
  console.warn(
    `No lambda keeps ${keep} of full depth's CIDEr-D on dev; taking the best, lambda ${chosen.lambda}`,
  );
}
const policy = await captioner.policyFor({ rule: "beem-a", lambda: chosen.lambda });
await captioner.dispose();
writeFileSync(join(dir, "policy.json"), serializePolicy(policy));
const manifestPath = join(dir, "manifest.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
manifest.policy = "policy.json";
manifest.training.policy = {
  rule: "beem-a",
  lambda: chosen.lambda,
  chosenBy: belowBar
    ? `no lambda kept ${keep} of full depth's dev CIDEr-D: the one with the best (${dev.length} dev photos; thresholds fitted on the calibration log)`
    : `the largest lambda whose dev CIDEr-D is at least ${keep} of full depth's (${dev.length} dev photos; thresholds fitted on the calibration log)`,
  devFullCiderD: Number(full.ciderD.toFixed(4)),
  tried: tried.map((t) => ({
    lambda: t.lambda,
    devCiderD: Number(t.ciderD.toFixed(4)),
    meanExitLayer: Number(t.meanExitLayer.toFixed(3)),
  })),
};
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
console.log(`default policy: BEEM-A at lambda ${chosen.lambda} -> ${join(dir, "policy.json")}`);
