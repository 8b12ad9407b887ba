#!/usr/bin/env bash
# pnpm convert:vit-gpt2 --hf DIR --out DIR [--images DIR] [--shortlist K] [--epochs N] ...
# (the Python and its threads: ../common/run-python.sh)
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../common/run-python.sh" "$here/convert.py" "$@"
