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
