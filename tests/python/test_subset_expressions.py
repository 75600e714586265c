"""The Python subset inside compute regions: operators, builtins and math
functions, against the plain function."""

import math

import numpy as np
import pytest

from pyacc import acc
from conftest import check, same
from subset_helpers import check_close, check_raises, data, make, serial_expr, serial_exprs

# ================================================================ expressions

INT_OPERANDS = [(7, 3), (-7, 3), (7, -3), (-7, -3), (0, 5), (6, 3), (-6, 3), (1, 1)]
FLOAT_OPERANDS = [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (-7.5, -2.0), (0.0, 3.0), (-0.0, 3.0),
                  (1e300, 1e-300), (5.0, 0.1), (0.1, 0.3), (-1.0, 3.0)]
MIXED_OPERANDS = [(7, 2.0), (-7, 2.5), (7.5, -2), (-3.25, 4), (0, -1.5)]


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%"])
def test_int_binary_operators_follow_python(op):
    f = serial_expr(f"a {op} b", ["a", "b"])
    for a, b in INT_OPERANDS:
        check(f, a, b)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%"])
def test_float_binary_operators_follow_python(op):
    f = serial_expr(f"a {op} b", ["a", "b"])
    for a, b in FLOAT_OPERANDS:
        check(f, a, b)


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "//", "%"])
def test_mixed_int_float_operators_follow_python(op):
    f = serial_expr(f"a {op} b", ["a", "b"])
    for a, b in MIXED_OPERANDS:
        check(f, a, b)


@pytest.mark.parametrize("a,b", [(-7.5, 2.0), (7.5, -2.0), (-0.0, 5.0), (0.0, -5.0), (-4.0, 2.0),
                                 (4.0, -2.0)])
def test_float_floor_division_and_modulo_sign_of_zero(a, b):
    @acc
    def f(a, b):
        #pragma acc serial
        q, r = a // b, a % b
        return math.copysign(1.0, q), math.copysign(1.0, r), q, r

    check(f, a, b)


def test_floor_division_of_floats_near_integers():
    # a naive floor(a / b) gives 3.0 here where Python gives 2.0
    @acc
    def f(a, b):
        #pragma acc serial
        r = a // b
        return r

    for a, b in [(0.3, 0.1), (1.0, 0.1), (-1.0, 0.1), (7.0, 0.7), (2.2, 1.1e-1)]:
        check(f, a, b)


def test_true_division_of_ints_is_float():
    f = serial_expr("a / b", ["a", "b"])
    assert type(check(f, 7, 2)) is float
    assert check(f, 6, 3) == 2.0
    check(f, -7, 2)


@pytest.mark.parametrize("a,b", [(2.0, 10), (2.5, -2), (-2.0, 3), (9.0, 0.5), (2, 0.5),
                                 (0.0, 0), (-8.0, 2.0)])
def test_float_power_follows_python(a, b):
    f = serial_expr("a ** b", ["a", "b"])
    check(f, a, b)


def test_power_with_constant_non_negative_exponents():
    f = serial_exprs(["x ** 2", "x ** 3", "n ** 2", "n ** 0", "x ** -1", "x ** 0.5"], ["x", "n"])
    check(f, 1.5, 7)
    check(f, 4.0, -2)


@pytest.mark.parametrize("expr", ["-a", "+a", "~a", "-(-a)", "~~a", "not a", "-a * 2"])
@pytest.mark.parametrize("val", [0, 5, -17])
def test_unary_operators_on_ints(expr, val):
    check(serial_expr(expr, ["a"]), val)


@pytest.mark.parametrize("expr", ["-a", "+a", "not a", "-a * 2"])
@pytest.mark.parametrize("val", [0.0, 2.5, -1e10])
def test_unary_operators_on_floats(expr, val):
    check(serial_expr(expr, ["a"]), val)


def test_unary_on_bools():
    f = serial_exprs(["-a", "+a", "not a", "a + a", "a * 3", "a - True"], ["a"])
    check(f, True)
    check(f, False)


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_comparisons(op):
    f = serial_expr(f"a {op} b", ["a", "b"])
    for a, b in [(1, 2), (2, 2), (3, 2), (1.5, 1), (1, 1.0), (-0.0, 0.0), (float("nan"), 1.0),
                 (True, 1), (2 ** 53, 2.0 ** 53)]:
        check(f, a, b)


def test_chained_comparison_as_a_condition():
    f = serial_expr("a if a < b < c else c", ["a", "b", "c"])
    for args in [(1, 2, 3), (3, 2, 1), (2, 2, 2)]:
        check(f, *args)


def test_chained_comparison_evaluates_middle_once_and_short_circuits():
    @acc
    def f(a, b, d):
        #pragma acc serial
        r = 1 if a > 0 < b // d else 2
        return r

    check(f, 1, 4, 2)
    check(f, -1, 4, 0)


def test_and_or_return_an_operand():
    f = serial_exprs(["a and b", "a or b", "a and b or c", "a or b and c"], ["a", "b", "c"])
    for args in [(0, 5, 7), (3, 0, 7), (3, 5, 0), (0, 0, 0), (-2, 9, 1)]:
        check(f, *args)
    f2 = serial_exprs(["a and b", "a or b"], ["a", "b"])
    for args in [(0.0, 2.5), (1.5, 0.0), (-0.0, 3.0)]:
        check(f2, *args)


def test_and_short_circuits_a_division_by_zero():
    @acc
    def f(n, d):
        #pragma acc serial
        r = d != 0 and n // d > 1
        return r

    check(f, 10, 0)
    check(f, 10, 3)


def test_or_short_circuits_a_division_by_zero():
    @acc
    def f(n, d):
        #pragma acc serial
        r = d == 0 or n % d == 0
        return r

    check(f, 10, 0)
    check(f, 10, 4)


def test_short_circuit_inside_parallel_loop(rng):
    @acc
    def f(a, b, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            if b[i] != 0 and a[i] // b[i] > 2:
                out[i] = 1
            elif b[i] == 0 or a[i] % b[i] == 1:
                out[i] = 2

    a = rng.integers(-20, 20, 200)
    b = rng.integers(-3, 3, 200)
    check(f, a, b, np.zeros(200, dtype=np.int64))


def test_conditional_expression():
    f = serial_expr("a if a > b else b * 2", ["a", "b"])
    for args in [(3, 1), (1, 3), (2.5, -1.0)]:
        check(f, *args)


def test_conditional_expression_evaluates_only_the_taken_branch():
    f = serial_expr("a // b if b else -1", ["a", "b"])
    check(f, 7, 0)
    check(f, 7, 2)


def test_chained_comparisons():
    f = serial_exprs(["a < b < c", "a <= b >= c", "a == b == c", "a < b > c != a",
                      "0 <= a < b <= c < 10"], ["a", "b", "c"])
    for args in [(1, 2, 3), (3, 2, 1), (2, 2, 2), (1, 5, 3), (-1, 0, 0.5)]:
        check(f, *args)


def test_chained_comparison_result_is_bool():
    f = serial_expr("a < b < c", ["a", "b", "c"])
    assert check(f, 1, 2, 3) is True
    assert check(f, 3, 2, 1) is False


def test_call_with_and_or_in_an_argument():
    f = serial_exprs(["int(a < 2 and b > 0)", "bool(a and b)", "min(a or b, 3)"], ["a", "b"])
    check(f, 1, 1)
    check(f, 3, 0)


def test_call_with_conditional_expression_in_an_argument():
    f = serial_exprs(["abs(a if a > b else b)", "max(a, b if b else a)"], ["a", "b"])
    check(f, 1, -4)
    check(f, 0, 2)


def test_two_conditional_expressions_keep_their_own_types():
    # the second result is an int; it must not take the first one's float type
    f = serial_exprs(["x if x > 0 else 0.5", "n if n > 0 else 0"], ["x", "n"])
    assert same(check(f, 1.0, 3), (1.0, 3))


def test_nested_conditional_expressions(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            v = x[i]
            out[i] = -1.0 if v < 0.25 else (0.0 if v < 0.5 else (v if v < 0.75 else 9.0))

    check(f, rng.random(100), np.zeros(100))


@pytest.mark.parametrize("op", ["&", "|", "^"])
def test_bitwise_operators(op):
    f = serial_expr(f"a {op} b", ["a", "b"])
    for a, b in [(12, 10), (-12, 10), (-1, -8), (0, 255), (2 ** 40 + 3, 7)]:
        check(f, a, b)
    for a, b in [(True, False), (True, True)]:
        assert type(check(f, a, b)) is bool


@pytest.mark.parametrize("op", ["<<", ">>"])
def test_shifts(op):
    f = serial_expr(f"a {op} b", ["a", "b"])
    for a, b in [(1, 0), (1, 10), (-5, 3), (12345, 7), (-12345, 7), (3, 40), (-1, 62), (5, 63),
                 (-7, 63)]:
        if op == "<<" and abs(a << b) >= 2 ** 63:
            continue
        check(f, a, b)


def test_right_shift_by_64_or_more_follows_python():
    f = serial_expr("a >> b", ["a", "b"])
    check(f, 12345, 64)
    check(f, -12345, 100)


def test_negative_shift_count_raises_value_error():
    f = serial_expr("a << b", ["a", "b"])
    check_raises(f, ValueError, 3, -1)


def test_bitwise_on_numpy_arrays(rng):
    @acc
    def f(a, b, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            out[i] = ((a[i] & b[i]) | (a[i] ^ 5)) + (~a[i]) + (a[i] << 2) + (b[i] >> 1)

    for dt in (np.int8, np.int32, np.int64, np.uint16, np.uint64):
        a = data(rng, 64, dt) // 2
        b = data(rng, 64, dt)
        with np.errstate(over="ignore"):  # int8 results wrap, as in NumPy
            check(f, a, b, np.zeros(64, dtype=dt))


@pytest.mark.parametrize("expr,vals", [
    ("int(a)", [2.7, -2.7, 0.0, -0.5, 1e15, 3, True]),
    ("float(a)", [3, -4, True, 2.5]),
    ("bool(a)", [0, 3, 0.0, -0.0, 2.5, float("nan")]),
    ("abs(a)", [-3, 3, 0, -2.5, -0.0, True]),
    ("round(a)", [2.5, 3.5, -2.5, -0.5, 0.49999999999999994, 1.4, -1.6, 7, 1e15 + 0.5]),
    ("int(a) + 1", [np.float32(2.75), np.float64(-3.5), np.int8(-5)]),
    ("float(a)", [np.float32(0.1), np.int64(3)]),
])
def test_conversions_and_builtins(expr, vals):
    f = serial_expr(expr, ["a"])
    for v in vals:
        check(f, v)


@pytest.mark.parametrize("expr,args", [
    ("min(a, b)", [(1, 2), (3, -1), (2.5, 1.5), (-0.5, -0.25)]),
    ("max(a, b)", [(1, 2), (3, -1), (2.5, 1.5), (-0.5, -0.25)]),
    ("min(a, b, c)", [(1, 2, 0), (3, -1, 5), (2.5, 1.5, 9.0)]),
    ("max(a, b, c)", [(1, 2, 0), (3, -1, 5), (2.5, 1.5, 9.0)]),
    ("min(a, b, c, 4)", [(9, 8, 7), (1, 2, 3)]),
    ("max(a, b, c, -4, 0)", [(-9, -8, -7), (1, 2, 3)]),
])
def test_min_max_of_two_or_more(expr, args):
    f = serial_expr(expr, ["a", "b"] + (["c"] if "c" in expr else []))
    for a in args:
        check(f, *a)


def test_min_max_return_the_first_of_equal_values():
    f = serial_exprs(["min(a, b)", "max(a, b)", "math.copysign(1.0, min(a, b))",
                      "math.copysign(1.0, max(a, b))"], ["a", "b"])
    check(f, 0.0, -0.0)
    check(f, -0.0, 0.0)


def test_min_max_over_numpy_array_elements(rng):
    @acc
    def f(a, b, lo, hi):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            lo[i] = min(a[i], b[i], 0.5)
            hi[i] = max(a[i], b[i])

    a, b = rng.random(100), rng.random(100)
    check(f, a, b, np.zeros(100), np.zeros(100))


MATH_EXACT = {
    # IEEE-exact (correctly rounded or exact) functions: compared exactly
    "sqrt": [0.0, 2.0, 1e-300, 12345.678],
    "fabs": [-2.5, 0.0, 3.0, -7],
    "floor": [2.5, -2.5, 7.0, -0.5, 3],
    "ceil": [2.5, -2.5, 7.0, -0.5, 3],
    "trunc": [2.5, -2.5, 7.0, -0.5, 3],
}
MATH_TWO_EXACT = {
    "copysign": [(3.0, -0.0), (-2.0, 1.0), (2, -5)],
    "fmod": [(7.5, 2.0), (-7.5, 2.0), (7.5, -2.0), (5, 3)],
}
MATH_APPROX = {
    "exp": [0.0, 1.0, -3.5, 20.25],
    "expm1": [1e-10, 0.5, -2.0],
    "log": [1.0, 2.5, 1e-5, 1000],
    "log1p": [1e-10, 0.5, 3.0],
    "log2": [8.0, 3.0, 0.1],
    "log10": [1000.0, 2.0, 0.5],
    "sin": [0.0, 0.5, -2.0, 10.0],
    "cos": [0.0, 0.5, -2.0, 10.0],
    "tan": [0.0, 0.5, -1.2],
    "asin": [0.0, 0.5, -0.9],
    "acos": [0.0, 0.5, -0.9],
    "atan": [0.0, 0.5, -20.0],
    "sinh": [0.0, 0.5, -3.0],
    "cosh": [0.0, 0.5, -3.0],
    "tanh": [0.0, 0.5, -3.0],
    "erf": [0.0, 0.5, -1.5],
    "erfc": [0.0, 0.5, 3.0],
    "gamma": [0.5, 4.0, 7.5, -1.5],
    "lgamma": [0.5, 4.0, 7.5, 100.0],
}
MATH_TWO_APPROX = {
    "atan2": [(1.0, 2.0), (-1.0, -2.0), (0.0, -1.0)],
    "hypot": [(3.0, 4.0), (1e200, 1e200), (-2.0, 0.5)],
    "pow": [(2.0, 10), (2.5, -1.5), (9, 0.5), (-2.0, 3.0)],
}


@pytest.mark.parametrize("fn", list(MATH_EXACT))
def test_math_exact_functions(fn):
    f = serial_expr(f"math.{fn}(a)", ["a"])
    for v in MATH_EXACT[fn]:
        check(f, v)


@pytest.mark.parametrize("fn", list(MATH_TWO_EXACT))
def test_math_exact_functions_of_two(fn):
    f = serial_expr(f"math.{fn}(a, b)", ["a", "b"])
    for a, b in MATH_TWO_EXACT[fn]:
        check(f, a, b)


@pytest.mark.parametrize("fn", list(MATH_APPROX))
def test_math_functions(fn):
    # tolerance: the compiled code may call another libm (or LLVM may fold
    # constants differently) than CPython does, which can change the last ulp
    f = serial_expr(f"math.{fn}(a)", ["a"])
    for v in MATH_APPROX[fn]:
        check_close(f, v)


@pytest.mark.parametrize("fn", list(MATH_TWO_APPROX))
def test_math_functions_of_two(fn):
    f = serial_expr(f"math.{fn}(a, b)", ["a", "b"])
    for a, b in MATH_TWO_APPROX[fn]:
        check_close(f, a, b)


def test_math_predicates():
    f = serial_exprs(["math.isnan(a)", "math.isinf(a)", "math.isfinite(a)"], ["a"])
    for v in (0.0, float("nan"), float("inf"), -float("inf"), 1e308, 3):
        check(f, v)


def test_math_constants():
    f = serial_exprs(["math.pi * x", "math.e + x", "math.inf > x", "math.nan != math.nan",
                      "-math.inf", "math.tau"], ["x"])
    check(f, 2.0)


def test_math_floor_of_float_is_int():
    f = serial_expr("math.floor(a) + math.ceil(a) + math.trunc(a)", ["a"])
    assert type(check(f, 2.5)) is int


@pytest.mark.parametrize("expr,arg,exc", [
    ("math.sqrt(a)", -1.0, ValueError),
    ("math.log(a)", 0.0, ValueError),
    ("math.log(a)", -2.0, ValueError),
    ("math.exp(a)", 1000.0, OverflowError),
    ("math.acos(a)", 2.0, ValueError),
    ("math.floor(a)", float("inf"), OverflowError),
    ("math.floor(a)", float("nan"), ValueError),
    ("int(a)", float("nan"), ValueError),
    ("int(a)", float("inf"), OverflowError),
    ("math.gamma(a)", 0.0, ValueError),
    ("math.pow(a, 0.5)", -8.0, ValueError),
    ("math.log(a)", 0, ValueError),
    ("math.fmod(a, 0.0)", 1.0, ValueError),
    ("math.atan2(a, a) + math.sqrt(a - 1.0)", 0.5, ValueError),
])
def test_math_domain_errors_raise_like_python(expr, arg, exc):
    f = serial_expr(expr, ["a"])
    check_raises(f, exc, arg)


@pytest.mark.parametrize("fn", ["sin", "cos", "exp", "log1p", "tanh", "arctan", "sqrt"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_math_in_parallel_loop_over_arrays(fn, dtype, rng):
    # tolerance: a vectorised loop may use a vector math library whose
    # results differ from the scalar libm in the last ulp
    mfn = {"arctan": "atan"}.get(fn, fn)
    f = make(f"@acc\ndef f(x, out):\n"
             f"    #pragma acc parallel loop\n"
             f"    for i in range(x.shape[0]):\n"
             f"        out[i] = math.{mfn}(x[i]) + np.{fn}(x[i])\n")
    x = (rng.random(1000) * 3).astype(dtype)
    check_close(f, x, np.zeros(1000, dtype=dtype),
                rtol=1e-5 if dtype is np.float32 else 1e-13, atol=1e-30)


NP_UFUNCS = ["sqrt", "exp", "log", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
             "cosh", "tanh", "fabs", "floor", "ceil", "trunc", "expm1", "log1p", "log2", "log10",
             "absolute", "abs"]


@pytest.mark.parametrize("fn", NP_UFUNCS)
@pytest.mark.parametrize("arg", [0.5, np.float32(0.25), np.float64(0.75), 2])
def test_numpy_ufuncs_on_scalars_keep_numpy_types(fn, arg):
    f = serial_expr(f"np.{fn}(a)", ["a"])
    with np.errstate(invalid="ignore"):  # arcsin(2) is nan
        check_close(f, arg, rtol=1e-6 if isinstance(arg, np.float32) else 1e-13)


@pytest.mark.parametrize("fn", ["arctan2", "hypot", "copysign", "fmod", "power"])
def test_numpy_binary_ufuncs_on_scalars(fn):
    f = serial_expr(f"np.{fn}(a, b)", ["a", "b"])
    for a, b in [(1.5, -2.0), (np.float32(3.0), np.float32(0.5)), (-4.0, 3)]:
        check_close(f, a, b, rtol=1e-6 if isinstance(a, np.float32) else 1e-13)


def test_numpy_predicates_and_constants():
    f = serial_exprs(["np.isnan(a)", "np.isinf(a)", "np.isfinite(a)", "np.pi * 2", "np.e",
                      "np.inf", "np.nan"], ["a"])
    for v in (1.0, float("nan"), float("-inf"), np.float32(2.0)):
        check(f, v)


def test_numpy_scalar_constructors():
    f = serial_exprs(["np.float32(a)", "np.int32(a) + 1", "np.float64(a) / 3", "np.uint8(a)"],
                     ["a"])
    check(f, 7)
