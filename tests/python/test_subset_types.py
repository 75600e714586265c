"""The Python subset inside compute regions: scalar and array types in and
out of regions (see subset_helpers for how each case is checked)."""

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import check, same
from subset_helpers import DTYPES, check_raises, data, make, serial_expr, serial_exprs

# ===================================================================== types


def test_bool_scalars_in_and_out():
    @acc
    def f(a, b):
        #pragma acc serial
        r = (a and not b) or (b and not a)
        return r

    for a in (True, False):
        for b in (True, False):
            assert check(f, a, b) is (a != b)


def test_python_int_is_int64_and_comes_back_as_int():
    @acc
    def f(a, b):
        #pragma acc serial
        r = a * b + 7
        return r

    assert same(check(f, 123456789, 1000), 123456789007)
    check(f, -(2 ** 40), 3)


def test_python_float_comes_back_as_float():
    @acc
    def f(a, b):
        #pragma acc serial
        r = a * b - 0.25
        return r

    check(f, 1.5, -3.0)


def test_int_and_float_mix_gives_float():
    @acc
    def f(a, x):
        #pragma acc serial
        r = a + x
        return r

    assert type(check(f, 3, 0.5)) is float


@pytest.mark.parametrize("numpy_value,python_value", [
    ("np.float32(0.25)", "0.1"), ("np.int32(3)", "2**40"), ("np.uint8(3)", "-1"), ("np.float32(0.25)", "a")])
@pytest.mark.parametrize("form", [
    "t = {p} if a > 0 else {q}",
    "t = (a > 0 and {p}) or {q}",
    "if a > 0:\n        t = {p}\n    else:\n        t = {q}",
    "t = max({p}, {q}) if a > 0 else min({p}, {q})",
])
def test_a_value_that_is_a_numpy_scalar_or_a_python_number_keeps_the_python_number(numpy_value, python_value,
                                                                                    form):
    # NumPy 2 lets a Python number take a NumPy scalar's type in arithmetic
    # (np.float32(1) + 0.1 is a float32); a variable holding one or the
    # other must not: 0.1 had come out 0.10000000149, 2**40 as 0, -1 as 255
    f = make(f"""
@acc
def f(a):
    #pragma acc serial
    {form.format(p=numpy_value, q=python_value)}
    s = t * 3
    #pragma acc end serial
    return t, s
""")
    for a in (3, -5, 16777217):
        check(f, a)


@pytest.mark.parametrize("expr", ["x - t", "t - x", "x * t", "t / x", "x + t + t"])
def test_float32_arithmetic_of_a_value_that_may_also_be_a_python_float(expr):
    # t is a float32 on one path and a Python float on the other, held in a
    # float64: where it is the float32, NumPy rounds x to float32 and
    # computes there (0.6 - np.float32(0.25) is np.float32(0.35000002))
    f = make(f"""
@acc
def f(a, x):
    #pragma acc serial
    t = np.float32(0.25) if a > 0 else 0.1
    s = {expr}
    #pragma acc end serial
    return s
""")
    for a in (3, -5):
        for x in (0.6, 1.1, -7.3):
            check(f, a, x)


def test_a_float32_accumulator_started_at_a_python_float_runs_as_one_kind():
    # t = 0.0, then t += u * u over float32 rows: t is a Python float before its first update
    # and a float32 after.  Both kinds round to float32 before adding, so the two pairs' code is
    # the same and LLVM merges the switch on t's kind away (with it, a float32 pairwise distance
    # took 2.4 times a float64 one)
    f = make("""
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
            d[i, j] = t
    return d
""")
    x = np.random.default_rng(5).random((37, 19)).astype(np.float32)
    check(f, x, np.zeros((37, 37), np.float32))
    if pyacc.acc_get_device_type() != pyacc.acc_device_nvidia:
        ir = "\n".join(f.inspect_llvm().values())
        assert "switch" not in ir, ir[:3000]


@pytest.mark.parametrize("start", [5, -3, 2**53 + 1, np.int64(7), np.int32(-9), True])
def test_a_variable_the_region_widens_to_float_keeps_the_value_it_came_in_with(start):
    # the slot holds the int as called; the region's float variable must
    # convert it, not read its bits (5 had come out as 2.5e-323)
    @acc
    def scaled(s, x):
        #pragma acc serial
        s = s * x[0]
        return s

    @acc
    def halved(s):
        #pragma acc serial
        if s > 0:
            s = s / 2
        return s

    check(scaled, start, np.array([1.5, 2.0]))
    check(halved, start)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                   np.uint32, np.uint64, np.float32, np.float64])
def test_numpy_scalar_arithmetic_keeps_numpy_type(dtype):
    @acc
    def f(a, b):
        #pragma acc serial
        r = a * b + a
        return r

    check(f, dtype(3), dtype(5))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint8, np.float32, np.float64])
def test_numpy_scalar_with_python_number_follows_numpy2(dtype):
    @acc
    def f(a):
        #pragma acc serial
        r = a + 1
        return r

    check(f, dtype(7))


def test_numpy_float32_with_python_float_stays_float32():
    @acc
    def f(a):
        #pragma acc serial
        r = a * 0.1
        return r

    assert type(check(f, np.float32(3.0))) is np.float32


def test_numpy_int32_with_int64_promotes():
    @acc
    def f(a, b):
        #pragma acc serial
        r = a + b
        return r

    assert type(check(f, np.int32(3), np.int64(4))) is np.int64
    assert type(check(f, np.int8(3), np.float32(4))) is np.float32
    check(f, np.uint8(3), np.int8(4))


def test_numpy_bool_scalar():
    @acc
    def f(a, b):
        #pragma acc serial
        r = a & b
        return r

    check(f, np.bool_(True), np.bool_(False))


def _scale1(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = x[i] * 2 + x[i] // 3


def _scale2(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            y[i, j] = x[i, j] * 2 + x[i, j] // 3


def _scale3(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            for k in range(x.shape[2]):
                y[i, j, k] = x[i, j, k] * 2 + x[i, j, k] // 3


def _scale4(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            for k in range(x.shape[2]):
                for l in range(x.shape[3]):
                    y[i, j, k, l] = x[i, j, k, l] * 2 + x[i, j, k, l] // 3


SCALE = {1: acc(_scale1), 2: acc(_scale2), 3: acc(_scale3), 4: acc(_scale4)}
SHAPES = {1: (37,), 2: (7, 9), 3: (3, 5, 4), 4: (2, 3, 4, 5)}


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [d for d in DTYPES if d is not np.bool_])
def test_arrays_of_every_dtype_and_rank(dtype, ndim, rng):
    x = data(rng, SHAPES[ndim], dtype)
    check(SCALE[ndim], x, np.zeros_like(x))


@pytest.mark.parametrize("ndim", [1, 2, 3, 4])
def test_bool_arrays(ndim, rng):
    @acc
    def f1(a, b, y):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            y[i] = (a[i] and not b[i]) or (a[i] ^ b[i])

    @acc
    def f2(a, b, y):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                y[i, j] = (a[i, j] and not b[i, j]) or (a[i, j] ^ b[i, j])

    @acc
    def f3(a, b, y):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                for k in range(a.shape[2]):
                    y[i, j, k] = (a[i, j, k] and not b[i, j, k]) or (a[i, j, k] ^ b[i, j, k])

    @acc
    def f4(a, b, y):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                for k in range(a.shape[2]):
                    for l in range(a.shape[3]):
                        y[i, j, k, l] = not a[i, j, k, l] or b[i, j, k, l]

    f = {1: f1, 2: f2, 3: f3, 4: f4}[ndim]
    a, b = data(rng, SHAPES[ndim], bool), data(rng, SHAPES[ndim], bool)
    check(f, a, b, np.zeros(SHAPES[ndim], dtype=bool))


def test_bool_array_counts_into_int_array(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            out[i] = a[i] + 1

    check(f, data(rng, 50, bool), np.zeros(50, dtype=np.int64))


@pytest.mark.parametrize("ndim", [2, 3, 4])
@pytest.mark.parametrize("dtype", [np.int16, np.float32, np.float64])
def test_fortran_order_arrays(dtype, ndim, rng):
    x = np.asfortranarray(data(rng, SHAPES[ndim], dtype))
    y = np.asfortranarray(np.zeros_like(x))
    assert x.flags.f_contiguous and not x.flags.c_contiguous
    check(SCALE[ndim], x, y)


def _views(xb, yb, view):
    x = view(xb)
    y = view(yb)
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            y[i, j] = x[i, j] * 3 + y[i, j] // 2
    return x.strides


views = acc(_views)

VIEWS = {
    "stepped": lambda a: a[::2, 1::3],
    "negative": lambda a: a[::-1, ::-2],
    "transposed": lambda a: a.T,
    "column": lambda a: a[:, 3:5],
    "mixed": lambda a: a[7:1:-2, ::4],
    "fortran_view": lambda a: np.asfortranarray(a)[1:, ::-1],
}


@pytest.mark.parametrize("kind", list(VIEWS))
@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.float32, np.float64])
def test_strided_views_read_and_write(kind, dtype, rng):
    xb = data(rng, (12, 14), dtype)
    yb = data(rng, (12, 14), dtype)
    check(views, xb, yb, VIEWS[kind])


def test_negative_stride_1d_view_written_through(rng):
    @acc
    def f(base):
        x = base[::-3]
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = x[i] + i
        return x

    check(f, rng.random(31))


def test_zero_size_arrays_run_no_iteration():
    check(SCALE[1], np.zeros(0), np.zeros(0))
    check(SCALE[2], np.zeros((0, 5)), np.zeros((0, 5)))
    check(SCALE[2], np.zeros((5, 0)), np.zeros((5, 0)))


@pytest.mark.parametrize("seq", [[1, 2, 3, -4], [0.5, -1.5, 2.25], (3, 1, 4, 1, 5), (0.25, 8.0),
                                 [True, False, True]])
def test_list_and_tuple_inputs_by_index(seq):
    @acc
    def f(xs, out):
        #pragma acc parallel loop
        for i in range(len(xs)):
            out[i] = xs[i] * 2 + 1

    check(f, seq, np.zeros(len(seq)))


@pytest.mark.parametrize("seq", [[1, 2, 3, -4], [0.5, -1.5, 2.25], (3, 1, 4, 1, 5)])
def test_list_and_tuple_inputs_iterated(seq):
    @acc
    def f(xs):
        s = 0
        #pragma acc serial
        for v in xs:
            s = s + v * v
        return s

    check(f, seq)


def test_list_input_negative_index():
    @acc
    def f(xs, out):
        #pragma acc parallel loop
        for i in range(len(xs)):
            out[i] = xs[-1 - i]

    check(f, [1.0, 2.0, 3.0, 4.5], np.zeros(4))


def test_list_element_assignment():
    @acc
    def f(xs):
        #pragma acc serial
        for i in range(len(xs)):
            xs[i] = xs[i] * 2
            xs[i] += 1

    check(f, [1, 2, 3])


def test_last_value_of_scalar_after_serial_loop():
    @acc
    def f(n):
        last = -1
        #pragma acc serial
        for i in range(n):
            last = i * 3
        return last

    assert check(f, 10) == 27
    assert check(f, 0) == -1


def test_last_value_of_loop_variable():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = i
        return i

    assert check(f, np.zeros(17)) == 16


def test_last_value_of_scalar_after_parallel_loop(rng):
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            t = x[i] + 1.0
            x[i] = t * t
        return t

    check(f, rng.random(1001))


def test_scalar_assigned_once_in_serial_region_is_used_after():
    @acc
    def f(a, b):
        #pragma acc serial
        if a > b:
            m = a
        else:
            m = b
        return m * 2

    check(f, 3, 9)
    check(f, 9.5, 3.0)


def test_region_reads_and_updates_an_outer_scalar():
    @acc
    def f(n):
        total = 100
        #pragma acc serial
        for i in range(n):
            total = total - i
        return total

    check(f, 12)


@pytest.mark.parametrize("expr,args", [
    ("round(a)", (np.float64(2.5),)),
    ("round(a)", (np.float32(3.5),)),
    ("a / 2", (True,)),
    ("a ** 2", (np.int64(-3),)),
    ("a ** 2.0", (np.float32(1.5),)),
    ("abs(a)", (np.int8(-5),)),
    ("a % b", (np.float32(-7.5), 2.0)),
    ("a // b", (np.int8(-7), np.int8(2))),
    ("a // b", (np.uint32(7), np.int32(-2))),
    ("a + b", (np.uint64(5), np.int64(-1))),
    ("-a", (np.uint8(3),)),
    ("~a", (np.uint8(3),)),
    ("not a", (np.float32(0.0),)),
    ("a / 3", (np.float32(1.0),)),
    ("float(a) / 3", (np.float32(1.0),)),
    ("a * 1e40", (np.float32(1.0),)),
    ("a == b", (0.1, np.float32(0.1))),
    ("a + b", (0.1, np.float32(0.1))),
    ("a * b", (3, np.int8(100))),
    ("a + b", (np.int16(300), np.uint8(200))),
    ("a - b", (np.uint8(3), np.uint8(5))),
])
def test_numpy_scalar_semantics(expr, args):
    with np.errstate(all="ignore"):
        check(serial_expr(expr, ["a", "b"][:len(args)]), *args)


def test_stores_convert_like_numpy(rng):
    @acc
    def f(x, k, as_int, as_bool, as_u8, as_f32):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            as_int[i] = x[i] * 0.9
            as_bool[i] = k[i] * 3
            as_u8[i] = k[i] - 50
            as_f32[i] = x[i] / 3

    x = rng.random(40) * 20 - 10
    k = rng.integers(0, 40, 40)
    check(f, x, k, np.zeros(40, np.int64), np.zeros(40, bool), np.zeros(40, np.uint8),
          np.zeros(40, np.float32))


def test_uint64_plus_int64_array_elements_is_float64():
    @acc
    def f(a, b, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            out[i] = a[i] + b[i]

    check(f, np.arange(5, dtype=np.uint64) * 2 ** 60, -np.arange(5, dtype=np.int64), np.zeros(5))


NARROW = ["np.uint8(200)", "np.int8(-100)", "np.uint16(65000)", "np.int32(-70000)"]
NARROW_EXPRS = ["-t", "t + t", "t * 3", "t - 1", "t << 3", "t >> 1", "~t", "t % 7", "t & 300", "300 // t",
                "t // 2", "t + 0.1", "t / 3", "abs(t) + t"]


# ~True is deprecated in Python 3.12 (the plain function's warning)
@pytest.mark.filterwarnings("ignore:Bitwise inversion:DeprecationWarning")
@pytest.mark.parametrize("numpy_value", NARROW)
@pytest.mark.parametrize("python_value", ["True", "False", "3", "-1"])
@pytest.mark.parametrize("expr", NARROW_EXPRS)
def test_a_narrow_numpy_int_or_a_python_number_computes_as_the_one_it_holds(numpy_value, python_value, expr):
    # t is a NumPy uint8 on one path and a Python bool or int on the other:
    # each operation computes as the kind t holds (lower_kinds.c), so -t is
    # np.uint8(56) or -1 (it had been 255), t << 3 wraps in uint8 or not,
    # t & 300 raises NEP 50's OverflowError only for the NumPy value, and
    # 300 // t raises ZeroDivisionError only for a Python False
    f = make(f"""
@acc
def f(a):
    #pragma acc serial
    t = {numpy_value} if a > 0 else {python_value}
    s = {expr}
    #pragma acc end serial
    return t, s
""")
    for a in (3, -5):
        try:
            with np.errstate(all="ignore"):
                f.py_func(a)
        except (OverflowError, ZeroDivisionError) as e:
            check_raises(f, type(e), a)
            continue
        with np.errstate(all="ignore"):
            check(f, a)


def test_min_and_max_of_bools_compare_false_below_true():
    # a bool is an i1, whose true is -1 as a signed number: min(True, False)
    # had been True
    f = serial_exprs(["min(True, False)", "max(False, True)", "min(a > 0, False)", "max(a < 0, True, False)",
                      "min(True, a > 0)"], ["a"])
    for a in (3, -5):
        check(f, a)


def test_numpy_bools_floor_divide_modulo_and_power_in_int8():
    f = serial_exprs(["np.bool_(True) // np.bool_(True)", "np.bool_(False) % np.bool_(True)",
                      "np.bool_(True) ** np.bool_(False)", "(b % np.bool_(True)) >> 2", "np.bool_(True) // b"],
                     ["b"])
    with np.errstate(all="ignore"):
        for b in (np.bool_(True), np.bool_(False)):
            check(f, b)
