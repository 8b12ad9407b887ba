"""Where the MobileNetV2 files are and how the committed reference figures are read.

The TFLite file and its labels live outside the repository, in
../shared/data/encoders/mobilenet-v2-coral from the repository root (BEEM_MOBILENET_V2_DIR
overrides the folder); the reference figures (reference.json and one 224x224 PNG per photo) are
committed in reference/ beside this file.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
MODEL_DIR = os.environ.get("BEEM_MOBILENET_V2_DIR") or os.path.join(ROOT, "..", "shared", "data", "encoders",
                                                                    "mobilenet-v2-coral")
TFLITE = os.path.join(MODEL_DIR, "mobilenet_v2_1.0_224_quant.tflite")
REFERENCE_DIR = os.path.join(HERE, "reference")
SIZE = 224


def read_labels(model_dir):
    """imagenet_labels.txt beside the model: 1,001 names, index 0 "background"."""
    with open(os.path.join(model_dir, "imagenet_labels.txt")) as f:
        return [line.strip() for line in f]


def short_label(label):
    """A label's first name ("Egyptian cat" of "Egyptian cat"), as reference-top3.txt prints it."""
    return label.split(",")[0]


def read_reference(folder):
    """reference.json: {"output": {"scale", "zero_point"}, "photos": [{"name", "png", "scores",
    "top3"}]}, scores being the 1,001 uint8 outputs of the reference run."""
    path = os.path.join(folder, "reference.json")
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as error:
            raise ValueError(f"{path}: not JSON ({error})")
