"""Data constructs, executable directives and async queues as pragmas: on
the host device they move nothing, but the present table counts as OpenACC
says, sections are checked, and errors point at the user's pragma."""

import sys
import traceback
import warnings

import numpy as np
import pytest

import pyacc
from pyacc import AccError, acc, acc_is_present
from pyacc.runtime import present_counts
from conftest import check
from subset_helpers import make


def _pragma_line(f, text):
    """The file line of the first pragma in f's source containing text."""
    import inspect
    lines, first = inspect.getsourcelines(f.py_func)
    for k, ln in enumerate(lines):
        if "#pragma acc" in ln and text in ln:
            return first + k
    raise AssertionError(text)


def _raised_at(exc):
    """The line of the innermost frame of exc's traceback in a test file."""
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__)]
    return frames[-1].lineno


# ------------------------------------------------------- data construct

def test_data_construct_counts_while_inside_and_releases_after():
    @acc
    def f(a, b, seen):
        seen.append(present_counts(a))
        #pragma acc data copyin(a) copyout(b[0:3])
        seen.append(present_counts(a))
        seen.append(present_counts(a))
        return b

    seen = []
    a, b = np.arange(10.0), np.zeros(10)
    f(a, b, seen)
    assert seen == [None, (1, 0, 0), None]
    assert not acc_is_present(a) and not acc_is_present(b)


def test_data_construct_around_a_compute_region_gives_the_same_results():
    @acc
    def f(a, b, seen):
        #pragma acc data copyin(a) copy(b)
        for rep in range(2):
            seen.append(acc_is_present(a) and acc_is_present(b))
            #pragma acc parallel loop present(a, b)
            for i in range(a.shape[0]):
                b[i] += a[i] * rep
        seen.append(acc_is_present(a))
        return b

    seen = []
    out = f(np.arange(1000.0), np.ones(1000), seen)
    assert seen == [True, True, False]
    assert np.array_equal(out, f.py_func(np.arange(1000.0), np.ones(1000), []))
    assert f.stats()["fallbacks"] == 0


def test_nested_data_regions_count_references():
    @acc
    def f(a, seen):
        seen.append(present_counts(a))
        #pragma acc data copyin(a)
        if True:
            seen.append(present_counts(a))
            #pragma acc data present(a)
            if True:
                seen.append(present_counts(a))
                #pragma acc data create(a[2:5])
                if True:
                    seen.append(present_counts(a))
                seen.append(present_counts(a))
            seen.append(present_counts(a))
        seen.append(present_counts(a))

    seen = []
    f(np.zeros(8), seen)
    # (structured, dynamic, attach)
    assert seen == [None, (1, 0, 0), (2, 0, 0), (3, 0, 0), (2, 0, 0), (1, 0, 0), None]


def test_end_data_closes_a_block_of_statements():
    @acc
    def f(a, seen):
        #pragma acc data copyin(a)
        seen.append(acc_is_present(a))
        x = 1
        seen.append(acc_is_present(a))
        #pragma acc end data
        seen.append(acc_is_present(a))
        return x

    seen = []
    assert f(np.zeros(3), seen) == 1 and seen == [True, True, False]


def test_data_region_is_left_when_its_statements_raise():
    @acc
    def f(a):
        #pragma acc data copyin(a)
        raise KeyError("boom")

    a = np.zeros(3)
    with pytest.raises(KeyError):
        f(a)
    assert not acc_is_present(a)


def test_data_if_false_maps_nothing():
    @acc
    def f(a, on, seen):
        #pragma acc data copyin(a) if(on)
        seen.append(acc_is_present(a))

    seen = []
    f(np.zeros(3), False, seen)
    f(np.zeros(3), True, seen)
    assert seen == [False, True]


def test_section_outside_the_array_is_an_error_at_the_pragma():
    @acc
    def f(a, n):
        #pragma acc data copyin(a[0:n])
        a[0] = 1

    f(np.zeros(4), 4)
    with pytest.raises(IndexError, match="outside") as info:
        f(np.zeros(4), 5)
    assert _raised_at(info.value) == _pragma_line(f, "copyin(a[0:n])")


# --------------------------------------------------- compute constructs

def test_present_clause_on_absent_data_raises_at_the_construct():
    @acc
    def f(a):
        #pragma acc parallel loop present(a)
        for i in range(a.shape[0]):
            a[i] = i

    with pytest.raises(AccError, match="present") as info:
        f(np.zeros(4))
    assert info.value.code == "not_present"
    assert _raised_at(info.value) == _pragma_line(f, "present(a)")


def test_a_present_clause_on_parameters_is_checked_by_the_regions_call():
    # present(...) of whole parameters and nothing else: no data construct
    # in Python around the call, the dispatcher calls the region directly,
    # and the region's call enters and leaves the clause, as the construct did
    @acc
    def f(a, b, d):
        #pragma acc parallel loop present(a, b)
        for i in range(a.shape[0]):
            b[i] = a[i] * (1.0 / d)

    assert f._direct is not None
    a, b = np.arange(5.0), np.zeros(5)
    pyacc.acc_copyin(a)
    try:
        with pytest.raises(AccError, match=r"present\(b\)") as info:
            f(a, b, 0.5)
        assert info.value.code == "not_present"
        assert _raised_at(info.value) == _pragma_line(f, "present(a, b)")
        assert present_counts(a) == (0, 1, 0)  # a's entry undone when b's failed
        pyacc.acc_copyin(b)
        f(a, b, 0.5)
        pyacc.acc_update_self(b)  # on a GPU the result is in b's copy there
        assert np.array_equal(b, [0.0, 2.0, 4.0, 6.0, 8.0]), b
        assert present_counts(a) == present_counts(b) == (0, 1, 0)
        with pytest.raises(ZeroDivisionError):  # an error inside the region: the clause is still left
            f(a, b, 0.0)
        assert present_counts(a) == present_counts(b) == (0, 1, 0)
    finally:
        for x in (a, b):
            if acc_is_present(x):
                pyacc.acc_delete(x)


def test_the_regions_present_clause_takes_views_by_the_bytes_they_span():
    # the call enters the clause from its classified arguments: a strided
    # view and a slice of a present array are present by their bytes, a
    # view reaching past the array is partly present, and counts go back
    @acc
    def f(a, b):
        #pragma acc parallel loop present(a, b)
        for i in range(a.shape[0]):
            b[i] = a[i] * 2.0

    assert f._direct is not None
    base, out = np.arange(12.0), np.zeros(8)
    pyacc.acc_copyin(base)
    pyacc.acc_copyin(out)
    try:
        f(base[::3], out[2:6])
        pyacc.acc_update_self(out)
        assert np.array_equal(out, [0, 0, 0, 6, 12, 18, 0, 0]), out
        assert present_counts(base) == present_counts(out) == (0, 1, 0)
        wide = np.arange(16.0)
        pyacc.acc_copyin(wide[:8])
        with pytest.raises(AccError, match=r"present\(a\)") as info:
            f(wide[::2], out[:8])
        assert _raised_at(info.value) == _pragma_line(f, "present(a, b)")
        assert present_counts(out) == (0, 1, 0)
        pyacc.acc_delete(wide[:8])
    finally:
        pyacc.acc_delete(base)
        pyacc.acc_delete(out)


@pytest.mark.parametrize("clauses", ["present(a[0:5], b)", "present(a) copy(b)", "present(a, b) if(on)"])
def test_other_data_clauses_keep_their_construct_around_the_call(clauses):
    src = f"""@acc
def f(a, b, on):
    #pragma acc parallel loop {clauses}
    for i in range(a.shape[0]):
        b[i] = a[i] + 1.0
"""
    f = make(src, "f")
    a, b = np.arange(5.0), np.zeros(5)
    if "if(on)" not in clauses:
        with pytest.raises(AccError, match=r"present\(a"):
            f(a, b, True)
    pyacc.acc_copyin(a)
    pyacc.acc_copyin(b)
    try:
        f(a, b, True)
        pyacc.acc_update_self(b)
        assert np.array_equal(b, a + 1.0), b
        assert present_counts(a) == present_counts(b) == (0, 1, 0)
    finally:
        pyacc.acc_delete(a)
        pyacc.acc_delete(b)


def test_if_false_skips_the_data_clauses():
    @acc
    def f(a, on):
        #pragma acc parallel loop present(a) if(on)
        for i in range(a.shape[0]):
            a[i] = i
        return a

    check(f, np.zeros(4), False)


def test_default_present_checks_every_array_used():
    @acc
    def f(a, b):
        #pragma acc parallel loop default(present)
        for i in range(a.shape[0]):
            b[i] = a[i]
        return b

    a, b = np.arange(4.0), np.zeros(4)
    with pytest.raises(AccError, match="a"):
        f(a, b)
    pyacc.acc_copyin(a)
    pyacc.acc_copyin(b)
    try:
        f(a, b)
    finally:
        pyacc.acc_delete(a)
        pyacc.acc_copyout(b)  # on a GPU, b's new values come back here
    assert np.array_equal(b, a)


def test_default_present_of_an_enclosing_data_construct():
    @acc
    def f(a, b):
        #pragma acc data copyin(a) default(present)
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            b[i] = a[i]
        return b

    with pytest.raises(AccError, match="b"):
        f(np.arange(4.0), np.zeros(4))


def test_default_none_counts_the_enclosing_data_clauses():
    src = """
@acc
def f(a, b):
    #pragma acc data copyin(a)
    #pragma acc parallel loop default(none) copyout(b)
    for i in range(a.shape[0]):
        b[i] = a[i]
    return b
"""
    check(make(src), np.arange(4.0), np.zeros(4))


# ------------------------------------------------ executable directives

def test_enter_and_exit_data_with_if():
    @acc
    def f(a, on, seen):
        #pragma acc enter data copyin(a) if(on)
        seen.append(acc_is_present(a))
        #pragma acc exit data delete(a) if(on)
        seen.append(acc_is_present(a))

    seen = []
    a = np.zeros(4)
    f(a, False, seen)
    f(a, True, seen)
    assert seen == [False, False, True, False]


def test_dynamic_counts_and_finalize():
    @acc
    def f(a, seen):
        #pragma acc enter data copyin(a)
        #pragma acc enter data create(a)
        seen.append(present_counts(a))
        #pragma acc exit data copyout(a)
        seen.append(present_counts(a))
        #pragma acc enter data copyin(a)
        #pragma acc exit data delete(a) finalize
        seen.append(present_counts(a))

    seen = []
    f(np.zeros(4), seen)
    assert seen == [(0, 2, 0), (0, 1, 0), None]


def test_update_checks_presence_and_if_present_skips():
    @acc
    def f(a, mode):
        if mode == 0:
            #pragma acc update device(a)
            pass
        elif mode == 1:
            #pragma acc update self(a[1:3]) if_present
            pass
        else:
            #pragma acc enter data copyin(a)
            #pragma acc update self(a[1:3]) device(a)
            #pragma acc exit data delete(a)
            pass
        return mode

    with pytest.raises(AccError) as info:
        f(np.zeros(4), 0)
    assert _raised_at(info.value) == _pragma_line(f, "update device(a)")
    assert f(np.zeros(4), 1) == 1 and f(np.zeros(4), 2) == 2


def test_host_data_use_device():
    @acc
    def f(a, seen):
        #pragma acc data copy(a)
        #pragma acc host_data use_device(a)
        seen.append(pyacc.acc_deviceptr(a) != 0)  # the host's address on the host device
        #pragma acc host_data use_device(a) if_present
        seen.append(1)
        #pragma acc host_data use_device(a)
        seen.append(2)

    seen = []
    with pytest.raises(AccError):
        f(np.zeros(4), seen)
    assert seen == [True, 1]


def test_declare_maps_for_the_rest_of_the_function():
    @acc
    def f(a, seen):
        #pragma acc declare copy(a)
        seen.append(acc_is_present(a))
        #pragma acc parallel loop present(a)
        for i in range(a.shape[0]):
            a[i] += 1
        seen.append(acc_is_present(a))
        return a

    seen = []
    a = np.zeros(4)
    assert np.array_equal(f(a, seen), np.ones(4))
    assert seen == [True, True] and not acc_is_present(a)


def test_set_init_and_shutdown_directives():
    @acc
    def f(q):
        old = pyacc.acc_get_default_async()
        #pragma acc init device_type(host)
        #pragma acc set default_async(q)
        now = pyacc.acc_get_default_async()
        #pragma acc set default_async(old)
        #pragma acc shutdown device_type(host)
        return now

    assert f(5) == 5


def test_cache_is_accepted_inside_a_loop_without_a_warning():
    src = """
@acc
def f(a, b):
    #pragma acc parallel loop
    for i in range(1, a.shape[0] - 1):
        #pragma acc cache(a[i-1:i+2])
        b[i] = a[i - 1] + a[i] + a[i + 1]
    return b
"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = make(src)
        check(f, np.arange(10.0), np.zeros(10))


def test_executable_directive_inside_a_compute_construct_is_an_error():
    src = """
@acc
def f(a):
    #pragma acc parallel
    for i in range(3):
        #pragma acc update self(a)
        a[i] = 1
"""
    with pytest.raises(pyacc.PragmaSyntaxError, match="inside a compute construct"):
        make(src)


def test_misindented_executable_directive_is_an_error():
    src = """
@acc
def f(a):
    if a:
        x = 1
      #pragma acc wait
    return 1
"""
    with pytest.raises(pyacc.PragmaSyntaxError, match="indented"):
        make(src)


# --------------------------------------------------------------- async

def test_async_regions_on_one_queue_run_in_order():
    @acc
    def f(a, n):
        #pragma acc parallel loop async(1)
        for i in range(n):
            a[i] = i
        #pragma acc parallel loop async(1)
        for i in range(n):
            a[i] = a[i] * 2 + 1
        #pragma acc wait(1)
        return a

    for _ in range(20):
        check(f, np.zeros(100_000, dtype=np.int64), 100_000)


def test_async_region_overlaps_the_caller_until_wait():
    @acc
    def launch(flag, out):
        #pragma acc serial async(3)
        while True:
            #pragma acc atomic read
            v = flag[0]
            if v:
                break
        #pragma acc end serial
        #pragma acc serial async(3)
        out[0] = 7
        #pragma acc end serial

    flag, out = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    launch(flag, out)  # returns while the first task spins
    assert not pyacc.acc_async_test(3) and out[0] == 0
    flag[0] = 1
    pyacc.acc_wait(3)
    assert pyacc.acc_async_test(3) and out[0] == 7
    assert launch.stats()["fallbacks"] == 0


def test_wait_clause_on_a_compute_construct_and_wait_async():
    @acc
    def f(a, b, n):
        #pragma acc parallel loop async(4)
        for i in range(n):
            a[i] = i + 1
        #pragma acc wait(4) async(5)
        #pragma acc parallel loop wait(5)
        for i in range(n):
            b[i] = a[i] * 3
        return b

    check(f, np.zeros(50_000), np.zeros(50_000), 50_000)


def test_async_region_with_a_result_runs_after_the_queue():
    @acc
    def f(a, n):
        #pragma acc parallel loop async(6)
        for i in range(n):
            a[i] = 1
        s = 0
        #pragma acc parallel loop async(6) reduction(+:s)
        for i in range(n):
            s += a[i]
        return s

    check(f, np.zeros(100_000, dtype=np.int64), 100_000)


def test_async_bare_uses_the_default_queue_and_acc_wait_all():
    @acc
    def f(a):
        #pragma acc parallel loop async
        for i in range(a.shape[0]):
            a[i] = 2 * i

    a = np.zeros(10_000)
    f(a)
    pyacc.acc_wait_all()
    assert np.array_equal(a, 2 * np.arange(10_000.0))


def test_async_data_clauses_and_exit_in_queue_order():
    @acc
    def f(a):
        #pragma acc parallel loop async(7) copy(a)
        for i in range(a.shape[0]):
            a[i] += 1

    a = np.zeros(1000)
    f(a)
    pyacc.acc_wait(7)
    assert np.array_equal(a, np.ones(1000)) and not acc_is_present(a)


def test_an_error_in_an_async_region_is_raised_by_the_wait():
    @acc
    def f(a, k):
        #pragma acc parallel loop async(8)
        for i in range(a.shape[0]):
            a[i] = 10 // k

    f(np.zeros(4, dtype=np.int64), 0)
    with pytest.raises(ZeroDivisionError):
        pyacc.acc_wait(8)
    f(np.zeros(4, dtype=np.int64), 1)  # the queue works again
    pyacc.acc_wait(8)


# ------------------------------------------------ the other data clauses

def test_no_create_deviceptr_attach_and_detach_clauses():
    @acc
    def f(a, p, target, seen):
        #pragma acc data no_create(a)
        seen.append(acc_is_present(a))                 # absent stays absent
        #pragma acc data copy(a) deviceptr(target)
        #pragma acc data no_create(a)
        seen.append(present_counts(a))                 # present: used, counted
        #pragma acc enter data copyin(p, target)
        #pragma acc enter data attach(p)
        seen.append(present_counts(p)[2])
        #pragma acc data attach(p)
        seen.append(present_counts(p)[2])
        #pragma acc exit data detach(p)
        seen.append(present_counts(p)[2])
        #pragma acc exit data delete(p, target)
        seen.append(acc_is_present(p) or acc_is_present(target))

    target = np.arange(4.0)
    p = np.array([target.ctypes.data], dtype=np.uintp)  # a pointer, as a struct holds it
    seen = []
    f(np.zeros(3), p, target, seen)
    assert seen == [False, (2, 0, 0), 1, 2, 0, False]


def test_present_or_aliases_and_pcopy():
    @acc
    def f(a, seen):
        #pragma acc data pcopy(a) present_or_copyin(a)
        seen.append(present_counts(a))

    seen = []
    f(np.zeros(3), seen)
    assert seen == [(2, 0, 0)]
