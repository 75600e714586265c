"""The NVIDIA device's data layer on a real GPU (runtime/cuda.c): memory,
copies, streams and the present table where device memory is separate.
Skipped where there is no GPU; each test runs in a process of its own, since
it switches the process's current device."""

import ctypes
import os
import subprocess
import sys
import textwrap

import pytest


def _gpu_count():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    if cuda.cuInit(0) != 0:
        return 0
    n = ctypes.c_int(0)
    return n.value if cuda.cuDeviceGetCount(ctypes.byref(n)) == 0 else 0


pytestmark = pytest.mark.skipif(_gpu_count() == 0, reason="no NVIDIA GPU here")

PRELUDE = """
import numpy as np
import pyacc
from pyacc import _pyacc
from pyacc.runtime import present_counts
import pyacc.runtime as rt
_pyacc.cuda_register()
pyacc.acc_set_device_type(pyacc.acc_device_nvidia)
assert pyacc.acc_get_device_type() == pyacc.acc_device_nvidia
"""


def run(body):
    code = PRELUDE + textwrap.dedent(body) + "\nprint('ok')\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ))
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr


def test_the_gpu_is_a_device():
    run("""
    assert pyacc.acc_get_num_devices(pyacc.acc_device_nvidia) >= 1
    name = pyacc.acc_get_property_string(0, pyacc.acc_device_nvidia, pyacc.acc_property_name)
    assert "NVIDIA" in name or "H100" in name or "H200" in name, name
    mem = pyacc.acc_get_property(0, pyacc.acc_device_nvidia, pyacc.acc_property_memory)
    free = pyacc.acc_get_property(0, pyacc.acc_device_nvidia, pyacc.acc_property_free_memory)
    assert mem > 2**33 and 0 < free <= mem
    assert not pyacc.acc_on_device(pyacc.acc_device_nvidia)  # Python code runs on the host
    """)


def test_copyin_update_and_copyout_move_data():
    run("""
    a = np.arange(1_000_000, dtype=np.float64)
    pyacc.acc_copyin(a)
    d = pyacc.acc_deviceptr(a)
    assert d and d != a.ctypes.data and pyacc.acc_hostptr(d) == a.ctypes.data
    a[:] = -1                        # the host copy changes, the GPU's does not
    pyacc.acc_update_self(a)         # so this brings the original back
    assert np.array_equal(a, np.arange(1_000_000.0))
    a[:] = 5
    pyacc.acc_update_device(a)
    a[:] = 0
    pyacc.acc_copyout(a)             # last reference: copied back, freed
    assert (a == 5).all() and not pyacc.acc_is_present(a)
    """)


def test_sections_move_only_their_elements():
    run("""
    a = np.arange(100.0)
    pyacc.acc_copyin(a)
    a[:] = 0
    rt.update([(a, ((10, 20),))], [])  # update self(a[10:20])
    assert a[:10].sum() == 0 and np.array_equal(a[10:20], np.arange(10.0, 20.0)) and a[20:].sum() == 0
    pyacc.acc_delete(a)
    """)


def test_malloc_and_memcpy():
    run("""
    d = pyacc.acc_malloc(8 * 1000)
    src = np.arange(1000.0)
    pyacc.acc_memcpy_to_device(d, src)
    back = np.zeros(1000)
    pyacc.acc_memcpy_from_device(back, d)
    assert np.array_equal(back, src)
    d2 = pyacc.acc_malloc(8 * 1000)
    pyacc.acc_memcpy_device(d2, d, 8 * 1000)
    back[:] = 0
    pyacc.acc_memcpy_from_device(back, d2)
    assert np.array_equal(back, src)
    pyacc.acc_free(d)
    pyacc.acc_free(d2)
    """)


def test_an_inner_copyout_under_a_live_reference_does_not_copy_back():
    run("""
    a = np.ones(1000)
    pyacc.acc_copyin(a)                          # dynamic reference
    tok = rt.data_enter([("copyout", a, None)])  # a structured one inside
    d = pyacc.acc_deviceptr(a)
    a[:] = 7                                     # host only
    rt.data_exit(tok)                            # still present: nothing comes back
    assert (a == 7).all() and pyacc.acc_deviceptr(a) == d
    pyacc.acc_copyout(a)                         # now it does
    assert (a == 1).all()
    """)


def test_data_made_present_by_acc_copyin_is_reused_by_clauses():
    run("""
    a = np.zeros(1000)
    pyacc.acc_copyin(a)
    d = pyacc.acc_deviceptr(a)
    tok = rt.data_enter([("copy", a, None), ("present", a, None)])
    assert pyacc.acc_deviceptr(a) == d and present_counts(a)[:2] == (2, 1)
    rt.data_exit(tok)
    pyacc.acc_delete(a)
    assert not pyacc.acc_is_present(a)
    """)


def test_async_copies_on_queues():
    run("""
    a = np.arange(4_000_000, dtype=np.float32)
    b = np.zeros_like(a)
    pyacc.acc_copyin_async(a, 1)
    pyacc.acc_create_async(b, 2)
    pyacc.acc_wait_all()
    pyacc.acc_memcpy_device(pyacc.acc_deviceptr(b), pyacc.acc_deviceptr(a), a.nbytes)
    a[:] = 0
    pyacc.acc_update_self_async(a, 3)
    pyacc.acc_copyout_async(b, 3)
    pyacc.acc_wait(3)
    assert pyacc.acc_async_test(3)
    expect = np.arange(4_000_000, dtype=np.float32)
    assert np.array_equal(a, expect) and np.array_equal(b, expect)
    pyacc.acc_delete(a)
    """)
