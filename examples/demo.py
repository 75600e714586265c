"""pyacc demo: a few OpenACC pragma loops, compiled and run on every core,
and on the GPU when the machine has one.

Each kernel runs compiled and as plain Python (f.py_func) on the same
input; the demo checks the results agree and prints the speed-up over the
interpreter and how long the first call spent compiling.  On the GPU each
call also moves its arrays there and back (OpenACC's implicit copies).
"""

import math
import statistics
import time
import warnings

import numpy as np

import pyacc
from pyacc import acc


@acc
def saxpy(a, x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


@acc
def do_something(data, ret):
    #pragma acc parallel loop copyout=ret[0:len(data)]
    for d in data:
        ret.append(d ** 2)


@acc
def horner(x, y, c0, c1, c2, c3):
    #pragma acc parallel loop
    for i in range(len(x)):
        v = x[i]
        y[i] = math.sqrt(((c3 * v + c2) * v + c1) * v + c0)


@acc
def escape_time(cr, ci, counts, maxit):
    #pragma acc parallel loop
    for i in range(cr.shape[0]):
        zr = 0.0
        zi = 0.0
        k = 0
        while zr * zr + zi * zi < 4.0 and k < maxit:
            zr, zi = zr * zr - zi * zi + cr[i], 2.0 * zr * zi + ci[i]
            k += 1
        counts[i] = k


def timed(f, args, reps):
    times = []
    for _ in range(reps):
        fresh = [a.copy() if isinstance(a, (np.ndarray, list)) else a for a in args]
        t = time.perf_counter()
        f(*fresh)
        times.append(time.perf_counter() - t)
    return statistics.median(times), fresh


def same(a, b):
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.allclose(a, b, rtol=1e-6, atol=0) \
            if a.dtype.kind == "f" else np.array_equal(a, b)
    return a == b


_python_ms = {}


def run(name, f, args, out_index, reps=5):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always", pyacc.PyaccPerformanceWarning)
        t0 = time.perf_counter()
        f(*[a.copy() if isinstance(a, (np.ndarray, list)) else a for a in args])
        first = time.perf_counter() - t0
    where = " (on the host: lists stay there)" if w else ""
    t_acc, out_acc = timed(f, args, reps)
    if name not in _python_ms:
        _python_ms[name] = timed(f.py_func, args, 1)
    t_py, out_py = _python_ms[name]
    ok = same(out_acc[out_index], out_py[out_index])
    print(f"{name:<14} {t_py * 1e3:10.1f} ms {t_acc * 1e3:9.3f} ms {t_py / t_acc:9.0f}x"
          f" {first * 1e3:9.1f} ms   {'ok' if ok else 'MISMATCH'}{where}")
    return ok


def main():
    rng = np.random.default_rng(0)
    n = 2_000_000
    x32 = rng.random(n, dtype=np.float32)
    y32 = rng.random(n, dtype=np.float32)
    xs = rng.random(n)
    side = 400
    cr = np.tile(np.linspace(-2.0, 0.6, side), side)
    ci = np.repeat(np.linspace(-1.2, 1.2, side), side)
    gpu = pyacc.acc_get_num_devices(pyacc.acc_device_nvidia) > 0
    targets = [("host", pyacc.acc_device_host, f"every core ({pyacc.num_threads()} threads)")]
    if gpu:
        name = pyacc.acc_get_property_string(0, pyacc.acc_device_nvidia, pyacc.acc_property_name)
        targets.append(("nvidia", pyacc.acc_device_nvidia, f"the GPU ({name})"))
    print(f"pyacc {pyacc.__version__}: compiled vs the interpreter (f.py_func), same inputs"
          + ("" if gpu else "; no NVIDIA GPU here"))
    ok = True
    for _, dev, what in targets:
        pyacc.acc_set_device_type(dev)
        print(f"\non {what}:")
        print(f"{'kernel':<14} {'python':>13} {'pyacc':>12} {'speed-up':>10} {'1st call':>12}")
        ok &= all([
            run("saxpy f32", saxpy, [np.float32(2.5), x32, y32], 2),
            run("seed example", do_something, [list(range(200_000)), []], 1),
            run("horner+sqrt", horner, [xs, np.zeros(n), 1.0, 0.5, 0.25, 0.125], 1),
            run("escape time", escape_time, [cr, ci, np.zeros(side * side, dtype=np.int32), 200], 2, 3),
        ])
    stats = {k: sum(f.stats()[k] for f in (saxpy, do_something, horner, escape_time))
             for k in ("compiles", "memory_hits", "fallbacks")}
    print(f"\n{stats['compiles']} compiles, {stats['memory_hits']} calls served from the "
          f"in-memory cache, {stats['fallbacks']} interpreter fallbacks")
    print("all results agree with plain Python" if ok else "SOME RESULTS DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
