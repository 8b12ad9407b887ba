#!/usr/bin/env bash
# pnpm convert:text --hf DIR --out DIR --texts FILE [--epochs N] [--calibration FILE] ...
# (the Python and its threads: ../common/run-python.sh)
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../common/run-python.sh" "$here/convert.py" "$@"
