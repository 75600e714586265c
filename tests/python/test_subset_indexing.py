"""The Python subset inside compute regions: indexing arrays and sequences,
their shapes and lengths."""

import numpy as np
import pytest

from pyacc import acc
from conftest import check
from subset_helpers import make

# ================================================================== indexing


def test_negative_indices_wrap(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[-1 - i] = x[i] + x[-1] + x[-x.shape[0]]

    check(f, rng.random(20), np.zeros(20))


def test_negative_indices_wrap_in_2d(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[-i - 1, j - a.shape[1]] = a[i, -1] * a[-1, j]

    check(f, rng.random((5, 7)), np.zeros((5, 7)))


def test_chained_subscripts_a_i_j(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[i][j] = a[i][j] * 2 + a[i][-1]

    check(f, rng.random((6, 4)), np.zeros((6, 4)))


def test_chained_subscripts_in_3d(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                for k in range(a.shape[2]):
                    out[i, j][k] = a[i][j, k] + a[i][j][k]

    check(f, rng.random((3, 4, 5)), np.zeros((3, 4, 5)))


def test_shape_size_ndim_len(rng):
    @acc
    def f(a):
        #pragma acc serial
        n = a.shape[0]
        m = a.shape[1]
        last = a.shape[-1]
        size = a.size
        nd = a.ndim
        ln = len(a)
        #pragma acc end serial
        return n, m, last, size, nd, ln

    check(f, rng.random((4, 9)))
    check(f, rng.random((0, 3)))


def test_shape_and_len_in_parallel_loop_bounds(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(len(a)):
            for j in range(a.shape[-1]):
                out[i, j] = a.size * 100 + a.ndim * 10 + a[i, j]

    check(f, rng.random((3, 4)), np.zeros((3, 4)))


def test_shape_unpacking(rng):
    @acc
    def f(a, out):
        #pragma acc serial
        n, m = a.shape
        for i in range(n):
            for j in range(m):
                out[i, j] = a[i, j] * (i + j)
        return n * m

    check(f, rng.random((5, 3)), np.zeros((5, 3)))


def test_shape_unpacking_inside_parallel_loop(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            n, m, k = a.shape
            for j in range(m):
                out[i, j] = a[i, j, k - 1] + n

    check(f, rng.random((4, 3, 2)), np.zeros((4, 3)))


def test_len_of_list_and_array_in_range(rng):
    @acc
    def f(xs, a, out):
        #pragma acc parallel loop
        for i in range(len(a)):
            out[i] = a[i] * len(xs) + xs[i % len(xs)]

    check(f, [1.0, 2.0, 3.0], rng.random(10), np.zeros(10))


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "//=", "%=", "**=", "&=", "|=", "^=",
                                "<<=", ">>="])
def test_augmented_assignment_to_elements(op, rng):
    f = make(f"@acc\ndef f(a, b):\n"
             f"    #pragma acc parallel loop\n"
             f"    for i in range(a.shape[0]):\n"
             f"        a[i] {op} b[i]\n")
    if op in ("/=",):
        a, b = rng.random(40) + 1.0, rng.random(40) + 0.5
    elif op in ("//=", "%="):
        a, b = rng.integers(-50, 50, 40), rng.integers(1, 6, 40) * rng.choice([-1, 1], 40)
    else:
        a, b = rng.integers(-50, 50, 40), rng.integers(0, 4, 40)
    check(f, a, b)


def test_augmented_assignment_to_2d_elements(rng):
    @acc
    def f(a):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                a[i, j] *= 2.0
                a[i][j] += i
                a[i, -1] -= 0.0

    check(f, rng.random((4, 6)))


def test_augmented_assignment_evaluates_the_index_once(rng):
    @acc
    def f(a, idx):
        #pragma acc serial
        for k in range(idx.shape[0]):
            a[idx[k] % 5] += k

    check(f, np.zeros(5, dtype=np.int64), rng.integers(0, 100, 30))


def test_index_with_numpy_integer_scalars(rng):
    @acc
    def f(a, idx, out):
        #pragma acc parallel loop
        for i in range(idx.shape[0]):
            out[i] = a[idx[i]]

    for dt in (np.int8, np.uint8, np.int32, np.uint64):
        check(f, rng.random(50), rng.integers(0, 50, 20).astype(dt), np.zeros(20))
