"""The Python subset inside compute regions: cases that failed at first
(they were pending) and pass now."""

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import check, same
from subset_helpers import check_raises, fallback_case, serial_expr, serial_exprs, type_error_case
# the module function that two cases call lives with its siblings
from test_subset_functions import _scaled

# ------------------------------------------------ fixed after first being pending


def test_round_with_digits():
    f = serial_expr("round(a, 2)", ["a"])
    for v in (2.675, 1.005, -3.14159, 12345.6789):
        check(f, v)


def test_for_over_enumerate_with_start(rng):
    @acc
    def f(x, out):
        #pragma acc serial
        for i, v in enumerate(x, 1):
            out[i - 1] = v * i

    check(f, rng.random(9), np.zeros(9))


@pytest.mark.parametrize("fn", ["minimum", "maximum"])
def test_numpy_minimum_maximum_on_scalars(fn):
    f = serial_expr(f"np.{fn}(a, b)", ["a", "b"])
    for a, b in [(1.5, -2.0), (np.float32(3.0), np.float32(0.5)), (-4.0, 3), (2, 7),
                 (float("nan"), 1.0)]:
        check(f, a, b)


def test_module_function_default_argument_left_out(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _scaled(x[i])

    check(f, rng.random(20), np.zeros(20))


def test_module_function_keyword_argument(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = _scaled(x[i], k=0.5)

    check(f, rng.random(20), np.zeros(20))


def test_uint64_compared_with_negative_python_int():
    # NumPy 2 compares the values: uint64(5) > -1 is True
    f = serial_exprs(["a > -1", "a == -1", "a < -1"], ["a"])
    check(f, np.uint64(5))
    check(f, np.uint64(2 ** 64 - 1))


def test_uint64_array_element_compared_with_negative_python_int():
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            out[i] = a[i] > -1

    check(f, np.arange(5, dtype=np.uint64), np.zeros(5, dtype=bool))


def test_numpy_int8_plus_out_of_range_python_int_raises_overflow_error():
    # NumPy 2: a Python int that does not fit the NumPy operand's type is an error
    f = serial_expr("a + b", ["a", "b"])
    check_raises(f, OverflowError, np.int8(1), 1000)


def test_python_int_out_of_range_stored_into_uint8_array_raises_overflow_error():
    @acc
    def f(out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = i - 3

    check_raises(f, OverflowError, np.zeros(6, dtype=np.uint8))


def test_numpy_float_floor_division_by_zero_gives_signed_inf():
    # NumPy: floor_divide(1.5, 0.0) is inf and floor_divide(-2.0, 0.0) is -inf, not nan
    f = serial_expr("a // b", ["a", "b"])
    with np.errstate(all="ignore"):
        check(f, np.float64(1.5), np.float64(0.0))
        check(f, np.float32(-2.0), np.float32(0.0))


def test_float_array_element_floor_division_by_zero_gives_signed_inf():
    @acc
    def g(a, b, q):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            q[i] = a[i] // b[i]

    with np.errstate(all="ignore"):
        for dt in (np.float64, np.float32):
            a = np.array([1, -1, 0, 5, -7], dtype=dt)
            b = np.array([0, 0, 0, 2, 2], dtype=dt)
            check(g, a, b, np.zeros(5, dt))


def test_fallback_call_to_unknown_function():
    @acc
    def f(x, g):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = g(i)  # FB-CALL

    fallback_case(f, (np.zeros(4), abs), "FB-CALL", __file__)


def test_strict_call_to_argument_function_raises_unsupported_error():
    @acc(strict=True)
    def f(x, g):
        #pragma acc serial
        x[0] = g(1)

    with pytest.raises(pyacc.UnsupportedError):
        f(np.zeros(2), abs)


def test_fallback_string_argument_to_int():
    # a string is outside the subset: the region runs in the interpreter
    # (today: PyaccTypeError "cannot convert 'object' to a number")
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = int("7") + i  # FB-INTSTR

    fallback_case(f, (np.zeros(4),), "FB-INTSTR", __file__)


def test_type_error_too_many_indices():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i, 0] = 1.0  # TE-NDIM

    type_error_case(f, (np.zeros(4),), "TE-NDIM", __file__)


def test_region_with_seventeen_results():
    f = serial_exprs([f"a + {k}" for k in range(17)], ["a"])
    check(f, 5)


def test_true_division_of_large_ints_is_correctly_rounded():
    # Python divides the exact integers: (2**53 + 1) / 3 is 3002399751580331.0
    f = serial_expr("a / b", ["a", "b"])
    check(f, 2 ** 53 + 1, 3)


def test_int_float_comparison_is_exact_beyond_2_53():
    f = serial_exprs(["a == b", "a < b", "a > b"], ["a", "b"])
    check(f, 2 ** 53 + 1, 2.0 ** 53)


def test_and_or_mixing_bool_and_int_operands_return_the_chosen_object():
    # `not a or b` is the bool True when a is 0, else b (an int)
    f = serial_expr("not a or b", ["a", "b"])
    assert check(f, 0, 5) is True
    assert check(f, 3, 0) == 0


def test_min_max_of_mixed_int_and_float_return_the_chosen_object():
    f = serial_exprs(["min(a, b)", "max(a, b)"], ["a", "b"])
    check(f, 1, 2.5)
    check(f, 3, 2.5)


def test_min_max_of_equal_int_and_float_return_the_first():
    f = serial_exprs(["min(a, b)", "max(a, b)"], ["a", "b"])
    check(f, 2, 2.0)


def test_conditional_expression_with_int_and_float_branches():
    f = serial_expr("n if x > 0 else x", ["n", "x"])
    assert same(check(f, 1, 2.5), 1)
    assert same(check(f, 1, -2.5), -2.5)


def test_float_scalar_untouched_by_a_loop_that_never_runs_stays_float():
    # s is the Python float 0.0 when x is empty; compiled code must not make
    # it a numpy.float64
    @acc
    def f(x):
        s = 0.0
        i = 0
        #pragma acc serial
        while i < x.shape[0]:
            s += x[i]
            i += 1
        return s

    check(f, np.zeros(0))


@pytest.mark.parametrize("a,b", [(2, 10), (-3, 3), (7, 0), (0, 0), (-2, 1), (3, -2), (2, -1),
                                 (-2, -3), (10, 15)])
def test_int_power_follows_python(a, b):
    f = serial_expr("a ** b", ["a", "b"])
    check(f, a, b)


def test_int_power_with_constant_negative_exponent_is_float():
    f = serial_expr("n ** -2", ["n"])
    assert check(f, 4) == 0.0625


def test_constant_int_base_power_of_int_variable():
    f = serial_expr("2 ** n", ["n"])
    check(f, 10)
    check(f, -2)


def test_int_zero_to_negative_int_power_is_zero_division():
    f = serial_expr("a ** b", ["a", "b"])
    check_raises(f, ZeroDivisionError, 0, -1)


def test_int_power_past_int64_raises_overflow_error_instead_of_wrapping():
    f = serial_expr("a ** 3", ["a"])
    check(f, 5)
    with pytest.raises(OverflowError):
        f(10 ** 7)


def test_tuple_value_assigned_in_region_is_used_after():
    @acc
    def f(a):
        #pragma acc serial
        s = a.shape
        return s

    check(f, np.zeros((4, 9)))


def test_tuple_of_scalars_assigned_in_region_is_used_after():
    @acc
    def f(a, b):
        #pragma acc serial
        r = (a + b, a * b)
        return r

    check(f, 3, 4)
