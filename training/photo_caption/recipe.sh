#!/usr/bin/env bash
# The photo captioner's whole recipe: MobileNetV2 rebuilt from the TFLite file, the photos'
# features cached through it, the decoder trained on Flickr8k's training photos (after
# language-model pre-training on the text-only captions), the early exit heads' adapters and the
# skipped layers' fill maps fitted on the trained decoder, the bundle exported, its costs,
# calibration log (the calibration photos carved out of train) and default policy (lambda
# chosen on dev).
#
#   pnpm train:photo-caption
#
# Environment: DATA (the flickr8k-1k folder; default ../shared/data/captions/flickr8k-1k beside
# the repository), TFLITE (default ../shared/data/encoders/mobilenet-v2-coral/mobilenet_v2_1.0_224_quant.tflite),
# WORK (scratch; default training/runs/photo), OUT (default models/photo-caption),
# PRETRAIN_EPOCHS (default 1), EPOCHS (most caption epochs; default 14, stops earlier when dev
# CIDEr-D stops improving), TRAIN_ARGS (more train_photo.py flags, e.g. "--exit-weights uniform"),
# PYTHON (default /usr/bin/python3). Relative paths are taken from where it is started. Resumes
# where it stopped.
# Needs Debian's PyTorch: apt-get install -y python3-torch python3-onnx libopenblas0-pthread
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# A relative path in the environment is taken from where the recipe was started, not from training/.
absolute() { case "$1" in /*) printf %s "$1" ;; *) printf %s "$PWD/$1" ;; esac; }
for name in DATA TFLITE WORK OUT; do
  [ -z "${!name:-}" ] || printf -v "$name" %s "$(absolute "${!name}")"
done
cd "$ROOT/training"
DATA="${DATA:-$ROOT/../shared/data/captions/flickr8k-1k}"
TFLITE="${TFLITE:-$ROOT/../shared/data/encoders/mobilenet-v2-coral/mobilenet_v2_1.0_224_quant.tflite}"
WORK="${WORK:-$ROOT/training/runs/photo}"
OUT="${OUT:-$ROOT/models/photo-caption}"
PRETRAIN_EPOCHS="${PRETRAIN_EPOCHS:-1}"
EPOCHS="${EPOCHS:-14}"
PYTHON="${PYTHON:-/usr/bin/python3}"
for name in PRETRAIN_EPOCHS EPOCHS; do
  [[ "${!name}" =~ ^[0-9]+$ ]] || { echo "Expected $name to be an integer >= 0 but received \"${!name}\"" >&2; exit 2; }
done
[ -f "$DATA/captions.jsonl" ] || { echo "$DATA/captions.jsonl: not found (set DATA to the flickr8k-1k folder)" >&2; exit 2; }
[ -f "$TFLITE" ] || { echo "$TFLITE: not found (set TFLITE to mobilenet_v2_1.0_224_quant.tflite)" >&2; exit 2; }
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE ORT_DISABLE_TELEMETRY=1
"$PYTHON" -c "import torch, onnx" 2>/dev/null || {
  echo "PyTorch and onnx are needed: apt-get install -y python3-torch python3-onnx libopenblas0-pthread" >&2
  exit 1
}
started=$(date +%s)
mkdir -p "$WORK"
echo "== MobileNetV2 from $TFLITE"
[ -f "$WORK/backbone.onnx" ] || "$PYTHON" photo_caption/export_backbone.py --tflite "$TFLITE" --out "$WORK/backbone.onnx" 2>&1 | grep -v -i warn
echo "== vocabulary, splits and cached features of every photo variant"
pnpm exec tsx photo_caption/prepare-data.ts --data "$DATA" --backbone "$WORK/backbone.onnx" --out "$WORK/data"
echo "== decoder: $PRETRAIN_EPOCHS language-model epoch(s), then up to $EPOCHS caption epochs (resumes from $WORK/run/checkpoint.pt)"
"$PYTHON" photo_caption/train_photo.py --data "$WORK/data" --run "$WORK/run" --pretrain-epochs "$PRETRAIN_EPOCHS" --epochs "$EPOCHS" \
  ${TRAIN_ARGS:-}
echo "== exit adapters of layers 1-5 (decoder frozen) and fill maps of the layers a token skips"
[ "$WORK/run/adapters.pt" -nt "$WORK/run/best.pt" ] ||
  "$PYTHON" photo_caption/exit_adapters.py --run "$WORK/run" --data "$WORK/data" --states "$WORK/run/train-states.pt"
[ "$WORK/run/fill-maps.pt" -nt "$WORK/run/best.pt" ] ||
  "$PYTHON" photo_caption/fill_maps.py --run "$WORK/run" --data "$WORK/data" --states "$WORK/run/train-states.pt"
echo "== export"
"$PYTHON" photo_caption/export_photo.py --run "$WORK/run" --data "$WORK/data" --tflite "$TFLITE" \
  --golden mobilenet/reference --adapters "$WORK/run/adapters.pt" --fills "$WORK/run/fill-maps.pt" \
  --out "$OUT" 2>&1 | grep -v -i warn
echo "== costs, calibration log (the calibration photos) and default policy (lambda chosen on dev)"
"$PYTHON" -c "
import json, os, sys
data = json.load(open(sys.argv[1] + '/data.json'))
for line in open(sys.argv[1] + '/photos.jsonl'):
    p = json.loads(line)
    if p['split'] == 'calibration':
        print(os.path.join(data['source'], p['file']))
" "$WORK/data" > "$WORK/calibration-images.txt"
pnpm exec tsx common/calibrate-captions.ts "$OUT" --images "$WORK/calibration-images.txt"
pnpm exec tsx photo_caption/choose-lambda.ts "$OUT" --data "$WORK/data"
echo "== done in $(( ($(date +%s) - started) / 60 )) min"
