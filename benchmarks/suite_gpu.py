"""The suite's GPU section: the same eight kernels on an NVIDIA GPU, run by
pyacc, by numba-cuda and by CuPy in one process, on the same inputs, every
result checked against the host's.  suite.py runs it after the host
section (`--gpu-only`: alone); where there is no GPU it says so in one line.

- pyacc runs the suite's own functions, decorated again with
  device="nvidia" (f.py_func: the same text and pragmas as on the host).
  Their arrays are put on the GPU first (acc_copyin), so the kernels find
  them present and nothing crosses the bus while the clock runs.  The
  prefix sum (`serial loop seq`, no parallel loop) runs on one GPU thread,
  as OpenACC's serial construct says (PYACC_GPU_SERIAL=0 leaves it on the
  host, and the table says so).
- numba-cuda runs kernels written as its users write them: one thread an
  element (a 2-D grid for the collapsed loops, x along a row so that
  neighbouring threads read neighbouring elements), atomics for the
  histogram, a block reduction for the dot product, one thread for the
  prefix sum (the same serial loop).
- CuPy runs what its users write: an ElementwiseKernel where the work is an
  expression an element (raw arrays for the stencil and the distances),
  the library where it has the operation (cupy.dot and cupy.matmul:
  cuBLAS; bincount; cumsum: a parallel scan).

A call is timed until its GPU work is done (each library's own wait); the
figures are medians after a warm-up call (compiles are not counted).  A
device-to-device copy (CuPy) gives the GPU's bandwidth limit, of which the
triad's bandwidth is given as a fraction, and a tiny kernel on data
already there gives each one's cost of a launch.
"""

import contextlib
import math
import os
import statistics
import time
import warnings

import numpy as np

# What the issue asks of pyacc on the GPU (printed beside the figures).
GOAL_TRIAD = 0.92    # triad's GB/s over a device-to-device copy's
GOAL_LAUNCH = 8e-6   # seconds a tiny kernel on present data, waited for

# Which arguments each kernel writes: what is brought back and checked.
OUTS = {"triad": (0,), "dot": (), "jacobi": (1,), "matmul": (2,), "mandelbrot": (0,),
        "pairwise": (1,), "histogram": (1,), "prefix": (1,)}
# Outputs a kernel adds to rather than overwrites: zeroed on the GPU before
# each call (outside the timing).
ACCUMULATES = {"histogram": 1}
PEERS = ("numba-cuda", "cupy")
TINY = 1024  # elements of the launch-overhead kernel's array


def gpu_inputs(quick):
    """Per kernel, a function making its arguments, as suite.inputs() does,
    at sizes for a GPU: large enough that a call takes well over a launch
    (a 2^26-element triad moves 1.6 GB), small enough that the host's
    reference and the one-thread prefix sum take seconds."""
    n = 1 << (16 if quick else 26)
    sq = 128 if quick else 8192
    mm = 64 if quick else 2048
    mandel = (64, 96) if quick else (4096, 6144)
    npair = 128 if quick else 8192
    nprefix = 1 << (12 if quick else 18)  # on one GPU thread: ~55 ns an element (H100)
    fresh = np.random.default_rng
    return {
        "triad": lambda: (np.zeros(n), fresh(1).random(n), fresh(2).random(n), 3.0),
        "dot": lambda: (fresh(1).random(n), fresh(2).random(n)),
        "jacobi": lambda: (fresh(1).random((sq, sq)), np.zeros((sq, sq))),
        "matmul": lambda: (fresh(1).random((mm, mm)), fresh(2).random((mm, mm)), np.zeros((mm, mm))),
        "mandelbrot": lambda: (np.zeros(mandel, np.int64), -2.0, -1.2, 2.4 / mandel[0], 100 if quick else 400),
        "pairwise": lambda: (fresh(1).random((npair, 8)), np.zeros((npair, npair))),
        "histogram": lambda: (fresh(1).integers(0, 1 << 30, n), np.zeros(256, np.int64)),
        "prefix": lambda: (fresh(1).random(nprefix), np.zeros(nprefix)),
    }


def work(name, args):
    """(amount, unit) of a call's work, for a rate: bytes read plus written
    by the memory-bound kernels (each element once), floating-point
    operations by matmul and pairwise; None for Mandelbrot, whose work is
    its points' iteration counts."""
    if name == "triad":
        return 3 * args[0].nbytes, "GB/s"
    if name in ("dot", "jacobi", "prefix"):
        return 2 * args[0].nbytes, "GB/s"
    if name == "histogram":
        return args[0].nbytes, "GB/s"
    if name == "matmul":
        (n, k), m = args[0].shape, args[1].shape[1]
        return 2 * n * k * m, "GFLOP/s"
    if name == "pairwise":
        n, dim = args[0].shape
        return 3 * dim * n * n, "GFLOP/s"  # a subtraction, a product and a sum a coordinate
    return None


# What a row says of how the peers ran, where that is not a kernel of one
# thread an element (pyacc's row says where pyacc ran: report()).
NOTES = {"dot": "cupy: cuBLAS", "matmul": "cupy: cuBLAS", "histogram": "cupy: bincount",
         "prefix": "numba-cuda: 1 GPU thread; cupy: cumsum, a parallel scan"}


# ----------------------------------------------------------- the peers

class Impl:
    """One GPU implementation: its kernels (each taking the arguments as
    they are on the GPU), how arrays get there and back, how to wait for
    it, and its tiny kernel for the launch overhead."""

    def __init__(self, kernels, to_dev, to_host, zero, sync, free, tiny):
        self.kernels, self.to_dev, self.to_host = kernels, to_dev, to_host
        self.zero, self.sync, self.free, self.tiny = zero, sync, free, tiny


@contextlib.contextmanager
def current_device(t):
    """The OpenACC current device, for the data routines (acc_copyin, ...)
    and the host kernels, which follow it (suite.py makes the host current)."""
    import pyacc
    old = pyacc.acc_get_device_type()
    pyacc.acc_set_device_type(t)
    try:
        yield
    finally:
        pyacc.acc_set_device_type(old)


def pyacc_impl(host):
    """The suite's kernels for the GPU: the functions the host section
    runs, decorated again with device="nvidia"."""
    import pyacc
    from pyacc import acc

    kernels = {name: acc(device="nvidia")(f.py_func) for name, f in host.items()}

    @acc(device="nvidia")
    def tiny(x):
        #pragma acc parallel loop present(x)
        for i in range(x.shape[0]):
            x[i] = x[i] + 1.0

    def to_dev(a):
        pyacc.acc_copyin(a)
        assert pyacc.acc_is_present(a)  # else each call would copy it: a wrong figure
        return a

    def to_host(a):
        pyacc.acc_update_self(a)
        return a

    def zero(a):
        a.fill(0)
        pyacc.acc_update_device(a)

    def free(args):
        for a in args:
            if isinstance(a, np.ndarray):
                pyacc.acc_delete(a)

    return Impl(kernels, to_dev, to_host, zero, pyacc.acc_wait_all, free, tiny)


def numba_impl():
    """numba-cuda's kernels (see the module's docstring)."""
    # A global, as in a module written for numba-cuda: its simulator
    # (NUMBA_ENABLE_CUDASIM=1) swaps the kernels' global `cuda` for its own.
    global cuda
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack  # numba-cuda still names it; NumPy 2.5 removed it
    from numba import cuda
    if not cuda.is_available():
        raise RuntimeError("numba-cuda finds no GPU")
    # the tiny kernel (and the quick sizes) launch few blocks on purpose
    warnings.filterwarnings("ignore", message=r".*Grid size \d+ will likely result in GPU under-utilization")

    T = 256                 # threads a block
    T2 = (32, 8)            # a 2-D block: 32 along a row
    DOT_BLOCKS = 1024       # a few blocks a multiprocessor, each looping over the array

    def grid1(n):
        return (n + T - 1) // T

    def grid2(rows, cols):
        return ((cols + T2[0] - 1) // T2[0], (rows + T2[1] - 1) // T2[1])

    @cuda.jit
    def k_triad(a, b, c, s):
        i = cuda.grid(1)
        if i < a.shape[0]:
            a[i] = b[i] + s * c[i]

    @cuda.jit
    def k_dot(x, y, out):
        part = cuda.shared.array(T, np.float64)
        t = cuda.threadIdx.x
        s = 0.0
        for i in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
            s += x[i] * y[i]
        part[t] = s
        cuda.syncthreads()
        h = T // 2
        while h > 0:
            if t < h:
                part[t] += part[t + h]
            cuda.syncthreads()
            h //= 2
        if t == 0:
            cuda.atomic.add(out, 0, part[0])

    @cuda.jit
    def k_jacobi(a, out):
        j, i = cuda.grid(2)
        if 1 <= i < a.shape[0] - 1 and 1 <= j < a.shape[1] - 1:
            out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])

    @cuda.jit
    def k_matmul(a, b, c):
        j, i = cuda.grid(2)
        if i < c.shape[0] and j < c.shape[1]:
            t = 0.0
            for p in range(a.shape[1]):
                t += a[i, p] * b[p, j]
            c[i, j] = t

    @cuda.jit
    def k_mandelbrot(out, x0, y0, dx, maxit):
        q, r = cuda.grid(2)
        if r < out.shape[0] and q < out.shape[1]:
            cr = x0 + q * dx
            ci = y0 + r * dx
            zr = 0.0
            zi = 0.0
            k = 0
            while k < maxit and zr * zr + zi * zi < 4.0:
                zr, zi = zr * zr - zi * zi + cr, 2.0 * zr * zi + ci
                k += 1
            out[r, q] = k

    @cuda.jit
    def k_pairwise(x, d):
        j, i = cuda.grid(2)
        if i < d.shape[0] and j < d.shape[1]:
            t = 0.0
            for k in range(x.shape[1]):
                u = x[i, k] - x[j, k]
                t += u * u
            d[i, j] = math.sqrt(t)

    @cuda.jit
    def k_histogram(v, h):
        i = cuda.grid(1)
        if i < v.shape[0]:
            cuda.atomic.add(h, v[i] % h.shape[0], 1)

    @cuda.jit
    def k_prefix(x, out):  # the serial loop, on one thread
        t = 0.0
        for i in range(x.shape[0]):
            t += x[i]
            out[i] = t

    @cuda.jit
    def k_tiny(x):
        i = cuda.grid(1)
        if i < x.shape[0]:
            x[i] = x[i] + 1.0

    dot_out = cuda.device_array(1)
    zero1 = np.zeros(1)

    def dot(x, y):  # a float on the host, as pyacc's dot returns
        dot_out.copy_to_device(zero1)
        k_dot[min(DOT_BLOCKS, grid1(x.shape[0])), T](x, y, dot_out)
        return float(dot_out.copy_to_host()[0])

    kernels = {
        "triad": lambda a, b, c, s: k_triad[grid1(a.shape[0]), T](a, b, c, s),
        "dot": dot,
        "jacobi": lambda a, out: k_jacobi[grid2(*a.shape), T2](a, out),
        "matmul": lambda a, b, c: k_matmul[grid2(*c.shape), T2](a, b, c),
        "mandelbrot": lambda out, *s: k_mandelbrot[grid2(*out.shape), T2](out, *s),
        "pairwise": lambda x, d: k_pairwise[grid2(*d.shape), T2](x, d),
        "histogram": lambda v, h: k_histogram[grid1(v.shape[0]), T](v, h),
        "prefix": lambda x, out: k_prefix[1, 1](x, out),
    }

    def zero(d):
        d.copy_to_device(np.zeros(d.shape, d.dtype))

    def free(args):  # numba-cuda defers freeing: do it now, not in a later timing
        pending = getattr(cuda.current_context(), "deallocations", None)  # (none in the simulator)
        if pending is not None:
            pending.clear()

    return Impl(kernels, cuda.to_device, lambda d: d.copy_to_host(), zero, cuda.synchronize, free,
                lambda x: k_tiny[grid1(x.shape[0]), T](x))


def cupy_impl():
    """CuPy's code (see the module's docstring)."""
    import cupy as cp
    if not cp.cuda.runtime.getDeviceCount():
        raise RuntimeError("CuPy finds no GPU")

    k_triad = cp.ElementwiseKernel("float64 b, float64 c, float64 s", "float64 a", "a = b + s * c",
                                   "suite_triad")
    # Raw (unbroadcast) inputs indexed by hand; i is the output's flat index.
    k_jacobi = cp.ElementwiseKernel(
        "raw float64 a, int64 rows, int64 cols", "float64 out",
        """
        long long r = i / cols, q = i % cols;
        if (r > 0 && r < rows - 1 && q > 0 && q < cols - 1)
            out = 0.25 * (a[i - cols] + a[i + cols] + a[i - 1] + a[i + 1]);
        """, "suite_jacobi")
    k_mandelbrot = cp.ElementwiseKernel(
        "float64 x0, float64 y0, float64 dx, int64 maxit, int64 cols", "int64 out",
        """
        double cr = x0 + (i % cols) * dx, ci = y0 + (i / cols) * dx;
        double zr = 0.0, zi = 0.0;
        long long k = 0;
        while (k < maxit && zr * zr + zi * zi < 4.0) {
            double t = zr * zr - zi * zi + cr;
            zi = 2.0 * zr * zi + ci;
            zr = t;
            k++;
        }
        out = k;
        """, "suite_mandelbrot")
    k_pairwise = cp.ElementwiseKernel(
        "raw float64 x, int64 npts, int64 dim", "float64 d",
        """
        long long r = i / npts, q = i % npts;
        double t = 0.0;
        for (long long k = 0; k < dim; k++) {
            double u = x[r * dim + k] - x[q * dim + k];
            t += u * u;
        }
        d = sqrt(t);
        """, "suite_pairwise")
    k_tiny = cp.ElementwiseKernel("float64 one", "float64 x", "x = x + one", "suite_tiny")

    def histogram(v, h):
        h += cp.bincount(v % h.shape[0], minlength=h.shape[0])

    kernels = {
        "triad": lambda a, b, c, s: k_triad(b, c, s, a),
        "dot": lambda x, y: float(cp.dot(x, y)),
        # 1-D views of the contiguous arrays: a raw 2-D array's a[i] would
        # unravel i by the shape, dividing at every access
        "jacobi": lambda a, out: k_jacobi(a.ravel(), a.shape[0], a.shape[1], out),
        "matmul": lambda a, b, c: cp.matmul(a, b, out=c),
        "mandelbrot": lambda out, x0, y0, dx, maxit: k_mandelbrot(x0, y0, dx, maxit, out.shape[1], out),
        "pairwise": lambda x, d: k_pairwise(x.ravel(), x.shape[0], x.shape[1], d),
        "histogram": histogram,
        "prefix": lambda x, out: cp.cumsum(x, out=out),
    }
    pool = cp.get_default_memory_pool()
    return Impl(kernels, cp.asarray, cp.asnumpy, lambda d: d.fill(0), cp.cuda.Device().synchronize,
                lambda args: pool.free_all_blocks(), lambda x: k_tiny(1.0, x))


def copy_bandwidth(cp, sync, n, reps):
    """GB/s of a device-to-device copy of n float64 (bytes read plus
    written): what a streaming kernel can reach on this GPU."""
    src, dst = cp.arange(n, dtype=cp.float64), cp.empty(n, cp.float64)
    t = timed(lambda: cp.copyto(dst, src), sync, None, reps)[0]
    assert bool((dst == src).all())
    del src, dst
    cp.get_default_memory_pool().free_all_blocks()
    return 2 * 8 * n / t / 1e9


# ---------------------------------------------------------- measuring

def timed(call, sync, reset, reps, warm_up=True):
    """(median seconds of a call waited for, the last call's value), after
    a warm-up call unless told the caller made it; reset (if any) runs
    before each, outside the timing."""
    times, ret = [], None
    for r in range(reps + 1 if warm_up else reps):
        if reset:
            reset()
            sync()
        t0 = time.perf_counter()
        ret = call()
        sync()
        dt = time.perf_counter() - t0
        if r or not warm_up:
            times.append(dt)
    return statistics.median(times), ret


def measure(impl, name, make, reps):
    """(median seconds, (return value, the outputs on the host), warnings
    of the first call) of one implementation of one kernel, its arrays put
    on the GPU first and freed after."""
    args = make()
    try:
        dev = [impl.to_dev(a) if isinstance(a, np.ndarray) else a for a in args]
        fn = impl.kernels[name]
        reset = (lambda: impl.zero(dev[ACCUMULATES[name]])) if name in ACCUMULATES else None
        # the warm-up call compiles: a region left on the host says so then
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if reset:
                reset()
            fn(*dev)
            impl.sync()
        t, ret = timed(lambda: fn(*dev), impl.sync, reset, reps, warm_up=False)
        outs = [np.array(impl.to_host(dev[i])) for i in OUTS[name]]
    finally:  # also after a failure: the next kernel needs the GPU's memory
        dev = None
        impl.free(args)
    return t, (ret, outs), [str(w.message) for w in caught]


def agree(name, got, ref, exact):
    """Whether a GPU result matches the host's: the value returned where
    the host's kernel returns one (dot; CuPy's calls give back their output
    arrays), and the outputs, close for floating point (sums in another
    order); Mandelbrot's counts equal, except, for the peers, at a few
    points of the set's edge (at most 0.1%): numba-cuda and CuPy contract
    a * b + c into a fused multiply-add by default, which rounds once,
    while pyacc keeps Python's rounding (exact)."""
    (rx, ax), (ry, ay) = got, ref
    if ry is not None and (rx is None or not math.isclose(float(rx), float(ry), rel_tol=1e-9)):
        return False
    for p, q in zip(ax, ay):
        if p.shape != q.shape:
            return False
        if name == "mandelbrot" and not exact:
            if np.count_nonzero(p != q) > 1e-3 * p.size:
                return False
        elif not np.allclose(p, q, rtol=1e-9, atol=1e-12):
            return False
    return True


def reference(host, name, make):
    """(arguments, result) of the host for the GPU's inputs: the suite's pyacc kernel on
    the cores (checked against NumPy and Numba by the host section), or
    NumPy where it is much quicker at these sizes (BLAS, bincount)."""
    import pyacc
    args = make()
    with current_device(pyacc.acc_device_host):
        if name == "matmul":
            np.matmul(args[0], args[1], out=args[2])
            ret = None
        elif name == "histogram":
            v, h = args
            h += np.bincount(v % h.shape[0], minlength=h.shape[0])
            ret = None
        else:
            ret = host[name](*args)
    return args, (ret, [args[i] for i in OUTS[name]])


def gpu_present():
    """The GPU's name, or None where pyacc finds no NVIDIA GPU."""
    import pyacc
    pyacc._pyacc.cuda_register()
    if not pyacc._pyacc.gpu_count():
        return None
    return pyacc.acc_get_property_string(0, pyacc.acc_device_nvidia, pyacc.acc_property_name)


def driver_launch(calls):
    """Median seconds of the CUDA driver's own launch of the tiny kernel
    (CuPy compiles it) and its wait, cuLaunchKernel then cuCtxSynchronize
    called through ctypes: the launch row's limit, which no Python
    library's launch can go under by more than the ctypes calls' cost.
    None without CuPy or the driver library."""
    import ctypes
    try:
        import cupy
        cu = ctypes.CDLL("libcuda.so.1")
    except (ImportError, OSError):
        return None
    k = cupy.RawKernel(r"""extern "C" __global__ void tiny(double *x, long long n) {
        long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
        if (i < n) x[i] = x[i] + 1.0;
    }""", "tiny")
    x = cupy.zeros(TINY)
    k(((TINY + 255) // 256,), (256,), (x, np.int64(TINY)))  # compiles and loads it
    cupy.cuda.Device().synchronize()
    fn = ctypes.c_void_p(k.kernel.ptr)
    ptr, n = ctypes.c_uint64(x.data.ptr), ctypes.c_int64(TINY)
    params = (ctypes.c_void_p * 2)(ctypes.cast(ctypes.pointer(ptr), ctypes.c_void_p),
                                   ctypes.cast(ctypes.pointer(n), ctypes.c_void_p))
    launch = cu.cuLaunchKernel
    launch.argtypes = [ctypes.c_void_p] + [ctypes.c_uint] * 7 + [ctypes.c_void_p] * 3
    blocks = (TINY + 255) // 256

    def call():
        if launch(fn, blocks, 1, 1, 256, 1, 1, 0, None, params, None):
            raise RuntimeError("cuLaunchKernel failed")

    t, _ = timed(call, cu.cuCtxSynchronize, None, calls)
    if not np.array_equal(cupy.asnumpy(x), np.full(TINY, calls + 2.0)):
        raise RuntimeError("the driver's tiny kernel gave wrong values")
    return t


def launch_overhead(impls, calls, bad):
    """{implementation: median seconds} of a tiny kernel on an array
    already on the GPU, each call waited for (the warm-up call compiles),
    and under "driver" the driver's own launch (driver_launch); a wrong
    result or a failure goes into bad."""
    launch = {}
    try:
        t = driver_launch(calls)
        if t is not None:
            launch["driver"] = t
    except Exception as e:  # noqa: BLE001 - the limit not measured is reported, the rest still run
        bad.append(f"GPU launch: the driver's own launch failed: {type(e).__name__}: {e}")
    for iname, impl in impls.items():
        x = np.zeros(TINY)
        try:
            d = impl.to_dev(x)
            launch[iname] = timed(lambda: impl.tiny(d), impl.sync, None, calls)[0]
            if not np.array_equal(impl.to_host(d), np.full(TINY, calls + 1.0)):
                bad.append(f"GPU launch: {iname}'s tiny kernel gave wrong values")
            del d
            impl.free([x])
        except Exception as e:  # noqa: BLE001 - one failure is reported, the rest still run
            bad.append(f"GPU launch: {iname} failed: {type(e).__name__}: {e}")
    return launch


def make_impls(host):
    """(pyacc's and each peer's Impl that can run here, {peer: why not})."""
    impls, skipped = {"pyacc": pyacc_impl(host)}, {}
    for peer, make_impl in (("numba-cuda", numba_impl), ("cupy", cupy_impl)):
        try:
            impls[peer] = make_impl()
        except Exception as e:  # noqa: BLE001 - a peer that cannot run is reported, not fatal
            skipped[peer] = f"{type(e).__name__}: {e}"
    return impls, skipped


def launch_only(calls):
    """The launch overhead alone (latency.py's GPU row without the kernels'
    section): ({implementation: seconds}, mismatches), or (None, []) where
    there is no GPU."""
    import pyacc
    if gpu_present() is None:
        return None, []
    bad = []
    with current_device(pyacc.acc_device_nvidia):
        impls, _ = make_impls({})
        return launch_overhead(impls, calls, bad), bad


def run(host, quick, reps):
    """Measures everything; returns the section's results (a dict) and a
    list of mismatches, or (None, []) where there is no GPU."""
    import pyacc
    name = gpu_present()
    if name is None:
        return None, []
    with current_device(pyacc.acc_device_nvidia):
        impls, skipped = make_impls(host)
        makers = gpu_inputs(quick)
        rows, bad = [], []
        for kname, make in makers.items():
            args, ref = reference(host, kname, make)
            row = {"kernel": kname}
            amount = work(kname, args)
            if kname == "triad":
                n_triad = args[0].shape[0]
            del args
            for iname, impl in impls.items():
                try:
                    t, res, warned = measure(impl, kname, make, reps)
                except Exception as e:  # noqa: BLE001 - one failure is reported, the rest still run
                    bad.append(f"GPU {kname}: {iname} failed: {type(e).__name__}: {e}")
                    continue
                row[iname] = t
                if amount:
                    row.setdefault("rate", {})[iname] = amount[0] / t / 1e9
                    row["unit"] = amount[1]
                if iname == "pyacc":  # where it ran: a region left on the host warns once
                    why = [w for w in warned if "runs on the host" in w]
                    row["pyacc_on"] = "host" if why else "gpu"
                    if why:
                        row["pyacc_host_why"] = why[0]
                if not agree(kname, res, ref, exact=iname == "pyacc"):
                    bad.append(f"GPU {kname}: {iname} and the host disagree")
            rows.append(row)
        launch = launch_overhead(impls, reps * 20, bad)
        copy_gbs = None
        if "cupy" in impls:
            import cupy
            copy_gbs = copy_bandwidth(cupy, impls["cupy"].sync, n_triad, reps)
    triad = rows[0].get("rate", {})
    triad_of_copy = {i: gbs / copy_gbs for i, gbs in triad.items()} if copy_gbs else {}
    return {"device": name, "sizes": "quick" if quick else "full", "reps": reps, "rows": rows,
            "copy_gbs": copy_gbs, "triad_of_copy": triad_of_copy, "launch_s": launch,
            "skipped": skipped}, bad


# ------------------------------------------------------------ reporting

def goal_of(row):
    """Whether pyacc's time is at or below each peer's, as text."""
    missed = [p for p in PEERS if p in row and row["pyacc"] > row[p]]
    if not any(p in row for p in PEERS):
        return ""
    return "met" if not missed else "MISSED (slower than " + ", ".join(missed) + ")"


def report(res):
    """Prints the GPU table: times, rates, pyacc's time over each peer's,
    the copy bandwidth, triad's fraction of it and the launch overhead,
    each beside the issue's goal."""
    print(f"\nGPU: {res['device']}; {res['sizes']} sizes, median of {res['reps']}, "
          f"each call waited for, data already on the GPU")
    for peer, why in res["skipped"].items():
        print(f"{peer}: not measured ({why})")
    print(f"goals: each kernel at or below numba-cuda and CuPy; triad >= {GOAL_TRIAD} of the copy's "
          f"bandwidth; launch <= {GOAL_LAUNCH * 1e6:.0f} us\n")
    impls = ["pyacc", *PEERS]
    print(f"{'kernel':12}" + "".join(f"{i + ' ms':>15}" for i in impls)
          + "".join(f"{i.split('-')[0] + ' rate':>11}" for i in impls) + f"{'unit':>9}"
          + "".join(f"{'/' + p:>12}" for p in PEERS) + "  goal")
    for row in res["rows"]:
        times = "".join(f"{row[i] * 1e3:15.3f}" if i in row else f"{'-':>15}" for i in impls)
        rate = row.get("rate", {})
        rates = "".join(f"{rate[i]:11.1f}" if i in rate else f"{'-':>11}" for i in impls)
        ratios = "".join(f"{row['pyacc'] / row[p]:12.2f}" if p in row and "pyacc" in row else f"{'-':>12}"
                         for p in PEERS)
        notes = [NOTES[row["kernel"]]] if row["kernel"] in NOTES else []
        if row.get("pyacc_on") == "host":
            notes.insert(0, f"pyacc on the host: {row['pyacc_host_why']}")
        elif row["kernel"] == "prefix":  # a serial region: one GPU thread
            notes.insert(0, "pyacc: 1 GPU thread")
        print(f"{row['kernel']:12}{times}{rates}{row.get('unit', ''):>9}{ratios}  {goal_of(row)}"
              + "".join(f"  ({n})" for n in notes))
    fr = res["triad_of_copy"]
    if res["copy_gbs"]:
        print(f"\ncopy (CuPy, device to device): {res['copy_gbs']:.1f} GB/s read + written")
        if "pyacc" in fr:
            print(f"triad, of the copy's bandwidth: pyacc {fr['pyacc']:.2f} (goal {GOAL_TRIAD}: "
                  f"{'met' if fr['pyacc'] >= GOAL_TRIAD else 'MISSED'})"
                  + "".join(f"; {p} {fr[p]:.2f}" for p in PEERS if p in fr))
    else:
        print("\ncopy bandwidth: not measured (needs CuPy)")
    la = res["launch_s"]
    if "pyacc" in la:
        print(f"launch, a tiny kernel ({TINY} elements, present), a call waited for: pyacc "
              f"{la['pyacc'] * 1e6:.1f} us (goal {GOAL_LAUNCH * 1e6:.0f} us: "
              f"{'met' if la['pyacc'] <= GOAL_LAUNCH else 'MISSED'})"
              + "".join(f"; {p} {la[p] * 1e6:.1f} us" for p in PEERS if p in la))
        if "driver" in la:
            print(f"  its limit, the driver's own cuLaunchKernel + cuCtxSynchronize (ctypes): "
                  f"{la['driver'] * 1e6:.1f} us; pyacc at {la['pyacc'] / la['driver']:.2f} of it")
