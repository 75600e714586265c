"""Decorated functions called from several Python threads at once: each
call gets its own answer, compiles of one new signature happen once, and
the GIL is released while a region runs."""

import threading

import numpy as np

from pyacc import acc
from conftest import same


def _run_threads(target, n):
    errors = []

    def wrap(k):
        try:
            target(k)
        except BaseException as e:  # reported in the main thread
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(k,)) for k in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


def test_many_threads_calling_one_function_with_new_signatures():
    @acc
    def f(x, c):
        s = 0
        #pragma acc parallel loop reduction(+:s)
        for i in range(x.shape[0]):
            x[i] = x[i] * c + i
            s += x[i]
        return s

    dtypes = [np.float64, np.float32, np.int64, np.int32]
    results = {}

    def work(k):
        for rep in range(20):
            dt = dtypes[(k + rep) % len(dtypes)]
            c = 2 if rep % 2 else 2.5
            x = np.arange(1000 + k, dtype=dt)
            y = x.copy()
            got, want = f(x, c), f.py_func(y, c)
            if dt in (np.float32,):
                assert np.allclose(x, y) and abs(got - want) <= 1e-3 * abs(want)
            else:
                assert same(x, y) and got == want, (k, rep, dt, got, want)
        results[k] = True

    _run_threads(work, 8)
    assert len(results) == 8
    st = f.stats()
    # every (dtype, type of c) pair compiled once, however the threads raced
    assert st["compiles"] == 8 and st["fallbacks"] == 0, st


def test_the_gil_is_released_while_a_region_runs():
    # on the host: the region and this thread share flag's memory (a GPU
    # region would spin on its own copy)
    @acc(device="host")
    def wait_for(flag, limit):
        spins = 0
        seen = 0
        #pragma acc serial
        #pragma acc atomic write
        flag[1] = 1
        while seen == 0 and spins < limit:
            #pragma acc atomic read
            seen = flag[0]
            spins += 1
        #pragma acc end serial
        return seen

    flag = np.zeros(2, dtype=np.int64)
    assert wait_for(flag, 10) == 0  # compiled before the race
    flag[1] = 0
    out = []
    t = threading.Thread(target=lambda: out.append(wait_for(flag, 5_000_000_000)))
    t.start()
    # the region marks that it started, then spins until flag[0] is set;
    # this thread gets to set it only if the region let go of the GIL,
    # otherwise the region spins to its limit (seconds) and returns 0
    while flag[1] == 0:
        pass
    flag[0] = 1
    t.join(timeout=120)
    assert not t.is_alive() and out == [1]
