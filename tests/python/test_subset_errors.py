"""The Python subset inside compute regions: run-time errors raised as Python
raises them, regions outside the subset falling back to the interpreter
(one warning naming the user's line), and type errors found at compile
time."""

import os

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import check, run_both, same
from subset_helpers import (check_raises, fallback_case, last_entry, line_of, serial_expr,
                            type_error_case)

HERE = os.path.basename(__file__)

# ===================================================================== errors

ZDIV = [
    ("a / b", 1, 0), ("a // b", 1, 0), ("a % b", 1, 0),
    ("a / b", 1.5, 0.0), ("a // b", 1.5, 0.0), ("a % b", 1.5, 0.0),
    ("a / b", 3, 0.0), ("a / b", 2.5, 0), ("a // b", 0, 0), ("a % b", -0.0, -0.0),
    ("divmod_like(a, b)", 3, 0),
]


@pytest.mark.parametrize("expr,a,b", ZDIV[:-1])
def test_zero_division_of_python_numbers_raises(expr, a, b):
    f = serial_expr(expr, ["a", "b"])
    info = check_raises(f, ZeroDivisionError, a, b)
    name, stmt = last_entry(info)
    assert name.startswith("gen_") and stmt == f"r = {expr}"


def test_zero_division_traceback_ends_at_users_line():
    @acc
    def f(x, d):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = x[i] / d + i % d

    # x[i] / d is NumPy's (inf, no error); i % d is Python's and raises
    with np.errstate(divide="ignore"):
        info = check_raises(f, ZeroDivisionError, np.ones(100), 0)
    assert last_entry(info) == (HERE, "x[i] = x[i] / d + i % d")


def test_zero_division_in_augmented_assignment():
    @acc
    def f(n, d):
        #pragma acc serial
        n //= d
        return n

    info = check_raises(f, ZeroDivisionError, 5, 0)
    assert last_entry(info) == (HERE, "n //= d")


def test_zero_power_of_negative_is_zero_division():
    f = serial_expr("a ** b", ["a", "b"])
    check_raises(f, ZeroDivisionError, 0.0, -2.0)
    check_raises(f, ZeroDivisionError, 0.0, -1)


_NP_ZERO_DIV = [(e, a) for e in ["a / b", "a // b", "a % b"]
                for a in [np.float64(1.5), np.float32(-2.0), np.float64(0.0), np.int64(7),
                          np.int32(-3), np.uint8(9)]
                if not (e == "a // b" and isinstance(a, np.floating) and a != 0)]


@pytest.mark.parametrize("expr,a", _NP_ZERO_DIV)
def test_numpy_scalar_division_by_zero_follows_numpy(expr, a):
    f = serial_expr(expr, ["a", "b"])
    with np.errstate(all="ignore"):
        check(f, a, type(a)(0))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.float64, np.float32])
def test_array_element_division_by_zero_follows_numpy(dtype):
    @acc
    def f(a, b, r, t):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            r[i] = a[i] % b[i]
            t[i] = a[i] / b[i]

    @acc
    def g(a, b, q):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            q[i] = a[i] // b[i]

    a = np.array([1, 0, 5, 7, 0], dtype=dtype)
    b = np.array([0, 0, 0, 2, 2], dtype=dtype)
    if np.dtype(dtype).kind != "u":
        a = a * np.array([1, -1, -1, -1, 1], dtype=dtype)
    n = a.shape[0]
    with np.errstate(all="ignore"):
        check(f, a, b, np.zeros(n, dtype), np.zeros(n))
        if np.dtype(dtype).kind != "f":
            check(g, a, b, np.zeros(n, dtype))


def test_python_number_divided_by_array_zero_follows_numpy():
    @acc
    def f(b, out):
        #pragma acc parallel loop
        for i in range(b.shape[0]):
            out[i] = 1.0 / b[i]

    with np.errstate(all="ignore"):
        check(f, np.array([0.0, -0.0, 2.0]), np.zeros(3))


def test_boundscheck_index_error_names_the_line():
    @acc(boundscheck=True)
    def f(x, out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = x[i + 1]

    info = check_raises(f, IndexError, np.ones(10), np.zeros(10))
    assert last_entry(info) == (HERE, "out[i] = x[i + 1]")


def test_boundscheck_negative_index_too_far():
    @acc(boundscheck=True)
    def f(x, k):
        #pragma acc serial
        r = x[k]
        return r

    check(f, np.arange(5.0), -5)
    info = check_raises(f, IndexError, np.arange(5.0), -6)
    assert last_entry(info) == (HERE, "r = x[k]")
    check_raises(f, IndexError, np.arange(5.0), 5)


def test_boundscheck_store_out_of_range():
    @acc(boundscheck=True)
    def f(x, k):
        #pragma acc serial
        x[k] = 1.0

    info = check_raises(f, IndexError, np.zeros(4), 4)
    assert last_entry(info) == (HERE, "x[k] = 1.0")


def test_boundscheck_second_dimension():
    @acc(boundscheck=True)
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            out[i] = a[i, a.shape[1]]

    info = check_raises(f, IndexError, np.ones((3, 4)), np.zeros(3))
    assert last_entry(info) == (HERE, "out[i] = a[i, a.shape[1]]")


def test_boundscheck_list_index():
    @acc(boundscheck=True)
    def f(xs, k):
        #pragma acc serial
        r = xs[k]
        return r

    check(f, [1, 2, 3], -3)
    check_raises(f, IndexError, [1, 2, 3], 3)


def test_boundscheck_in_bounds_gives_same_result(rng):
    @acc(boundscheck=True)
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = x[i] + x[-1 - i]

    check(f, rng.random(64), np.zeros(64))


def test_error_in_second_region_keeps_first_regions_writes():
    @acc
    def f(x, d):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = 1.0
        #pragma acc serial
        x[0] = 1 // d

    x1, x2 = np.zeros(3), np.zeros(3)
    with pytest.raises(ZeroDivisionError):
        f(x1, 0)
    with pytest.raises(ZeroDivisionError):
        f.py_func(x2, 0)
    assert same(x1, x2)


# ================================================================= fallbacks


def test_fallback_dict():
    @acc
    def f(x):
        #pragma acc serial
        d = {"a": 1}  # FB-DICT
        x[0] = d["a"]

    fallback_case(f, (np.zeros(2),), "FB-DICT", __file__)


def test_fallback_string():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = len(str(i))  # FB-STR

    fallback_case(f, (np.zeros(4),), "FB-STR", __file__)


def _not_subset(v):
    return {"k": v}["k"]  # FB-NOTSUBSET


def test_fallback_call_to_unknown_builtin():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = hash(i) + divmod(i, 3)[1]  # FB-BUILTIN

    fallback_case(f, (np.zeros(4),), "FB-BUILTIN", __file__)


def test_fallback_unknown_numpy_function():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = np.sum(x) + i  # FB-NPSUM

    fallback_case(f, (np.arange(4.0), np.zeros(4)), "FB-NPSUM", __file__)


def test_fallback_array_method():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = x.sum() * i  # FB-ARRMETH

    fallback_case(f, (np.arange(4.0), np.zeros(4)), "FB-ARRMETH", __file__)


def test_fallback_call_to_module_function_outside_subset():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = _not_subset(i)  # FB-MODCALL

    # the warning may name the callee's line, where the dict is
    fallback_case(f, (np.zeros(4),), "FB-MODCALL", __file__,
                  also=(line_of("FB-NOTSUBSET", __file__),))


def test_fallback_try_except():
    @acc
    def f(x):
        #pragma acc serial
        try:  # FB-TRY
            x[0] = 1 / x[1]
        except ZeroDivisionError:
            x[0] = -1

    with np.errstate(all="ignore"):
        fallback_case(f, (np.zeros(2),), "FB-TRY", __file__)


def test_fallback_with_statement():
    import contextlib

    @acc
    def f(x):
        #pragma acc serial
        with contextlib.nullcontext():  # FB-WITH
            x[0] = 5

    fallback_case(f, (np.zeros(2),), "FB-WITH", __file__)


def test_fallback_generator():
    @acc
    def f(x):
        #pragma acc serial
        x[0] = sum(v * v for v in x)  # FB-GEN

    fallback_case(f, (np.arange(4.0),), "FB-GEN", __file__)


def test_fallback_method_call():
    @acc
    def f(x, items):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = items.count(i)  # FB-METH

    fallback_case(f, (np.zeros(4), [1, 1, 2]), "FB-METH", __file__)


def test_fallback_print(capsys):
    @acc
    def f(x):
        #pragma acc serial
        print("x0 =", x[0])  # FB-PRINT

    fallback_case(f, (np.ones(2),), "FB-PRINT", __file__)
    assert "x0 = 1.0" in capsys.readouterr().out


def test_fallback_list_comprehension():
    @acc
    def f(x):
        #pragma acc serial
        x[0] = len([v for v in x if v > 1])  # FB-COMP

    fallback_case(f, (np.arange(4.0),), "FB-COMP", __file__)


@pytest.mark.parametrize("kind", ["dict", "try", "print", "method"])
def test_strict_raises_unsupported_error(kind):
    if kind == "dict":
        @acc(strict=True)
        def f(x, g):
            #pragma acc serial
            d = {1: 2}
            x[0] = d[1]
    elif kind == "call":
        @acc(strict=True)
        def f(x, g):
            #pragma acc serial
            x[0] = g(1)
    elif kind == "try":
        @acc(strict=True)
        def f(x, g):
            #pragma acc serial
            try:
                x[0] = 1
            except Exception:
                pass
    elif kind == "print":
        @acc(strict=True)
        def f(x, g):
            #pragma acc serial
            print(x[0])
    else:
        @acc(strict=True)
        def f(x, g):
            #pragma acc serial
            x[0] = [1, 2].index(2)

    x = np.zeros(2)
    with pytest.raises(pyacc.UnsupportedError) as info:
        f(x, abs)
    assert __file__ in str(info.value)
    assert x[0] == 0


def test_fallback_counts_only_the_interpreted_region(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = x[i] * 2
        #pragma acc serial
        out[0] = {"k": out[0]}["k"]

    with pytest.warns(pyacc.PyaccWarning):
        (r1, a1), (r2, a2) = run_both(f, rng.random(5), np.zeros(5))
    assert same(a1[1], a2[1])
    assert f.stats()["fallbacks"] == 1 and f.stats()["compiles"] == 1


# =============================================================== type errors


def test_type_error_array_plus_list():
    @acc
    def f(a, lst, out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = 1.0
            out[i] = (a + lst)[i]  # TE-LIST

    type_error_case(f, (np.ones(3), [1.0, 2.0, 3.0], np.zeros(3)), "TE-LIST", __file__)


def test_type_error_float_index():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = 1.0
            out[i] = x[i / 2]  # TE-FIDX

    text = type_error_case(f, (np.ones(8), np.zeros(4)), "TE-FIDX", __file__)
    assert "x[i / 2]" in text


def test_type_error_float_range_argument():
    @acc
    def f(x, n):
        #pragma acc parallel loop
        for i in range(n):  # TE-RANGE
            x[i] = 1.0

    type_error_case(f, (np.zeros(4), 2.0), "TE-RANGE", __file__)


def test_type_error_float_shift():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = x[i] << 1  # TE-SHIFT

    type_error_case(f, (np.ones(4), np.zeros(4)), "TE-SHIFT", __file__)
