"""The walking skeleton: pragma loops compiled end to end on the host."""

import inspect
import pathlib
import re
import threading
import time
import warnings

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import check, same


@acc
def saxpy(a, x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_saxpy_matches_python_for_each_dtype(dtype, rng):
    x = (rng.random(1000) * 100).astype(dtype)
    y = (rng.random(1000) * 100).astype(dtype)
    a = 3 if np.dtype(dtype).kind == "i" else 2.5
    check(saxpy, a, x, y)


def test_saxpy_large_uses_threads_and_is_right(rng):
    x = rng.random(3_000_001).astype(np.float32)
    y = rng.random(3_000_001).astype(np.float32)
    check(saxpy, np.float32(1.5), x, y)


def test_second_call_compiles_nothing(rng):
    @acc
    def scale(a, x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = a * x[i]

    x = rng.random(100)
    scale(2.0, x)
    s1 = scale.stats()
    scale(3.0, x)
    s2 = scale.stats()
    assert s1["compiles"] == 1 and s2["compiles"] == 1
    assert s2["memory_hits"] == s1["memory_hits"] + 1
    scale(2.0, x.astype(np.float32))  # a new signature compiles once more
    assert scale.stats()["compiles"] == 2


def test_float32_loop_ir_is_vectorised(rng):
    x = rng.random(64).astype(np.float32)
    saxpy(2.0, x, x.copy())
    irs = saxpy.inspect_llvm()
    key = next(k for k in irs if "float32[:]" in k)
    assert re.search(r"<\d+ x float>", irs[key]), "no vector instructions in the float32 loop"
    assert "pyacc.parallel_loop" in irs[key]


def test_inspect_keys_name_line_and_signature(rng):
    x = rng.random(8)
    saxpy(1.0, x, x.copy())
    assert any(k.startswith("line ") and "(float, float64[:], float64[:])" in k
               for k in saxpy.inspect_llvm())


def test_stats_has_the_documented_keys():
    s = saxpy.stats()
    for k in ("compiles", "memory_hits", "disk_hits", "fallbacks"):
        assert k in s


# ------------------------------------------------------------ the seed

@acc()
def do_something(data, ret):
    #pragma acc parallel loop copyout=ret[0:len(data)]
    for d in data:
        ret.append(d ** 2)


@acc
def do_something_c(data, ret):
    #pragma acc parallel loop copyout(ret[0:len(data)])
    for d in data:
        ret.append(d ** 2)


@pytest.mark.parametrize("f", [do_something, do_something_c])
@pytest.mark.parametrize("data", [
    [1, 2, 3, 4, 5],
    [0.5, -1.5, 2.25],
    [],
    np.arange(10, dtype=np.float64),
    np.arange(7, dtype=np.int32),
    np.linspace(-1, 1, 1001).astype(np.float32),
])
def test_seed_example_appends_in_order(f, data):
    ret = check(f, data, [])
    r = []
    f(data, r)
    assert len(r) == len(data)


def test_seed_example_keeps_existing_items():
    r = ["x"]
    do_something([3, 4], r)
    assert r == ["x", 9, 16]


def test_append_that_is_not_once_per_iteration_is_reported():
    @acc
    def evens(data, ret):
        #pragma acc parallel loop copyout(ret[0:len(data)])
        for d in data:
            if d % 2 == 0:
                ret.append(d)

    with pytest.warns(pyacc.PyaccWarning, match="exactly once in every iteration"):
        r = []
        evens([1, 2, 3, 4], r)
    assert r == [2, 4]
    assert evens.stats()["fallbacks"] == 1


def test_strict_raises_instead_of_falling_back():
    @acc(strict=True)
    def evens(data, ret):
        #pragma acc parallel loop copyout(ret[0:len(data)])
        for d in data:
            if d % 2 == 0:
                ret.append(d)

    with pytest.raises(pyacc.UnsupportedError, match="exactly once"):
        evens([1, 2], [])


# ------------------------------------------------ the rest stays Python

def test_function_without_pragmas_is_unchanged():
    def plain(x, y=2, *rest, k=3):
        """doc"""
        return [v * y for v in x] + list(rest) + [k]

    f = acc(plain)
    assert f([1, 2], 3, 9, k=4) == plain([1, 2], 3, 9, k=4)
    assert f.__doc__ == "doc" and f.__name__ == "plain"
    assert f.stats()["regions"] == 0 and f._impl is plain


@pytest.mark.parametrize("strict", [False, True])
def test_a_function_whose_source_cannot_be_read_says_its_pragmas_are_lost(strict):
    # pragmas are comments: a function made by exec (or typed at the
    # prompt) keeps none, and runs as plain Python, said once, not silently
    src = "def f(x):\n    #pragma acc parallel loop\n    for i in range(3):\n        x[i] = 1.0\n"
    g = {}
    exec(src, g)
    if strict:
        with pytest.raises(pyacc.UnsupportedError, match="source of f cannot be read"):
            acc(strict=True)(g["f"])
        return
    with pytest.warns(pyacc.PyaccWarning, match="source of f cannot be read.*runs as plain Python"):
        f = acc(g["f"])
    x = [0.0] * 3
    f(x)
    assert x == [1.0] * 3


def test_code_around_the_region_runs_in_python(rng):
    @acc
    def f(x):
        """docstring"""
        total = sum(v for v in [1, 2, 3])        # a generator: stays Python
        y = np.empty_like(x)
        #pragma acc parallel loop
        for i in range(len(x)):
            y[i] = x[i] * total
        return {"y": y, "n": len(y)}

    x = rng.random(50)
    (r1, r2) = f(x), f.py_func(x)
    assert same(r1["y"], r2["y"]) and r1["n"] == r2["n"]
    assert f.stats()["compiles"] == 1


def test_last_value_of_a_private_scalar(rng):
    @acc
    def f(x, y):
        t = -1.0
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            t = x[i] * 2.0
            y[i] = t
        return t

    check(f, rng.random(10_000), np.zeros(10_000))
    # No iteration: t keeps its value, still the Python float it was
    check(f, np.zeros(0), np.zeros(0))


def test_arithmetic_and_comparisons(rng):
    @acc
    def f(a, b, n, out, flags):
        #pragma acc parallel loop
        for i in range(n):
            out[i] = (a[i] + b[i]) * (a[i] - b[i]) / (b[i] + 10.0)
            flags[i] = a[i] < b[i]

    a, b = rng.random(500), rng.random(500)
    check(f, a, b, 500, np.zeros(500), np.zeros(500, dtype=bool))


def test_int_scalars_and_true_division():
    @acc
    def f(n, out):
        #pragma acc parallel loop
        for i in range(n):
            out[i] = i / 3 + i * 2 - 1

    check(f, 100, np.zeros(100))


@pytest.mark.parametrize("args", [(5,), (2, 9), (9, 2, -2), (-3, 12, 4), (10, 0, -1), (4, 4)])
def test_range_forms(args):
    @acc
    def f(out, a, b, c):
        #pragma acc parallel loop
        for i in range(a, b, c):
            out[i + 20] = i

    start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    check(f, np.zeros(50, dtype=np.int64), start, stop, step)


def test_zero_division_raises_at_the_users_line():
    @acc
    def f(x, d):
        #pragma acc parallel loop
        for i in range(3):
            x[i] = i // d

    with pytest.raises(ZeroDivisionError) as info:
        f(np.zeros(3, dtype=np.int64), 0)
    tb = info.traceback[-1]
    assert tb.path.name == "test_skeleton.py"
    assert "x[i] = i // d" in str(tb.statement)


def test_read_only_output_is_an_error():
    x = np.zeros(4)
    x.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        saxpy(1.0, np.ones(4), x)


def test_gil_is_released_while_a_region_runs():
    @acc
    def spin(x, reps):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            v = x[i]
            for k in range(reps):
                v = v * 0.999999 + 1e-9
            x[i] = v

    x = np.ones(4)
    spin(x, 1)  # compile first
    count = [0]
    done = threading.Event()

    def other():
        while not done.is_set():
            count[0] += 1

    t = threading.Thread(target=other)
    t.start()
    time.sleep(0.05)
    before = count[0]
    spin(x, 60_000_000)  # about a quarter of a second per element chunk
    during = count[0] - before
    done.set()
    t.join()
    assert during > 1000, f"other thread ran {during} steps while the region ran"


def test_pragma_syntax_error_names_file_line_and_column():
    with pytest.raises(pyacc.PragmaSyntaxError) as info:
        @acc
        def f(x):
            #pragma acc parallel lop
            for i in range(3):
                x[i] = 1
    e = info.value
    assert e.filename == __file__
    lines = open(__file__).read().splitlines()
    line = next(i for i, t in enumerate(lines, 1) if t.strip() == "#pragma acc parallel lop")
    assert e.lineno == line
    assert e.offset - 1 == lines[line - 1].index("lop")
    assert "lop" in str(e)


def test_num_threads_reports_the_pool_size():
    assert pyacc.num_threads() >= 1


def test_redecorating_an_unchanged_function_compiles_nothing(rng):
    def inc(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = x[i] + 1

    f1 = acc(inc)
    f1(rng.random(5))
    f2 = acc(inc)  # a re-run notebook cell: the same region content
    f2(rng.random(5))
    assert f2.stats()["compiles"] == 1 and f2.stats()["memory_hits"] == 1


def test_a_result_the_region_may_leave_unassigned_stays_unassigned():
    @acc
    def f(x, y):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            t = x[i] * 2.0
            y[i] = t
        if x.shape[0] > 0:
            return t
        return None

    check(f, np.ones(3), np.zeros(3))
    check(f, np.ones(0), np.zeros(0))  # t never assigned, never read: no error

    @acc
    def g(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            t = x[i]
        return t

    with pytest.raises(UnboundLocalError, match="'t'"):
        g(np.ones(0))
    assert g(np.ones(2)) == 1.0


def test_reading_a_variable_before_assignment_raises_unbound_local_error():
    @acc
    def h(x, n):
        #pragma acc serial
        for i in range(n):
            if i > 1:
                x[i] = s
            s = i
        #pragma acc serial
        x[0] = q
        q = 1

    with pytest.raises(UnboundLocalError, match="'q'"):
        h(np.zeros(4), 4)
    with pytest.raises(UnboundLocalError, match="'q'"):
        h.py_func(np.zeros(4), 4)


def _square(v):
    return v * v


def _poly(v, a, b):
    if v < 0:
        return -_square(v) + a
    return _square(v) * b + a


def _fact(n):
    return 1 if n <= 1 else n * _fact(n - 1)


def _div(a, b):
    return a // b


def test_calls_to_module_functions_are_compiled_and_inlined():
    @acc
    def f(x, y):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            y[i] = _poly(x[i], 1.5, 2) + _square(i)

    check(f, np.linspace(-2, 2, 101), np.zeros(101))
    ir = next(iter(f.inspect_llvm().values()))
    assert "_square" not in ir and "_poly" not in ir  # inlined away


def test_recursion_runs_in_the_interpreter_with_a_warning():
    @acc
    def g(x):
        #pragma acc serial
        x[0] = _fact(5)

    with pytest.warns(pyacc.PyaccWarning, match="recursion"):
        z = np.zeros(1)
        g(z)
    assert z[0] == 120


def test_an_error_in_a_called_function_points_at_its_line():
    @acc
    def h(x, d):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = _div(i, d)

    with pytest.raises(ZeroDivisionError) as info:
        h(np.zeros(3, dtype=np.int64), 0)
    assert "return a // b" in str(info.traceback[-1].statement)


def test_a_list_written_in_a_region_is_copied_back():
    @acc
    def f(lst, n):
        #pragma acc parallel loop copy(lst)
        for i in range(n):
            lst[i] = lst[i] * 2 + i

    check(f, [1, 2, 3, 4], 4)
    check(f, [1.5, 2.5], 2)
    # bools times 2 are ints: Python would mix types in the list, so the
    # region runs in the interpreter rather than give another list
    with pytest.warns(pyacc.PyaccWarning, match="another type"):
        lst = [True, False]
        f(lst, 2)
    assert lst == [2, 1]


def test_assigning_into_a_tuple_is_a_type_error_before_running():
    @acc
    def g(t, x):
        #pragma acc serial
        for k in range(1):
            x[0] = 1
            t[0] = 1

    x = np.zeros(1)
    with pytest.raises(TypeError, match="does not support item assignment") as info:
        g((1, 2), x)
    assert "t[0] = 1" in str(info.value) and "^" in str(info.value)
    assert x[0] == 0  # nothing ran


#pragma acc routine seq
def _twice(v):
    return v * 2


#pragma acc routine sq
def _bad_routine(v):
    return v


def test_a_routine_function_is_compiled_where_called():
    @acc
    def f(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = _twice(x[i])

    check(f, np.arange(5.0))
    assert pyacc.regions.routine_pragma(_twice).kind == "routine"


def test_a_malformed_routine_pragma_is_reported_at_its_line():
    @acc
    def g(x):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = _bad_routine(x[i])

    with pytest.raises(pyacc.PragmaSyntaxError) as info:
        g(np.ones(2))
    lines = open(__file__).read().splitlines()
    assert lines[info.value.lineno - 1].strip() == "#pragma acc routine sq"
    assert "did you mean 'seq'" in str(info.value)


# ------------------------------------------------- the direct call path

def test_a_function_that_is_only_its_region_is_called_directly():
    @acc
    def fill(out, v):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = v * i
        return out

    @acc
    def total(x, s=0.0):
        #pragma acc parallel loop reduction(+:s)
        for i in range(x.shape[0]):
            s += x[i]
        return s

    @acc
    def nothing_back(out, v):
        #pragma acc serial
        out[0] = v

    @acc
    def not_direct(out, v):
        w = v + 1
        #pragma acc serial
        out[0] = w
        return out

    assert fill._direct is not None and total._direct is not None and nothing_back._direct is not None
    assert not_direct._direct is None
    out = np.zeros(5)
    r = fill(out, 2.0)
    assert r is out and list(out) == [0, 2, 4, 6, 8]
    x = np.arange(10.0)
    assert total(x, 1.0) == 46.0 and total(x) == 45.0  # the default takes the ordinary path
    assert total(x, s=1.0) == 46.0                      # so do keywords
    assert nothing_back(out, 7.0) is None and out[0] == 7.0
    assert not_direct(out, 1.0)[0] == 2.0
    with pytest.raises(TypeError):
        fill(out)  # the error a plain call gives


def test_constant_clause_values_are_folded_so_the_region_is_still_called_directly():
    # num_gangs(4) vector_length(64) as constants: computed once, passed by
    # the dispatcher after the arguments; a value from a variable, or one
    # the launch refuses, is computed (and refused) at each call instead
    @acc
    def shaped(out, v):
        #pragma acc parallel loop num_gangs(4) vector_length(64) present(out)
        for i in range(out.shape[0]):
            out[i] = v * i
        return out

    @acc
    def gangs_of(out, g):
        #pragma acc parallel loop num_gangs(g)
        for i in range(out.shape[0]):
            out[i] = i + 1.0

    @acc
    def refused(out):
        #pragma acc parallel loop num_gangs(-2)
        for i in range(out.shape[0]):
            out[i] = 1.0

    assert shaped._direct is not None and shaped._direct_extra == (4, 4 | 64 << 44)
    assert gangs_of._direct is None and refused._direct is None
    out = np.zeros(300)
    pyacc.acc_copyin(out)
    try:
        assert shaped(out, 2.0) is out
        if pyacc.acc_get_device_type() == pyacc.acc_device_nvidia:
            assert pyacc._pyacc.gpu_last_launch() == (4, 64, 1)
        pyacc.acc_update_self(out)
        assert np.array_equal(out, shaped.py_func(np.zeros(300), 2.0))
    finally:
        pyacc.acc_delete(out)
    gangs_of(out, 3)
    assert np.array_equal(out, np.arange(1.0, 301.0))
    with pytest.raises(ValueError, match="num_gangs must be positive, not -2") as info:
        refused(out)
    lines, first = inspect.getsourcelines(refused.py_func)
    pragma = first + next(k for k, ln in enumerate(lines) if "num_gangs(-2)" in ln)
    assert [e.lineno + 1 for e in info.traceback if e.path == pathlib.Path(__file__)][-1] == pragma
