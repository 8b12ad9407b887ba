#!/usr/bin/env bash
# The whole caption recipe: scenes rendered and cached (Node, sharp), word-level tokenizer,
# training (PyTorch; resumes from its checkpoint), the ONNX export (transformers.js' layout of the
# same weights is made from it on demand: pnpm export:tjs).
#
#   pnpm train:caption
#
# Environment: WORK (scratch; default training/runs/caption), OUT (early-exit bundle; default
# models/caption-beem),
# SCENES (training scenes; default 16000), ENCODER_EPOCHS (default 6), EPOCHS (decoder; default 10),
# TARGETS (canonical: each scene's canonical caption, the default; all: its five references),
# PYTHON (default /usr/bin/python3).
# Needs Debian's PyTorch: apt-get install -y python3-torch python3-onnx libopenblas0-pthread
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# A relative path in the environment is taken from where the recipe was started, not from training/.
absolute() { case "$1" in /*) printf %s "$1" ;; *) printf %s "$PWD/$1" ;; esac; }
for name in WORK OUT; do
  [ -z "${!name:-}" ] || printf -v "$name" %s "$(absolute "${!name}")"
done
cd "$ROOT/training"
WORK="${WORK:-$ROOT/training/runs/caption}"
OUT="${OUT:-$ROOT/models/caption-beem}"
SCENES="${SCENES:-16000}"
EPOCHS="${EPOCHS:-10}"
TARGETS="${TARGETS:-canonical}"
ENCODER_EPOCHS="${ENCODER_EPOCHS:-6}"
PYTHON="${PYTHON:-/usr/bin/python3}"
for name in SCENES EPOCHS ENCODER_EPOCHS; do
  [[ "${!name}" =~ ^[1-9][0-9]*$ ]] || { echo "Expected $name to be an integer >= 1 but received \"${!name}\"" >&2; exit 2; }
done
[[ "$TARGETS" =~ ^(canonical|all)$ ]] || { echo "Expected TARGETS to be canonical or all but received \"$TARGETS\"" >&2; exit 2; }
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE ORT_DISABLE_TELEMETRY=1
"$PYTHON" -c "import torch, onnx" 2>/dev/null || {
  echo "PyTorch and onnx are needed: apt-get install -y python3-torch python3-onnx libopenblas0-pthread" >&2
  exit 1
}
echo "== scenes: $SCENES for training (seed 1), 500 for validation (seed 2)"
[ -f "$WORK/data/train/captions.jsonl" ] ||
  pnpm exec tsx caption/make-data.ts --count "$SCENES" --seed 1 --out "$WORK/data/train" --tokenizer-out "$WORK/data/tokenizer"
[ -f "$WORK/data/val/captions.jsonl" ] ||
  pnpm exec tsx caption/make-data.ts --count 500 --seed 2 --out "$WORK/data/val" --tokenizer "$WORK/data/tokenizer"
echo "== scene layouts and encoder pre-training (which object covers each grid cell)"
pnpm exec tsx caption/dump-layouts.ts --count "$SCENES" --seed 1 --out "$WORK/data/train/layouts.jsonl"
pnpm exec tsx caption/dump-layouts.ts --count 500 --seed 2 --out "$WORK/data/val/layouts.jsonl"
[ -f "$WORK/encoder.pt" ] ||
  (cd caption && "$PYTHON" pretrain_encoder.py --data "$WORK/data" --out "$WORK/encoder.pt" --epochs "$ENCODER_EPOCHS")
echo "== decoder training on the frozen encoder's cached features ($EPOCHS epochs, $TARGETS targets; resumes from $WORK/checkpoint.pt)"
(cd caption && "$PYTHON" train.py --data "$WORK/data" --run "$WORK" --epochs "$EPOCHS" --targets "$TARGETS" --encoder "$WORK/encoder.pt")
echo "== export"
(cd caption && "$PYTHON" export.py --run "$WORK" --data "$WORK/data" --out "$OUT" 2>&1 | grep -v -i warn)
echo "== costs, calibration log (scenes of seed 3) and default policy"
pnpm exec tsx common/calibrate-captions.ts "$OUT"
