"""The benchmark suite: each kernel written once with pragmas, run by pyacc
on the host's cores and by the peers a user would pick instead (NumPy,
Numba's parallel=True, plain Python at small sizes), on the same inputs in
the same process, every result checked against the others.

    python benchmarks/suite.py            # full sizes: a table and results.json
    python benchmarks/suite.py --quick    # small sizes: every result checked (CI)
    python benchmarks/suite.py --gpu-only # the GPU section alone (with --quick: small)
    python benchmarks/suite.py --latency-only  # the latency rows alone

Figures are medians of several calls after a warm-up (compiles are not
counted), labelled with the machine they came from.  Each row gives
pyacc's time over each peer's (below 1: pyacc is faster) and, for the
memory-bound triad, the fraction of a C + OpenMP triad's bandwidth
(gcc -O3 -march=native -fopenmp, built here when gcc is found).

Where the machine has an NVIDIA GPU, a second section (suite_gpu.py) runs
the same kernels there, with pyacc, numba-cuda and CuPy; elsewhere it says
in one line that it was skipped.

Then the latency rows (latency.py), each in fresh processes: a small
kernel's cold compile, a fresh process's warm start from the disk cache,
the overhead of a call, and on a GPU a kernel's cold compile and the
launch overhead, each beside Numba's or numba-cuda's and the issue's goal
(--gpu-only: the GPU's rows alone; --quick: each child's result checked,
figures not judged).
"""

import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("ACC_DEVICE_TYPE", "host")  # this suite measures the host
import pyacc
from pyacc import acc

try:
    from numba import njit, prange
except ImportError:
    njit = None

import latency  # noqa: E402 - beside this file
import suite_gpu  # noqa: E402 - beside this file; imports nothing of the GPU's until asked

QUICK = "--quick" in sys.argv
GPU_ONLY = "--gpu-only" in sys.argv
LATENCY_ONLY = "--latency-only" in sys.argv
REPS = 3 if QUICK else 15

# ---------------------------------------------------------------- kernels
# Written once, with pragmas; pyacc compiles them, f.py_func is plain Python.


@acc
def triad(a, b, c, s):
    #pragma acc parallel loop
    for i in range(a.shape[0]):
        a[i] = b[i] + s * c[i]


@acc
def dot(x, y):
    t = 0.0
    #pragma acc parallel loop reduction(+:t)
    for i in range(x.shape[0]):
        t += x[i] * y[i]
    return t


@acc
def jacobi(a, out):
    n, m = a.shape
    #pragma acc parallel loop collapse(2)
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])


@acc
def matmul(a, b, c):
    n, k = a.shape
    m = b.shape[1]
    #pragma acc parallel loop collapse(2)
    for i in range(n):
        for j in range(m):
            t = 0.0
            for p in range(k):
                t += a[i, p] * b[p, j]
            c[i, j] = t


@acc
def mandelbrot(out, x0, y0, dx, maxit):
    #pragma acc parallel loop collapse(2)
    for r in range(out.shape[0]):
        for q in range(out.shape[1]):
            cr = x0 + q * dx
            ci = y0 + r * dx
            zr = 0.0
            zi = 0.0
            k = 0
            while k < maxit and zr * zr + zi * zi < 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                k += 1
            out[r, q] = k


@acc
def pairwise(x, d):
    n, dim = x.shape
    #pragma acc parallel loop collapse(2)
    for i in range(n):
        for j in range(n):
            t = 0.0
            for k in range(dim):
                u = x[i, k] - x[j, k]
                t += u * u
            d[i, j] = math.sqrt(t)


@acc
def histogram(v, h):
    nb = h.shape[0]
    #pragma acc parallel loop
    for i in range(v.shape[0]):
        #pragma acc atomic update
        h[v[i] % nb] += 1


@acc
def histogram_red(v, h):
    # the same histogram as an array reduction: on the host each thread
    # counts into a private copy (no atomics contend), on a GPU each block
    # counts in its shared memory, then adds its counts to the array
    nb = h.shape[0]
    #pragma acc parallel loop reduction(+:h)
    for i in range(v.shape[0]):
        h[v[i] % nb] += 1


@acc
def prefix(x, out):
    #pragma acc serial loop seq
    for i in range(x.shape[0]):
        out[i] = x[i] + (out[i - 1] if i > 0 else 0.0)


# ------------------------------------------------------------------ peers

def np_triad(a, b, c, s):
    np.add(b, s * c, out=a)


def np_dot(x, y):
    return float(x @ y)


def np_jacobi(a, out):
    out[1:-1, 1:-1] = 0.25 * (a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:])


def np_matmul(a, b, c):
    np.matmul(a, b, out=c)


def np_mandelbrot(out, x0, y0, dx, maxit):
    # the same arithmetic as the kernel, a whole row of points at a time
    # (complex numbers would round differently at the set's edge)
    rows, cols = out.shape
    cr = np.broadcast_to((x0 + np.arange(cols) * dx)[None, :], out.shape)
    ci = np.broadcast_to((y0 + np.arange(rows) * dx)[:, None], out.shape)
    zr = np.zeros(out.shape)
    zi = np.zeros(out.shape)
    out[:] = 0
    alive = np.ones(out.shape, bool)
    for _ in range(maxit):  # each point counts the updates made while |z| < 2
        if not alive.any():
            break
        a, b = zr[alive], zi[alive]
        zr[alive], zi[alive] = a * a - b * b + cr[alive], 2.0 * a * b + ci[alive]
        out[alive] += 1
        alive &= zr * zr + zi * zi < 4.0


def np_pairwise(x, d):
    diff = x[:, None, :] - x[None, :, :]
    d[:] = np.sqrt((diff * diff).sum(axis=2))


def np_histogram(v, h):
    h += np.bincount(v % h.shape[0], minlength=h.shape[0])


def np_prefix(x, out):
    np.cumsum(x, out=out)


def numba_peers():
    if njit is None:
        return {}

    @njit(parallel=True)
    def nb_triad(a, b, c, s):
        for i in prange(a.shape[0]):
            a[i] = b[i] + s * c[i]

    @njit(parallel=True)
    def nb_dot(x, y):
        t = 0.0
        for i in prange(x.shape[0]):
            t += x[i] * y[i]
        return t

    @njit(parallel=True)
    def nb_jacobi(a, out):
        n, m = a.shape
        for i in prange(1, n - 1):
            for j in range(1, m - 1):
                out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])

    @njit(parallel=True)
    def nb_matmul(a, b, c):
        n, k = a.shape
        m = b.shape[1]
        for i in prange(n):
            for j in range(m):
                t = 0.0
                for p in range(k):
                    t += a[i, p] * b[p, j]
                c[i, j] = t

    @njit(parallel=True)
    def nb_mandelbrot(out, x0, y0, dx, maxit):
        for r in prange(out.shape[0]):
            for q in range(out.shape[1]):
                cr = x0 + q * dx
                ci = y0 + r * dx
                zr = 0.0
                zi = 0.0
                k = 0
                while k < maxit and zr * zr + zi * zi < 4.0:
                    zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                    k += 1
                out[r, q] = k

    @njit(parallel=True)
    def nb_pairwise(x, d):
        n, dim = x.shape
        for i in prange(n):
            for j in range(n):
                t = 0.0
                for k in range(dim):
                    u = x[i, k] - x[j, k]
                    t += u * u
                d[i, j] = math.sqrt(t)

    @njit
    def nb_histogram(v, h):  # a parallel histogram needs atomics Numba's CPU target lacks
        nb = h.shape[0]
        for i in range(v.shape[0]):
            h[v[i] % nb] += 1

    @njit
    def nb_prefix(x, out):
        t = 0.0
        for i in range(x.shape[0]):
            t += x[i]
            out[i] = t

    return {"triad": nb_triad, "dot": nb_dot, "jacobi": nb_jacobi, "matmul": nb_matmul,
            "mandelbrot": nb_mandelbrot, "pairwise": nb_pairwise, "histogram": nb_histogram,
            "histogram_red": nb_histogram,
            "prefix": nb_prefix}


# ----------------------------------------------------------- the C triad

C_TRIAD = r"""
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]); int reps = atoi(argv[2]);
    double *a = malloc(n * 8), *b = malloc(n * 8), *c = malloc(n * 8);
    #pragma omp parallel for
    for (long i = 0; i < n; i++) { a[i] = 0; b[i] = i; c[i] = 1; }
    for (int r = 0; r <= reps; r++) {  /* a warm-up, then one time a line */
        double t0 = omp_get_wtime();
        #pragma omp parallel for
        for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
        if (r) printf("%.9f\n", omp_get_wtime() - t0);
    }
    if (a[n / 2] < 0) printf("impossible\n");
    return 0;
}
"""


def c_triad_seconds(n, reps):
    gcc = shutil.which("gcc")
    if not gcc:
        return None
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "triad.c"), os.path.join(d, "triad")
        with open(src, "w") as f:
            f.write(C_TRIAD)
        if subprocess.run([gcc, "-O3", "-march=native", "-fopenmp", src, "-o", exe],
                          capture_output=True).returncode:
            return None
        env = dict(os.environ, OMP_NUM_THREADS=str(pyacc.num_threads()), OMP_PROC_BIND="spread")
        out = subprocess.run([exe, str(n), str(reps)], capture_output=True, text=True, env=env)
        return statistics.median(map(float, out.stdout.split())) if out.returncode == 0 else None


# ------------------------------------------------------------- measuring

def inputs():
    """Per kernel, a function making its arguments: the same ones at every
    call (a fresh generator with one seed), so that every implementation
    gets what pyacc got."""
    n = 1 << (14 if QUICK else 25)
    sq = 64 if QUICK else 4096
    mm = 48 if QUICK else 768
    mandel = (48, 64) if QUICK else (1024, 1536)
    npair = 64 if QUICK else 2048
    fresh = np.random.default_rng
    return {
        "triad": lambda: (np.zeros(n), fresh(1).random(n), fresh(2).random(n), 3.0),
        "dot": lambda: (fresh(1).random(n), fresh(2).random(n)),
        "jacobi": lambda: (fresh(1).random((sq, sq)), np.zeros((sq, sq))),
        "matmul": lambda: (fresh(1).random((mm, mm)), fresh(2).random((mm, mm)), np.zeros((mm, mm))),
        "mandelbrot": lambda: (np.zeros(mandel, np.int64), -2.0, -1.2, 2.4 / mandel[0], 100 if QUICK else 400),
        "pairwise": lambda: (fresh(1).random((npair, 8)), np.zeros((npair, npair))),
        "histogram": lambda: (fresh(1).integers(0, 1 << 30, n), np.zeros(256, np.int64)),
        "histogram_red": lambda: (fresh(1).integers(0, 1 << 30, n), np.zeros(256, np.int64)),
        "prefix": lambda: (fresh(1).random(n // 8), np.zeros(n // 8)),
    }


PYACC = {"triad": triad, "dot": dot, "jacobi": jacobi, "matmul": matmul, "mandelbrot": mandelbrot,
         "pairwise": pairwise, "histogram": histogram, "histogram_red": histogram_red, "prefix": prefix}
NUMPY = {"triad": np_triad, "dot": np_dot, "jacobi": np_jacobi, "matmul": np_matmul,
         "mandelbrot": np_mandelbrot, "pairwise": np_pairwise, "histogram": np_histogram,
         "histogram_red": np_histogram,
         "prefix": np_prefix}


# What must be put back between calls: the kernels overwrite their outputs,
# but a histogram adds to its counts.
RESET = {"histogram": lambda args: args[1].fill(0), "histogram_red": lambda args: args[1].fill(0)}


def run(fn, make, name):
    """(median seconds, the result: what fn returns and the arrays it wrote).
    The arguments are made once (and their pages touched by a first call),
    so that calls time the kernel, not the allocator."""
    args = make()
    times, ret = [], None
    for r in range(REPS + 1):
        if name in RESET:
            RESET[name](args)
        t0 = time.perf_counter()
        ret = fn(*args)
        dt = time.perf_counter() - t0
        if r:
            times.append(dt)
    return statistics.median(times), (ret, [a for a in args if isinstance(a, np.ndarray)])


def agree(x, y):
    (rx, ax), (ry, ay) = x, y
    if (rx is None) != (ry is None):
        return False
    if rx is not None and not math.isclose(float(rx), float(ry), rel_tol=1e-9):
        return False
    return all(np.allclose(p, q, rtol=1e-9, atol=1e-12) for p, q in zip(ax, ay))


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {pyacc.num_threads()} threads, Python {platform.python_version()}"


def plot(rows, path, impls=("pyacc", "numba", "numpy"), title=None):
    """Time per kernel and implementation, as bars (log scale), when
    matplotlib is there."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    impls = [c for c in impls if any(c in r for r in rows)]
    fig, ax = plt.subplots(figsize=(10, 4))
    w = 0.8 / len(impls)
    for k, impl in enumerate(impls):
        xs = [i + k * w for i, r in enumerate(rows) if impl in r]
        ax.bar(xs, [r[impl] * 1e3 for r in rows if impl in r], w, label=impl)
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(rows))], [r["kernel"] for r in rows])
    ax.set_yscale("log")
    ax.set_ylabel("ms (median)")
    ax.set_title(title or machine(), fontsize=8)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"written: {path}")


def host_section():
    """The kernels on the host's cores against NumPy and Numba: prints the
    table, returns (rows, mismatches, the C triad's seconds)."""
    peers = {"numpy": NUMPY, "numba": numba_peers()}
    makers = inputs()
    rows, bad = [], []
    for name, make in makers.items():
        row = {"kernel": name}
        row["pyacc"], ref = run(PYACC[name], make, name)
        for peer, table in peers.items():
            if name in table:
                row[peer], res = run(table[name], make, name)
                if not agree(res, ref):
                    bad.append(f"{name}: {peer} and pyacc disagree")
        if QUICK:  # the interpreter, at these sizes only
            row["python"], res = run(PYACC[name].py_func, make, name)
            if not agree(res, ref):
                bad.append(f"{name}: plain Python and pyacc disagree")
        rows.append(row)
    n = len(makers["triad"]()[0])
    c_triad = None if QUICK else c_triad_seconds(n, REPS)
    print(f"machine: {machine()}; {'quick sizes' if QUICK else 'full sizes'}, median of {REPS}\n")
    cols = ["pyacc", "numpy", "numba"] + (["python"] if QUICK else [])
    print(f"{'kernel':12}" + "".join(f"{c + ' ms':>12}" for c in cols) + f"{'/numpy':>9}{'/numba':>9}  goal")
    for row in rows:
        cells = "".join(f"{row[c] * 1e3:12.3f}" if c in row else f"{'-':>12}" for c in cols)
        rn = row["pyacc"] / row["numpy"] if "numpy" in row else float("nan")
        rb = row["pyacc"] / row["numba"] if "numba" in row else float("nan")
        goal = ("" if "numba" not in row else "not judged" if QUICK
                else "met" if rb <= 1.0 else "MISSED (pyacc <= numba)")
        print(f"{row['kernel']:12}{cells}{rn:9.2f}{rb:9.2f}  {goal}")
    if c_triad:
        gbs = 3 * 8 * n / rows[0]["pyacc"] / 1e9
        frac = c_triad / rows[0]["pyacc"]
        print(f"\ntriad: pyacc {gbs:.1f} GB/s, {frac:.2f} of C + OpenMP's {3 * 8 * n / c_triad / 1e9:.1f} GB/s"
              f" (goal 0.90: {'met' if frac >= 0.9 else 'MISSED'})")
    return rows, bad, c_triad


def gpu_section():
    """The kernels on the GPU against numba-cuda and CuPy (suite_gpu.py):
    prints the table, returns (results or None where there is no GPU,
    mismatches)."""
    res, bad = suite_gpu.run(PYACC, QUICK, REPS)
    if res is None:
        print("\nGPU section skipped: pyacc finds no NVIDIA GPU on this machine")
    else:
        res.update(machine=machine(), date=time.strftime("%Y-%m-%d"))
        suite_gpu.report(res)
    return res, bad


def latency_section(gpu):
    """The latency rows (latency.py), after the kernels' tables: the host's
    unless --gpu-only, the GPU's where there is one (its launch overhead
    from the GPU section, or measured alone under --latency-only). Prints
    the table, returns (results, mismatches)."""
    bad = []
    if LATENCY_ONLY:
        name = suite_gpu.gpu_present()
        launch = None
        if name is not None:
            launch, bad = suite_gpu.launch_only(REPS * 20)
    else:
        name, launch = (gpu["device"], gpu["launch_s"]) if gpu else (None, None)
    res, more = latency.run(QUICK, host=not GPU_ONLY, gpu=name, launch=launch, label=machine())
    latency.report(res)
    return res, bad + more


def merge_latency(old, new):
    """The latency results of a --gpu-only run added to those the last
    full run left: its host rows kept, the GPU's replaced."""
    if not old:
        return new
    keep = [r for r in old.get("rows", []) if r.get("target") == "host"]
    return dict(new, rows=keep + new["rows"], samples=dict(old.get("samples", {}), **new["samples"]))


def main():
    if LATENCY_ONLY:
        rows, bad, c_triad, gpu = [], [], None, None
    else:
        rows, bad, c_triad = ([], [], None) if GPU_ONLY else host_section()
        gpu, gpu_bad = gpu_section()
        bad += gpu_bad
    lat, lat_bad = latency_section(gpu)
    bad += lat_bad
    if not QUICK:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "results.json")
        if GPU_ONLY or LATENCY_ONLY:  # the other figures stay as the last full run left them
            out = {}
            if os.path.exists(path):
                with open(path) as f:
                    out = json.load(f)
            if gpu is not None:
                out["gpu"] = gpu
            out["latency"] = merge_latency(out.get("latency"), lat) if GPU_ONLY else lat
            with open(path, "w") as f:
                json.dump(out, f, indent=1)
            print(f"\nwritten: {path} (its {'GPU' if GPU_ONLY else 'latency'} section)")
        else:
            with open(path, "w") as f:
                json.dump({"machine": machine(), "date": time.strftime("%Y-%m-%d"), "rows": rows,
                           "c_triad_s": c_triad, "gpu": gpu, "latency": lat}, f, indent=1)
            print(f"\nwritten: {path}")
            plot(rows, os.path.join(here, "results.png"))
        if gpu is not None:
            plot(gpu["rows"], os.path.join(here, "results_gpu.png"), ("pyacc", *suite_gpu.PEERS),
                 f"{gpu['device']}; {machine()}")
    for b in bad:
        print("MISMATCH:", b)
    print("all results agree" if not bad else f"{len(bad)} results differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
