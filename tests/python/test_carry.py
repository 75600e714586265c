"""A value an iteration computes again from what the previous iteration
computed at its end is carried over (jit/carry.c): the same bits as
Python's, one operation fewer an iteration."""
import re

import numpy as np
import pytest

from pyacc import acc


@acc
def escape(out, x0, y0, dx, maxit):
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
def int_walk(x, lim, out):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        v = x[i]
        k = 0
        while k < 50 and v * v < lim:
            v = v * v % 1000 + 7
            k += 1
        out[i] = v * 100 + k


def carried(f):
    ir = "\n".join(f.inspect_llvm().values())
    return ir.count("= phi") and ir.count("carried")


def test_escape_time_loop_squares_once_an_iteration_and_agrees_exactly():
    out, ref = np.zeros((60, 90), np.int64), np.zeros((60, 90), np.int64)
    escape(out, -2.0, -1.2, 2.4 / 60, 200)
    escape.py_func(ref, -2.0, -1.2, 2.4 / 60, 200)
    assert np.array_equal(out, ref)
    assert carried(escape) >= 2  # zr * zr and zi * zi from the test before
    ir = "\n".join(escape.inspect_llvm().values())
    # no square of the loop's own zr or zi is left: both come from the test
    assert "%zr" in ir and not re.search(r"fmul double (%z[ri][\w.]*), \1\b", ir)


@pytest.mark.parametrize("lim", [10, 10_000, 1 << 40])
def test_integer_products_carried_agree(lim):
    x = np.arange(-50, 250, dtype=np.int64)
    out, ref = np.zeros_like(x), np.zeros_like(x)
    int_walk(x, lim, out)
    int_walk.py_func(x, lim, ref)
    assert np.array_equal(out, ref)
    assert carried(int_walk)
