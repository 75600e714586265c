"""OpenACC's reduction clause on the host device: every operator, scalars
and arrays, sections and elements, the kinds a variable goes through, and
the types its private copies are held in; checked against the plain
function (or, where parallel execution may order floating-point operations
differently, against the exact answer)."""

import re

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import check
from subset_helpers import make


# more threads than cores, so that chunks really interleave (conftest.py)
pytestmark = pytest.mark.usefixtures("many_threads")

# ------------------------------------------------------------- reductions

def test_sum_reduction_over_a_million_elements():
    @acc
    def total(x):
        s = 0
        #pragma acc parallel loop reduction(+:s)
        for i in range(x.shape[0]):
            s += x[i]
        return s

    check(total, np.arange(1_000_003, dtype=np.int64))
    x = np.random.default_rng(0).random(1_000_003)
    assert total(x) == pytest.approx(x.sum(), rel=1e-12)  # float order may differ


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float_sum_and_product_reductions_vectorise_and_repeat_exactly(dtype):
    # the order of a float reduction's terms is free (the semantics' one exception): the loop
    # keeps several partial sums in vector lanes, not one chain of dependent adds
    f = make("""
@acc
def f(x, y):
    t = 0.0
    p = 1.0
    #pragma acc parallel loop reduction(+:t) reduction(*:p)
    for i in range(x.shape[0]):
        t += x[i] * y[i]
        p *= 1.0 + x[i] * 1e-6
    return t, p
""")
    rng = np.random.default_rng(3)
    x, y = rng.random(100_003).astype(dtype), rng.random(100_003).astype(dtype)
    got = f(x, y)
    want = f.py_func(x, y)
    rel = 5e-3 if dtype == np.float32 else 1e-12  # 10^5 float32 roundings, in either order
    assert got[0] == pytest.approx(want[0], rel=rel) and got[1] == pytest.approx(want[1], rel=rel)
    assert all(f(x, y) == got for _ in range(5))  # the same pieces, summed the same way, every run
    # NumPy 2 makes t and p float32 at their first update over float32 arrays: so do the sums
    assert [type(v) for v in got] == [type(v) for v in want]
    if pyacc.acc_get_device_type() != pyacc.acc_device_nvidia:
        # float32 sums too: a thread's copy of t, held in the one kind its updates give (not
        # in the float64 that holds a Python float or a float32), is a float32 chain
        ir = "\n".join(f.inspect_llvm().values())
        ty = "double" if dtype == np.float64 else "float"
        assert re.search(rf"fadd reassoc <\d+ x {ty}>", ir), ir[:2000]
        assert re.search(rf"fmul reassoc <\d+ x {ty}>", ir)


@pytest.mark.parametrize("n", [0, 1, 7, 10_001])
def test_a_float32_sum_held_narrow_keeps_the_kind_python_gives(n):
    # t becomes float32 once an update ran, on any thread, whether or not that thread ran the
    # last iteration (a GPU's thread runs one); with no update it is still the Python float
    f = make("""
@acc
def f(x, cut):
    t = 0.0
    m = 1.0
    #pragma acc parallel loop reduction(+:t) reduction(*:m)
    for i in range(x.shape[0]):
        if x[i] > cut:
            t += x[i]
            m *= x[i] * 0.01 + 0.995
    return t, m
""")
    x = np.random.default_rng(n).random(n).astype(np.float32)
    early = x.copy()
    early[n // 3:] = 0  # updates only in the first third: not where the last iteration runs
    for a in (x, early):
        for cut in (2.0, 0.5, -1.0):
            got, want = f(a, cut), f.py_func(a, cut)
            assert [type(v) for v in got] == [type(v) for v in want], (cut, got, want)
            assert got == pytest.approx(want, rel=1e-3)


def scalar_reduction(op, init, expr):
    """f(x): acc = init, then a parallel loop over x reducing acc by op,
    each iteration setting acc = expr."""
    return make(f"""
@acc
def f(x):
    acc = {init}
    #pragma acc parallel loop reduction({op}:acc)
    for i in range(x.shape[0]):
        acc = {expr}
    return acc
""")


@pytest.mark.parametrize("op,init,expr", [
    ("+", "0", "acc + x[i]"),
    ("*", "1", "acc * (1 + (x[i] % 2))"),
    ("max", "-1", "max(acc, x[i])"),
    ("min", "10**9", "min(acc, x[i])"),
    ("&", "-1", "acc & (x[i] | 4)"),
    ("|", "0", "acc | x[i]"),
    ("^", "0", "acc ^ x[i]"),
    ("&&", "True", "acc and x[i] >= 0"),
    ("||", "False", "acc or x[i] > 60"),
])
def test_every_reduction_operator(op, init, expr):
    f = scalar_reduction(op, init, expr)
    check(f, np.arange(64, dtype=np.int64))
    check(f, np.arange(0, dtype=np.int64))  # no iteration: the initial value


def test_array_reduction_histogram():
    @acc
    def hist(v, h):
        #pragma acc parallel loop reduction(+:h)
        for i in range(v.shape[0]):
            h[v[i] % 10] += 1

    check(hist, np.arange(100_003, dtype=np.int64), np.zeros(10, dtype=np.int64))


def test_array_reduction_max_on_a_2d_array():
    @acc
    def colmax(a, m):
        #pragma acc parallel loop reduction(max:m)
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                m[j % 2, j] = max(m[j % 2, j], a[i, j])

    a = np.random.default_rng(3).random((5000, 6))
    check(colmax, a, np.zeros((2, 6)))


def test_array_section_reduction():
    @acc
    def hist(v, h):
        #pragma acc parallel loop reduction(+:h[0:4])
        for i in range(v.shape[0]):
            h[v[i] % 4] += v[i]

    check(hist, np.arange(100_003, dtype=np.int64), np.full(4, 7, dtype=np.int64))


def test_array_element_reduction():
    @acc
    def top(v, h, p):
        #pragma acc parallel loop reduction(max:h[2]) reduction(*:p[1])
        for i in range(v.shape[0]):
            h[2] = max(h[2], v[i])
            p[1] = p[1] * (1 + (v[i] % 50_000 == 77))

    check(top, np.arange(100_003, dtype=np.int64), np.array([1, 5, -1], dtype=np.int64),
          np.array([4, 3], dtype=np.int64))


@pytest.mark.parametrize("init,op,expr", [
    ("5", "+", "acc + x[i]"),
    ("1", "*", "acc * (1.0 + (x[i] % 2))"),  # powers of two: exact in any order
    ("2", "min", "min(acc, x[i])"),
    ("-7", "+", "acc + 0.5"),
    ("5", "max", "max(acc, x[i])"),  # the int 5 stays where no element beats it, and stays an int
    ("-1", "min", "min(acc, x[i])"),
])
def test_a_reduction_variable_that_comes_in_an_int_and_becomes_a_float(init, op, expr):
    f = scalar_reduction(op, init, expr)
    check(f, np.arange(1.0, 200.0))
    check(f, np.arange(0.5, 3.0))


def array_reduction(op, stmt, index, strict=False):
    """f(x, h): a parallel loop over x reducing array h by op, each
    iteration setting k = index, then running stmt (at line 7)."""
    return make(f"""
@acc{"(strict=True)" if strict else ""}
def f(x, h):
    #pragma acc parallel loop reduction({op}:h)
    for i in range(x.shape[0]):
        k = {index}
        {stmt}
""")


@pytest.mark.parametrize("op,body", [
    ("&&", "ok[k] = ok[k] and x[i] >= 3"),
    ("&&", "ok[k] = x[i] >= 3 and ok[k]"),
    ("&&", "ok[k] = x[i] > 0 and ok[k] and x[i] % 7 != 3"),
    ("&&", "if x[i] % 11 == 5:\n            ok[k] = False"),
    ("||", "ok[k] = ok[k] or x[i] % 13 == 4"),
    ("||", "ok[k] = x[i] % 13 == 4 or ok[k]"),
    ("||", "if x[i] > 40:\n            ok[k] = True"),
])
def test_bool_arrays_reduce_by_and_and_or(op, body):
    f = array_reduction(op, body.replace("ok[", "h["), "(i * 7) % h.shape[0]")
    x = np.arange(50, dtype=np.int64)
    for start in (True, False):
        check(f, x, np.full(9, start))  # some elements change, some keep their start
        check(f, x, np.array([start, not start] * 5))
    check(f, x[:0], np.array([True, False]))


@pytest.mark.parametrize("init,expr", [
    ("5", "acc or x[i] > 60"),        # Python keeps 5
    ("True", "acc and x[i]"),         # an int comes out, not True or False
    ("1.5", "acc and x[i] > 0"),
])
def test_and_or_reductions_of_numbers_run_in_the_interpreter(init, expr):
    op = "&&" if " and " in expr else "||"
    f = scalar_reduction(op, init, expr)
    x = np.arange(-1, 70, dtype=np.int64)
    with pytest.warns(pyacc.PyaccWarning, match=rf"reduction\({re.escape(op)}:acc\) of a value that is not a bool"):
        r = f(x)
    assert r == f.py_func(x) and type(r) is type(f.py_func(x))


def test_and_reduction_of_an_int_array_runs_in_the_interpreter():
    @acc
    def f(x, h):
        #pragma acc parallel loop reduction(||:h)
        for i in range(x.shape[0]):
            h[i % 4] = h[i % 4] or x[i] > 60

    x, h, h2 = np.arange(70), np.array([0, 5, 0, 1]), np.array([0, 5, 0, 1])
    with pytest.warns(pyacc.PyaccWarning, match=r"reduction\(\|\|:h\) of an array that is not bool"):
        f(x, h)
    f.py_func(x, h2)
    assert np.array_equal(h, h2)  # h[1] stays 5, as Python's `or` leaves it


@pytest.mark.parametrize("op,stmt", [
    ("+", "h[k] += h[(k + 1) % 4] + x[i]"),  # reads another thread's partial sum
    ("+", "h[k] = x[i]"),                     # a store, not an update
    ("+", "h[k] *= 2"),                       # an update by another operator
    ("max", "h[k] = max(h[k], x[i]) + 1"),
    ("&&", "ok = h[k]\n        h[k] = ok and x[i] > 3"),
    ("&&", "h[k] = h[k] or x[i] > 60"),
    ("&&", "if x[i] > 3:\n            h[k] = True"),
    ("&&", "h[k] = h[k] and (x[i] > 3 or x[i] < 0)"),
    ("||", "h[k] = h[k] if h[k] else x[i] > 60"),
])
def test_an_array_reduced_other_than_by_updates_runs_in_the_interpreter(op, stmt):
    f = array_reduction(op, stmt, "i % 4")
    x = np.arange(-3, 70, dtype=np.int64)
    h = np.array([True, False, True, True]) if "&" in op or "|" in op else np.array([1, 0, 5, 1])
    h2 = h.copy()
    line = 7 + stmt.count("\n")  # the statement's store (the loop is at line 5)
    with pytest.warns(pyacc.PyaccWarning, match=rf"'h' is reduced by {re.escape(op)} in the loop at line 5, "
                                                  rf"which uses it here other than by an update"):
        f(x, h)
    f.py_func(x, h2)
    assert np.array_equal(h, h2)
    g = array_reduction(op, stmt, "i % 4", strict=True)
    with pytest.raises(pyacc.UnsupportedError, match=rf"gen_\d+\.py:{line}: .*other than by an update"):
        g(x, h)


def test_reduction_on_a_variable_not_carried_is_an_error_free_no_op():
    @acc
    def f(x, out):
        s = 0.0
        #pragma acc parallel loop reduction(+:s)
        for i in range(x.shape[0]):
            out[i] = x[i] * 2
        return s

    check(f, np.arange(10.0), np.zeros(10))


def test_carried_scalar_without_a_reduction_runs_in_the_interpreter():
    @acc
    def f(x):
        s = 0
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            s += x[i]
        return s

    with pytest.warns(pyacc.PyaccWarning, match="reduction clause"):
        assert f(np.arange(10)) == 45


def test_an_int_sum_that_becomes_an_int32_on_early_iterations_comes_back_an_int32():
    # NEP 50: 0 + np.int32(v) is an int32, so s is one after any update ran
    f = make("""
@acc
def f(x, cut):
    s = 0
    #pragma acc parallel loop reduction(+:s)
    for i in range(x.shape[0]):
        if x[i] > cut:
            s += x[i]
    return s
""")
    x = np.arange(20_000, dtype=np.int32) % 7
    x[500:] = 0
    for cut in (3, 100):
        got, want = f(x, cut), f.py_func(x, cut)
        assert type(got) is type(want) and got == want, (cut, got, want)

