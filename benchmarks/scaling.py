"""Speed-up across cores: pyacc against itself on one thread and against
Numba's prange on the same number of threads.

Each workload runs at 1, 2, 4, ... threads up to the machine's cores
(pyacc.num_threads(t) and numba.set_num_threads(t)); times are the best of
several repeats after a warm-up call, so compiles are not counted.  pyacc
and Numba are measured in separate child processes, one after the other:
in one process each one's idle threads (spinning after a loop, as thread
pools do) would slow the other down.  Their results are checked against
each other.

    python benchmarks/scaling.py [--quick]
"""

import math
import os
import sys
import time

import numpy as np

os.environ.setdefault("ACC_DEVICE_TYPE", "host")  # these figures are the host's
import pyacc
from pyacc import acc

try:
    import numba
    from numba import njit, prange
except ImportError:  # the table then has pyacc's columns only
    numba = None


# ------------------------------------------------------------- workloads

@acc
def saxpy(a, x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


@acc
def sum_sqrt(x):
    s = 0.0
    #pragma acc parallel loop reduction(+:s)
    for i in range(x.shape[0]):
        s += math.sqrt(x[i])
    return s


@acc
def escape(out, x0, y0, dx, maxiter):
    #pragma acc parallel loop
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            zr = 0.0
            zi = 0.0
            cr = x0 + c * dx
            ci = y0 + r * dx
            k = 0
            while k < maxiter and zr * zr + zi * zi < 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                k += 1
            out[r, c] = k


@acc
def jacobi(a, b):
    # kernels: pyacc proves the row loop independent and spreads it
    #pragma acc kernels
    for i in range(1, a.shape[0] - 1):
        for j in range(1, a.shape[1] - 1):
            b[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])


@acc
def sqrt_rows(a, out):
    # four rows, sixteen cores: collapse(2) spreads all the points
    #pragma acc parallel loop collapse(2)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = math.sqrt(a[i, j]) * 2.0 + 1.0


if numba is not None:
    @njit(parallel=True, fastmath=False, cache=False)
    def nb_saxpy(a, x, y):
        for i in prange(x.shape[0]):
            y[i] = a * x[i] + y[i]

    @njit(parallel=True)
    def nb_sum_sqrt(x):
        s = 0.0
        for i in prange(x.shape[0]):
            s += math.sqrt(x[i])
        return s

    @njit(parallel=True)
    def nb_escape(out, x0, y0, dx, maxiter):
        for r in prange(out.shape[0]):
            for c in range(out.shape[1]):
                zr = 0.0
                zi = 0.0
                cr = x0 + c * dx
                ci = y0 + r * dx
                k = 0
                while k < maxiter and zr * zr + zi * zi < 4.0:
                    zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                    k += 1
                out[r, c] = k

    @njit(parallel=True)
    def nb_sqrt_rows(a, out):
        for i in prange(a.shape[0]):
            for j in range(a.shape[1]):
                out[i, j] = math.sqrt(a[i, j]) * 2.0 + 1.0

    @njit(parallel=True)
    def nb_jacobi(a, b):
        for i in prange(1, a.shape[0] - 1):
            for j in range(1, a.shape[1] - 1):
                b[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])


def workloads(quick):
    n = 1 << (22 if quick else 24)
    side = 512 if quick else 1024
    rng = np.random.default_rng(0)
    x32 = rng.random(n, dtype=np.float32)
    y32 = rng.random(n, dtype=np.float32)
    x64 = rng.random(n)
    grid = np.zeros((side, side), dtype=np.int64)
    a2 = rng.random((2 * side, 2 * side))
    b2 = np.zeros_like(a2)
    esc = (-2.0, -1.25, 2.5 / side, 200)
    r4 = rng.random((4, n // 64))
    o4 = np.zeros_like(r4)
    return [
        ("saxpy f32 n=%d" % n, lambda: saxpy(np.float32(2.0), x32, y32),
         numba and (lambda: nb_saxpy(np.float32(2.0), x32, y32)), None),
        ("sum sqrt reduction n=%d" % n, lambda: sum_sqrt(x64), numba and (lambda: nb_sum_sqrt(x64)),
         lambda p, q: abs(p - q) <= 1e-9 * abs(q)),
        ("escape time %dx%d" % (side, side), lambda: escape(grid, *esc) or grid.copy(),
         numba and (lambda: nb_escape(grid, *esc) or grid.copy()), lambda p, q: np.array_equal(p, q)),
        ("collapse(2) sqrt, 4x%d" % (n // 64), lambda: sqrt_rows(r4, o4) or o4.copy(),
         numba and (lambda: nb_sqrt_rows(r4, o4) or o4.copy()), lambda p, q: np.array_equal(p, q)),
        ("jacobi (kernels) %dx%d" % a2.shape, lambda: jacobi(a2, b2) or b2.copy(),
         numba and (lambda: nb_jacobi(a2, b2) or b2.copy()), lambda p, q: np.array_equal(p, q)),
    ]


def best(fn, repeats):
    fn()
    t = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def thread_counts():
    cores = len(os.sched_getaffinity(0))
    counts, t = [], 1
    while t < cores:
        counts.append(t)
        t *= 2
    return counts + [cores]


def child(which, quick):
    """Measures one implementation; prints JSON {workload: {"ms": {t: ms},
    "result": a digest of its answer}}."""
    import hashlib
    import json
    repeats = 3 if quick else 7
    out = {}
    for name, p, q, agree in workloads(quick):
        fn = p if which == "pyacc" else q
        if fn is None:
            continue
        ms = {}
        for t in thread_counts():
            if which == "pyacc":
                pyacc.num_threads(t)
            else:
                numba.set_num_threads(t)
            ms[t] = best(fn, repeats) * 1e3
        r = fn()
        if isinstance(r, np.ndarray):
            r = hashlib.sha256(np.ascontiguousarray(r).tobytes()).hexdigest()
        out[name] = {"ms": ms, "result": r if agree else None}
    print(json.dumps(out))


def main():
    import json
    import subprocess
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        child(sys.argv[sys.argv.index("--child") + 1], quick)
        return
    runs = {}
    for which in ["pyacc"] + (["numba"] if numba else []):
        cmd = [sys.executable, __file__, "--child", which] + (["--quick"] if quick else [])
        runs[which] = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                                text=True).stdout)
    print(f"pyacc {pyacc.__version__}, numba {numba.__version__ if numba else 'absent'}, "
          f"{len(os.sched_getaffinity(0))} cores, python {sys.version.split()[0]}, "
          f"best of {3 if quick else 7}, each in its own process")
    for name, _, _, agree in workloads(quick):
        p = runs["pyacc"][name]
        q = runs.get("numba", {}).get(name)
        if q and agree:
            same = p["result"] == q["result"] if isinstance(p["result"], str) \
                else agree(p["result"], q["result"])
            assert same, f"{name}: pyacc and numba disagree"
        print(f"\n{name}")
        print(f"{'threads':>8} {'pyacc ms':>10} {'speed-up':>9} {'numba ms':>10} {'speed-up':>9} "
              f"{'numba/pyacc':>12}")
        for t in p["ms"]:
            tp = p["ms"][t]
            tq = q["ms"][t] if q else math.nan
            bp = p["ms"][str(1)] if "1" in p["ms"] else tp
            bq = q["ms"]["1"] if q else math.nan
            print(f"{t:>8} {tp:>10.2f} {bp / tp:>8.2f}x {tq:>10.2f} {bq / tq:>8.2f}x "
                  f"{tq / tp:>11.2f}x")
    print("\nnotes: kernels (jacobi) finds its row loop independent by itself:")
    jacobi(np.zeros((4, 4)), np.zeros((4, 4)))
    for sig, text in jacobi.notes().items():
        print(f"  {sig}: {text.strip()}")


if __name__ == "__main__":
    main()
