"""The Python subset inside compute regions, compiled against the plain
function: every case runs f and f.py_func on copies of the same arguments and
compares results, argument state and types (see conftest.check), and asserts
the region ran compiled.

Hand-written cases pin each construct; generated cases (seeded random
expression trees, and hypothesis where it is installed) cover combinations.
Cases that fail today live in pending_subset.py (not collected), which
imports its helpers from here."""

import atexit
import copy
import math
import os
import random
import re
import shutil
import tempfile
import warnings

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import check, run_both, same

HERE = os.path.basename(__file__)

# ------------------------------------------------------------------ helpers


def line_of(marker, path=__file__):
    """The line number in path of the line ending with `# marker`."""
    with open(path) as fh:
        hits = [n for n, t in enumerate(fh, 1) if t.rstrip().endswith("# " + marker)]
    assert len(hits) == 1, marker
    return hits[0]


def pragma_above(line, path=__file__):
    """The line of the nearest `#pragma acc` above line in path."""
    with open(path) as fh:
        lines = fh.read().splitlines()
    k = line - 1
    while "#pragma acc" not in lines[k - 1]:
        k -= 1
    return k


def close(a, b, rtol, atol=0.0):
    """Equal types and values within rtol (NaNs equal, infinities exact)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape
                and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=a.dtype.kind == "f"))
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, np.floating)):
        if a != a or b != b:
            return a != a and b != b
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= atol + rtol * abs(b)
    return a == b


def check_close(f, *args, rtol=1e-13, atol=0.0):
    """check() with a relative tolerance on float results, for functions whose
    last bit may depend on the libm (or the vector math library) used."""
    before = f.stats()["fallbacks"]
    (r1, a1), (r2, a2) = run_both(f, *args)
    assert close(r1, r2, rtol, atol), f"result {r1!r} != {r2!r}"
    for i, (x, y) in enumerate(zip(a1, a2)):
        assert close(x, y, rtol, atol), f"argument {i} differs: {x!r} != {y!r}"
    assert f.stats()["fallbacks"] == before, "the region ran in the interpreter"
    return r1


def check_raises(f, exc, *args):
    """f and f.py_func raise the same exception type; the compiled one's
    last traceback entry is in this file."""
    with pytest.raises(exc):
        f.py_func(*copy.deepcopy(args))
    with pytest.raises(exc) as info:
        f(*copy.deepcopy(args))
    return info


def last_entry(info):
    tb = info.traceback[-1]
    return tb.path.name, str(tb.statement).strip()


# generated functions live in files of their own, so that inspect finds
# their source
_GEN_DIR = tempfile.mkdtemp(prefix="pyacc_subset_")
atexit.register(shutil.rmtree, _GEN_DIR, True)
_gen_count = [0]


def make(src, name="f", **globs):
    _gen_count[0] += 1
    path = os.path.join(_GEN_DIR, f"gen_{_gen_count[0]}.py")
    with open(path, "w") as fh:
        fh.write(src)
    g = {"acc": acc, "np": np, "math": math, "__name__": f"gen_{_gen_count[0]}"}
    g.update(globs)
    exec(compile(src, path, "exec"), g)
    return g[name]


def serial_expr(expr, params):
    """A function of params whose serial region computes r = expr."""
    return make(f"@acc\ndef f({', '.join(params)}):\n"
                f"    #pragma acc serial\n"
                f"    r = {expr}\n"
                f"    return r\n")


def serial_exprs(exprs, params):
    """A function of params whose serial region (closed by `end serial`)
    computes r0 = exprs[0], r1 = exprs[1], ...; the tuple of the results
    is built after the region."""
    body = "".join(f"    r{k} = {e}\n" for k, e in enumerate(exprs))
    outs = ", ".join(f"r{k}" for k in range(len(exprs)))
    return make(f"@acc\ndef f({', '.join(params)}):\n"
                f"    #pragma acc serial\n"
                f"{body}"
                f"    #pragma acc end serial\n"
                f"    return ({outs},)\n")


DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.uint64, np.float32, np.float64]


def data(rng, shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind == "u":
        return rng.integers(0, 40, shape).astype(dt)
    if dt.kind == "i":
        return rng.integers(-40, 40, shape).astype(dt)
    return (rng.random(shape) * 20 - 10).astype(dt)


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


# ================================================================= statements


def test_tuple_assignment_and_swap():
    @acc
    def f(a, b, n):
        #pragma acc serial
        for i in range(n):
            a, b = b, a + b
        return a, b

    check(f, 0, 1, 30)


def test_tuple_assignment_with_three_targets(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            p, q, r = x[i], x[i] * 2, i
            (p, q) = (q, p)
            out[i] = p - q + r

    check(f, rng.random(30), np.zeros(30))


def test_augmented_assignment_on_scalars():
    @acc
    def f(a, x):
        #pragma acc serial
        a += 3
        a *= 2
        a -= 1
        a //= 3
        a %= 7
        a **= 2
        a <<= 2
        a >>= 1
        a |= 64
        a &= 0xFF
        a ^= 5
        x += a
        x /= 4
        x -= 0.5
        x //= 0.75
        return a, x

    check(f, 11, 1.5)


def test_if_elif_else(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            if x[i] < -5:
                out[i] = 0
            elif x[i] < 0:
                out[i] = 1
            elif x[i] == 0:
                out[i] = 2
            else:
                out[i] = 3

    x = rng.integers(-10, 10, 100)
    check(f, x, np.zeros(100, dtype=np.int8))


def test_if_without_else_keeps_old_value():
    @acc
    def f(a):
        r = 5
        #pragma acc serial
        if a > 0:
            r = a
        return r

    check(f, 3)
    check(f, -3)


def test_truthiness_of_numbers_in_conditions(rng):
    @acc
    def f(x, y, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            if x[i]:
                out[i] = 1
            if not y[i]:
                out[i] = out[i] + 10

    check(f, rng.integers(0, 2, 50), (rng.random(50) < 0.5).astype(np.float32),
          np.zeros(50, dtype=np.int64))


def test_while_loop():
    @acc
    def f(n):
        #pragma acc serial
        steps = 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        return steps

    check(f, 27)
    check(f, 1)


def test_while_in_parallel_loop(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            v = x[i]
            k = 0
            while v > 1.0:
                v = v / 2.0
                k += 1
            out[i] = k

    check(f, rng.random(200) * 1000, np.zeros(200, dtype=np.int32))


@pytest.mark.parametrize("args", [(6,), (0,), (-3,), (2, 9), (9, 2), (-5, 5), (0, 20, 3),
                                  (20, 0, -3), (10, -10, -1), (5, 5, -1), (3, 100, 40),
                                  (-1, -20, -7)])
def test_range_forms_in_serial_loop(args):
    @acc
    def f(a, b, c, n):
        total = 0
        count = 0
        #pragma acc serial
        for i in range(a, b, c):
            total = total * 3 + i
            count += 1
        return total, count

    a, b, c = (0, args[0], 1) if len(args) == 1 else (args + (1,))[:3]
    check(f, a, b, c, 0)


def test_reassigning_the_loop_variable_does_not_change_iteration():
    @acc
    def f(n):
        #pragma acc serial
        for i in range(n):
            i = i * 2
            n = n - 1
        return i, n

    check(f, 5)


def test_while_with_compound_condition(rng):
    @acc
    def f(x):
        s = 0.0
        i = 0
        #pragma acc serial
        while i < x.shape[0] and s < 10.0:
            s += x[i]
            i += 1
        return s, i

    check(f, rng.random(100))


def test_range_with_one_and_two_arguments():
    @acc
    def f(n, m, out):
        #pragma acc parallel loop
        for i in range(n):
            out[i] = i
        #pragma acc parallel loop
        for j in range(n, m):
            out[j] = -j

    check(f, 4, 9, np.zeros(9, dtype=np.int64))


def test_range_zero_step_raises_value_error():
    @acc
    def f(n, step):
        s = 0
        #pragma acc serial
        for i in range(0, n, step):
            s += i
        return s

    check_raises(f, ValueError, 5, 0)


def test_parallel_loop_with_negative_step(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0] - 1, -1, -2):
            out[i] = x[i] * i

    check(f, rng.random(101), np.zeros(101))


def test_for_over_array(rng):
    @acc
    def f(x):
        s = 0.0
        #pragma acc serial
        for v in x:
            s = s * 0.5 + v
        return s

    check(f, rng.random(40))
    check(f, rng.random(40).astype(np.float32))
    check(f, rng.integers(0, 9, 40))


def test_for_over_strided_array(rng):
    @acc
    def f(base):
        x = base[::-3]
        s = 0.0
        #pragma acc serial
        for v in x:
            s = s * 0.5 + v
        return s

    check(f, rng.random(40))


def test_parallel_loop_over_array_elements(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for v in x:
            out[int(v) % out.shape[0]] = 1

    check(f, rng.integers(0, 100, 20).astype(np.float64), np.zeros(7))


def test_for_over_enumerate(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i, v in enumerate(x):
            out[i] = v * i

    check(f, rng.random(25), np.zeros(25))
    check(f, [1, 2, 3], np.zeros(3))


def test_for_over_row_of_2d_array(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            s = 0.0
            for v in a[i]:
                s += v
            out[i] = s

    check(f, rng.integers(0, 9, (5, 8)).astype(np.float64), np.zeros(5))


def test_nested_loops_matrix_multiply(rng):
    @acc
    def matmul(a, b, c):
        n, k = a.shape
        m = b.shape[1]
        #pragma acc parallel loop
        for i in range(n):
            for j in range(m):
                s = 0.0
                for p in range(k):
                    s += a[i, p] * b[p, j]
                c[i, j] = s

    a = rng.integers(-5, 5, (8, 6)).astype(np.float64)
    b = rng.integers(-5, 5, (6, 7)).astype(np.float64)
    check(matmul, a, b, np.zeros((8, 7)))


def test_inner_loop_bound_depends_on_outer_index(rng):
    @acc
    def f(out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            for j in range(i + 1):
                out[i, j] = i * 10 + j

    check(f, np.zeros((9, 9), dtype=np.int64))


def test_break_in_serial_loop():
    @acc
    def f(x, target):
        found = -1
        #pragma acc serial
        for i in range(x.shape[0]):
            if x[i] == target:
                found = i
                break
        return found

    x = np.array([5, 3, 8, 3, 1])
    check(f, x, 3)
    check(f, x, 4)


def test_break_in_seq_loop_inside_parallel_loop(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            #pragma acc loop seq
            for j in range(a.shape[1]):
                if a[i, j] > 0.9:
                    out[i] = j
                    break

    check(f, rng.random((20, 30)), np.full(20, -1, dtype=np.int64))


def test_break_in_while_and_else_clause():
    @acc
    def f(n):
        #pragma acc serial
        i = 2
        prime = True
        while i * i <= n:
            if n % i == 0:
                prime = False
                break
            i += 1
        return prime

    for n in (2, 9, 97, 91):
        check(f, n)


def test_for_else():
    @acc
    def f(x, t):
        r = 0
        #pragma acc serial
        for v in x:
            if v == t:
                r = 1
                break
        else:
            r = 2
        return r

    check(f, np.arange(5), 3)
    check(f, np.arange(5), 7)


def test_continue_and_pass(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            for j in range(5):
                if j == 2:
                    continue
                if x[i] < 0.5:
                    pass
                else:
                    out[i] += j

    check(f, rng.random(50), np.zeros(50))


def test_local_temporaries(rng):
    @acc
    def f(x, y, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            dx = x[i] - 0.5
            dy = y[i] - 0.5
            r2 = dx * dx + dy * dy
            inside = r2 < 0.25
            out[i] = 1.0 if inside else 0.0

    check(f, rng.random(300), rng.random(300), np.zeros(300))


def test_variable_changes_type_from_int_to_float():
    @acc
    def f(n):
        #pragma acc serial
        s = 0
        for i in range(n):
            s = s + 0.5
        return s

    check(f, 3)
    check(f, 0)


def test_two_regions_in_one_function(rng):
    @acc
    def f(x):
        y = np.empty_like(x)
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            y[i] = x[i] * 2
        s = 0.0
        #pragma acc serial
        for i in range(y.shape[0]):
            s = s + y[i]
        return y, s

    check(f, rng.random(10))
    assert f.stats()["regions"] == 2


def test_parallel_region_with_inner_loop_pragma(rng):
    @acc
    def f(a, out):
        #pragma acc parallel
        #pragma acc loop
        for i in range(a.shape[0]):
            out[i] = a[i] + 1

    check(f, rng.random(20), np.zeros(20))


def test_kernels_loop(rng):
    @acc
    def f(a, out):
        #pragma acc kernels loop
        for i in range(a.shape[0]):
            out[i] = a[i] * a[i]

    check(f, rng.random(20), np.zeros(20))


def test_serial_region_closed_by_end_pragma():
    @acc
    def f(a):
        #pragma acc serial
        b = a * 2
        c = b + 1
        #pragma acc end serial
        return c

    check(f, 4)


def test_collapse_two_loops(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop collapse(2)
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[i, j] = a[i, j] + i - j

    check(f, rng.random((7, 11)), np.zeros((7, 11)))


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

    fallback_case(f, (np.zeros(6),), "FB-FACT", also=(line_of("FB-RECURSE"),))


def test_zero_division_in_inlined_function_names_its_line():
    @acc
    def f(a, b):
        #pragma acc serial
        q, r = _divmod_py(a, b)
        return q

    info = check_raises(f, ZeroDivisionError, 5, 0)
    assert last_entry(info) == (HERE, "return a // b, a % b")


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


def fallback_case(f, args, marker, path=__file__, also=()):
    """One warning naming this file and the region's line, on the first
    call only; the result is right; each interpreted run counts."""
    with pytest.warns(pyacc.PyaccWarning) as rec:
        (r1, a1), (r2, a2) = run_both(f, *args)
    ours = [w for w in rec if issubclass(w.category, pyacc.PyaccWarning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert ours[0].filename == path
    line = line_of(marker, path)
    assert ours[0].lineno in (line, pragma_above(line, path), *also)
    assert same(r1, r2)
    for x, y in zip(a1, a2):
        assert same(x, y)
    assert f.stats()["fallbacks"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_both(f, *args)
    assert f.stats()["fallbacks"] == 2


def test_fallback_dict():
    @acc
    def f(x):
        #pragma acc serial
        d = {"a": 1}  # FB-DICT
        x[0] = d["a"]

    fallback_case(f, (np.zeros(2),), "FB-DICT")


def test_fallback_string():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = len(str(i))  # FB-STR

    fallback_case(f, (np.zeros(4),), "FB-STR")


def _not_subset(v):
    return {"k": v}["k"]  # FB-NOTSUBSET


def test_fallback_call_to_unknown_builtin():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = hash(i) + divmod(i, 3)[1]  # FB-BUILTIN

    fallback_case(f, (np.zeros(4),), "FB-BUILTIN")


def test_fallback_unknown_numpy_function():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = np.sum(x) + i  # FB-NPSUM

    fallback_case(f, (np.arange(4.0), np.zeros(4)), "FB-NPSUM")


def test_fallback_array_method():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            out[i] = x.sum() * i  # FB-ARRMETH

    fallback_case(f, (np.arange(4.0), np.zeros(4)), "FB-ARRMETH")


def test_fallback_call_to_module_function_outside_subset():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = _not_subset(i)  # FB-MODCALL

    # the warning may name the callee's line, where the dict is
    fallback_case(f, (np.zeros(4),), "FB-MODCALL", also=(line_of("FB-NOTSUBSET"),))


def test_fallback_try_except():
    @acc
    def f(x):
        #pragma acc serial
        try:  # FB-TRY
            x[0] = 1 / x[1]
        except ZeroDivisionError:
            x[0] = -1

    with np.errstate(all="ignore"):
        fallback_case(f, (np.zeros(2),), "FB-TRY")


def test_fallback_with_statement():
    import contextlib

    @acc
    def f(x):
        #pragma acc serial
        with contextlib.nullcontext():  # FB-WITH
            x[0] = 5

    fallback_case(f, (np.zeros(2),), "FB-WITH")


def test_fallback_generator():
    @acc
    def f(x):
        #pragma acc serial
        x[0] = sum(v * v for v in x)  # FB-GEN

    fallback_case(f, (np.arange(4.0),), "FB-GEN")


def test_fallback_method_call():
    @acc
    def f(x, items):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = items.count(i)  # FB-METH

    fallback_case(f, (np.zeros(4), [1, 1, 2]), "FB-METH")


def test_fallback_print(capsys):
    @acc
    def f(x):
        #pragma acc serial
        print("x0 =", x[0])  # FB-PRINT

    fallback_case(f, (np.ones(2),), "FB-PRINT")
    assert "x0 = 1.0" in capsys.readouterr().out


def test_fallback_list_comprehension():
    @acc
    def f(x):
        #pragma acc serial
        x[0] = len([v for v in x if v > 1])  # FB-COMP

    fallback_case(f, (np.arange(4.0),), "FB-COMP")


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


def type_error_case(f, args, marker, path=__file__):
    copies = copy.deepcopy(args)
    with pytest.raises(pyacc.PyaccTypeError) as info:
        f(*copies)
    e = info.value
    assert isinstance(e, TypeError)
    text = str(e)
    assert path in text
    assert f"line {line_of(marker, path)}" in text
    assert "^" in text.splitlines()[-1]
    for x, y in zip(copies, args):
        assert same(x, y), "the region ran before the type error"
    return text


def test_type_error_array_plus_list():
    @acc
    def f(a, lst, out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = 1.0
            out[i] = (a + lst)[i]  # TE-LIST

    type_error_case(f, (np.ones(3), [1.0, 2.0, 3.0], np.zeros(3)), "TE-LIST")


def test_type_error_float_index():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = 1.0
            out[i] = x[i / 2]  # TE-FIDX

    text = type_error_case(f, (np.ones(8), np.zeros(4)), "TE-FIDX")
    assert "x[i / 2]" in text


def test_type_error_float_range_argument():
    @acc
    def f(x, n):
        #pragma acc parallel loop
        for i in range(n):  # TE-RANGE
            x[i] = 1.0

    type_error_case(f, (np.zeros(4), 2.0), "TE-RANGE")


def test_type_error_float_shift():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = x[i] << 1  # TE-SHIFT

    type_error_case(f, (np.ones(4), np.zeros(4)), "TE-SHIFT")


# ========================================================= generated cases

_LEAF_INTS = ["a", "b", "c"]


def _gen_int(r, depth, bools=True):
    """A random Python int expression over a, b, c; no division by zero, no
    shift by a negative count."""
    if depth == 0 or r.random() < 0.2:
        return r.choice(_LEAF_INTS + [str(r.randint(-9, 9))])
    d = depth - 1
    k = r.randrange(15 if bools else 12)
    g = lambda: _gen_int(r, d, bools)  # noqa: E731
    if k == 0:
        return f"({g()} {r.choice('+-*')} {g()})"
    if k == 1:
        return f"({g()} {r.choice(['//', '%'])} {r.choice([-7, -3, -1, 1, 2, 5])})"
    if k == 2:
        return f"({g()} {r.choice(['//', '%'])} (abs({g()}) + 1))"
    if k == 3:
        return f"({g()} {r.choice('&|^')} {g()})"
    if k == 4:
        return f"({g()} << {r.randint(0, 4)})"
    if k == 5:
        return f"({g()} >> {r.choice([str(r.randint(0, 6)), f'(abs({g()}) % 7)'])})"
    if k == 6:
        return f"{r.choice(['-', '~', '+'])}{g()}"
    if k == 7:
        return f"abs({g()})"
    if k == 8:
        n = r.randint(2, 3)
        return f"{r.choice(['min', 'max'])}({', '.join(g() for _ in range(n))})"
    if k == 9:
        return f"({g()} if {_gen_cmp(r, d)} else {g()})"
    if k == 10:
        return f"({g()} {r.choice(['and', 'or'])} {g()})"
    if k == 11:
        return f"({r.choice(_LEAF_INTS)} ** {r.randint(0, 3)})"
    if k == 12:
        return f"({_gen_cmp(r, d)} {r.choice('+-*')} {g()})"
    if k == 13:
        return f"int({_gen_cmp(r, d)} {r.choice(['and', 'or'])} {_gen_cmp(r, d)})"
    return f"({g()} if not {g()} else {g()})"


def _gen_cmp(r, depth):
    g = lambda: _gen_int(r, max(depth - 1, 0), False)  # noqa: E731
    ops = ["<", "<=", ">", ">=", "==", "!="]
    if r.random() < 0.3:
        return f"({g()} {r.choice(ops)} {g()} {r.choice(ops)} {g()})"
    return f"({g()} {r.choice(ops)} {g()})"


_LEAF_FLOATS = ["x", "y", "n"]


def _gen_float(r, depth):
    """A random float expression over x, y (floats) and n (an int)."""
    if depth == 0 or r.random() < 0.2:
        return r.choice(_LEAF_FLOATS + ["x", "y", r.choice(["0.5", "-1.25", "3.0", "1e-3", "7"])])
    d = depth - 1
    g = lambda: _gen_float(r, d)  # noqa: E731
    k = r.randrange(11)
    if k == 0:
        return f"({g()} {r.choice('+-*')} {g()})"
    if k == 1:
        return f"({g()} / ({g()} * {g()} + 0.5))"
    if k == 2:
        return f"({g()} {r.choice(['//', '%'])} {r.choice(['1.5', '-0.75', '0.1', '3', '-2'])})"
    if k == 3:
        return f"-{g()}"
    if k == 4:
        return f"abs({g()})"
    if k == 5:
        return f"{r.choice(['min', 'max'])}({g()}, {g()})"
    if k == 6:
        return f"({g()} if {g()} {r.choice(['<', '>=', '!='])} {g()} else {g()})"
    if k == 7:
        return f"(n / {r.choice(['3', '-7', '(abs(n) + 1)'])} + {g()})"
    if k == 8:
        return f"float({g()} {r.choice(['<', '=='])} {g()})"
    if k == 9:
        return f"math.floor({g()}) + {g()}"
    return f"({g()} * {r.choice(['0.1', '3', '-2.5'])})"


def _screen(expr, env_list, limit):
    """Python evaluates expr on every env without error and within limit."""
    for env in env_list:
        try:
            with np.errstate(all="raise"):
                v = eval(expr, {"math": math, "np": np}, dict(env))
        except Exception:
            return False
        if isinstance(v, (int, np.integer)) and abs(int(v)) >= limit:
            return False
        if isinstance(v, float) and not math.isfinite(v):
            return False
    return True


_INT_ENVS = [dict(a=a, b=b, c=c) for a, b, c in [(0, 0, 0), (1, -1, 2), (-37, 12, 5), (50, 49, -50),
                                                 (7, 7, -3), (-1, -2, -60), (33, 0, 19)]]
_FLOAT_ENVS = [dict(x=x, y=y, n=n) for x, y, n in [(0.0, 0.0, 0), (1.5, -2.25, 3),
                                                   (-7.125, 0.3, -4), (123.456, -0.001, 11),
                                                   (-0.0, 5.0, 1), (2.5, 2.5, -9)]]


def _cases(gen, envs, count, seed, limit):
    r = random.Random(seed)
    out = []
    while len(out) < count:
        e = gen(r, r.randint(1, 4))
        if e not in out and _screen(e, envs, limit):
            out.append(e)
    return out


INT_EXPRS = _cases(_gen_int, _INT_ENVS, 60, 20240601, 2 ** 62)
FLOAT_EXPRS = _cases(_gen_float, _FLOAT_ENVS, 40, 20240602, float("inf"))
ARRAY_INT_EXPRS = _cases(lambda r, d: _gen_int(r, d, False), _INT_ENVS, 20, 20240603, 2 ** 62)


# Generated cases that fail today; pending_subset.py runs these.  The causes
# are listed there.

@pytest.mark.parametrize("k", range(len(INT_EXPRS)))
def test_generated_int_expression(k):
    expr = INT_EXPRS[k]
    f = serial_expr(expr, ["a", "b", "c"])
    for env in _INT_ENVS:
        check(f, env["a"], env["b"], env["c"])


@pytest.mark.parametrize("k", range(len(FLOAT_EXPRS)))
def test_generated_float_expression(k):
    expr = FLOAT_EXPRS[k]
    f = serial_expr(expr, ["x", "y", "n"])
    for env in _FLOAT_ENVS:
        check(f, env["x"], env["y"], env["n"])


@pytest.mark.parametrize("k", range(len(ARRAY_INT_EXPRS)))
def test_generated_int64_array_expression(k):
    # the same expressions over int64 array elements follow NumPy
    expr = re.sub(r"\b([abc])\b", lambda m: m.group(1).upper() + "[i]", ARRAY_INT_EXPRS[k])
    f = make(f"@acc\ndef f(A, B, C, out):\n"
             f"    #pragma acc parallel loop\n"
             f"    for i in range(A.shape[0]):\n"
             f"        out[i] = {expr}\n")
    cols = np.array([[e["a"], e["b"], e["c"]] for e in _INT_ENVS], dtype=np.int64)
    with np.errstate(all="ignore"):
        check(f, cols[:, 0].copy(), cols[:, 1].copy(), cols[:, 2].copy(),
              np.zeros(len(cols), dtype=np.int64))


ARRAY_FLOAT_EXPRS = _cases(_gen_float, _FLOAT_ENVS, 24, 20240604, float("inf"))


@pytest.mark.parametrize("k", range(len(ARRAY_FLOAT_EXPRS)))
def test_generated_float_array_expression(k):
    # float64 and float32 array elements, int32 or int64 n: NumPy 2 promotion
    expr = re.sub(r"\b([xyn])\b", lambda m: m.group(1).upper() + "[i]", ARRAY_FLOAT_EXPRS[k])
    f = make(f"@acc\ndef f(X, Y, N, out):\n"
             f"    #pragma acc parallel loop\n"
             f"    for i in range(X.shape[0]):\n"
             f"        out[i] = {expr}\n")
    cols = [[e["x"], e["y"], e["n"]] for e in _FLOAT_ENVS]
    for fdt, idt in ((np.float64, np.int64), (np.float32, np.int32)):
        x = np.array([c[0] for c in cols], dtype=fdt)
        y = np.array([c[1] for c in cols], dtype=fdt)
        n = np.array([c[2] for c in cols], dtype=idt)
        with np.errstate(all="ignore"):
            check(f, x, y, n, np.zeros(len(cols), dtype=fdt))


try:
    import hypothesis
    from hypothesis import given, settings, strategies as st
except ImportError:  # hypothesis is optional
    hypothesis = None

needs_hypothesis = pytest.mark.skipif(hypothesis is None, reason="hypothesis not installed")

if hypothesis is not None:
    _ints = st.integers(-(2 ** 31), 2 ** 31)
    _floats = st.floats(allow_nan=True, allow_infinity=True, width=64)

    _h_int_ops = serial_exprs(
        ["a + b", "a - b", "a * b", "a // b if b else 0", "a % b if b else 0", "a & b", "a | b",
         "a ^ b", "a >> (b % 64) if b >= 0 else 0", "min(a, b)", "max(a, b)", "abs(a)", "-a",
         "~a", "a < b", "a == b"], ["a", "b"])
    _h_int_div = serial_expr("a / b if b else 0.0", ["a", "b"])

    _h_float_ops = serial_exprs(
        ["x + y", "x - y", "x * y", "x / y if y else 0.0", "x // y if y else 0.0",
         "x % y if y else 0.0", "min(x, y)", "max(x, y)", "abs(x)", "-x", "x < y", "x == y",
         "x if x > y else y"], ["x", "y"])

    _h_float_conv = serial_exprs(["math.floor(x) if abs(x) < 1e18 else 0",
                                  "int(x) if abs(x) < 1e18 else 0",
                                  "round(x) if abs(x) < 1e18 else 0"], ["x"])

    @acc
    def _h_array(x, view, out):
        v = view(x)
        #pragma acc parallel loop
        for i in range(v.shape[0]):
            for j in range(v.shape[1]):
                out[i, j] = v[i, j] * 2 - v[-1 - i, j] // 3


@needs_hypothesis
def test_hypothesis_int_operators():
    @settings(max_examples=300, deadline=None)
    @given(_ints, _ints)
    def run(a, b):
        check(_h_int_ops, a, b)
        check(_h_int_div, a, b)

    run()


@needs_hypothesis
def test_hypothesis_float_operators():
    @settings(max_examples=300, deadline=None)
    @given(_floats, _floats)
    def run(x, y):
        with np.errstate(all="ignore"):
            try:
                expected = _h_float_ops.py_func(x, y)
            except (OverflowError, ZeroDivisionError) as e:
                with pytest.raises(type(e)):
                    _h_float_ops(x, y)
                return
        assert same(_h_float_ops(x, y), expected)
        assert same(_h_float_conv(x), _h_float_conv.py_func(x))

    run()


@needs_hypothesis
def test_hypothesis_array_views():
    @settings(max_examples=100, deadline=None)
    @given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3),
           st.booleans(), st.booleans(), st.sampled_from(["int16", "int64", "float32", "uint8"]))
    def run(n, m, s0, s1, rev, fortran, dt):
        rng = np.random.default_rng(n * 31 + m)
        x = data(rng, (n * s0, m * s1), dt)
        if fortran:
            x = np.asfortranarray(x)
        sl0 = slice(None, None, -s0) if rev else slice(None, None, s0)
        view = lambda a: a[sl0, ::s1]  # noqa: E731
        shape = view(x).shape
        with np.errstate(all="ignore"):
            check(_h_array, x, view, np.zeros(shape, dtype=dt))

    run()


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
