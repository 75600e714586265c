#!/usr/bin/env bash
# Sets up everything pyacc needs on Debian 12, idempotently: the apt
# packages, a virtual environment in .venv, the Python packages, and pyacc
# itself built from this tree.  Each step is skipped when already done, so a
# second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(build-essential cmake ninja-build pkg-config git
              llvm-19-dev libcriterion-dev libsqlite3-dev zlib1g-dev libzstd-dev
              python3 python3-dev python3-venv python3-pip)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
VPY=.venv/bin/python

# Python packages: installed once, checked cheaply afterwards.
if ! $VPY -c "import numpy, pytest, hypothesis, scikit_build_core" 2>/dev/null; then
  echo "setup: installing Python packages"
  $VPY -m pip install -q --upgrade pip
  $VPY -m pip install -q "numpy>=1.24" "pytest>=7" "hypothesis>=6" "scikit-build-core>=0.8"
fi

# pyacc itself: rebuilt only when its sources changed since the last install.
stamp=.venv/pyacc-source.sha256
sum=$( (git ls-files -co --exclude-standard -- CMakeLists.txt pyproject.toml cmake frontend jit runtime python \
        2>/dev/null || find CMakeLists.txt pyproject.toml cmake frontend jit runtime python -type f) \
       | sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ] || ! $VPY -c "import pyacc" 2>/dev/null; then
  echo "setup: building and installing pyacc"
  $VPY -m pip install -q --no-build-isolation .
  echo "$sum" > "$stamp"
fi
