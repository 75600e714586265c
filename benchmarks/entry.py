"""A `parallel` region with code outside its loops on a GPU: a 1-D heat
equation, `steps` time steps in one region, each step setting the two
boundary cells (code outside the loops, run once by the grid's first
thread) and sweeping the interior with two parallel loops (the whole
grid), all in one launch whose threads meet at grid-wide barriers
(jit/gpu_grid.c).  Against the same steps written the way the per-loop
launch needs: a Python loop calling a region of two `parallel loop`s per
step, the boundaries set inside the loop (if i == 0), data present.  Per
step, median of calls after a warm-up (benchmarks/gpu.py's); the results
are checked equal to the interpreter's.

    python benchmarks/entry.py
"""

import sys

import numpy as np

import pyacc
from gpu import median_time  # benchmarks/gpu.py: the median of calls, each waited for
from pyacc import acc
from pyacc.runtime import acc_device_nvidia


@acc(device="nvidia")
def heat_one_region(u, tmp, steps):
    #pragma acc parallel present(u, tmp)
    for k in range(steps):
        u[0] = 1.0
        u[u.shape[0] - 1] = -1.0
        #pragma acc loop
        for i in range(1, u.shape[0] - 1):
            tmp[i] = u[i] + 0.25 * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        #pragma acc loop
        for i in range(1, u.shape[0] - 1):
            u[i] = tmp[i]


@acc(device="nvidia")
def heat_step(u, tmp):
    n = u.shape[0]
    #pragma acc parallel loop present(u, tmp)
    for i in range(n):
        if i == 0:
            u[0] = 1.0
        elif i == n - 1:
            u[n - 1] = -1.0
    #pragma acc parallel loop present(u, tmp)
    for i in range(1, n - 1):
        tmp[i] = u[i] + 0.25 * (u[i - 1] - 2.0 * u[i] + u[i + 1])
    #pragma acc parallel loop present(u, tmp)
    for i in range(1, n - 1):
        u[i] = tmp[i]


def heat_launches(u, tmp, steps):
    for _ in range(steps):
        heat_step(u, tmp)


def main():
    from pyacc import _pyacc
    _pyacc.cuda_register()
    pyacc.acc_set_device_type(acc_device_nvidia)
    if pyacc.acc_get_device_type() != acc_device_nvidia:
        print("entry: no GPU here")
        return 0
    steps = 100
    print(f"heat equation, {steps} steps a call; microseconds a step")
    print(f"{'n':>9} {'one region':>11} {'launches':>9} {'launches/one region':>20} {'grid':>14}")
    for n in (10_000, 1_000_000, 16_000_000):
        u0 = np.sin(np.linspace(0.0, 3.0, n))
        ref_u, ref_t = u0.copy(), np.zeros(n)
        heat_one_region.py_func(ref_u, ref_t, 3)
        u1, t1, u2, t2 = u0.copy(), np.zeros(n), u0.copy(), np.zeros(n)
        for v in (u1, t1, u2, t2):
            pyacc.acc_copyin(v)
        heat_one_region(u1, t1, 3)
        heat_launches(u2, t2, 3)
        pyacc.acc_copyout(u1)
        pyacc.acc_copyout(u2)
        assert np.allclose(u1, ref_u, rtol=1e-12, atol=1e-14) and np.allclose(u2, ref_u, rtol=1e-12, atol=1e-14)
        for v in (u1, u2):
            pyacc.acc_copyin(v)
        none = lambda: None  # noqa: E731 - the calls return when done
        t_one = median_time(lambda: heat_one_region(u1, t1, steps), none, reps=9) / steps
        grid = _pyacc.gpu_last_launch()
        t_many = median_time(lambda: heat_launches(u2, t2, steps), none, reps=9) / steps
        for v in (u1, t1, u2, t2):
            pyacc.acc_delete(v)
        print(f"{n:>9} {t_one * 1e6:>11.2f} {t_many * 1e6:>9.2f} {t_many / t_one:>20.2f} "
              f"{grid[0]:>6}x{grid[1]:<6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
