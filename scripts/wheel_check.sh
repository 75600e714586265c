#!/usr/bin/env bash
# Runs the pytest suite and the demo against a built wheel (pkg/*.whl) with
# whatever python3 this machine has, without installing anything: how the
# package is checked on the GPU machine, where nothing can be downloaded.
#   PYACC_LLVM_STATIC=ON pip wheel --no-deps . -w pkg   (here, first)
#   bash scripts/wheel_check.sh [OUTDIR]                (there)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/pyacc-check}
mkdir -p "$out"
site=$(mktemp -d)
python3 - "$site" pkg/*.whl <<'PY'
import sys, zipfile
for w in sys.argv[2:]:
    zipfile.ZipFile(w).extractall(sys.argv[1])
PY
export PYTHONPATH=$site PYTHONUNBUFFERED=1
{ python3 --version; python3 -m pyacc info; } 2>&1 | tee "$out/info.txt"
python3 -m pytest tests/python -q -p no:cacheprovider 2>&1 | tee "$out/pytest.txt" | tail -5
python3 examples/demo.py 2>&1 | tee "$out/demo.txt"
