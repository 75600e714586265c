"""A parallel loop whose iterations hold loops gets a second body on the host,
without Ctrl-C polls inside its iterations (and without collapse: its
iterations are the outer loop's).  The runtime runs it when the entry's
bound on an iteration's inner work is small and a collapsed nest has rows
enough for the threads (frontend/unpolled.c, runtime/launch.c), and LLVM
may then unroll and jam its inner loops.  Each case here runs shapes that
take that body and shapes that do not, at several thread counts, against
the plain function.  test_interrupt.py checks that Ctrl-C still stops
such a loop between its iterations."""

import re

import numpy as np
import pytest

import pyacc
from conftest import check
from subset_helpers import make

ON_HOST = pyacc.acc_get_device_type() != pyacc.acc_device_nvidia


@pytest.fixture(params=[1, 3, 8], autouse=True, ids=lambda t: f"{t}threads")
def threads(request):
    old = pyacc.num_threads()
    pyacc.num_threads(request.param)
    yield request.param
    pyacc.num_threads(old)


def functions(ir):
    """{name: text} of the functions in an LLVM IR module."""
    return {m.group(1): m.group(2) for m in re.finditer(r"\ndefine [^@]*@([\w.]+)\(.*?\{(.*?)\n\}", ir, re.S)}


def most_double_phis(fn):
    """The most `phi double` in one basic block of a function: 4 or more where
    unroll-and-jam runs four iterations' chains side by side."""
    return max(block.count("phi double") for block in re.split(r"\n(?=[\w.]+:)", fn))


PAIRWISE = """
@acc
def f(x, d):
    n, dim = x.shape
    #pragma acc parallel loop collapse(2)
    for i in range(n):
        for j in range(n):
            t = 0.0
            for k in range(dim):
                u = x[i, k] - x[j, k]
                t += u * u
            d[i, j] = math.sqrt(t)
"""


@pytest.mark.parametrize("n, dim", [(64, 8), (33, 1), (40, 0), (5, 3), (2, 9)])
def test_collapsed_distances_in_either_body(n, dim):
    f = make(PAIRWISE)
    x = np.random.default_rng(n).random((n, dim))
    check(f, x, np.zeros((n, n)))


def test_distances_run_jammed_and_without_a_square_roots_domain_check():
    f = make(PAIRWISE)
    check(f, np.random.default_rng(1).random((64, 8)), np.zeros((64, 64)))
    notes = "\n".join(f.notes().values())
    assert "a second body without Ctrl-C polls inside its iterations" in notes, notes
    if not ON_HOST:
        return
    pyacc.wait_optimised()
    fns = functions("\n" + "\n".join(f.inspect_llvm().values()))
    bodies = [text for name, text in fns.items() if re.search(r"\.loop\d+$", name)]
    assert len(bodies) == 2, list(fns)
    # t is a sum of squares, never below 0: math.sqrt(t) cannot raise (facts.c)
    assert not any("fcmp olt" in b for b in bodies)
    # the polled body keeps one chain of adds; the other runs four
    assert sorted(most_double_phis(b) for b in bodies)[-1] >= 4, [most_double_phis(b) for b in bodies]


def test_a_square_root_of_what_may_be_negative_still_raises():
    f = make("""
@acc
def f(x, d):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        t = 0.0
        for k in range(x.shape[1]):
            t += x[i, k] * x[i, k] - 1.0
        d[i] = math.sqrt(t)
""")
    x = np.full((16, 4), 2.0)
    check(f, x, np.zeros(16))
    x[11] = 0.0  # t = -4
    with pytest.raises(ValueError, match="math domain error"):
        f(x, np.zeros(16))


MATMUL = """
@acc
def f(a, b, c):
    n, k = a.shape
    m = b.shape[1]
    #pragma acc parallel loop collapse(2)
    for i in range(n):
        for j in range(m):
            t = 0.0
            for p in range(k):
                t += a[i, p] * b[p, j]
            c[i, j] = t
"""


@pytest.mark.parametrize("n, k, m", [(48, 17, 19), (3, 5, 7), (64, 1, 64), (40, 0, 9), (37, 33, 1)])
def test_matrix_products_in_either_body(n, k, m):
    f = make(MATMUL)
    rng = np.random.default_rng(n + k + m)
    check(f, rng.random((n, k)), rng.random((k, m)), np.zeros((n, m)))


def test_matrix_product_of_strided_views_and_integers():
    f = make(MATMUL)
    rng = np.random.default_rng(4)
    a = rng.random((90, 40))[::3, 1::2]
    b = rng.random((20, 70))[:, ::5]
    check(f, a, b, np.zeros((30, 14)))
    ai, bi = rng.integers(-50, 50, (32, 24)), rng.integers(-50, 50, (24, 40))
    check(f, ai, bi, np.zeros((32, 40), dtype=np.int64))


def test_three_deep_nest_with_steps_and_bounds_from_shapes():
    f = make("""
@acc
def f(x, out, q):
    m = out.shape[1]
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        for j in range(1, m - 1):
            s = 0
            for k in range(q, 0, -3):
                s += (i * k + j) % 7
            for k in range(2 * m - q):
                s -= k % 3
            out[i, j] = s + x[i]
""")
    for rows, m, q in [(50, 9, 11), (4, 3, 2), (60, 2, 5), (33, 12, 30)]:
        check(f, np.arange(rows, dtype=np.int64), np.zeros((rows, m), dtype=np.int64), q)


def test_reductions_over_rows_of_inner_loops():
    f = make("""
@acc
def f(x):
    s = 0.0
    big = -1
    #pragma acc parallel loop collapse(2) reduction(+:s) reduction(max:big)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            for k in range(j + 1):
                s += x[i, j] * k
            big = max(big, i * j)
    return s, big
""")
    # integer-valued floats: every grouping of the sum is exact
    for shape in [(64, 7), (2, 5), (40, 1)]:
        check(f, np.random.default_rng(2).integers(0, 9, shape).astype(np.float64))


@pytest.mark.parametrize("collapse", ["collapse(2)", ""])
def test_last_values_and_early_exits(collapse):
    f = make(f"""
@acc
def f(x, out):
    #pragma acc parallel loop {collapse}
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            hit = -1
            for k in range(x.shape[1]):
                if x[i, k] > x[i, j] + 0.5:
                    hit = k
                    break
                if k % 2:
                    continue
            out[i, j] = hit
    return i
""")
    for shape in [(64, 6), (3, 4)]:
        check(f, np.random.default_rng(7).random(shape), np.zeros(shape, dtype=np.int64))


def test_an_error_in_an_inner_loop_is_raised_from_either_body():
    f = make("""
@acc(boundscheck=True)
def f(x, idx, out):
    #pragma acc parallel loop
    for i in range(out.shape[0]):
        t = 0.0
        for k in range(idx.shape[1]):
            t += x[idx[i, k]]
        out[i] = t
""")
    x = np.arange(10.0)
    idx = np.random.default_rng(3).integers(0, 10, (64, 5))
    check(f, x, idx, np.zeros(64))
    idx[37, 2] = 10
    with pytest.raises(IndexError, match="out of bounds"):
        f(x, idx, np.zeros(64))


def test_long_inner_loops_and_while_loops_keep_the_polled_body():
    f = make("""
@acc
def f(x, out, m):
    #pragma acc parallel loop
    for i in range(out.shape[0]):
        t = 0
        for k in range(m):
            t += (i + k) % 3
        w = 0
        while w < x[i]:
            w += 1
        out[i] = t + w
""")
    # 5 million inner iterations an iteration: past the unpolled body's bound
    check(f, np.arange(4), np.zeros(4, dtype=np.int64), 5_000_000)
    notes = "\n".join(f.notes().values())
    assert "a second body" not in notes  # the while loop's count is unknown before it runs


def test_loops_directly_inside_alone_get_no_second_body():
    # without loops in loops there are no back-edge polls to drop nor a nest
    # to jam: only strips, not worth the second body's compile
    f = make("""
@acc
def f(x, out):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        t = 0.0
        for j in range(x.shape[1]):
            t += x[i, j]
        out[i] = t
""")
    check(f, np.arange(600.0).reshape(40, 15), np.zeros(40))
    assert "a second body" not in "\n".join(f.notes().values())
