"""Gang, worker and vector on a GPU.

First a matrix-vector product row by row, its rows the gangs, each row's
dot product a vector loop across the gang's block (a lane loop,
jit/gpu_lanes.c), against `gang worker` rows (each row's dot product
across the threads of a worker's row), the same loop nest with the inner
loop left in order in each thread (`loop seq`: a thread a row) and
CuPy's `a @ x` (cuBLAS gemv), on a tall and a wide matrix.

Then a batch of small matrix-vector products, gang a matrix, worker a
row, vector the row's dot product: the block in rows of a warp, each
worker's vector loop across its row (rows), against the rows' loop left
in order with the vector loop across the block (`loop seq` workers), and
CuPy's batched `a @ x` (cuBLAS).  Data are on
the GPU before the clock starts (acc_copyin; CuPy arrays); each figure is
the median of calls after a warm-up (benchmarks/gpu.py's), the result checked against NumPy's.

    python benchmarks/lanes.py
"""

import sys

import numpy as np

import pyacc
from gpu import median_time  # benchmarks/gpu.py: the median of calls, each waited for
from pyacc import acc
from pyacc.runtime import acc_device_nvidia


@acc(device="nvidia")
def mv_lanes(a, x, y):
    #pragma acc parallel loop gang present(a, x, y)
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop vector reduction(+:s)
        for j in range(a.shape[1]):
            s += a[i, j] * x[j]
        y[i] = s


@acc(device="nvidia")
def mv_gang_worker(a, x, y):
    #pragma acc parallel loop gang worker present(a, x, y)
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop vector reduction(+:s)
        for j in range(a.shape[1]):
            s += a[i, j] * x[j]
        y[i] = s


@acc(device="nvidia")
def mv_thread_a_row(a, x, y):
    #pragma acc parallel loop gang present(a, x, y)
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop seq
        for j in range(a.shape[1]):
            s += a[i, j] * x[j]
        y[i] = s


@acc(device="nvidia")
def bmv_rows(a, x, y):
    #pragma acc parallel loop gang present(a, x, y)
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            s = 0.0
            #pragma acc loop vector reduction(+:s)
            for j in range(a.shape[2]):
                s += a[b, i, j] * x[b, j]
            y[b, i] = s


@acc(device="nvidia")
def bmv_block(a, x, y):
    #pragma acc parallel loop gang present(a, x, y)
    for b in range(a.shape[0]):
        #pragma acc loop seq
        for i in range(a.shape[1]):
            s = 0.0
            #pragma acc loop vector reduction(+:s)
            for j in range(a.shape[2]):
                s += a[b, i, j] * x[b, j]
            y[b, i] = s


def batched(rng, cp):
    print(f"{'batch shape':>16} {'rows ms':>9} {'block ms':>9} {'cupy ms':>9} {'rows/cupy':>10} {'block/rows':>11}")
    for shape in ((4096, 64, 256), (1024, 256, 512), (16384, 32, 64)):
        a, x = rng.standard_normal(shape), rng.standard_normal(shape[::2])
        ref = np.einsum("bij,bj->bi", a, x)
        y1, y2 = np.zeros(shape[:2]), np.zeros(shape[:2])
        for v in (a, x, y1, y2):
            pyacc.acc_copyin(v)
        ca, cx = cp.asarray(a), cp.asarray(x)[:, :, None]
        t_r = median_time(lambda: bmv_rows(a, x, y1), pyacc.acc_wait_all)
        t_b = median_time(lambda: bmv_block(a, x, y2), pyacc.acc_wait_all)
        t_c = median_time(lambda: ca @ cx, cp.cuda.Device().synchronize)
        for v in (y1, y2):
            pyacc.acc_update_self(v)
            assert np.allclose(v, ref), "wrong result"
        assert np.allclose(cp.asnumpy(ca @ cx)[:, :, 0], ref)
        for v in (a, x, y1, y2):
            pyacc.acc_delete(v)
        print(f"{'x'.join(map(str, shape)):>16} {t_r * 1e3:9.3f} {t_b * 1e3:9.3f} {t_c * 1e3:9.3f} {t_r / t_c:10.2f} "
              f"{t_b / t_r:11.2f}")


def main():
    from pyacc import _pyacc
    _pyacc.cuda_register()
    pyacc.acc_set_device_type(acc_device_nvidia)
    if pyacc.acc_get_device_type() != acc_device_nvidia:
        print("lanes: no GPU here")
        return 0
    import cupy as cp
    rng = np.random.default_rng(3)
    print(f"{'shape':>14} {'lanes ms':>10} {'rows ms':>8} {'thread/row ms':>14} {'cupy ms':>9} {'lanes/cupy':>11} "
          f"{'rows/cupy':>10} {'thread-a-row/lanes':>19}")
    for rows, cols in ((4096, 16384), (512, 131072), (65536, 1024)):
        a, x = rng.standard_normal((rows, cols)), rng.standard_normal(cols)
        ref = a @ x
        y1, y2, y3 = np.zeros(rows), np.zeros(rows), np.zeros(rows)
        for v in (a, x, y1, y2, y3):
            pyacc.acc_copyin(v)
        ca, cx = cp.asarray(a), cp.asarray(x)
        t_l = median_time(lambda: mv_lanes(a, x, y1), pyacc.acc_wait_all)
        t_s = median_time(lambda: mv_thread_a_row(a, x, y2), pyacc.acc_wait_all)
        t_r = median_time(lambda: mv_gang_worker(a, x, y3), pyacc.acc_wait_all)
        t_c = median_time(lambda: ca @ cx, cp.cuda.Device().synchronize)
        for v in (y1, y2, y3):
            pyacc.acc_update_self(v)
            assert np.allclose(v, ref), "wrong result"
        assert np.allclose(cp.asnumpy(ca @ cx), ref)
        for v in (a, x, y1, y2, y3):
            pyacc.acc_delete(v)
        print(f"{rows:>6}x{cols:<7} {t_l * 1e3:10.3f} {t_r * 1e3:8.3f} {t_s * 1e3:14.3f} {t_c * 1e3:9.3f} "
              f"{t_l / t_c:11.2f} {t_r / t_c:10.2f} {t_s / t_l:19.2f}")
    print()
    batched(rng, cp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
