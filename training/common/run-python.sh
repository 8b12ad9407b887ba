#!/usr/bin/env bash
# run-python.sh SCRIPT.py [ARGS...]: runs a training or conversion script with a Python that has
# PyTorch (Debian's python3-torch: /usr/bin/python3 by default; set PYTHON to use another) and
# BLAS threads set as measured best on 2 cores (each overridable from the environment).
set -euo pipefail
python="${PYTHON:-/usr/bin/python3}"
[ -x "$python" ] || python=python3
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec "$python" "$@"
