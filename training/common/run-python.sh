#!/usr/bin/env bash
# run-python.sh SCRIPT.py [ARGS...]: runs a training or conversion script with a Python that has
# PyTorch (Debian's python3-torch: /usr/bin/python3 by default; set PYTHON to use another) and
# BLAS threads set as measured best on 2 cores (each overridable from the environment).
# run-python.sh --check: only checks the prerequisites (`beem bench-scale` runs this first).
# Before starting, it checks that Python and the packages the scripts import (PyTorch, onnx,
# NumPy) are there; if not it exits 1 with one line naming what is missing and how to install it.
set -euo pipefail
python="${PYTHON:-/usr/bin/python3}"
[ -n "${PYTHON:-}" ] || [ -x "$python" ] || python=python3
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: no Python at $python; install Python 3 with PyTorch and onnx: apt-get install -y python3 python3-torch python3-onnx (Debian), or pip install torch onnx numpy in a Python 3 of your own and set PYTHON to it" >&2
  exit 1
fi
missing="$("$python" -c 'import importlib.util, sys; print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))' torch onnx numpy)"
if [ -n "$missing" ]; then
  debian="" pip=""
  for m in $missing; do
    debian+=" python3-$m"
    pip+=" $m"
  done
  names="${missing// /, }"
  names="${names/torch/PyTorch (torch)}"
  echo "error: $python lacks $names; install with: apt-get install -y$debian (Debian), or $python -m pip install$pip (or set PYTHON to a Python that has them)" >&2
  exit 1
fi
[ "${1:-}" = "--check" ] && exit 0
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
exec "$python" "$@"
