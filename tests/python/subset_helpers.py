"""Helpers shared by the test_subset_*.py files (the Python subset inside
compute regions, compiled against the plain function: every case runs f and
f.py_func on copies of the same arguments and compares results, argument
state and types (see conftest.check), and asserts the region ran compiled).

Hand-written cases pin each construct; generated cases (seeded random
expression trees, and hypothesis where it is installed) cover combinations.
Cases that fail today live in pending_subset.py (not collected), which
imports its helpers from here.

The helpers that look up a marker's line take the test's own file as path
(pass __file__): the cases and their markers live in several files."""

import atexit
import copy
import math
import os
import shutil
import tempfile
import warnings

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import run_both, same

# ------------------------------------------------------------------ helpers


def line_of(marker, path):
    """The line number in path of the line ending with `# marker`."""
    with open(path) as fh:
        hits = [n for n, t in enumerate(fh, 1) if t.rstrip().endswith("# " + marker)]
    assert len(hits) == 1, marker
    return hits[0]


def pragma_above(line, path):
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
    last traceback entry is in the test's file."""
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


def fallback_case(f, args, marker, path, also=()):
    """One warning naming path (the test's file) and the region's line, on
    the first call only; the result is right; each interpreted run counts."""
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


def type_error_case(f, args, marker, path):
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
