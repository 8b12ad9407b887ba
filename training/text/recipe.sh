#!/usr/bin/env bash
# The whole text recipe, from SST-2 JSON Lines to a committed bundle: tokenizer, split and
# pre-tokenisation (Node, with the tokenizer the runtime uses), training (PyTorch, resumes from
# its checkpoint), ONNX export, check against PyTorch, cost measurement, default policy.
#
#   pnpm --filter @beem-ts/training text:recipe
#
# Environment: SST2 (folder with train.jsonl and dev.jsonl; default ../shared/data/text/sst2),
# WORK (scratch folder; default training/runs/text), OUT (bundle; default models/sst2-beem),
# EPOCHS (default 4), LAMBDA (default policy's lambda; default 0.01), PYTHON (default /usr/bin/python3).
# Needs Debian's PyTorch: apt-get install -y python3-torch python3-onnx libopenblas0-pthread
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
SST2="${SST2:-$ROOT/../shared/data/text/sst2}"
WORK="${WORK:-$ROOT/training/runs/text}"
OUT="${OUT:-$ROOT/models/sst2-beem}"
EPOCHS="${EPOCHS:-4}"
LAMBDA="${LAMBDA:-0.01}"
PYTHON="${PYTHON:-/usr/bin/python3}"
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE ORT_DISABLE_TELEMETRY=1
TSX="pnpm exec tsx"

"$PYTHON" -c "import torch, onnx" 2>/dev/null || {
  echo "PyTorch and onnx are needed: apt-get install -y python3-torch python3-onnx libopenblas0-pthread" >&2
  exit 1
}
mkdir -p "$WORK/data"
echo "== tokenizer and splits"
$TSX training/text/build-tokenizer.ts --train "$SST2/train.jsonl" --out "$WORK/data/tokenizer"
$TSX training/text/pretokenize.ts --train "$SST2/train.jsonl" --dev "$SST2/dev.jsonl" \
  --tokenizer "$WORK/data/tokenizer" --out "$WORK/data"
echo "== training ($EPOCHS epochs; resumes from $WORK/checkpoint.pt)"
(cd training/text && "$PYTHON" train.py --data "$WORK/data" --run "$WORK" --epochs "$EPOCHS")
echo "== export"
(cd training/text && "$PYTHON" export.py --run "$WORK" --data "$WORK/data" --out "$OUT" 2>&1 | grep -v -i warn)
echo "== check: onnxruntime-node against PyTorch"
$TSX training/text/check-bundle.ts "$OUT"
echo "== per-exit costs"
$TSX training/text/measure-costs.ts "$OUT" "$WORK/data/calibration.jsonl"
echo "== default policy (BEEM-A, lambda $LAMBDA, calibration split)"
$TSX training/text/default-policy.ts "$OUT" --lambda "$LAMBDA"
