"""First calls and calls on a hit: pyacc beside Numba (cache=True), same run.

For each tool, in fresh processes:
  cold    an empty cache: import, decorate, first call (compiles)
  warm    the cache the cold run left: import, decorate, first call (loads)
each the median of several runs, timed from before `import numpy` to
after the first call returns.  Then, in one process, the cost of one call
that hits the in-memory table: two small arrays and a serial region
(pyacc) against an @njit function doing the same (Numba), best of several
rounds of many calls.

    python benchmarks/cache_latency.py [runs]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import timeit

# these figures are the host's (the processes it starts inherit this)
os.environ.setdefault("ACC_DEVICE_TYPE", "host")

PYACC_CHILD = r'''
import time
t0 = time.perf_counter()
import numpy as np
import pyacc
from pyacc import acc

@acc
def kernel(x, y, a):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i] * 0.5

x = np.ones(1000); y = np.ones(1000)
t1 = time.perf_counter()
kernel(x, y, 2.0)
t2 = time.perf_counter()
s = kernel.stats()
print(f"{t2 - t0} {t2 - t1} {s['compiles']} {s['disk_hits']}")
'''

NUMBA_CHILD = r'''
import time
t0 = time.perf_counter()
import numpy as np
from numba import njit, prange

@njit(parallel=True, cache=True)
def kernel(x, y, a):
    for i in prange(x.shape[0]):
        y[i] = a * x[i] + y[i] * 0.5

x = np.ones(1000); y = np.ones(1000)
t1 = time.perf_counter()
kernel(x, y, 2.0)
t2 = time.perf_counter()
print(f"{t2 - t0} {t2 - t1} 0 0")
'''

OVERHEAD = r'''
import timeit, numpy as np
from pyacc import acc
from numba import njit

@acc
def tiny(x, y):
    #pragma acc serial
    y[0] = x[0] + 1.0

@njit
def tiny_nb(x, y):
    y[0] = x[0] + 1.0

x = np.ones(4); y = np.zeros(4)
tiny(x, y); tiny_nb(x, y)
n = 100_000
# alternating rounds, best of each: a busy moment hits both alike
fns = {"p": lambda: tiny(x, y), "q": lambda: tiny_nb(x, y), "e": lambda: None}
best = {k: float("inf") for k in fns}
for rnd in range(9):
    for k in (("p", "q", "e") if rnd % 2 else ("q", "p", "e")):
        best[k] = min(best[k], min(timeit.repeat(fns[k], number=n, repeat=3)) / n)
print(best["p"] * 1e6, best["q"] * 1e6, best["e"] * 1e6)
'''


def child(code, workdir, env):
    path = os.path.join(workdir, "child.py")
    with open(path, "w") as f:
        f.write(code)
    out = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, check=True,
                         cwd=workdir)
    total, call, compiles, hits = out.stdout.split()
    return float(total), float(call), int(compiles), int(hits)


def measure(code, runs, cache_var):
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ, **{cache_var: os.path.join(d, "cache")})
            cold.append(child(code, d, env))
            warm.append(child(code, d, env))
    return cold, warm


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"python {sys.version.split()[0]}, median of {runs} fresh processes each")
    rows = []
    p_cold, p_warm = measure(PYACC_CHILD, runs, "PYACC_CACHE_DIR")
    assert all(c[2] == 1 for c in p_cold) and all(w[3] == 1 and w[2] == 0 for w in p_warm)
    rows.append(("pyacc", p_cold, p_warm))
    try:
        import numba  # noqa: F401
        n_cold, n_warm = measure(NUMBA_CHILD, runs, "NUMBA_CACHE_DIR")
        rows.append(("numba", n_cold, n_warm))
    except ImportError:
        pass
    print(f"{'':8} {'cold first call':>16} {'cold process':>14} {'warm first call':>16} {'warm process':>14}")
    for name, cold, warm in rows:
        med = lambda v, k: statistics.median(x[k] for x in v) * 1e3  # noqa: E731
        print(f"{name:8} {med(cold, 1):13.1f} ms {med(cold, 0):11.1f} ms {med(warm, 1):13.1f} ms "
              f"{med(warm, 0):11.1f} ms")
    if len(rows) == 2:
        pc, pw = statistics.median(x[0] for x in p_cold), statistics.median(x[0] for x in p_warm)
        nc, nw = statistics.median(x[0] for x in n_cold), statistics.median(x[0] for x in n_warm)
        print(f"numba/pyacc, whole process: cold {nc / pc:.1f}x, warm {nw / pw:.1f}x")
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, PYACC_CACHE_DIR=os.path.join(d, "cache"))
        path = os.path.join(d, "overhead.py")
        with open(path, "w") as f:
            f.write(OVERHEAD)
        out = subprocess.run([sys.executable, path], env=env, capture_output=True, text=True, check=True)
        p, q, e = map(float, out.stdout.split())
        print(f"call on a hit (two small arrays, serial region): pyacc {p:.3f} us, numba {q:.3f} us, "
              f"numba/pyacc {q / p:.2f}x (an empty lambda: {e:.3f} us)")


if __name__ == "__main__":
    main()
