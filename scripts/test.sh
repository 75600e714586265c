#!/usr/bin/env bash
# Sets up pyacc (scripts/setup.sh) and runs the whole test suite: the
# Criterion tests of the C core through CTest, then pytest end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/ctest -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPYACC_BUILD_TESTS=ON -DPYACC_BUILD_PYTHON=OFF >/dev/null
cmake --build build/ctest
ctest --test-dir build/ctest --output-on-failure
.venv/bin/python -m pytest tests/python "$@"
# Again with the quick code a first call on little data runs (conftest.py
# makes the pass above O3 throughout): each code generator checked alone.
echo "test: the suite again on the quick code (PYACC_TIER=quick)"
PYACC_TIER=quick .venv/bin/python -m pytest tests/python -q "$@"
# The benchmark suite at small sizes: every implementation's result checked
# against pyacc's (figures are not judged here).  Its peers come from PyPI.
if ! .venv/bin/python -c "import numba" 2>/dev/null; then
  echo "test: installing Numba for the benchmark suite's peers"
  .venv/bin/python -m pip install -q "numba>=0.59"
fi
.venv/bin/python benchmarks/suite.py --quick
