"""Compute regions for the GPU tests (test_gpu_regions.py).

Each case is a function with pragmas and example arguments.  Without a GPU
the test makes every case's PTX (f.compile(..., target="nvidia")); on a GPU
machine `python gpu_cases.py` runs every case on the GPU in one process and
prints one JSON line a case, which the test reads: the GPU's results must be
what the plain Python function gives."""

import copy
import fnmatch
import json
import math
import os
import sys
import traceback
import warnings

import numpy as np

import pyacc
from pyacc import acc, acc_on_device
from pyacc.runtime import acc_device_nvidia
from gpu_entry_cases import (  # noqa: E402,F401
    entry_normalize,
    entry_shaped,
    entry_steps,
    entry_int_minmax,
    entry_array_reduction,
    entry_last_value,
    entry_atomic_scalar,
    entry_lanes,
    entry_index_error,
    entry_own_error,
    entry_if,
)
from gpu_lane_cases import (  # noqa: E402,F401
    matvec_lanes,
    gang_single,
    lanes_in_seq_loop,
    lanes_some_gangs,
    lanes_int,
    lanes_collapse,
    lanes_workers,
    lanes_atomic,
    lanes_index_error,
    rows_matvec,
    rows_shaped,
    rows_two_loops,
    rows_some_workers,
    rows_gang_worker,
    rows_gang_worker_shaped,
    rows_gang_worker_atomic,
    rows_worker_updates,
    rows_atomic_worker,
    rows_index_error,
)
from gpu_launch_cases import (  # noqa: E402,F401
    scale_gangs,
    last_values,
    present_scale,
    async_copy,
    async_chain,
    spin,
    shaped,
    narrow,
    workers_only,
    kernels_shaped,
    typed_shape,
)
import gpu_align_cases  # noqa: E402
from gpu_align_cases import aligned_stencil, aligned_gang_lanes  # noqa: E402

N = 100_003  # not a multiple of a block: the last block is partly idle


@acc
def saxpy(a, x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


@acc
def saxpy32(a, x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


@acc
def dot(x, y):
    s = 0.0
    #pragma acc parallel loop reduction(+:s)
    for i in range(x.shape[0]):
        s += x[i] * y[i]
    return s


@acc
def int_reductions(v):
    total = 0
    prod = 1
    hi = -(1 << 62)
    lo = 1 << 62
    band = -1
    bor = 0
    bxor = 0
    #pragma acc parallel loop reduction(+:total) reduction(*:prod) reduction(max:hi) reduction(min:lo) reduction(&:band) reduction(|:bor) reduction(^:bxor)
    for i in range(v.shape[0]):
        total += v[i]
        prod *= 1 + (v[i] % 2) * (i % 3 == 0) * (i < 40)
        hi = max(hi, v[i])
        lo = min(lo, v[i])
        band &= v[i] | 0x100
        bor |= v[i]
        bxor ^= v[i]
    return total, prod, hi, lo, band, bor, bxor


@acc
def float_minmax(x):
    hi = -math.inf
    lo = math.inf
    #pragma acc parallel loop reduction(max:hi) reduction(min:lo)
    for i in range(x.shape[0]):
        hi = max(hi, x[i])
        lo = min(lo, x[i])
    return hi, lo


@acc
def logical(flags):
    every = True
    some = False
    #pragma acc parallel loop reduction(&&:every) reduction(||:some)
    for i in range(flags.shape[0]):
        every = every and flags[i]
        some = some or flags[i]
    return every, some


@acc
def int32_sum(v):
    s = np.int32(0)
    #pragma acc parallel loop reduction(+:s)
    for i in range(v.shape[0]):
        s += v[i]
    return s


@acc
def mathy(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = math.sin(x[i]) + math.exp(-x[i]) * math.sqrt(abs(x[i])) + math.log1p(abs(x[i])) \
            + math.pow(abs(x[i]), 0.3) + math.atan2(x[i], 1.5)


@acc
def py_math(x, y):
    # CPython's own algorithms on the host, libdevice's on the GPU
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = math.gamma(x[i]) + math.lgamma(x[i] + 3.0) + math.hypot(x[i], 2.0 - x[i])


@acc
def py_math_pole(x, y, k):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = math.lgamma(x[i] - k) if i == 7 else math.gamma(x[i] - k)


@acc
def mathy32(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = np.sin(x[i]) * np.cos(x[i]) + np.sqrt(np.abs(x[i]))


@acc
def stencil(a, b):
    n, m = a.shape
    #pragma acc parallel loop collapse(2)
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            b[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])


@acc
def transpose_add(a, b, out):
    #pragma acc parallel loop
    for i in range(a.shape[0]):
        #pragma acc loop
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] + b[j, i]


@acc
def strided(x, y):
    #pragma acc parallel loop
    for i in range(y.shape[0]):
        y[i] = x[i] * 2.0


@acc
def shifted(a, b, out):
    #pragma acc parallel loop
    for i in range(out.shape[0]):
        out[i] = a[i] - b[i]


@acc
def escape(cr, ci, out, maxit):
    #pragma acc parallel loop
    for i in range(cr.shape[0]):
        zr = 0.0
        zi = 0.0
        k = 0
        while k < maxit and zr * zr + zi * zi < 4.0:
            zr, zi = zr * zr - zi * zi + cr[i], 2.0 * zr * zi + ci[i]
            k += 1
        out[i] = k


@acc
def histogram(x, counts):
    nb = counts.shape[0]
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        b = x[i] % nb
        #pragma acc atomic update
        counts[b] += 1


@acc
def atomic_scalar(x):
    hits = 0
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        if x[i] > 0.5:
            #pragma acc atomic update
            hits += 1
    return hits


@acc
def two_loops(x, y):
    #pragma acc parallel
    if True:
        #pragma acc loop
        for i in range(x.shape[0]):
            x[i] = x[i] + 1.0
        #pragma acc loop
        for i in range(y.shape[0]):
            y[i] = x[i] * 3.0


@acc
def data_region(x, y, reps):
    #pragma acc data copyin(x) copy(y)
    for r in range(reps):
        #pragma acc parallel loop present(x, y)
        for i in range(x.shape[0]):
            y[i] = y[i] + x[i] * r


@acc
def host_part(x, y):
    #pragma acc parallel copy(x, y)
    if True:
        x[0] = 7.0
        #pragma acc loop
        for i in range(y.shape[0]):
            y[i] = x[i] + 1.0


@acc
def prefix_sum(x, out):
    #pragma acc serial
    if True:
        s = 0.0
        for i in range(x.shape[0]):
            s += x[i]
            out[i] = s
    return s


@acc
def recurrence(a, n):
    t = 0
    #pragma acc kernels
    for i in range(1, n):
        a[i] = a[i - 1] * 0.5 + math.sqrt(a[i])
        t += 1
    return t


@acc
def serial_in_data(a, reps):
    #pragma acc data copy(a)
    for r in range(reps):
        #pragma acc serial present(a)
        for i in range(1, a.shape[0]):
            a[i] = a[i] + a[i - 1]


@acc
def where(out):
    #pragma acc parallel loop
    for i in range(out.shape[0]):
        out[i] = acc_on_device(acc_device_nvidia)


@acc
def divide(x, d, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = x[i] + i // d  # Python ints: ZeroDivisionError, as NumPy's would not


@acc(boundscheck=True)
def out_of_bounds(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = x[i + 1]


@acc
def hist_reduce(x, h):
    nb = h.shape[0]
    #pragma acc parallel loop reduction(+:h)
    for i in range(x.shape[0]):
        h[x[i] % nb] += 1


@acc
def hist_shape(x, h):
    # the reduced array's shape read in the loop (test_concurrency's count)
    #pragma acc parallel loop reduction(+:h)
    for i in range(x.shape[0]):
        h[int(x[i]) % h.shape[0]] += 1


@acc
def hist_weights(x, w, h):
    # float32 sums into 64 bins: each block sums in its shared memory
    nb = h.shape[0]
    #pragma acc parallel loop reduction(+:h)
    for i in range(x.shape[0]):
        h[x[i] % nb] += w[i]


@acc
def grid_reduce(x, g):
    #pragma acc parallel loop reduction(+:g)
    for i in range(x.shape[0]):
        g[i % 3, i % 4] += x[i]  # float64: the GPU's atomic add


@acc
def peaks(x, hi, lo, bits):
    #pragma acc parallel loop reduction(max:hi) reduction(min:lo) reduction(|:bits)
    for i in range(x.shape[0]):
        hi[i % 5] = max(hi[i % 5], x[i])  # float: compare-and-swap
        lo[i % 7] = min(lo[i % 7], np.int32(x[i] * 10))
        bits[i % 2] |= np.uint8(1 << (i % 8))


@acc
def products(x, p):
    #pragma acc parallel loop reduction(*:p)
    for i in range(x.shape[0]):
        p[i % 4] *= x[i]


@acc
def hist_present(x, h, reps):
    nb = h.shape[0]
    #pragma acc data copyin(x) copy(h)
    for r in range(reps):
        #pragma acc parallel loop present(x, h) reduction(+:h)
        for i in range(x.shape[0]):
            h[(x[i] + r) % nb] += 1


@acc
def reads_partial(x, h):
    #pragma acc parallel loop reduction(+:h)
    for i in range(x.shape[0]):
        h[i % 3] += h[(i + 1) % 3] + x[i]  # reads what other iterations sum: Python's order only


@acc
def flags_all(x, ok):
    #pragma acc parallel loop reduction(&&:ok)
    for i in range(x.shape[0]):
        k = (i * 7) % 80  # a constant: no ZeroDivisionError path (and its lock) in the PTX
        ok[k] = ok[k] and x[i] > -3.0


@acc
def flags_any(x, seen):
    #pragma acc parallel loop reduction(||:seen)
    for i in range(x.shape[0]):
        k = i % 400
        if x[i] > 3.5:
            seen[k] = True
        seen[k] = x[i] < -3.9 or seen[k]


@acc
def int_ratio(out, base, d):
    #pragma acc parallel loop
    for i in range(out.shape[0]):
        out[i] = (base + i * 7919) / d  # Python ints: the exact quotient, rounded once


@acc
def round_digits(xs, ns, out):
    #pragma acc parallel loop
    for i in range(xs.shape[0]):
        out[i] = round(float(xs[i]), int(ns[i]))  # CPython's correctly rounded decimal digits


def round_inputs(rng, n):
    """(xs, ns) that round(x, ndigits) finds hard, none of them
    overflowing: any bit pattern but NaNs, decimal halves (near ties),
    integers and the extremes; ndigits over the whole range CPython tells
    apart (-330 to 330, past which x or a zero comes back) and near 0."""
    xs = rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64).copy()
    k = np.arange(n)
    halves = np.array([float(f"{d}5e-{e}") for d, e in zip(rng.integers(-10**8, 10**8, n // 4),
                                                              rng.integers(1, 22, n // 4))])
    xs[k % 4 == 1] = halves[:len(xs[k % 4 == 1])]
    xs[k % 8 == 2] = rng.integers(-10**15, 10**15, len(xs[k % 8 == 2]))
    xs[k % 8 == 6] = rng.uniform(-1e6, 1e6, len(xs[k % 8 == 6]))
    ends = [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.0, -0.0, 0.5, 2.5, math.inf, -math.inf]
    xs[:len(ends)] = ends
    xs[np.isnan(xs)] = 0.1
    ns = np.where(k % 2 == 0, rng.integers(-330, 331, n), rng.integers(-25, 26, n))
    for i in range(n):
        try:
            round(float(xs[i]), int(ns[i]))
        except OverflowError:
            ns[i] = 0
    return xs, ns


def round_to_the_bit(xs, ns):
    """Asserts round_digits gives what the plain function gives, bit for
    bit (signed zeros and NaNs too: every 1000th x is made a NaN)."""
    xs[7::1000] = np.nan
    got, want = np.zeros_like(xs), np.zeros_like(xs)
    round_digits(xs, ns, got)
    round_digits.py_func(xs, ns, want)
    bad = np.nonzero(got.view(np.int64) != want.view(np.int64))[0]
    assert len(bad) == 0, [(xs[i], ns[i], got[i], want[i]) for i in bad[:5]]


# ---- lists and tuples of numbers: the call's buffer of their items goes to
# the GPU as an array would, and a list's items come back

@acc
def list_scale(xs, ws, out):
    #pragma acc parallel loop
    for i in range(len(xs)):
        out[i] = xs[i] * ws[i % len(ws)]


@acc
def list_write(xs, flags, k):
    #pragma acc parallel loop
    for i in range(len(xs)):
        if flags[i]:
            xs[i] = xs[i] + k


@acc
def list_serial(xs):
    #pragma acc serial
    for i in range(1, len(xs)):
        xs[i] = xs[i] + xs[i - 1]


@acc
def serial_append(x, out):
    # appends in a serial region on the GPU: the list's buffer and count come back
    #pragma acc serial copyout(out[0:x.shape[0]])
    for i in range(x.shape[0]):
        out.append(x[i] * 2.0 + i)


@acc
def parallel_append(x, ret):
    # appends in a parallel loop: each iteration writes its own item of the buffer
    #pragma acc parallel loop copyout(ret[0:x.shape[0]])
    for i in range(x.shape[0]):
        ret.append(x[i] * 0.5 - i)


@acc
def tuple_result(x):
    # a tuple the region gives back: its items come back from the GPU
    #pragma acc serial
    if True:
        lo = x[0]
        hi = x[0]
        for i in range(x.shape[0]):
            lo = min(lo, x[i])
            hi = max(hi, x[i])
        t = (lo, hi, x.shape[0])
    return t


# ---- parallel loops over a sequence's items: the iterator's array moves

@acc
def over_items(x, out):
    #pragma acc parallel loop
    for v in x:
        out[int(v) % out.shape[0]] += 0.0
        out[int(abs(v)) % out.shape[0]] = v


@acc
def over_enumerate(x, out):
    #pragma acc parallel loop
    for i, v in enumerate(x):
        out[i] = v * i


@acc
def over_rows(a, out):
    #pragma acc parallel loop
    for r in a:
        out[int(r[0]) % out.shape[0]] = r[1] + r[2]


@acc
def over_list_append(data, ret):
    #pragma acc parallel loop copyout(ret[0:len(data)])
    for d in data:
        ret.append(d ** 2)


def _args():
    rng = np.random.default_rng(7)
    x = rng.standard_normal(N)
    y = rng.standard_normal(N)
    v = rng.integers(-1000, 1000, N)
    a2 = rng.standard_normal((301, 257))
    theta = np.linspace(-2.0, 1.0, 4096)
    return {
        "saxpy": (saxpy, (2.5, x, y)),
        "saxpy32": (saxpy32, (np.float32(2.5), x.astype(np.float32), y.astype(np.float32))),
        "scale_gangs": (scale_gangs, (x, np.zeros(N), -1.5, 9)),
        "last_values": (last_values, (x, np.zeros(N))),
        "dot": (dot, (x, y)),
        "int_reductions": (int_reductions, (v,)),
        "float_minmax": (float_minmax, (x,)),
        "logical": (logical, (v > -990,)),
        "logical_mixed": (logical, (v > 0,)),
        "int32_sum": (int32_sum, (v.astype(np.int32),)),
        "mathy": (mathy, (x, np.zeros(N))),
        "py_math": (py_math, (x, np.zeros(N))),
        "mathy32": (mathy32, (x.astype(np.float32), np.zeros(N, np.float32))),
        "stencil": (stencil, (a2, np.zeros_like(a2))),
        "transpose_add": (transpose_add, (a2[:200, :200], a2[:200, :200].copy(), np.zeros((200, 200)))),
        "strided": (strided, (x[::-3], np.zeros(N // 3))),
        "overlapping_views": (shifted, (x[:-10], x[5:-5], np.zeros(N - 10))),
        "escape": (escape, (theta, np.full(4096, 0.3), np.zeros(4096, np.int64), 200)),
        "histogram": (histogram, (v + 1000, np.zeros(17, np.int64))),
        "atomic_scalar": (atomic_scalar, (rng.random(N),)),
        "two_loops": (two_loops, (x, np.zeros(N))),
        "data_region": (data_region, (x, y, 3)),
        "empty": (saxpy, (1.0, np.zeros(0), np.zeros(0))),
        "serial_prefix_sum": (prefix_sum, (x[:5000], np.zeros(5000))),
        "kernels_recurrence": (recurrence, (np.abs(x[:3000]), 3000)),
        "serial_in_data_region": (serial_in_data, (np.ones(1000), 3)),
        "shaped": (shaped, (x, (v * 30).astype(np.int16))),
        "narrow": (narrow, ((v % 7).astype(np.float32), v > -1000)),  # exact sums
        "workers_only": (workers_only, (x, np.zeros(N))),
        "kernels_shaped": (kernels_shaped, (v,)),
        "typed_shape": (typed_shape, (x, np.zeros(N))),
        "hist_reduce": (hist_reduce, (v + 1000, np.zeros(17, np.int64))),
        "flags_all": (flags_all, (x, np.array([True, False] * 40))),  # some elements become False
        "flags_any": (flags_any, (x, np.array([False, True] * 200))),  # some become True
        "hist_shape": (hist_shape, ((v + 1000).astype(np.float64), np.zeros(19, np.int64))),
        "hist_big": (histogram, (v + 1000, np.zeros(5003, np.int64))),  # 40 KB: the global array's atomics
        "hist_strided": (histogram, (v + 1000, np.zeros(34, np.int64)[::2])),
        # halves: float32 sums exact in any order, so the answer is Python's to the bit
        "hist_weights": (hist_weights, (v + 1000, ((v % 7) * 0.5).astype(np.float32), np.zeros(64, np.float32))),
        "grid_reduce": (grid_reduce, (x, np.ones((3, 4)))),
        "peaks": (peaks, (x, np.full(5, -np.inf), np.full(7, 10**6, np.int32), np.zeros(2, np.uint8))),
        "products": (products, (1.0 + x[:400] * 1e-3, np.ones(4))),
        "hist_present": (hist_present, (v + 1000, np.zeros(13, np.int64), 3)),
        "int_ratio_narrow": (int_ratio, (np.zeros(5000), 12345, 7)),
        "round_digits": (round_digits, round_inputs(rng, 20_000) + (np.zeros(20_000),)),
        "int_ratio_wide": (int_ratio, (np.zeros(5000), 2**62 + 1, 3)),
        "int_ratio_wide_divisor": (int_ratio, (np.zeros(5000), -(2**61) - 12345, 2**55 + 7)),
        "int_ratio_negative": (int_ratio, (np.zeros(5000), 10**18, -(10**9 + 7))),
        "matvec_lanes": (matvec_lanes, (a2, a2[0].copy(), np.zeros(301))),
        "matvec_lanes_short_rows": (matvec_lanes, (a2[:, :5], a2[0, :5].copy(), np.zeros(301))),
        "gang_single": (gang_single, (a2, np.zeros_like(a2), np.arange(301.0))),
        "lanes_in_seq_loop": (lanes_in_seq_loop, (a2.copy(), np.zeros_like(a2), 4)),
        "lanes_some_gangs": (lanes_some_gangs, (a2, np.zeros(301))),
        "lanes_int": (lanes_int, (v[: 300 * 333].reshape(300, 333), np.zeros(300, np.int64))),
        "lanes_collapse": (lanes_collapse, (rng.standard_normal((50, 7, 33)), np.zeros(50))),
        "lanes_workers": (lanes_workers, (a2, np.zeros_like(a2))),
        "lanes_atomic": (lanes_atomic, (v[: 300 * 333].reshape(300, 333) + 1000, np.zeros(37, np.int64))),
        "over_items": (over_items, (np.arange(5000.0), np.zeros(5000))),
        "over_enumerate": (over_enumerate, (x[:3333], np.zeros(3333))),
        "over_enumerate_list": (over_enumerate, ([int(t) for t in v[:999]], np.zeros(999))),
        "over_rows": (over_rows, (np.arange(3000.0).reshape(1000, 3) * 3, np.zeros(3000))),
        "over_list_append": (over_list_append, ([int(t) for t in v[:777]], [])),
        "rows_matvec": (rows_matvec, (rng.standard_normal((37, 45, 70)), rng.standard_normal((37, 70)),
                                      np.zeros((37, 45)))),
        "rows_matvec_short": (rows_matvec, (rng.standard_normal((9, 20, 3)), rng.standard_normal((9, 3)),
                                            np.zeros((9, 20)))),
        "rows_shaped": (rows_shaped, (v[: 7 * 9 * 150].reshape(7, 9, 150), np.zeros((7, 9, 2), np.int64),
                                      np.zeros(7, np.int64))),
        "rows_two_loops": (rows_two_loops, (rng.standard_normal((11, 13, 100)), np.zeros((11, 13, 100)))),
        "rows_gang_worker": (rows_gang_worker, (rng.integers(-50, 50, (1001, 77)).astype(float),
                                                rng.integers(-5, 5, 77).astype(float), np.zeros(1001))),
        "rows_gang_worker_shaped": (rows_gang_worker_shaped, (v[: 301 * 150].reshape(301, 150), np.zeros(301, np.int64))),
        "rows_gang_worker_atomic": (rows_gang_worker_atomic, (rng.integers(-50, 50, (301, 40)).astype(float),
                                                              np.zeros(301), np.zeros(7, np.int64))),
        "rows_worker_updates": (rows_worker_updates, (rng.integers(-9, 9, (6, 19, 50)).astype(float),
                                                      np.arange(6 * 19.0).reshape(6, 19), np.zeros((6, 19)))),
        "rows_atomic_worker": (rows_atomic_worker, (rng.integers(-50, 50, (10, 17, 40)).astype(float), np.zeros((10, 17)),
                                                    np.zeros(5, np.int64))),
        "rows_some_workers": (rows_some_workers, (rng.standard_normal((10, 17, 40)), np.zeros((10, 17)))),
        "list_scale": (list_scale, ([float(t) for t in x[:3000]], (0.5, 2.0, -1.0), np.zeros(3000))),
        "list_write": (list_write, ([int(t) for t in v[:3000]], [bool(t % 3) for t in v[:3000]], 7)),
        "list_serial": (list_serial, ([int(t) for t in v[:500]],)),
        "tuple_result": (tuple_result, (x[:777],)),
        "serial_append": (serial_append, (x[:999], [])),
        "parallel_append": (parallel_append, (x, [])),
        "entry_normalize": (entry_normalize, (x, np.zeros(N), np.zeros(2))),
        "entry_steps": (entry_steps, (x[:5001].copy(), np.zeros(5001), 7)),
        "entry_shaped": (entry_shaped, (np.arange(30_000.0) % 7, np.zeros(30_000), 3, 64)),
        "entry_int_minmax": (entry_int_minmax, (v, np.zeros(3, np.int64))),
        "entry_array_reduction": (entry_array_reduction, (v + 1000, np.zeros(11, np.int64))),
        "entry_last_value": (entry_last_value, (x, np.zeros(N))),
        "entry_atomic_scalar": (entry_atomic_scalar, (rng.random(N), np.zeros(2))),
        "entry_lanes": (entry_lanes, (a2, np.zeros(301))),
        "entry_if_on": (entry_if, (x, np.zeros(N), True)),
        "entry_if_off": (entry_if, (x, np.zeros(N), False)),
        **gpu_align_cases.args(rng),
    }


# results that are sums of floats in another order: close, not equal
APPROX = {"dot", "mathy", "py_math", "mathy32", "shaped", "narrow", "grid_reduce", "products", "matvec_lanes", "rows_matvec",
          "rows_matvec_short",
          "matvec_lanes_short_rows", "lanes_collapse", "entry_normalize", "entry_lanes"}


def _same(a, b, approx):
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(_same(x, y, approx) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        return np.allclose(a, b, rtol=1e-6 if a.dtype == np.float32 else 1e-12) if approx else np.array_equal(a, b)
    if type(a) is not type(b):
        return False
    return math.isclose(a, b, rel_tol=1e-9) if approx and isinstance(a, float) else a == b


def run_case(name, f, args):
    a1, a2 = copy.deepcopy(args), copy.deepcopy(args)
    before = f.stats()
    with warnings.catch_warnings():
        warnings.simplefilter("error", pyacc.PyaccWarning)
        warnings.simplefilter("error", pyacc.PyaccPerformanceWarning)  # ran on the host
        r1 = f(*a1)
    r2 = f.py_func(*a2)
    approx = name in APPROX
    assert _same(r1, r2, approx), f"result {r1!r} != {r2!r}"
    for i, (p, q) in enumerate(zip(a1, a2)):
        assert _same(p, q, approx), f"argument {i} differs"
    assert f.stats()["fallbacks"] == before["fallbacks"], "ran in the interpreter"
    assert f.inspect_ptx(), "no GPU code was made"


def gpu_only_cases():
    """Cases whose answer on the GPU differs from the interpreter's on
    purpose, or that check errors and the host fallback."""
    out = {}

    def where_case():
        o = np.zeros(1000, np.int64)
        where(o)
        assert (o == 1).all(), o[:10]
    out["acc_on_device"] = where_case

    def divide_case():
        try:
            divide(np.arange(10), 0, np.zeros(10, np.int64))
        except ZeroDivisionError as e:
            tb = traceback.extract_tb(e.__traceback__)
            assert "i // d" in tb[-1].line, tb[-1]  # the user's line
            return
        raise AssertionError("no ZeroDivisionError")
    out["zero_division"] = divide_case

    def py_math_errors_case():
        # CPython's errors for gamma/lgamma on the GPU: a pole is a
        # ValueError, an infinite result from a finite argument an
        # OverflowError, each at the user's line; then a good call
        x = np.arange(1.0, 11.0)
        for k, exc in ((7.0, ValueError), (-180.0, OverflowError)):
            try:
                py_math_pole(x, np.zeros(10), k)
            except exc as e:
                tb = traceback.extract_tb(e.__traceback__)
                assert "math.lgamma(x[i] - k)" in tb[-1].line, tb[-1]
            else:
                raise AssertionError(f"no {exc.__name__}")
        y = np.zeros(10)
        py_math_pole(x, y, 0.5)
        y2 = np.zeros(10)
        py_math_pole.py_func(x, y2, 0.5)
        assert np.allclose(y, y2, rtol=1e-12), (y, y2)
        assert py_math_pole.inspect_ptx(), "no GPU code was made"
    out["py_math_errors"] = py_math_errors_case

    def round_digits_case():
        # round(x, ndigits) on the GPU to the bit (signed zeros, NaNs and
        # all) over many inputs, then CPython's OverflowError at its line
        xs, ns = round_inputs(np.random.default_rng(11), 400_000)
        round_to_the_bit(xs, ns)
        got = np.zeros_like(xs)
        xs[123] = 1.7976931348623157e308
        ns[123] = -308
        try:
            round_digits(xs, ns, got)
        except OverflowError as e:
            assert str(e) == "rounded value too large to represent", e
            tb = traceback.extract_tb(e.__traceback__)
            assert "round(float(xs[i]), int(ns[i]))" in tb[-1].line, tb[-1]
        else:
            raise AssertionError("no OverflowError")
        assert round_digits.inspect_ptx(), "no GPU code was made"
    out["round_digits_bits"] = round_digits_case

    def bounds_case():
        try:
            out_of_bounds(np.arange(10.0), np.zeros(10))
        except IndexError:
            return
        raise AssertionError("no IndexError")
    out["index_error"] = bounds_case

    def lane_bounds_case():
        # an error in a lane loop: raised at its line, and the next call runs
        try:
            lanes_index_error(np.ones((40, 10)), np.zeros((40, 10)), 11)
        except IndexError as e:
            tb = traceback.extract_tb(e.__traceback__)
            assert "out[i, j % 10] = a[i, j] * 2.0" in tb[-1].line, tb[-1]
        else:
            raise AssertionError("no IndexError")
        o = np.zeros((40, 10))
        lanes_index_error(np.ones((40, 10)), o, 10)
        assert (o == 2.0).all(), o
    out["lane_index_error"] = lane_bounds_case

    def lane_shape_case():
        # a body with lane loops: a block a gang, 128 threads unless told
        from pyacc import _pyacc
        a = np.ones((1000, 300))
        matvec_lanes(a, np.ones(300), np.zeros(1000))
        got = _pyacc.gpu_last_launch()
        assert got == (1000, 128, 1), got
        lanes_workers(a, np.zeros_like(a))
        got = _pyacc.gpu_last_launch()
        assert got == (1000, 32, 4), got
    out["lane_launch_shape"] = lane_shape_case

    def row_bounds_case():
        # an error in a row's vector loop: raised at its line, then a good call
        try:
            rows_index_error(np.ones((4, 6, 10)), np.zeros((4, 6, 10)), 11)
        except IndexError as e:
            tb = traceback.extract_tb(e.__traceback__)
            assert "out[b, i, j % 10] = a[b, i, j] * 2.0" in tb[-1].line, tb[-1]
        else:
            raise AssertionError("no IndexError")
        o = np.zeros((4, 6, 10))
        rows_index_error(np.ones((4, 6, 10)), o, 10)
        assert (o == 2.0).all(), o
    out["row_index_error"] = row_bounds_case

    def row_shape_case():
        # workers over vector loops: rows of a warp, 8 of them unless told
        from pyacc import _pyacc
        rows_matvec(np.ones((50, 9, 40)), np.ones((50, 40)), np.zeros((50, 9)))
        got = _pyacc.gpu_last_launch()
        assert got == (50, 32, 8), got
        rows_shaped(np.ones((5, 3, 7), np.int64), np.zeros((5, 3, 2), np.int64), np.zeros(5, np.int64))
        got = _pyacc.gpu_last_launch()
        assert got == (5, 64, 4), got
        if os.environ.get("PYACC_GPU_ROW_HANDSHAKE") == "1":
            return  # no rows for a gang worker loop then: a thread an iteration
        # gang worker: a row an iteration, 8 rows a block unless told
        rows_gang_worker(np.ones((100, 40)), np.ones(40), np.zeros(100))
        got = _pyacc.gpu_last_launch()
        assert got == (13, 32, 8), got
        rows_gang_worker_shaped(np.ones((100, 40), np.int64), np.zeros(100, np.int64))
        got = _pyacc.gpu_last_launch()
        assert got == (34, 64, 3), got
    out["row_launch_shape"] = row_shape_case

    def host_part_case():
        # code outside the loop touches x: the entry runs on the GPU, no warning
        from pyacc import _pyacc
        x, y = np.arange(10.0), np.zeros(10)
        on = _pyacc.gpu_counters()[0]
        with warnings.catch_warnings():
            warnings.simplefilter("error", pyacc.PyaccWarning)
            host_part(x, y)
        assert _pyacc.gpu_counters()[0] == on + 1, "not run on the GPU"
        x2, y2 = np.arange(10.0), np.zeros(10)
        host_part.py_func(x2, y2)
        assert np.array_equal(x, x2) and np.array_equal(y, y2), (x, y)
    out["host_part"] = host_part_case

    def entry_errors_case():
        # an error in a loop of an entry on the grid, and one in the first
        # thread's own code: each raised at its line; then a good call
        for k, line in ((3, "out[i] = x[i + k]"), (None, "out[k] = 2.0")):
            f = entry_index_error if k else entry_own_error
            try:
                f(np.ones(5000), np.zeros(5000), k or 5000)
            except IndexError as e:
                tb = traceback.extract_tb(e.__traceback__)
                assert line in tb[-1].line, tb[-1]
            else:
                raise AssertionError("no IndexError")
        o = np.zeros(5000)
        entry_own_error(np.ones(5000), o, 4999)
        assert (o[:4999] == 1.0).all() and o[4999] == 2.0, o
    out["entry_errors"] = entry_errors_case

    def entry_from_disk_case():
        # an entry on the grid loaded from the disk cache in a later
        # process: the same answers, and no compile there
        import subprocess
        import tempfile
        child = (
            "import json, sys, warnings\n"
            "import numpy as np\n"
            "import pyacc\n"
            "from pyacc import _pyacc\n"
            f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
            "import gpu_cases as g\n"
            "warnings.simplefilter('error', pyacc.PyaccPerformanceWarning)\n"
            "x = np.linspace(-3.0, 5.0, 50_001)\n"
            "out, st, out2, st2 = np.zeros_like(x), np.zeros(2), np.zeros_like(x), np.zeros(2)\n"
            "r = g.entry_normalize(x, out, st)\n"
            "grid = _pyacc.gpu_last_launch()\n"
            "r2 = g.entry_normalize.py_func(x, out2, st2)\n"
            "u, u2 = np.linspace(0.0, 1.0, 3001), np.linspace(0.0, 1.0, 3001)\n"
            "g.entry_steps(u, np.zeros(3001), 5)\n"
            "g.entry_steps.py_func(u2, np.zeros(3001), 5)\n"
            "s, t = g.entry_normalize.stats(), g.entry_steps.stats()\n"
            "ok = np.allclose(out, out2, rtol=1e-12) and np.allclose(st, st2, rtol=1e-12) \\\n"
            "    and abs(r - r2) <= 1e-9 * abs(r2) and np.array_equal(u, u2)\n"
            "print(json.dumps({'ok': bool(ok), 'grid': list(grid), 'compiles': s['compiles'] + t['compiles'],\n"
            "                  'disk_hits': s['disk_hits'] + t['disk_hits'], 'fallbacks': s['fallbacks'] + t['fallbacks']}))\n")
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, PYACC_CACHE_DIR=cache)
            runs = []
            for _ in range(2):
                r = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=120)
                assert r.returncode == 0, r.stderr[-2000:]
                runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
        first, second = runs
        assert first["ok"] and second["ok"], runs
        assert first["grid"][1:] == [256, 1] and second["grid"] == first["grid"], runs  # on the grid both times
        assert (first["compiles"], first["disk_hits"]) == (2, 0), runs
        assert (second["compiles"], second["disk_hits"]) == (0, 2) and second["fallbacks"] == 0, runs
    out["entry_from_disk"] = entry_from_disk_case

    def entry_launch_shape_case():
        # the entry on a grid of 256-thread blocks, at least one a multiprocessor
        from pyacc import _pyacc
        entry_last_value(np.ones(1000), np.zeros(1000))
        blocks, bx, by = _pyacc.gpu_last_launch()
        assert (bx, by) == (256, 1) and blocks >= 16, (blocks, bx, by)
    out["entry_launch_shape"] = entry_launch_shape_case

    def entry_shape_clauses_case():
        # num_gangs g: g blocks after the entry's (at most as many as stay
        # resident together); vector_length v: blocks of v threads (whole
        # warps, at most the kernel's 256); the same answers each time
        from pyacc import _pyacc
        x = np.arange(30_000.0) % 7
        want = np.zeros(30_000)
        entry_shaped.py_func(x, want, 1, 32)
        for g, v, shape in ((4, 64, (5, 64, 1)), (1, 32, (2, 32, 1)), (7, 40, (8, 64, 1)), (3, 1024, (4, 256, 1))):
            o = np.zeros(30_000)
            entry_shaped(x, o, g, v)
            assert _pyacc.gpu_last_launch() == shape, (g, v, _pyacc.gpu_last_launch())
            assert np.array_equal(o, want), (g, v, o[:4], want[:4])
        entry_shaped(x, np.zeros(30_000), 1 << 20, 128)
        blocks, bx, by = _pyacc.gpu_last_launch()
        assert (bx, by) == (128, 1) and 2 < blocks <= 4 * 132 + 1, (blocks, bx, by)  # those that stay resident
    out["entry_shape_clauses"] = entry_shape_clauses_case

    def no_leak_after_errors_case():
        # failed launches free what they took: device memory and present entries
        from pyacc.runtime import acc_get_property, acc_property_free_memory, acc_is_present
        x = np.arange(1 << 20)
        y = np.zeros(1 << 20, np.int64)

        def fail():
            try:
                divide(x, 0, y)
            except ZeroDivisionError:
                return
            raise AssertionError("no ZeroDivisionError")
        fail()
        free0 = acc_get_property(0, acc_device_nvidia, acc_property_free_memory)
        for _ in range(50):
            fail()
        free1 = acc_get_property(0, acc_device_nvidia, acc_property_free_memory)
        assert free0 - free1 < (4 << 20), (free0, free1)
        assert not acc_is_present(x) and not acc_is_present(y)
    out["no_leak_after_errors"] = no_leak_after_errors_case

    def after_shutdown_case():
        # acc_shutdown takes the GPU's code with it: the next call loads it again
        from pyacc.runtime import acc_shutdown
        x, y = np.arange(1000.0), np.ones(1000)
        saxpy(2.0, x, y)
        acc_shutdown(acc_device_nvidia)
        pyacc.acc_set_device_type(acc_device_nvidia)
        saxpy(2.0, x, y)
        assert np.array_equal(y, 1 + 4 * x), y[:4]
        assert saxpy.inspect_ptx()
    out["after_shutdown"] = after_shutdown_case

    def graph_launches_case():
        # a waited launch goes through its kernel's graph with each call's
        # own arguments and grid; an async one launches plainly (a graph's
        # launches run one after another, queues side by side); threads
        # launching one kernel each get their own results
        import threading
        from pyacc import _pyacc
        from pyacc.runtime import acc_wait
        scale_gangs(np.ones(3), np.zeros(3), 1.0, 1)  # compiled and loaded
        g0, p0, u0 = _pyacc.gpu_launch_counts()
        for n, s, g in ((10, 2.0, 1), (100_003, 3.0, 300), (7, -1.0, 7), (100_003, 0.5, 2), (10, 2.0, 1)):
            a = np.arange(n, dtype=np.float64)
            o, want = np.full(n, 9.0), np.full(n, 9.0)
            scale_gangs(a, o, s, g)
            assert _pyacc.gpu_last_launch()[0] == g, (g, _pyacc.gpu_last_launch())
            scale_gangs.py_func(a, want, s, g)
            assert np.array_equal(o, want), (n, s, g, o[:4], want[:4])
        g1, p1, u1 = _pyacc.gpu_launch_counts()
        assert (g1 - g0, p1 - p0, u1 - u0) == (5, 0, 5), (g0, p0, u0, g1, p1, u1)
        # the same arrays again: the node already holds their parameters
        a, o = np.arange(50.0), np.zeros(50)
        pyacc.acc_copyin(a)
        pyacc.acc_create(o)
        try:
            present_scale(a, o)
            g1, p1, u1 = _pyacc.gpu_launch_counts()
            for r in range(3):
                present_scale(a, o)
            g2, p2, u2 = _pyacc.gpu_launch_counts()
            assert (g2 - g1, u2 - u1) == (3, 0), (g1, u1, g2, u2)
            pyacc.acc_update_self(o)
            assert np.array_equal(o, a * 2.0), o[:4]
        finally:
            pyacc.acc_delete(a)
            pyacc.acc_delete(o)
        x = np.zeros(1000)
        async_copy(x)
        acc_wait(7)
        assert (x == 1).all(), x[:4]
        g3, p3, _ = _pyacc.gpu_launch_counts()
        assert (g3 - g2, p3 - p2) == (0, 1), (g2, p2, g3, p3)
        ok = {}

        def work(k):
            a, o = np.arange(5000.0) + k, np.zeros(5000)
            good = True
            for r in range(40):
                o[:] = -1.0
                scale_gangs(a, o, float(k + r), 1 + k)
                good = good and np.array_equal(o, a * float(k + r))
            ok[k] = good
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert ok == {0: True, 1: True, 2: True, 3: True}, ok
    out["graph_launches"] = graph_launches_case

    def present_call_case():
        # present(x, y) of parameters, checked by the region's call on the GPU
        x, y = np.arange(1000.0), np.zeros(1000)
        try:
            present_scale(x, y)
        except pyacc.AccError as e:
            assert "present(x)" in str(e) and "nvidia" in str(e), e
        else:
            raise AssertionError("no AccError")
        pyacc.acc_copyin(x)
        pyacc.acc_create(y)
        present_scale(x, y)
        pyacc.acc_copyout(y)
        pyacc.acc_delete(x)
        assert np.array_equal(y, 2.0 * np.arange(1000.0)), y[:4]
        assert not pyacc.acc_is_present(x) and not pyacc.acc_is_present(y)
    out["present_call"] = present_call_case

    def async_case():
        # the construct's exit (copy out, then forget) waits for its region
        from pyacc.runtime import acc_wait, acc_is_present
        a = np.zeros(100_000)
        async_copy(a)
        acc_wait(7)
        assert (a == 1).all() and not acc_is_present(a), a[:4]
        b = np.arange(100_000.0)
        async_chain(b)
        assert np.array_equal(b, np.arange(100_000.0) * 2 + 1) and not acc_is_present(b), b[:4]
    out["async_queue_order"] = async_case

    def cupy_case():
        # CuPy arrays are used where they are: no copy, results in place
        import cupy as cp
        from pyacc.runtime import acc_is_present, device_view
        x = cp.arange(100_000, dtype=cp.float64)
        y = cp.ones(100_000)
        ptr = y.data.ptr
        before = saxpy.stats()["fallbacks"]
        saxpy(2.0, x, y)
        assert saxpy.stats()["fallbacks"] == before, \
            f"ran in the interpreter: {saxpy._regions[0].signatures()} {x.__cuda_array_interface__}"
        assert y.data.ptr == ptr and bool(cp.all(y == 1 + 2 * x)), y[:4]
        s = dot(x, y)
        assert isinstance(s, float) and math.isclose(s, float(cp.dot(x, y)), rel_tol=1e-12), s
        # and the other way: a present NumPy array's GPU copy, seen by CuPy
        a = np.arange(1000.0)
        pyacc.acc_copyin(a)
        view = cp.asarray(device_view(a))
        view *= 3  # on the GPU copy only
        pyacc.acc_copyout(a)
        assert np.array_equal(a, 3 * np.arange(1000.0)) and not acc_is_present(a)
    out["cupy_zero_copy"] = cupy_case

    def overlap_case():
        # two queues' kernels (two blocks each) run side by side on their streams
        import time
        from pyacc.runtime import acc_wait, acc_wait_all
        x1, x2 = np.zeros(512), np.zeros(512)
        pyacc.acc_copyin(x1)
        pyacc.acc_copyin(x2)
        reps = 2_000_000
        spin(x1, 1000, 1)
        spin(x2, 1000, 2)
        acc_wait_all()
        t0 = time.perf_counter()
        spin(x1, reps, 1)
        acc_wait(1)
        one = time.perf_counter() - t0
        t0 = time.perf_counter()
        spin(x1, reps, 1)
        spin(x2, reps, 2)
        acc_wait_all()
        two = time.perf_counter() - t0
        pyacc.acc_copyout(x1)
        pyacc.acc_copyout(x2)
        # s -> s * 0.999 + 1 converges to 1000 long before 2,000,000 steps
        assert np.allclose(x1, 1000.0) and np.allclose(x2, 1000.0), (x1[:2], x2[:2])
        assert one > 0.005 and two < 1.5 * one, (one, two)
    out["async_queues_overlap"] = overlap_case

    def async_copy_case():
        # async copies go through page-locked staging: the caller returns
        # at once, the copy keeps its place behind the queue's kernel, and
        # a copy on another queue runs while that kernel does
        import time
        from pyacc.runtime import acc_wait, acc_wait_all
        x = np.zeros(512)
        big = np.arange(8 << 20, dtype=np.float64)  # 64 MiB
        pyacc.acc_copyin(x)
        pyacc.acc_copyin(big)
        spin(x, 1000, 1)
        acc_wait_all()
        t0 = time.perf_counter()
        spin(x, 2_000_000, 1)
        acc_wait(1)
        kernel = time.perf_counter() - t0
        other = np.ones(4 << 20)  # 32 MiB, to the GPU on queue 2
        t0 = time.perf_counter()
        spin(x, 2_000_000, 1)
        big[:] = -1.0  # the copy back must overwrite this, after the kernel
        pyacc.acc_copyout_async(big, 1)
        pyacc.acc_copyin_async(other, 2)
        queued = time.perf_counter() - t0
        acc_wait(2)
        mid = time.perf_counter() - t0
        acc_wait_all()
        assert queued < 0.5 * kernel, (queued, kernel)
        assert mid < 0.8 * kernel, (mid, kernel)  # queue 2 did not wait for queue 1's kernel
        assert np.array_equal(big, np.arange(8 << 20, dtype=np.float64)), big[:4]
        pyacc.acc_copyout(x)
        from pyacc.runtime import device_view
        import cupy as cp
        assert bool(cp.all(cp.asarray(device_view(other)) == 1.0))
        pyacc.acc_delete(other)
        assert np.allclose(x, 1000.0), x[:2]
    out["async_copies_overlap"] = async_copy_case

    def launch_shape_case():
        # num_gangs, num_workers and vector_length shape the grid; vector
        # lengths round up to whole warps; what is left open follows the
        # trip count
        from pyacc import _pyacc
        x, v = np.arange(10_000.0), np.arange(10_000, dtype=np.int16)
        got = {}
        shaped(x, v)
        got["shaped"] = _pyacc.gpu_last_launch()
        narrow(x.astype(np.float32), v > 5)
        got["narrow"] = _pyacc.gpu_last_launch()
        workers_only(x, np.zeros_like(x))
        got["workers"] = _pyacc.gpu_last_launch()
        kernels_shaped(v)
        got["kernels"] = _pyacc.gpu_last_launch()
        typed_shape(x, np.zeros_like(x))
        got["typed"] = _pyacc.gpu_last_launch()
        saxpy(1.0, x[:100], np.zeros(100))
        got["small"] = _pyacc.gpu_last_launch()
        saxpy(1.0, np.zeros(10_000_000), np.zeros(10_000_000))
        got["big"] = _pyacc.gpu_last_launch()
        assert got["shaped"] == (4, 64, 2), got
        assert got["narrow"][1:] == (32, 1), got
        assert got["workers"][1:] == (32, 4), got
        assert got["kernels"] == (3, 96, 1), got
        assert got["typed"][1:] == (128, 1), got
        assert got["small"] == (4, 32, 1), got  # 100 iterations: 4 warps, a multiprocessor each
        assert got["big"] == ((10_000_000 + 255) // 256, 256, 1), got  # a thread an iteration: the scheduler balances
        dot(np.ones(10_000_000), np.ones(10_000_000))
        got["reduction"] = _pyacc.gpu_last_launch()
        assert got["reduction"][1:] == (256, 1) and got["reduction"][0] <= 64 * 132, got  # partials: a few a SM
    out["launch_shape"] = launch_shape_case

    def aligned_launch_shape_case():
        # rows of 1023 from j = 1 (frontend/align.c): a thread in front of
        # each row, rows of 1024, the last without its padding: 998 * 1024
        # threads, where the loop's own 998 * 1023 would take 3989 blocks
        from pyacc import _pyacc
        a = np.ones((1000, 1025))
        aligned_stencil(a, np.zeros_like(a))
        assert _pyacc.gpu_last_launch() == (3992, 256, 1), _pyacc.gpu_last_launch()
        # a block a gang walks the loop's own 999 iterations from 1
        aligned_gang_lanes(a, np.zeros(1000))
        assert _pyacc.gpu_last_launch()[0] == 999, _pyacc.gpu_last_launch()
    out["aligned_launch_shape"] = aligned_launch_shape_case
    return out


def main():
    import os
    from pyacc import _pyacc
    _pyacc.cuda_register()
    pyacc.acc_set_device_type(acc_device_nvidia)
    assert pyacc.acc_get_device_type() == acc_device_nvidia, "no GPU"
    cases = {name: (lambda name=name, f=f, a=a: run_case(name, f, a)) for name, (f, a) in _args().items()}
    cases.update(gpu_only_cases())
    wanted = sys.argv[1:]  # patterns: only the cases they match
    for name, fn in cases.items():
        if wanted and not any(fnmatch.fnmatch(name, w) for w in wanted):
            continue
        try:
            fn()
            res = {"case": name, "ok": True}
        except Exception as e:  # reported to the test, one line a case
            res = {"case": name, "ok": False, "error": "".join(traceback.format_exception(e))[-3000:]}
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    sys.exit(main())
