#!/usr/bin/env bash
# The whole text recipe, from SST-2 JSON Lines to a committed bundle: tokenizer, split and
# pre-tokenisation (Node, with the tokenizer the runtime uses), training (PyTorch, resumes from
# its checkpoint), ONNX export, check against PyTorch, cost measurement, default policy.
#
#   pnpm train:text
#
# Environment: DATA (folder with train.jsonl and dev.jsonl of {"text", "label"} lines; default
# ../shared/data/text/sst2; SST2 is the older name), LABELS (label names, label 0 first; default
# negative,positive), ID (the bundle's id; default sst2-beem), WORK (scratch folder; default
# training/runs/text), OUT (bundle; default models/sst2-beem), EPOCHS (default 4), LAMBDA (default
# policy's lambda; default 0.01), PYTHON (default /usr/bin/python3).
# Needs Debian's PyTorch: apt-get install -y python3-torch python3-onnx libopenblas0-pthread
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
DATA="${DATA:-${SST2:-$ROOT/../shared/data/text/sst2}}"
LABELS="${LABELS:-negative,positive}"
ID="${ID:-sst2-beem}"
NUM_LABELS=$(awk -F, '{print NF}' <<<"$LABELS")
WORK="${WORK:-$ROOT/training/runs/text}"
OUT="${OUT:-$ROOT/models/sst2-beem}"
EPOCHS="${EPOCHS:-4}"
LAMBDA="${LAMBDA:-0.01}"
PYTHON="${PYTHON:-/usr/bin/python3}"
[[ "$EPOCHS" =~ ^[1-9][0-9]*$ ]] || { echo "Expected EPOCHS to be an integer >= 1 but received \"$EPOCHS\"" >&2; exit 2; }
[[ "$NUM_LABELS" -ge 2 ]] || { echo "Expected LABELS to name at least 2 labels but received \"$LABELS\"" >&2; exit 2; }
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE ORT_DISABLE_TELEMETRY=1
TSX="pnpm exec tsx"

"$PYTHON" -c "import torch, onnx" 2>/dev/null || {
  echo "PyTorch and onnx are needed: apt-get install -y python3-torch python3-onnx libopenblas0-pthread" >&2
  exit 1
}
mkdir -p "$WORK/data"
echo "== tokenizer and splits"
for f in train.jsonl dev.jsonl; do
  [ -f "$DATA/$f" ] || { echo "$DATA/$f: file not found (DATA must hold train.jsonl and dev.jsonl)" >&2; exit 1; }
done
$TSX training/text/build-tokenizer.ts --train "$DATA/train.jsonl" --out "$WORK/data/tokenizer" \
  --num-labels "$NUM_LABELS"
$TSX training/text/pretokenize.ts --train "$DATA/train.jsonl" --dev "$DATA/dev.jsonl" \
  --tokenizer "$WORK/data/tokenizer" --out "$WORK/data" --num-labels "$NUM_LABELS"
echo "== training ($EPOCHS epochs; resumes from $WORK/checkpoint.pt)"
(cd training/text && "$PYTHON" train.py --data "$WORK/data" --run "$WORK" --epochs "$EPOCHS" \
  --num-labels "$NUM_LABELS")
echo "== export"
(cd training/text && "$PYTHON" export.py --run "$WORK" --data "$WORK/data" --out "$OUT" \
  --id "$ID" --labels "$LABELS" 2>&1 | grep -v -i warn)
echo "== check: onnxruntime-node against PyTorch"
$TSX training/text/check-bundle.ts "$OUT"
echo "== per-exit costs"
$TSX training/text/measure-costs.ts "$OUT" "$WORK/data/calibration.jsonl"
echo "== default policy (BEEM-A, lambda $LAMBDA, calibration split)"
$TSX training/text/default-policy.ts "$OUT" --lambda "$LAMBDA"
