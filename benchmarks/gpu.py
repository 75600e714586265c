"""GPU kernels: pyacc against numba-cuda and CuPy, in one process, on the
same inputs, results checked equal.  Run on a machine with an NVIDIA GPU:

    python benchmarks/gpu.py [--quick]

Each pyacc kernel runs with its data already on the GPU (acc_copyin), as
the others do; the time is the median of several calls, each waited for.
Figures: GB/s moved (bytes read plus written), and pyacc's time over each
peer's (below 1: pyacc is faster)."""

import statistics
import sys
import time

import numpy as np

import pyacc
from pyacc import acc

QUICK = "--quick" in sys.argv
N = 1 << (20 if QUICK else 26)
REPS = 5 if QUICK else 30


@acc(device="nvidia")
def triad(a, x, y):
    #pragma acc parallel loop present(x, y)
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


@acc(device="nvidia")
def dot(x, y):
    s = 0.0
    #pragma acc parallel loop present(x, y) reduction(+:s)
    for i in range(x.shape[0]):
        s += x[i] * y[i]
    return s


@acc(device="nvidia")
def tiny(x):
    #pragma acc parallel loop present(x)
    for i in range(x.shape[0]):
        x[i] = x[i] + 1.0


def median_time(fn, sync, reps=REPS):
    fn()
    sync()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    gpus = pyacc._pyacc.gpu_count()
    if not gpus:
        print("no NVIDIA GPU: nothing to measure")
        return 0
    name = pyacc.acc_get_property_string(0, pyacc.acc_device_nvidia, pyacc.acc_property_name)
    print(f"GPU: {name}; n = {N}, median of {REPS}")
    rng = np.random.default_rng(0)
    x32 = rng.random(N, dtype=np.float32)
    y32 = rng.random(N, dtype=np.float32)
    x64 = rng.random(N)
    y64 = rng.random(N)
    rows = []
    none = lambda: None  # noqa: E731 - pyacc's launches return when done

    # ---- pyacc
    for arr in (x32, y32, x64, y64):
        pyacc.acc_copyin(arr)
    small = np.zeros(1024)
    pyacc.acc_copyin(small)
    t_triad = median_time(lambda: triad(np.float32(2.0), x32, y32), none)
    t_dot = median_time(lambda: dot(x64, y64), none)
    t_tiny = median_time(lambda: tiny(small), none, reps=REPS * 20)
    got_dot = dot(x64, y64)
    pyacc.acc_copyout(y32)
    pyacc.acc_delete(x32)
    # check: REPS + 1 triad calls, each adding 2x; NumPy does the same
    calls = 1 + REPS + 1
    ref = np.random.default_rng(0)
    x_ref = ref.random(N, dtype=np.float32)
    y_ref = ref.random(N, dtype=np.float32)
    for _ in range(calls - 1):
        y_ref = np.float32(2.0) * x_ref + y_ref
    assert np.allclose(y32, y_ref, rtol=1e-5), "pyacc triad differs"
    assert np.isclose(got_dot, float(x64 @ y64), rtol=1e-9), "pyacc dot differs"
    rows.append(("pyacc", t_triad, t_dot, t_tiny))

    # ---- CuPy
    try:
        import cupy as cp
        cx, cy = cp.asarray(x_ref), cp.asarray(y_ref)
        k = cp.ElementwiseKernel("float32 a, float32 x", "float32 y", "y = a * x + y", "triad")
        cx64, cy64 = cp.asarray(x64), cp.asarray(y64)
        csmall = cp.zeros(1024)
        sync = cp.cuda.Device().synchronize
        c_triad = median_time(lambda: k(np.float32(2.0), cx, cy), sync)
        c_dot = median_time(lambda: cp.dot(cx64, cy64), sync)
        c_tiny = median_time(lambda: csmall.__iadd__(1.0), sync, reps=REPS * 20)
        assert np.isclose(float(cp.dot(cx64, cy64)), float(x64 @ y64), rtol=1e-9)
        rows.append(("cupy", c_triad, c_dot, c_tiny))
    except ImportError as e:
        print(f"cupy: not measured ({e})")

    # ---- numba-cuda
    try:
        np.row_stack = np.vstack  # numba-cuda still names it (gone in NumPy 2.5)
        from numba import cuda

        @cuda.jit
        def n_triad(a, x, y):
            i = cuda.grid(1)
            if i < x.shape[0]:
                y[i] = a * x[i] + y[i]

        @cuda.jit
        def n_tiny(x):
            i = cuda.grid(1)
            if i < x.shape[0]:
                x[i] += 1.0

        @cuda.jit
        def n_dot(x, y, out):
            s = cuda.shared.array(256, np.float64)
            i = cuda.grid(1)
            t = cuda.threadIdx.x
            acc_ = 0.0
            stride = cuda.gridsize(1)
            while i < x.shape[0]:
                acc_ += x[i] * y[i]
                i += stride
            s[t] = acc_
            cuda.syncthreads()
            h = 128
            while h > 0:
                if t < h:
                    s[t] += s[t + h]
                cuda.syncthreads()
                h //= 2
            if t == 0:
                cuda.atomic.add(out, 0, s[0])

        dx, dy = cuda.to_device(x_ref), cuda.to_device(y_ref)
        dx64, dy64 = cuda.to_device(x64), cuda.to_device(y64)
        dsmall = cuda.to_device(np.zeros(1024))
        out = cuda.to_device(np.zeros(1))
        blocks = (N + 255) // 256
        sync = cuda.synchronize

        def nd():
            out.copy_to_device(np.zeros(1))
            n_dot[132 * 8, 256](dx64, dy64, out)
        n_t = median_time(lambda: n_triad[blocks, 256](np.float32(2.0), dx, dy), sync)
        n_d = median_time(nd, sync)
        n_s = median_time(lambda: n_tiny[4, 256](dsmall), sync, reps=REPS * 20)
        nd()
        assert np.isclose(out.copy_to_host()[0], float(x64 @ y64), rtol=1e-9)
        rows.append(("numba-cuda", n_t, n_d, n_s))
    except Exception as e:  # noqa: BLE001 - a peer that cannot run is reported, not fatal
        print(f"numba-cuda: not measured ({type(e).__name__}: {e})")

    triad_bytes = 3 * 4 * N
    dot_bytes = 2 * 8 * N
    print(f"\n{'':12} {'triad f32':>18} {'dot f64':>18} {'launch (1k, present)':>22}")
    for name_, tt, td, ts in rows:
        print(f"{name_:12} {tt * 1e3:8.3f} ms {triad_bytes / tt / 1e9:5.0f} GB/s "
              f"{td * 1e3:8.3f} ms {dot_bytes / td / 1e9:5.0f} GB/s {ts * 1e6:12.1f} us")
    p = rows[0]
    for name_, tt, td, ts in rows[1:]:
        print(f"pyacc / {name_:10} triad {p[1] / tt:5.2f}   dot {p[2] / td:5.2f}   launch {p[3] / ts:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
