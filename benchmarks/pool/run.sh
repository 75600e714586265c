#!/bin/sh
# Builds and runs bench_pool (pyacc's pool against libgomp) on this machine.
#   benchmarks/pool/run.sh            the main table, then the busy-gap table
#   NTHREADS=16 benchmarks/pool/run.sh   another thread count (default: the
#                                     CPUs this process may use)
#   PIN=1 ...                         pin both runtimes' threads to CPUs
#   SWEEP="0 20 100 500" ...          also the gap table for each PYACC_SPIN_US
# Any PYACC_* / OMP_* / GOMP_* already in the environment is passed through.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${BIN:-${TMPDIR:-/tmp}/pyacc_bench_pool}
CC=${CC:-gcc}

"$CC" -std=c11 -O3 -march=native -fopenmp -D_GNU_SOURCE -Wall -Wextra \
    -I"$root/runtime" "$root/runtime/pool.c" "$here/bench_pool.c" \
    -lm -lpthread -o "$bin"

if [ -n "${NTHREADS:-}" ]; then
    PYACC_NUM_THREADS=$NTHREADS
    export PYACC_NUM_THREADS
fi
echo "# $(uname -n): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs usable, $($CC --version | head -1)"
"$bin" all

for s in ${SWEEP:-}; do
    echo
    echo "# PYACC_SPIN_US=$s"
    PYACC_SPIN_US=$s "$bin" gap
done
