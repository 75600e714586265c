"""Shared helpers: every test compares a compiled function with its plain
Python self (f.py_func) on copies of the same arguments."""

import copy
import os
import re
import tempfile

# Compiled code goes to a disk cache of this run's own: tests count
# compiles, and a user's cache must neither serve nor receive them.
os.environ["PYACC_CACHE_DIR"] = tempfile.mkdtemp(prefix="pyacc-test-cache-")
# Each host code generator checked on its own, whatever a call's size: O3
# here (what big first calls, later calls and the disk cache run), the
# quick code in scripts/test.sh's second pass (PYACC_TIER=quick: what small
# first calls run); test_tier.py checks the switch from one to the other.
os.environ.setdefault("PYACC_TIER", "optimised")

import numpy as np
import pytest


# On the GPU, math functions come from libdevice, whose results may differ
# from the C library's in the last place: runs with ACC_DEVICE_TYPE=nvidia
# accept two units there for floating-point arrays (and for float results
# of regions that run on one GPU thread: serial regions).
def _on_gpu():
    import pyacc
    return pyacc.acc_get_device_type() == pyacc.acc_device_nvidia


GPU_ULPS = 2 if _on_gpu() else 0


def _ulps_apart(a, b):
    if a.dtype.kind != "f":
        return False
    ok = (a == b) | (np.isnan(a) & np.isnan(b))
    if ok.all():
        return True
    spacing = np.abs(np.spacing(np.maximum(np.abs(a), np.abs(b))))
    return bool(np.all(ok | (np.abs(a - b) <= GPU_ULPS * spacing)))


def same(a, b):
    """Equal values of equal types, arrays included (NaNs equal)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and (np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
                                            or (GPU_ULPS > 0 and _ulps_apart(a, b))))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, (float, np.floating)) and a != a:
        return b != b
    if GPU_ULPS > 0 and isinstance(a, (float, np.floating)) and a != b:
        return _ulps_apart(np.array([a]), np.array([b]))
    return a == b


def run_both(f, *args):
    """(result, args after) of f and of f.py_func, on deep copies."""
    a1, a2 = copy.deepcopy(args), copy.deepcopy(args)
    r1 = f(*a1)
    r2 = f.py_func(*a2)
    return (r1, a1), (r2, a2)


def check(f, *args):
    """Asserts f and f.py_func agree on result and argument state, and that
    the compiled path ran (no fallback)."""
    before = f.stats()["fallbacks"]
    (r1, a1), (r2, a2) = run_both(f, *args)
    assert same(r1, r2), f"result {r1!r} != {r2!r}"
    for i, (x, y) in enumerate(zip(a1, a2)):
        assert same(x, y), f"argument {i} differs: {x!r} != {y!r}"
    assert f.stats()["fallbacks"] == before, "the region ran in the interpreter"
    return r1


def _gpu_count():
    """NVIDIA GPUs the driver reports (0 without a driver), asked directly
    so that asking does not touch pyacc's device state."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    if cuda.cuInit(0) != 0:
        return 0
    n = ctypes.c_int(0)
    return n.value if cuda.cuDeviceGetCount(ctypes.byref(n)) == 0 else 0


HAS_GPU = _gpu_count() > 0
no_gpu_only = pytest.mark.skipif(HAS_GPU, reason="about a machine without an NVIDIA GPU")


@pytest.fixture(autouse=True)
def _same_device_for_every_test():
    """A test that switches the current device (acc_set_device_type) must
    not send the rest of the suite elsewhere: under ACC_DEVICE_TYPE=nvidia
    every test starts on the GPU."""
    import pyacc
    before = pyacc.acc_get_device_type()
    yield
    if pyacc.acc_get_device_type() != before:
        pyacc.acc_set_device_type(before)
    if before == pyacc.acc_device_nvidia and pyacc._pyacc.present_entries():
        # data a test left on the GPU: a later array at the same address
        # would look present (on the host device that costs nothing)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pyacc.acc_wait_all()
            pyacc.acc_shutdown(pyacc.acc_device_nvidia)


def pytest_terminal_summary(terminalreporter):
    """Under ACC_DEVICE_TYPE=nvidia: how many region calls ran on the GPU,
    and why the others ran on the host."""
    if not _on_gpu():
        return
    import collections
    from pyacc import _pyacc, errors
    on, off = _pyacc.gpu_counters()
    tr = terminalreporter
    tr.write_line(f"pyacc: {on} region calls ran on the GPU, {off} on the host "
                  f"(in this process; tests in subprocesses not counted)")
    reasons = collections.Counter(re.sub(r"\d+", "N", why) for _, why in errors.gpu_refusals)
    for why, n in reasons.most_common():
        tr.write_line(f"  {n:4} regions on the host: {why}")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def many_threads():
    """More threads than cores, so that chunks really interleave."""
    import pyacc

    old = pyacc.num_threads()
    pyacc.num_threads(8)
    yield
    pyacc.num_threads(old)
