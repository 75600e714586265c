"""Tiered compilation on the host: a first call on little data runs quick
code while the O3 code is made on a background thread, which then takes
over; only O3 code reaches the disk cache.  PYACC_TIER picks the mode (the
rest of the suite runs with one fixed: conftest.py)."""

import gc
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading

import numpy as np
import pytest

import pyacc
from pyacc import _pyacc, acc

PYACC_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(pyacc.__file__)))


@pytest.fixture(autouse=True)
def host_auto(monkeypatch):
    # the regions here are the host's (device="host"): a run of the suite on a GPU too
    monkeypatch.setenv("PYACC_TIER", "auto")
    monkeypatch.setenv("PYACC_CACHE_DIR", "")  # this process: no disk cache (subprocess tests set one)
    _pyacc.cache_reset()
    yield
    pyacc.wait_optimised()
    _pyacc.cache_reset()


def code_of(f):
    """What each signature of f's region runs now, and its background O3 compile's ms."""
    return [(dict(zip(s[2::2], s[3::2]))["code"], dict(zip(s[2::2], s[3::2]))["o3_ms"])
            for s in f._regions[0].signatures()]


_made = []


def make_saxpy(scale=1.0):
    """A region of its own (a file of its own: pyacc reads pragmas from the source), so that no
    test finds another's entry."""
    path = os.path.join(tempfile.mkdtemp(prefix="pyacc-tier-"), f"saxpy{len(_made)}.py")
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(f'''
            def saxpy(a, x, y):
                #pragma acc parallel loop
                for i in range(x.shape[0]):
                    y[i] = a * x[i] + y[i] * {scale!r}
        '''))
    ns = {}
    with open(path) as fh:
        exec(compile(fh.read(), path, "exec"), ns)
    _made.append(path)
    return ns["saxpy"]


# acc reads the pragmas from a function's source: the functions are in this file

@acc(device="host")
def scaled_sum(a, x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i] * 0.5


@acc(device="host")
def stencil(u, v):
    #pragma acc parallel loop collapse(2)
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            v[i, j] = 0.25 * (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1])


@acc(device="host")
def count_to(n, x):
    s = 0.0
    #pragma acc parallel loop reduction(+:s)
    for i in range(n):
        s += x[i % x.shape[0]]
    return s


def run_and_check(f, *args):
    ref = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    got = f(*args)
    want = f.py_func(*ref)
    for a, b in zip(args, ref):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
    assert got == want


def test_a_small_first_call_runs_quick_code_and_the_o3_code_takes_over():
    before = _pyacc.tier_info()["optimised"]
    x, y = np.arange(1000.0), np.ones(1000)
    run_and_check(scaled_sum, 2.5, x, y)
    pyacc.wait_optimised()
    [(code, o3_ms)] = code_of(scaled_sum)
    assert code == "O3" and o3_ms > 0  # made in the background, after the quick code ran
    assert _pyacc.tier_info()["optimised"] == before + 1
    for _ in range(3):  # the O3 code now: the same results
        run_and_check(scaled_sum, 2.5, x, y)
    assert scaled_sum.stats()["compiles"] == 1


def test_a_first_call_on_big_data_waits_for_the_o3_code():
    before = _pyacc.tier_info()["optimised"]
    f = acc(make_saxpy(), device="host")
    x, y = np.arange(200_000.0), np.ones(200_000)
    run_and_check(f, 1.5, x, y)
    [(code, o3_ms)] = code_of(f)
    assert code == "O3" and o3_ms == 0  # compiled before the call, not in the background
    assert _pyacc.tier_info()["optimised"] == before


def test_the_estimate_raises_the_largest_extent_to_the_loop_depth():
    # 200 x 200 under two loops: 40,000 <= 65,536, quick first; 300 x 300: 90,000, O3 first
    small = np.random.default_rng(1).random((200, 200))
    run_and_check(stencil, small, np.zeros_like(small))
    big = np.random.default_rng(2).random((300, 300)).astype(np.float32)
    run_and_check(stencil, big, np.zeros_like(big))
    pyacc.wait_optimised()
    codes = code_of(stencil)
    assert codes[0][0] == "O3" and codes[0][1] > 0, codes
    assert codes[1] == ("O3", 0), codes


def test_an_int_argument_counts_as_a_loop_bound():
    x = np.arange(8.0)
    assert count_to(1_000_000, x) == count_to.py_func(1_000_000, x)
    assert code_of(count_to) == [("O3", 0)]


def test_quick_mode_keeps_the_quick_code(monkeypatch):
    monkeypatch.setenv("PYACC_TIER", "quick")
    f = acc(make_saxpy(), device="host")
    x, y = np.arange(100.0), np.ones(100)
    run_and_check(f, 3.0, x, y)
    pyacc.wait_optimised()
    assert code_of(f) == [("quick", 0)]
    run_and_check(f, 3.0, x, y)


def test_optimised_mode_compiles_o3_before_the_first_call(monkeypatch):
    monkeypatch.setenv("PYACC_TIER", "optimised")
    f = acc(make_saxpy(), device="host")
    run_and_check(f, 3.0, np.arange(100.0), np.ones(100))
    assert code_of(f) == [("O3", 0)]


def test_compile_ahead_of_a_call_makes_o3_code_in_any_mode(monkeypatch):
    monkeypatch.setenv("PYACC_TIER", "quick")
    f = acc(make_saxpy(), device="host")
    assert f._regions[0].compile((1.0, np.ones(4), np.ones(4)))
    assert code_of(f) == [("O3", 0)]


def test_a_region_freed_before_its_o3_code_is_made():
    for _ in range(3):
        f = acc(make_saxpy(), device="host")
        run_and_check(f, 2.0, np.arange(50.0), np.ones(50))
        del f
        gc.collect()
    pyacc.wait_optimised()  # the detached compiles finish and free their code
    f = acc(make_saxpy(), device="host")
    run_and_check(f, 2.0, np.arange(50.0), np.ones(50))


def test_threads_calling_new_regions_while_o3_code_is_made():
    fs = [acc(make_saxpy(), device="host") for _ in range(6)]
    errors = []

    def work(f, k):
        try:
            for r in range(20):
                x, y = np.arange(64.0) + k, np.full(64, float(r))
                ref = y.copy()
                f(1.5, x, y)
                f.py_func(1.5, x, ref)
                np.testing.assert_array_equal(y, ref)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(f, k)) for k, f in enumerate(fs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    pyacc.wait_optimised()
    assert all(code_of(f)[0][0] == "O3" for f in fs)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_child_forked_while_o3_code_is_made_keeps_its_quick_code_and_compiles():
    import time
    x = np.arange(300.0)
    for attempt in range(3):  # forks at different moments of the background compile
        f = acc(make_saxpy(), device="host")
        g = acc(make_saxpy(2.0), device="host")
        y = np.ones(300)
        f(2.0, x, y)
        time.sleep(0.005 * attempt)
        pid = os.fork()
        if pid == 0:  # the child: runs f, compiles g both ways (the JIT's locks are free), leaves
            code = 1
            try:
                z = np.ones(300)
                f(2.0, x, z)
                ok = np.array_equal(z, 2.0 * x + 1.0)
                w = np.ones(300)
                g(1.0, x, w)
                os.environ["PYACC_TIER"] = "optimised"
                g(1.0, x.astype(np.float32), w.astype(np.float32))
                ok = ok and np.array_equal(w, x + 2.0)
                pyacc.wait_optimised()
                code = 0 if ok else 2
            finally:
                os._exit(code)
        deadline = time.monotonic() + 120
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            time.sleep(0.01)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        pyacc.wait_optimised()
        assert code_of(f)[0][0] == "O3"


PROGRAM = '''
import json, sys, warnings
import numpy as np
warnings.simplefilter("always")
import pyacc
from pyacc import acc

@acc(device="host")
def kernel(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = x[i] * 3.0 + 1.0

x = np.arange(1000.0)
y = np.zeros(1000)
kernel(x, y)
ok = bool(np.array_equal(y, x * 3.0 + 1.0))
sig = kernel._regions[0].signatures()[0]
print(json.dumps({"stats": kernel.stats(), "ok": ok, "code": dict(zip(sig[2::2], sig[3::2]))["code"]}))
'''


def run_program(tmp_path, cache, env=None):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    e = dict(os.environ, PYACC_CACHE_DIR=str(cache), PYTHONPATH=PYACC_ROOT, ACC_DEVICE_TYPE="host",
             PYACC_TIER="auto", **(env or {}))
    out = subprocess.run([sys.executable, str(prog)], env=e, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["ok"], res
    return res, out.stderr


def test_a_process_that_exits_right_after_quick_code_still_saves_the_o3_code(tmp_path):
    cache = tmp_path / "cache"
    first, _ = run_program(tmp_path, cache)
    assert first["stats"]["compiles"] == 1
    second, _ = run_program(tmp_path, cache)
    assert second["stats"]["compiles"] == 0 and second["stats"]["disk_hits"] == 1
    assert second["code"] == "O3"
    listing = subprocess.run([sys.executable, "-m", "pyacc", "cache", "list", "--json"], capture_output=True,
                             text=True, env=dict(os.environ, PYACC_CACHE_DIR=str(cache), PYTHONPATH=PYACC_ROOT))
    rows = json.loads(listing.stdout)
    assert len(rows) == 1 and rows[0]["qualname"] == "kernel"


def test_the_o3_code_not_saved_costs_a_warning_at_exit(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "entries").write_text("in the way")
    res, err = run_program(tmp_path, cache)
    assert res["stats"]["compiles"] == 1
    assert "saving its optimised code to the disk cache in the background failed" in err, err


def _loops_nested(n):
    s = 0
    for i in range(n):
        j = 0
        while j < i:
            for k in range(j):
                if k % 3 == 0:
                    continue
                s += k
            j += 1
    return s


def test_back_edges_read_off_the_bytecode_agree_with_dis():
    import ast
    import dis
    import inspect as ins
    from pyacc import regions
    codes = [_loops_nested.__code__, make_saxpy.__code__, run_and_check.__code__]
    for mod in (ast, ins, dis, json, textwrap):
        codes += [f.__code__ for f in vars(mod).values() if isinstance(f, type(make_saxpy))]
    edges = 0
    for code in codes:
        want = [(i.argval, i.offset) for i in dis.get_instructions(code)
                if "JUMP_BACKWARD" in i.opname]
        assert regions._back_edges(code) == want, code
        edges += len(want)
    assert edges > 50
    assert regions._own_loop_depth(_loops_nested.__code__) == 3


def test_the_loop_depth_counts_functions_called_as_nested():
    from pyacc import regions
    g = {}
    exec(textwrap.dedent("""
        def inner(v):
            for _ in range(3):
                v += 1
            return v

        def outer(x):
            for i in range(len(x)):
                x[i] = inner(x[i])
    """), g)
    assert regions.loop_depth(g["outer"].__code__, g) == 2
    del g["inner"]  # not bound (yet): its loops unknown, not counted
    assert regions.loop_depth(g["outer"].__code__, g) == 1
