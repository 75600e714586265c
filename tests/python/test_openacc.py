"""OpenACC 2.7 on the host device: constructs, clauses and directives, each
checked against the plain function (or, where parallel execution may order
floating-point operations differently, against the exact answer)."""

import re

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import HAS_GPU, check
from subset_helpers import make


# more threads than cores, so that chunks really interleave (conftest.py)
pytestmark = pytest.mark.usefixtures("many_threads")


# ---------------------------------------------------------------- atomics

def test_atomic_update_of_array_elements_under_contention():
    @acc
    def hist(v, h):
        #pragma acc parallel loop
        for i in range(v.shape[0]):
            #pragma acc atomic update
            h[v[i] % 16] += 1

    h = np.zeros(16, dtype=np.int64)
    hist(np.arange(1_000_000, dtype=np.int64), h)
    assert np.all(h == 62_500)


@acc
def atomic_hist(v, h):
    #pragma acc parallel loop
    for i in range(v.shape[0]):
        #pragma acc atomic update
        h[v[i] % h.shape[0]] += 1


@acc
def atomic_hist_read(v, h, seen):
    #pragma acc parallel loop
    for i in range(v.shape[0]):
        #pragma acc atomic update
        h[v[i] % h.shape[0]] += 1
        seen[i] = len(h)  # a use other than an update (its shape would be one it shares)


def test_atomic_updates_of_a_small_array_go_to_thread_copies_on_the_host():
    # no two threads contend for a cache line: each counts into a copy of
    # its own, the copies summed after the loop (the notes say so)
    v = np.random.default_rng(5).integers(0, 1 << 30, 1_000_003)
    h = np.zeros(256, np.int64)
    atomic_hist(v, h)
    assert np.array_equal(h, np.bincount(v % 256, minlength=256))
    notes = "".join(atomic_hist.notes().values())
    assert "atomic updates of 'h' go to each thread's copy" in notes, notes
    if pyacc.acc_get_device_type() != pyacc.acc_device_nvidia:
        # in its own copy a thread adds without a locked instruction; the
        # atomic add stays for an array too large to copy
        ir = "\n".join(atomic_hist.inspect_llvm().values())
        body = re.search(r"\ndefine internal void @[\w.]+\.loop\d+\(.*?\n\}", ir, re.S).group(0)
        assert "atomicrmw add" in body and re.search(r"^\s*store i64 ", body, re.M), body


def test_atomic_updates_of_a_large_array_stay_atomic_on_the_array():
    # 8 threads x 2^18 elements is past what the copies may take: the
    # threads update the array itself, and the answer is the same
    v = np.random.default_rng(6).integers(0, 1 << 30, 500_000)
    h = np.zeros(1 << 18, np.int64)
    atomic_hist(v, h)
    assert np.array_equal(h, np.bincount(v % (1 << 18), minlength=1 << 18))
    h2 = np.ones(3, np.int64)  # and a small one starting from non-zero counts
    atomic_hist(v[:1000], h2)
    assert np.array_equal(h2, 1 + np.bincount(v[:1000] % 3, minlength=3))


def test_an_array_used_otherwise_too_is_not_copied():
    v = np.arange(10_000)
    h, seen = np.zeros(7, np.int64), np.zeros(10_000, np.int64)
    atomic_hist_read(v, h, seen)
    assert np.array_equal(h, np.bincount(v % 7, minlength=7)) and (seen == 7).all()
    assert "thread's copy" not in "".join(atomic_hist_read.notes().values())


def test_atomic_float_update_by_compare_and_swap():
    @acc
    def f(v, h):
        #pragma acc parallel loop
        for i in range(v.shape[0]):
            #pragma acc atomic
            h[v[i] % 7] = h[v[i] % 7] + 0.5

    check(f, np.arange(200_000, dtype=np.int64), np.zeros(7))


def test_atomic_update_of_a_shared_scalar():
    @acc
    def count(n):
        c = 0
        #pragma acc parallel loop
        for i in range(n):
            #pragma acc atomic update
            c += 1
        return c

    assert count(1_000_000) == 1_000_000


def test_atomic_capture_gives_each_iteration_its_own_ticket():
    @acc
    def tickets(n, out):
        t = 0
        #pragma acc parallel loop
        for i in range(n):
            #pragma acc atomic capture
            mine = t
            t += 1
            #pragma acc end atomic
            out[mine] = i
        return t

    out = np.full(100_000, -1, dtype=np.int64)
    assert tickets(100_000, out) == 100_000
    assert np.array_equal(np.sort(out), np.arange(100_000))  # a serial order


def test_atomic_capture_of_the_new_value():
    @acc
    def f(n, out):
        t = 0
        #pragma acc parallel loop
        for i in range(n):
            #pragma acc atomic capture
            t += 2
            mine = t
            #pragma acc end atomic
            out[mine // 2 - 1] = 1
        return t

    out = np.zeros(50_000, dtype=np.int64)
    assert f(50_000, out) == 100_000 and out.all()


def test_atomic_max():
    @acc
    def f(x, m):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            #pragma acc atomic update
            m[0] = max(m[0], x[i])

    x = np.random.default_rng(1).random(300_000)
    m = np.array([-1.0])
    f(x, m)
    assert m[0] == x.max()


def test_atomic_read_and_write():
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            #pragma acc atomic read
            v = x[0]
            #pragma acc atomic write
            out[i] = v + i

    check(f, np.array([5.0, 1.0, 2.0]), np.zeros(3))


def test_atomic_on_something_else_is_a_syntax_error():
    with pytest.raises(pyacc.PragmaSyntaxError, match="atomic"):
        @acc
        def f(x):
            #pragma acc parallel loop
            for i in range(x.shape[0]):
                #pragma acc atomic update
                if x[i] > 0:
                    x[i] = 1


# ------------------------------------------------- compute construct clauses

def _tickets_src(clauses, device=None):
    return make(f"""
@acc{f'(device="{device}")' if device else ''}
def f(n, out, c):
    t = 0
    #pragma acc parallel loop {clauses}
    for i in range(n):
        #pragma acc atomic capture
        mine = t
        t += 1
        #pragma acc end atomic
        out[mine] = i
    return t
""")


@pytest.mark.parametrize("clauses,c", [("if(c)", False), ("self(c)", True), ("self", 0),
                                       ("num_gangs(c)", 1), ("if(c) self(True)", False)])
def test_if_false_and_self_run_on_the_local_thread_in_order(clauses, c):
    # num_gangs(1) is one thread on the host; on a GPU, one block of many
    f = _tickets_src(clauses, "host" if clauses.startswith("num_gangs") else None)
    out = np.full(200_000, -1, dtype=np.int64)
    assert f(200_000, out, c) == 200_000
    assert np.array_equal(out, np.arange(200_000))  # one thread: tickets in iteration order


@pytest.mark.parametrize("gangs", [1, 2, 3, 5, 64])
def test_num_gangs_gives_the_same_results(gangs):
    f = make("""
@acc
def f(x, y, g):
    s = 0
    #pragma acc parallel loop num_gangs(g) reduction(+:s)
    for i in range(x.shape[0]):
        y[i] = x[i] * 2
        s += x[i]
    return s
""")
    check(f, np.arange(10_001, dtype=np.int64), np.zeros(10_001, dtype=np.int64), gangs)


def test_num_workers_and_vector_length_are_accepted():
    f = make("""
@acc
def f(x):
    #pragma acc parallel loop num_workers(4) vector_length(128) gang vector
    for i in range(x.shape[0]):
        x[i] = x[i] + 1
""")
    check(f, np.arange(1000.0))


def test_device_type_selects_the_clauses_for_the_host():
    f = _tickets_src("device_type(nvidia) num_gangs(1000) device_type(host) num_gangs(c)", "host")
    out = np.full(50_000, -1, dtype=np.int64)
    f(50_000, out, 1)
    assert np.array_equal(out, np.arange(50_000))  # the host's num_gangs(1) applied


def test_construct_reduction_reaches_the_loop_inside():
    f = make("""
@acc
def f(x):
    s = 0
    #pragma acc parallel reduction(+:s)
    for i in range(x.shape[0]):
        s += x[i]
    return s
""")
    f2 = make("""
@acc
def f(x):
    s = 0
    #pragma acc parallel reduction(+:s)
    #pragma acc loop
    for i in range(x.shape[0]):
        s += x[i]
    return s
""")
    check(f, np.arange(100_000))
    check(f2, np.arange(100_000))


def test_private_clause_promises_each_iteration_sets_the_variable():
    f = make("""
@acc
def f(x, y):
    t = 0.0
    #pragma acc parallel loop private(t)
    for i in range(x.shape[0]):
        t = x[i] * 2
        y[i] = t + 1
""")
    check(f, np.arange(1000.0), np.zeros(1000))


def test_default_none_names_what_is_missing():
    with pytest.raises(pyacc.PragmaSyntaxError, match="'y'") as info:
        make("""
@acc
def f(x, y):
    #pragma acc parallel loop default(none) copyin(x)
    for i in range(x.shape[0]):
        y[i] = x[i]
""")
    assert "default(none)" in str(info.value)
    f = make("""
@acc
def f(x, y):
    #pragma acc parallel loop default(none) copyin(x) copyout(y)
    for i in range(x.shape[0]):
        y[i] = x[i]
""")
    check(f, np.arange(10.0), np.zeros(10))


# ---------------------------------------------------------------- kernels

def _notes(f):
    """The notes of f's compiled regions, one string."""
    return "\n".join(f.notes().values())


def test_kernels_runs_an_independent_loop_in_parallel():
    @acc
    def f(x, y):
        #pragma acc kernels
        for i in range(x.shape[0]):
            y[i] = 2.0 * x[i] + 1.0
        return y

    check(f, np.arange(100_000.0), np.zeros(100_000))
    assert "loop runs in parallel (its iterations are independent)" in _notes(f)


def test_kernels_keeps_a_recurrence_in_order():
    @acc
    def f(a):
        #pragma acc kernels
        for i in range(1, a.shape[0]):
            a[i] = a[i - 1] + 1
        return a

    out = check(f, np.zeros(200_000, dtype=np.int64))
    assert out[-1] == 199_999
    assert "loop runs in order: 'a' is written and read at different indices" in _notes(f)


def test_kernels_keeps_a_carried_scalar_in_order_without_falling_back():
    @acc
    def f(x):
        s = 0.0
        #pragma acc kernels
        for i in range(x.shape[0]):
            s = s * 0.5 + x[i]
        return s

    check(f, np.random.default_rng(0).random(10_000))
    assert "'s' carries a value from one iteration to the next" in _notes(f)


def test_kernels_reduction_clause_makes_the_loop_parallel():
    @acc
    def f(x):
        s = 0
        #pragma acc kernels loop reduction(+:s)
        for i in range(x.shape[0]):
            s += x[i] * x[i]
        return s

    check(f, np.arange(100_000, dtype=np.int64))
    assert "in parallel" in _notes(f)


def test_kernels_sees_through_overlapping_arguments():
    @acc
    def shift(dst, src):
        #pragma acc kernels
        for i in range(dst.shape[0]):
            dst[i] = src[i] + 1
        return dst

    # dst[i] = dst[i-1] + 1 in disguise: only correct in order
    x = np.zeros(100_001, dtype=np.int64)
    y = x.copy()
    shift(x[1:], x[:-1])
    shift.py_func(y[1:], y[:-1])
    assert np.array_equal(x, y) and x[-1] == 100_000
    assert "'dst' overlaps another argument in memory" in _notes(shift)
    # the same region on separate arrays is compiled apart, and parallel
    check(shift, np.zeros(1000, dtype=np.int64), np.arange(1000, dtype=np.int64))
    assert "(its iterations are independent)" in _notes(shift)


def test_kernels_parallelises_the_outer_of_two_loops_over_rows():
    @acc
    def f(a, out):
        #pragma acc kernels
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[i, j] = a[i, j] * 2 + a[i][j]
        return out

    check(f, np.arange(300 * 200.0).reshape(300, 200), np.zeros((300, 200)))
    notes = f.notes()
    text = _notes(f)
    assert text.count("in parallel") == 1, notes


def test_kernels_inner_loop_is_parallel_when_the_outer_carries():
    @acc
    def f(a):
        #pragma acc kernels
        for t in range(1, a.shape[0]):
            for j in range(a.shape[1]):
                a[t, j] = a[t - 1, j] + j
        return a

    check(f, np.ones((50, 1000)))
    text = _notes(f)
    assert "written and read at different indices" in text and "in parallel" in text


@pytest.mark.parametrize("body,why", [
    ("a[i % 3] += x[i]", "does not move with 'i'"),
    ("a[0] = x[i]", "does not move with 'i'"),
    ("a[i] = x[i]\n        if a[i] > 5: break", None),
    ("put(a, i, x[i])", "which writes an array"),
])
def test_kernels_leaves_loops_it_cannot_prove_in_order(body, why):
    f = make(f"""
def put(a, i, v):
    a[i] = v

@acc
def f(a, x):
    #pragma acc kernels
    for i in range(x.shape[0]):
        {body}
    return a
""")
    check(f, np.zeros(1000), np.arange(1000.0))
    text = _notes(f)
    assert "in order" in text and "in parallel" not in text
    if why:
        assert why in text


def test_loop_auto_inside_parallel_is_analysed_like_kernels():
    @acc
    def f(a, b):
        #pragma acc parallel loop auto
        for i in range(1, a.shape[0]):
            a[i] = a[i - 1] + b[i]
        return a

    check(f, np.zeros(10_000), np.ones(10_000))
    assert "in order" in _notes(f)


def test_pyacc_debug_prints_the_decisions(monkeypatch, capfd):
    monkeypatch.setenv("PYACC_DEBUG", "1")

    @acc
    def f(x):
        #pragma acc kernels
        for i in range(x.shape[0]):
            x[i] += 1
        return x

    check(f, np.zeros(10))
    err = capfd.readouterr().err
    assert "loop runs in parallel" in err and "test_openacc.py" in err


# ------------------------------------------------- routines in regions

from pyacc import acc_device_host, acc_device_nvidia, acc_device_not_host, acc_on_device  # noqa: E402


def test_acc_on_device_inside_a_region():
    @acc(device="host")  # its GPU answer is in gpu_cases.py
    def f(out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = (acc_on_device(acc_device_host) * 100 + acc_on_device(acc_device_nvidia) * 10
                      + acc_on_device(acc_device_not_host) + (pyacc._OPENACC == 201811) * 1000)
        return out

    got = check(f, np.zeros(4, dtype=np.int64))
    assert list(got) == [1100] * 4


def test_acc_on_device_through_the_module_and_a_runtime_argument():
    @acc(device="host")
    def f(out, dev):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            out[i] = pyacc.acc_on_device(dev + i - i)
        return out

    for dev in (pyacc.acc_device_none, pyacc.acc_device_host, pyacc.acc_device_nvidia):
        check(f, np.zeros(3, dtype=np.int64), int(dev))


# ------------------------------------------------------ pragma syntax

_BAD = [
    ("#pragma acc paralel loop", "paralel", "directive"),
    ("#pragma acc parallel loop copyy(x)", "copyy", "clause"),
    ("#pragma acc serial loop num_gangs(2)", "num_gangs", "serial"),
    ("#pragma acc parallel loop copy(x[0:3)", "[", ""),
    ("#pragma acc parallel loop reduction(-:s)", "-", "reduction"),
    ("#pragma acc parallel loop collapse(3)", "collapse", "3"),
]


@pytest.mark.parametrize("pragma,at,word", _BAD)
def test_malformed_pragmas_raise_at_file_line_and_column(pragma, at, word):
    src = f"""
@acc
def f(x):
    s = 0
    {pragma}
    for i in range(x.shape[0]):
        for j in range(2):
            s += x[i]
    return s
"""
    with pytest.raises(pyacc.PragmaSyntaxError) as info:
        make(src)
    e = info.value
    assert isinstance(e, SyntaxError)
    assert e.filename.endswith(".py") and open(e.filename).read() == src
    assert e.lineno == 5, str(e)
    col = src.splitlines()[4].index(at)
    assert e.offset - 1 <= col, (e.offset, col, str(e))
    assert word in str(e)


def test_a_loop_directive_must_be_followed_by_a_for():
    with pytest.raises(pyacc.PragmaSyntaxError, match="for loop") as info:
        make("""
@acc
def f(x):
    #pragma acc parallel loop
    x[0] = 1
""")
    assert info.value.lineno == 4


def test_clause_spellings_continuations_and_end_closings():
    # spaces or commas between clauses, `clause=value`, a backslash
    # continuation, stacked pragmas and an `end parallel` closing
    f = make("""
@acc
def f(x, y, n):
    s = 0
    #pragma acc data copyin(x[0:n]), copy=y[0:n]
    #pragma acc parallel num_gangs(n // 4), vector_length(32) \\
    #    reduction(+:s)
    #pragma acc loop gang vector
    for i in range(n):
        y[i] = x[i] + 1
        s += x[i]
    #pragma acc loop
    for i in range(n):
        y[i] *= 2
    #pragma acc end parallel
    return s
""")
    check(f, np.arange(1000.0), np.zeros(1000), 1000)
    assert f.stats()["fallbacks"] == 0


# ---------------------------------------------------------- loop clauses

@pytest.mark.parametrize("clauses", ["gang", "gang(num:8)", "worker(4)", "vector(128)",
                                     "gang worker vector", "gang(static:*)", "independent",
                                     "auto", "seq", "tile(8, 4)", "tile(*, *)", "collapse(2)",
                                     "collapse(2) gang vector"])
def test_loop_clauses_on_a_2d_nest(clauses):
    f = make(f"""
@acc
def f(a, out):
    #pragma acc parallel loop {clauses}
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * 2 + i - j
    return out
""")
    check(f, np.arange(37 * 41.0).reshape(37, 41), np.zeros((37, 41)))


def test_nested_gang_worker_vector_levels():
    f = make("""
@acc
def f(a, out):
    #pragma acc parallel
    #pragma acc loop gang
    for i in range(a.shape[0]):
        #pragma acc loop worker
        for j in range(a.shape[1]):
            #pragma acc loop vector
            for k in range(a.shape[2]):
                out[i, j, k] = a[i, j, k] + i * j * k
    #pragma acc end parallel
    return out
""")
    check(f, np.arange(5 * 6 * 70.0).reshape(5, 6, 70), np.zeros((5, 6, 70)))
    notes = "\n".join(f.notes().values())
    assert notes.count("in parallel") == 1  # the outer level across cores
    ir = "\n".join(f.inspect_llvm().values())
    assert re.search(r"<\d+ x double>", ir), "the innermost (vector) loop is not vectorised"


def test_prefix_sums_under_serial_loop_seq():
    f = make("""
@acc
def f(x, out):
    #pragma acc serial loop seq
    for i in range(1, x.shape[0]):
        out[i] = out[i - 1] + x[i]
    return out
""")
    x = np.arange(100_000, dtype=np.int64)
    got = check(f, x, np.zeros(100_000, dtype=np.int64))
    assert np.array_equal(got[1:], np.cumsum(x)[1:])


def test_firstprivate_brings_the_value_from_before_the_loop():
    f = make("""
@acc
def f(x, y, t):
    #pragma acc parallel loop firstprivate(t)
    for i in range(x.shape[0]):
        y[i] = t * x[i]
    return y
""")
    check(f, np.arange(100.0), np.zeros(100), -5.0)


def test_a_carried_variable_is_named_in_the_warning():
    f = make("""
@acc
def f(x, y, t):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        if i % 2:
            t = x[i]
        y[i] = t
    return y
""")
    with pytest.warns(pyacc.PyaccWarning, match="'t' carries a value"):
        check_fallback = f(np.arange(10.0), np.zeros(10), 1.0)
    assert np.array_equal(check_fallback, f.py_func(np.arange(10.0), np.zeros(10), 1.0))


def test_pyacc_num_threads_from_the_environment(tmp_path):
    import subprocess
    import sys
    import os
    script = tmp_path / "n.py"
    script.write_text("import pyacc; print(pyacc.num_threads())\n")
    env = dict(os.environ, PYACC_NUM_THREADS="3")
    out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "3"


# ------------------------------------------------------------ schedules

def test_uneven_work_is_balanced_and_correct():
    f = make("""
@acc
def f(out):
    total = 0
    #pragma acc parallel loop reduction(+:total)
    for i in range(out.shape[0]):
        k = 0
        for j in range(i * i // 50):
            k += j % 7
        out[i] = k
        total += k
    return total
""")
    check(f, np.zeros(2000, dtype=np.int64))


def test_float_reductions_give_the_same_bits_every_call():
    f = make("""
@acc
def f(x):
    s = 0.0
    #pragma acc parallel loop reduction(+:s)
    for i in range(x.shape[0]):
        s += x[i] * (1 + (i * i) % 97)
    return s
""")
    x = np.random.default_rng(7).random(300_001)
    first = f(x)
    assert all(f(x) == first for _ in range(30))
    assert first == pytest.approx(f.py_func(x), rel=1e-12)


# ------------------------------------------------------------- collapse

_COLLAPSE2 = """
@acc
def f(a, out):
    #pragma acc parallel loop collapse(2)
    for i in range(a.shape[0]):
        for j in range(1, a.shape[1], 2):
            out[i, j] = a[i, j] * 2 + i - j
    return out
"""


@pytest.mark.parametrize("shape", [(3, 1001), (1, 5), (2, 0), (0, 4), (7, 3), (2, 2)])
def test_collapse_runs_the_nest_as_one_space(shape):
    f = make(_COLLAPSE2)
    a = np.random.default_rng(0).random(shape)
    check(f, a, np.zeros(shape))
    assert "the collapse(2) nest runs as one iteration space" in "\n".join(f.notes().values())


def test_collapse_3_with_a_float_reduction_repeats_exactly():
    f = make("""
@acc
def f(a, n):
    s = 0.0
    #pragma acc parallel loop collapse(3) reduction(+:s)
    for i in range(a.shape[0]):
        for j in range(n):
            for k in range(a.shape[2] - 1, -1, -1):
                s += a[i, j, k] * (i + 1) / (j + k + 1)
    return s
""")
    a = np.random.default_rng(1).random((2, 5, 3001))
    first = f(a, 5)
    assert first == pytest.approx(f.py_func(a, 5), rel=1e-12)
    assert all(f(a, 5) == first for _ in range(10))
    assert f(a, 0) == 0.0
    assert "collapse(3) nest runs as one iteration space" in "\n".join(f.notes().values())


_COLLAPSE3_INDEX = """
@acc
def f(out, n, m, p):
    #pragma acc parallel loop collapse(3)
    for i in range(n):
        for j in range(m):
            for k in range(p):
                out[(i * m + j) * p + k] = i * 1000003 + j * 1009 + k
    return out
"""


@pytest.mark.parametrize("m,p", [(1, 1), (2, 3), (3, 5), (7, 8), (9, 31), (32, 33), (1, 641), (1023, 2),
                                 (1024, 1), (1025, 3), (65537, 1), (5, 65536)])
def test_collapse_unflattens_every_point_of_the_space_right(m, p):
    # the inner counts are divisors of the flat index (a multiplication by
    # their magic numbers): odd ones, powers of two and their neighbours
    f = make(_COLLAPSE3_INDEX)
    n = max(1, 400_000 // (m * p))
    check(f, np.zeros(n * m * p, np.int64), n, m, p)


def test_collapse_over_2_to_the_32_points_divides_the_long_way():
    # a space too large for 32-bit magic numbers: each flat index divided
    f = make("""
@acc
def f(n, m):
    s = 0
    t = 0
    #pragma acc parallel loop collapse(2) reduction(+:s, t)
    for i in range(n):
        for j in range(m):
            s += i
            t += j
    return s, t
""")
    n, m = 3, (1 << 31) + 11  # 6.4e9 points: the interpreter is not asked
    assert f(n, m) == (m * n * (n - 1) // 2, n * m * (m - 1) // 2)


@pytest.mark.parametrize("body,tail,why", [
    ("for j in range(i, a.shape[1]):", "", "triangular"),
    ("for j in range(a.shape[1]):", "last = i", "i used after"),
])
def test_collapse_of_a_nest_that_does_not_qualify_still_runs_right(body, tail, why):
    f = make(f"""
@acc
def f(a, out):
    last = -1
    #pragma acc parallel loop collapse(2)
    for i in range(a.shape[0]):
        {body}
            out[i, j] = a[i, j]
    {tail}
    return out, last
""")
    check(f, np.arange(12.0).reshape(3, 4), np.zeros((3, 4)))
    assert "one iteration space" not in "\n".join(f.notes().values()), why


@pytest.mark.parametrize("start,off", [(0, 1), (1, 1), (1, 2), (2, 2), (3, -1)])
def test_stencil_offsets_wrap_only_where_python_does(start, off):
    # a[i - off] is negative for the first iterations when start < off:
    # Python then reads from the end, and so must the compiled loop
    f = make(f"""
@acc
def f(a, out):
    #pragma acc parallel loop
    for i in range({start}, a.shape[0] - 1):
        out[i] = a[i - {off}] * 10 + a[i + -{off}]
    return out
""")
    check(f, np.arange(50.0), np.zeros(50))


def test_math_domain_error_in_a_parallel_loop_is_raised_at_its_line():
    f = make("""
import math

@acc
def f(x, out):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        out[i] = math.sqrt(x[i]) + math.log(x[i] + 2.0)
    return out
""")
    x = np.random.default_rng(3).random(1_000_003)
    check(f, x, np.zeros_like(x))
    x[654_321] = -1.0
    with pytest.raises(ValueError, match="math domain error") as info:
        f(x, np.zeros_like(x))
    assert info.value.__traceback__ is not None
    assert traceback_line(info.value) == 8


def test_a_checked_math_call_does_not_stop_vectorisation():
    f = make("""
import math

@acc
def f(x, out):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        out[i] = math.sqrt(x[i]) * 2.0
    return out
""")
    check(f, np.arange(1000.0), np.zeros(1000))
    assert re.search(r"<\d+ x double>", "\n".join(f.inspect_llvm().values()))


def test_math_domain_error_in_a_serial_loop_stops_where_python_does():
    f = make("""
import math

@acc
def f(x, out):
    #pragma acc serial loop
    for i in range(x.shape[0]):
        out[i] = math.sqrt(x[i])
    return out
""")
    x = np.arange(10.0)
    x[6] = -1.0
    out = np.zeros(10)
    with pytest.raises(ValueError, match="math domain error"):
        f(x, out)
    assert np.array_equal(out[:6], np.sqrt(np.arange(6.0))) and not out[6:].any()


def traceback_line(exc):
    import traceback as tb
    return tb.extract_tb(exc.__traceback__)[-1].lineno


# --------------------------------------------------- atomic operators

@pytest.mark.parametrize("stmt,init,n,dtype", [
    ("x[0] += 3", 1, 10_000, np.int64),
    ("x[0] = x[0] * -1", 5, 10_000, np.int64),
    ("x[0] -= 2", 0, 10_000, np.int64),
    ("x[0] = x[0] / 2.0", 1.0, 100, np.float64),
    ("x[0] &= ~(1 << (i % 60))", -1, 10_000, np.int64),
    ("x[0] ^= i", 0, 10_000, np.int64),
    ("x[0] |= 1 << (i % 60)", 0, 10_000, np.int64),
    ("x[0] <<= 1", 1, 40, np.int64),
    ("x[0] >>= 1", 1 << 60, 40, np.int64),
    ("x[0] = 3 - x[0]", 1, 10_001, np.int64),
    ("x[0] = 2 * x[0]", 1, 40, np.int64),
    ("x[0] = min(x[0], 1000 - i)", 10**9, 10_000, np.int64),
])
def test_atomic_update_operators_and_forms(stmt, init, n, dtype):
    f = make(f"""
@acc
def f(x, n):
    #pragma acc parallel loop
    for i in range(n):
        #pragma acc atomic update
        {stmt}
    return x
""")
    check(f, np.array([init], dtype=dtype), n)


def test_atomic_capture_in_one_statement():
    f = make("""
@acc
def f(n, out, h):
    #pragma acc parallel loop
    for i in range(n):
        #pragma acc atomic capture
        mine = h[0] = h[0] + 1
        out[mine - 1] = i
    return out, h
""")
    out, h = f(50_000, np.full(50_000, -1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    assert h[0] == 50_000 and np.array_equal(np.sort(out), np.arange(50_000))


@pytest.mark.parametrize("env,warns", [
    ({"ACC_DEVICE_TYPE": "host", "ACC_DEVICE_NUM": "0"}, None),
    ({"ACC_DEVICE_TYPE": "HOST"}, None),
    ({"ACC_DEVICE_NUM": "5"}, "ACC_DEVICE_NUM=5 is not a device number"),
    ({"ACC_DEVICE_TYPE": "bogus"}, "ACC_DEVICE_TYPE=bogus is not a device type"),
])
def test_acc_device_type_and_num_are_read_at_start(env, warns):
    import os
    import subprocess
    import sys
    code = ("import warnings; warnings.simplefilter('always'); import pyacc; "
            "print(pyacc.acc_get_device_type() == pyacc.acc_device_host, "
            "pyacc.acc_get_device_num(pyacc.acc_device_host), pyacc._OPENACC)")
    full = dict(os.environ)
    full.pop("ACC_DEVICE_TYPE", None)
    full.pop("ACC_DEVICE_NUM", None)
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                         check=True)
    # the default device is the GPU when there is one
    on_host = not HAS_GPU or env.get("ACC_DEVICE_TYPE", "").lower() == "host"
    assert out.stdout.split() == [str(on_host), "0", "201811"]
    if warns:
        assert warns in out.stderr
    else:
        assert "Warning" not in out.stderr
