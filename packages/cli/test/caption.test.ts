import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { beem, scratchDir } from "./run-beem.js";

const MODEL = resolve(import.meta.dirname, "../../../models/caption-beem/manifest.json");
const SCENE = resolve(import.meta.dirname, "../../../examples/images/scene.png");
const PHOTO_MODEL = resolve(import.meta.dirname, "../../../models/photo-caption/manifest.json");
const PHOTO = resolve(import.meta.dirname, "../../../examples/images/pets.jpg");
const present = existsSync(MODEL);
if (!present) console.warn("SKIPPED beem caption tests: no bundled caption model");

describe.runIf(present)("beem caption with the bundled model", () => {
  const dir = scratchDir();

  it("captions images with per-token exit layers, as a batch and with beams", async () => {
    const r = await beem(["caption", SCENE, SCENE, "--json", "--batch", "2", "--beams", "3"], dir);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0].caption).toBe(lines[1].caption);
    expect(lines[0].caption).toMatch(/kite/);
    expect(lines[0].text).toBe(lines[0].caption); // the deprecated name
    for (const t of lines[0].tokens) expect(t.exitLayer).toBeGreaterThanOrEqual(1);
    // One exit layer per token, the end token's apart; the mean counts both.
    for (const line of lines) {
      expect(line.exitLayers).toEqual(line.tokens.map((t: { exitLayer: number }) => t.exitLayer));
      expect(line.endExitLayer).toBeGreaterThanOrEqual(1);
      const all = [...line.exitLayers, line.endExitLayer] as number[];
      expect(line.meanExitLayer).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 12);
    }
    const table = await beem(["caption", SCENE, "--lambda", "0.05"], dir);
    const m =
      /scene\.png: .+\ntoken (.*)\n[- ]+\nexit +(.*)\nmean exit layer (\d\.\d\d) of 6 \(end token included\), [\d.]+ ms\n/.exec(
        table.stdout,
      );
    expect(m, table.stdout).not.toBeNull();
    expect(m![1]!.trim().endsWith("(end)")).toBe(true);
    const shown = m![2]!
      .trim()
      .split(/ +/)
      .map((x) => Number(x.split("/")[0]));
    expect(shown).toHaveLength(m![1]!.trim().split(/ +/).length);
    expect(Number(m![3])).toBeCloseTo(shown.reduce((a, b) => a + b, 0) / shown.length, 2);
  });

  it.runIf(existsSync(PHOTO_MODEL))(
    "captions a photo with the bundled photo captioner by default",
    async () => {
      const out = join(dir, "default-model.jsonl");
      const r = await beem(["caption", PHOTO, "--out", out], dir, { captionModel: "default" });
      expect(r.status, r.stderr).toBe(0);
      const line = JSON.parse(readFileSync(out, "utf8"));
      expect(line.model).toBe("photo-caption");
      expect(line.caption).toMatch(/\bdogs?\b/);
    },
  );

  it("streams tokens with their exit layers", async () => {
    const r = await beem(["caption", SCENE, "--stream", "--full"], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/scene\.png:( \S+\[6\])+ \(end\)\[6\]  mean exit layer 6\.00\n/);
  });

  it("reports an unreadable image by name, captions the others, and exits with status 1", async () => {
    writeFileSync(join(dir, "empty.png"), "");
    writeFileSync(join(dir, "notes.png"), "not an image at all");
    for (const batch of ["1", "3"]) {
      const r = await beem(["caption", "empty.png", SCENE, "notes.png", "--batch", batch], dir);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/scene\.png: .*kite/);
      expect(r.stderr).toMatch(/empty\.png: error \[UNSUPPORTED_IMAGE\]/);
      expect(r.stderr).toMatch(/notes\.png: error \[UNSUPPORTED_IMAGE\]/);
      expect(r.stderr).toMatch(/2 of 3 images could not be captioned/);
    }
  });

  it("evaluates quality and measured speed-ups on held-out scenes as one JSON object", async () => {
    const r = await beem(
      ["caption-eval", "--scenes", "4", "--repeats", "1", "--json", "--batch", "2", "--beams", "2"],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    for (const key of [
      "ciderFull",
      "cider",
      "bleu4Full",
      "bleu4",
      "measuredSpeedup",
      "layerByLayerSpeedup",
      "fusedOverLayerByLayer",
      "decoderSpeedup",
      "fixedMsPerImage",
      "transformersJsSpeedup",
      "transformersJsOverFull",
    ])
      expect(report[key] > 0 && Number.isFinite(report[key]), key).toBe(true);
    expect(report.meanExitLayer).toBeGreaterThanOrEqual(1);
    expect(report.meanExitLayer).toBeLessThanOrEqual(6);
    expect(report.countedSpeedup).toBeCloseTo(6 / report.meanExitLayer, 9);
    expect(report.fullDepth).toBe("fused");
    // One repeat: each ratio of times is exactly the quotient of the other two.
    expect(report.fusedOverLayerByLayer).toBeCloseTo(
      report.layerByLayerSpeedup / report.measuredSpeedup,
      9,
    );
    expect(report.fixedMsPerImage).toBeLessThan(report.earlyMs / 4);
    // Batches give the same captions; beam search reports greedy's scores as they are.
    expect(report.batch).toMatchObject({ size: 2, sameCaptions: true });
    expect(report.beams.width).toBe(2);
    expect(report.beams.greedyCiderFull).toBe(report.ciderFull);
    const { allNamed, notAllNamed, scenesAllNamed, scenesNotAllNamed } =
      report.meanExitLayerByNaming;
    expect(scenesAllNamed + scenesNotAllNamed).toBe(4);
    for (const v of [
      ...Object.values(report.meanExitLayerByObjects),
      ...Object.values(report.meanExitLayerByDifficulty),
      ...Object.values(report.meanExitLayerByWordClass),
      ...(scenesAllNamed > 0 ? [allNamed] : []),
      ...(scenesNotAllNamed > 0 ? [notAllNamed] : []),
    ] as number[]) {
      expect(v).toBeGreaterThanOrEqual(1);
      expect(v).toBeLessThanOrEqual(6);
    }
  });

  it("at a policy that always runs every layer, early exit is full depth in every figure", async () => {
    writeFileSync(
      join(dir, "last.json"),
      JSON.stringify({ version: 1, rule: "static", numExits: 6, layer: 6 }),
    );
    const r = await beem(
      [
        "caption-eval",
        "--scenes",
        "3",
        "--repeats",
        "1",
        "--json",
        "--no-tjs",
        "--policy",
        "last.json",
      ],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.cider).toBe(report.ciderFull);
    expect(report.bleu4).toBe(report.bleu4Full);
    expect(report.tokenAgreement).toBe(1);
    expect(report.meanExitLayer).toBe(6);
    expect(report.countedSpeedup).toBe(1);
  });

  it.each([
    ["1", "training"],
    ["2", "validation"],
    ["3", "calibration"],
  ])("refuses to evaluate on seed %s (the %s scenes)", async (seed, what) => {
    for (const args of [["caption-eval"], ["caption-sweep", "--out", join(dir, "x")]]) {
      const r = await beem([...args, "--scenes", "2", "--seed", seed], dir);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`Seed ${seed} holds the ${what} scenes`));
    }
  });

  it("sweeps rules and lambdas into a table and a plot of CIDEr-D against measured speed-up", async () => {
    const out = join(dir, "sweep");
    const r = await beem(
      [
        "caption-sweep",
        "--out",
        out,
        "--scenes",
        "4",
        "--rules",
        "beem-a,patience",
        "--lambdas",
        "0,0.5",
        "--repeats",
        "1",
      ],
      dir,
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = readFileSync(join(out, "caption-sweep.csv"), "utf8").trim().split("\n");
    expect(lines[0]).toBe(
      "rule,lambda,ciderD,bleu4,rougeL,meanExitLayer,countedSpeedup,measuredSpeedup,tokenAgreement,ms",
    );
    const rows = lines.slice(1).map((l) => l.split(","));
    expect(rows.map((c) => `${c[0]} ${c[1]}`)).toEqual([
      "full depth (fused) ",
      "full depth (layer by layer) ",
      "transformers.js ",
      "beem-a 0",
      "beem-a 0.5",
      "patience 0",
      "patience 0.5",
    ]);
    // Speed-ups are over fused full depth: 1 for it, measured for layer-by-layer full depth.
    expect(Number(rows[0]![7])).toBe(1);
    expect(Number(rows[1]![7])).toBeGreaterThan(0);
    for (const c of rows.slice(3)) {
      const [meanExit, counted, measured] = [Number(c[5]), Number(c[6]), Number(c[7])];
      expect(counted).toBeCloseTo(6 / meanExit, 9);
      expect(measured).toBeGreaterThan(0);
    }
    expect(readFileSync(join(out, "caption-sweep.md"), "utf8")).toMatch(/\| beem-a \| 0\.5 \|/);
    expect(readFileSync(join(out, "caption-sweep.svg"), "utf8")).toMatch(/^<svg[^>]*>.*patience/s);
    const png = readFileSync(join(out, "caption-sweep.png"));
    expect(png.subarray(1, 4).toString()).toBe("PNG");
  });

  it("rejects bad options with a usage error", async () => {
    const r = await beem(["caption", SCENE, "--beams", "0"], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Expected --beams to be an integer in \[1, 16\] but received "0"/);
  });
});
