#!/usr/bin/env bash
# The photo captioner's repetition limits compared on dev: for each SETTING (noRepeatNgram:maxRun,
# 0 meaning no limit), a copy of the bundle (links to its files, its manifest with that
# `generation`) captioned by `beem caption-eval --split dev --repeats 1 --no-tjs`, one row each:
# CIDEr-D at full depth and with early exit (the bundle's policy), the share kept, the mean exit
# layer, captions that end with the end token and captions with a word three times in a row.
#
#   bash training/photo_caption/compare-generation.sh [SETTING ...]   (default: 0:0 3:0 3:2 3:1)
#
# Environment: DATA (the data set's captions.jsonl; default
# ../shared/data/captions/flickr8k-1k/captions.jsonl beside the repository), BUNDLE (default
# models/photo-caption). Dev only: the test split is not looked at.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${DATA:-$ROOT/../shared/data/captions/flickr8k-1k/captions.jsonl}"
BUNDLE="${BUNDLE:-$ROOT/models/photo-caption}"
[ -f "$DATA" ] || { echo "$DATA: not found (set DATA to the data set's captions.jsonl)" >&2; exit 2; }
[ -f "$BUNDLE/manifest.json" ] || { echo "$BUNDLE/manifest.json: not found (set BUNDLE)" >&2; exit 2; }
BUNDLE="$(cd "$BUNDLE" && pwd)"
settings=("$@")
[ ${#settings[@]} -gt 0 ] || settings=(0:0 3:0 3:2 3:1)
for s in "${settings[@]}"; do
  [[ "$s" =~ ^[0-9]+:[0-9]+$ ]] || { echo "Expected SETTING as noRepeatNgram:maxRun (e.g. 3:2) but received \"$s\"" >&2; exit 2; }
done
export ORT_DISABLE_TELEMETRY=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$ROOT"
echo "| noRepeatNgram:maxRun | CIDEr-D full | CIDEr-D early | kept | mean exit | ended (full / early) | a word 3x in a row (full / early) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for s in "${settings[@]}"; do
  copy="$work/bundle-${s/:/-}"
  mkdir "$copy"
  for f in "$BUNDLE"/*; do [ "$(basename "$f")" = manifest.json ] || ln -s "$f" "$copy/"; done
  node -e '
    const [from, to, n, run] = process.argv.slice(1);
    const m = JSON.parse(require("fs").readFileSync(from, "utf8"));
    m.generation = { noRepeatNgram: Number(n), maxRun: Number(run) };
    require("fs").writeFileSync(to, JSON.stringify(m, null, 2));
  ' "$BUNDLE/manifest.json" "$copy/manifest.json" "${s%%:*}" "${s##*:}"
  pnpm -s beem caption-eval --data "$DATA" --split dev --repeats 1 --no-tjs --json --model "$copy" > "$work/report.json"
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const d = r.degeneracy;
    console.log(`| ${process.argv[2]} | ${r.ciderFull.toFixed(4)} | ${r.cider.toFixed(4)} | ` +
      `${(100 * r.cider / r.ciderFull).toFixed(1)}% | ${r.meanExitLayer.toFixed(2)} | ` +
      `${d.full.ended} / ${d.early.ended} of ${r.images} | ${d.full.repeatedWord} / ${d.early.repeatedWord} |`);
  ' "$work/report.json" "$s"
done
