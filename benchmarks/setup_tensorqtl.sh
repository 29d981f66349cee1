#!/usr/bin/env bash
# Build tensorQTL's own virtualenv for benchmarks/cis_peers.py, isolated from the main Python environment.
# torch goes first and alone, pinned to the exact CPU build version: any other version or a range makes pip
# resolve a CUDA build (gigabytes). The rest is pinned in requirements-tensorqtl.txt (tensorqtl needs numpy < 2).
# Usage: benchmarks/setup_tensorqtl.sh [VENV_DIR]   (default benchmarks/.venv-tensorqtl)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${1:-${here}/.venv-tensorqtl}"
python="${PYTHON:-python3}"

if [[ ! -x "${venv}/bin/python" ]]; then
    "${python}" -m venv "${venv}"
fi
# PYTHONPATH/PYTHONUSERBASE from the caller must not leak the main environment into this one.
export PYTHONNOUSERSITE=1
unset PYTHONPATH
"${venv}/bin/python" -m pip install --quiet "torch==2.13.0"
"${venv}/bin/python" -m pip install --quiet -r "${here}/requirements-tensorqtl.txt"
"${venv}/bin/python" - <<'PY'
import numpy, torch, tensorqtl
from tensorqtl import cis, pgen  # noqa: F401  (import errors show here, not mid-benchmark)
print(f"tensorqtl {tensorqtl.__version__}, torch {torch.__version__}, numpy {numpy.__version__}: ok")
PY
