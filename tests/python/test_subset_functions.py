"""The Python subset inside compute regions: module-level globals, and calls
to module functions inlined into regions."""

import math
import os

import numpy as np

from pyacc import acc
from conftest import check
from subset_helpers import check_raises, fallback_case, last_entry, line_of

HERE = os.path.basename(__file__)

# ===================================================== globals and functions

SCALE_INT = 3
OFFSET = 0.25
ENABLED = True
BIG = 2 ** 40


def test_module_level_constants():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            if ENABLED:
                out[i] = x[i] * SCALE_INT + OFFSET + BIG

    check(f, np.arange(10.0), np.zeros(10))


def test_math_constant_imported_name():
    @acc
    def f(x):
        #pragma acc serial
        r = x * pi
        return r

    check(f, 2.0)


pi = math.pi


def _sq(x):
    return x * x


def _clamp(v, lo, hi):
    if v < lo:
        return lo
    if v > hi:
        return hi
    return v


def _poly(x):
    s = 0.0
    for k in range(4):
        s = s * x + (k + 1)
    return s


def _norm2(a, b):
    return math.sqrt(_sq(a) + _sq(b))


def _divmod_py(a, b):
    return a // b, a % b


def test_call_to_module_function(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _sq(x[i]) + _sq(i)

    check(f, rng.random(50), np.zeros(50))


def test_call_to_module_function_with_branches_and_loops(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _clamp(_poly(x[i]), 2.0, 3.5)

    check(f, rng.random(100), np.zeros(100))


def test_call_chain_of_module_functions(rng):
    @acc
    def f(x, y, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _norm2(x[i], y[i])

    check(f, rng.integers(0, 10, 30).astype(float), rng.integers(0, 10, 30).astype(float),
          np.zeros(30))


def test_call_returning_a_tuple():
    @acc
    def f(a, b):
        #pragma acc serial
        q, r = _divmod_py(a, b)
        return q, r

    check(f, -17, 5)


def test_module_function_called_with_int_and_float():
    @acc
    def f(n, x):
        #pragma acc serial
        a = _sq(n)
        b = _sq(x)
        c = _clamp(n, 0, 10)
        d = _clamp(x, 0.0, 1.0)
        #pragma acc end serial
        return a, b, c, d

    check(f, 12, -0.5)


#pragma acc routine seq
def _routine_cube(x):
    return x * x * x


def test_routine_seq_function(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _routine_cube(x[i]) - _routine_cube(i)

    check(f, rng.random(40), np.zeros(40))


def _early(x):
    if x < 0:
        return -1
    for k in range(10):
        if k * k > x:
            return k
    return 10


def _bump(a, i, v):
    a[i] += v


def _scaled(x, k=2.0):
    return x * k


def _fact(n):
    return 1 if n <= 1 else n * _fact(n - 1)  # FB-RECURSE


def test_module_function_with_early_returns(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _early(x[i] * 30 - 5)

    check(f, rng.random(50), np.zeros(50, dtype=np.int64))


def test_module_function_writing_to_an_array_argument(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            _bump(out, i, x[i])

    check(f, rng.random(20), np.ones(20))


def test_module_function_with_default_given_positionally(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _scaled(x[i], 3.0)

    check(f, rng.random(20), np.zeros(20))


def test_fallback_recursive_module_function():
    @acc
    def f(out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = _fact(i)  # FB-FACT

    fallback_case(f, (np.zeros(6),), "FB-FACT", __file__,
                  also=(line_of("FB-RECURSE", __file__),))


def test_zero_division_in_inlined_function_names_its_line():
    @acc
    def f(a, b):
        #pragma acc serial
        q, r = _divmod_py(a, b)
        return q

    info = check_raises(f, ZeroDivisionError, 5, 0)
    assert last_entry(info) == (HERE, "return a // b, a % b")
