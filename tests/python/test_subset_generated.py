"""The Python subset inside compute regions: generated cases (seeded random
expression trees, and hypothesis where it is installed)."""

import copy
import math
import random
import re

import numpy as np
import pytest

from pyacc import acc
from conftest import check, same
from subset_helpers import check_raises, data, make, serial_expr, serial_exprs

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


# Programs whose variables change kind: each of s, t, u may hold an int, a
# float, a bool or a NumPy scalar, path by path (kinds.c), and come back
# with the type Python gives.

_KIND_LEAVES = ["a", "x", "s", "t", "u", "b", "q", "2", "-3", "0.5", "True", "1.5", "np.int32(3)"]
# with narrow NumPy scalars and bit operations too: each pair of kinds an
# operation meets computes as Python and NumPy compute it (lower_kinds.c)
_NARROW_LEAVES = _KIND_LEAVES + ["np.uint8(200)", "np.int8(-100)", "np.int16(300)", "np.uint32(4000000000)",
                                 "np.float32(0.25)", "False", "300"]
# bit operations take these only: a variable that holds a float on some
# path is a float to pyacc's types, and `&` on it a TypeError when compiled
# (as `-` of a NumPy bool is: so that one is only here)
_INT_LEAVES = ["a", "2", "-3", "True", "False", "300", "np.int32(3)", "np.uint8(200)", "np.int8(-100)",
               "np.int16(300)", "np.uint32(4000000000)", "np.bool_(True)"]


def _gen_kinds_expr(r, depth, leaves=_KIND_LEAVES):
    if depth == 0 or r.random() < 0.25:
        return r.choice(leaves)
    g = lambda: _gen_kinds_expr(r, depth - 1, leaves)  # noqa: E731
    k = r.randrange(9 if leaves is _KIND_LEAVES else 11)
    if k == 9:
        return f"({r.choice(_INT_LEAVES)} {r.choice(['&', '|', '^'])} {r.choice(_INT_LEAVES)})"
    if k == 10:
        return f"({r.choice(_INT_LEAVES)} {r.choice(['<<', '>>'])} {r.randint(0, 9)})"
    if k == 0:
        return f"({g()} {r.choice('+-*')} {g()})"
    if k == 1:
        return f"({g()} / (abs({g()}) + 1))"
    if k == 2:
        return f"({g()} // (abs({g()}) + 1))"
    if k == 3:
        return f"{r.choice(['min', 'max'])}({g()}, {g()})"
    if k == 4:
        return f"({g()} if {g()} > {g()} else {g()})"
    if k == 5:
        return f"abs({g()})"
    if k == 6:
        return f"({g()} {r.choice(['and', 'or'])} {g()})"
    if k == 7:
        return f"{r.choice(['int', 'float', 'bool'])}({g()})"
    return f"(-{g()})"


def _gen_kinds_stmt(r, indent, depth, leaves=_KIND_LEAVES):
    k = r.randrange(4)
    block = lambda: "\n".join(_gen_kinds_stmt(r, indent + "    ", depth - 1, leaves)  # noqa: E731
                               for _ in range(r.randint(1, 2)))
    if k == 0 and depth > 0:
        cond = f"{_gen_kinds_expr(r, 1, leaves)} > {_gen_kinds_expr(r, 1, leaves)}"
        return f"{indent}if {cond}:\n{block()}\n{indent}else:\n{block()}"
    if k == 1 and depth > 0:
        return f"{indent}for i in range({r.randint(0, 3)}):\n{block()}"
    return f"{indent}{r.choice('stu')} = {_gen_kinds_expr(r, 2, leaves)}"


_KIND_ARGS = [(3, 2.5, 5, 1.5, True, np.int64(4), np.float64(0.75)),
              (-2, -0.5, 0, -3, 2.0, np.int64(-1), np.float64(-2.0)),
              (0, 0.0, 7.5, 2, False, np.int64(0), np.float64(3.0))]


def _kinds_program(seed, leaves=_KIND_LEAVES):
    r = random.Random(seed)
    body = "\n".join(_gen_kinds_stmt(r, "    ", 2, leaves) for _ in range(r.randint(2, 5)))
    return ("@acc\ndef f(a, x, s, t, u, b, q):\n    #pragma acc serial\n    if True:\n"
            + "\n".join("    " + line for line in body.split("\n"))
            + "\n    #pragma acc end serial\n    return s, t, u\n")


_RAISED = (OverflowError, ZeroDivisionError, ValueError)


def _outcome(src, args):
    """What Python's run of src gives on args: ("ok", results) or
    ("raises", the exception's type); None where pyacc is not asked to
    agree (a TypeError, which pyacc reports when it compiles, for every
    path; ints past int64, which pyacc holds in an int64)."""
    g = {}
    try:
        with np.errstate(all="ignore"):
            exec(compile(src.replace("@acc\n", ""), "<kinds>", "exec"), {"np": np, "math": math}, g)
            res = g["f"](*copy.deepcopy(args))
    except _RAISED as e:
        return "raises", type(e)
    except Exception:
        return None
    if any(isinstance(v, int) and abs(v) >= 2 ** 62 for v in res):
        return None
    return "ok", res


def _kinds_programs(count, seed, leaves=_KIND_LEAVES, raising=False):
    """Programs pyacc is to agree with on every _KIND_ARGS (_outcome);
    unless raising, ones Python runs to the end on each."""
    out, k = [], seed
    while len(out) < count:
        src, k = _kinds_program(k, leaves), k + 1
        outcomes = [_outcome(src, args) for args in _KIND_ARGS]
        if all(o is not None and (raising or o[0] == "ok") for o in outcomes):
            out.append(src)
    return out


def _agrees(src):
    """pyacc gives Python's results, or raises Python's exception, on every
    _KIND_ARGS."""
    f = make(src)
    for args in _KIND_ARGS:
        kind, want = _outcome(src, args)
        with np.errstate(all="ignore"):
            if kind == "raises":
                check_raises(f, want, *args)
            else:
                check(f, *args)


KIND_PROGRAMS = _kinds_programs(40, 20261127)


@pytest.mark.parametrize("k", range(len(KIND_PROGRAMS)))
def test_generated_program_whose_variables_change_kind(k):
    _agrees(KIND_PROGRAMS[k])


NARROW_PROGRAMS = _kinds_programs(60, 20261128, _NARROW_LEAVES, raising=True)


@pytest.mark.parametrize("k", range(len(NARROW_PROGRAMS)))
def test_generated_program_mixing_narrow_numpy_scalars_with_python_numbers(k):
    # t = np.uint8(200) on one path and True on another: -t is 56 or -1,
    # t << 3 wraps or not, t + 300 raises NEP 50's OverflowError or not
    _agrees(NARROW_PROGRAMS[k])


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
