"""Compute regions on an NVIDIA GPU (the cases are in gpu_cases.py).

Everywhere: the PTX of every case is made without a GPU and, where the CUDA
toolkit is installed, accepted by ptxas for sm_90.  On a GPU machine: every
case runs on the GPU, in a process of its own (it makes the GPU the current
device), and gives what the plain Python function gives."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import pytest

import gpu_cases
import pyacc
from conftest import HAS_GPU

HERE = os.path.dirname(os.path.abspath(__file__))
PTXAS = shutil.which("ptxas") or next(
    (p for p in ("/usr/local/cuda/bin/ptxas",) if os.access(p, os.X_OK)), None)


CASES = gpu_cases._args()
GPU_ONLY = ["acc_on_device", "zero_division", "index_error", "host_part", "no_leak_after_errors",
            "after_shutdown", "async_queue_order", "cupy_zero_copy", "async_queues_overlap", "launch_shape",
            "async_copies_overlap", "lane_index_error", "lane_launch_shape", "entry_errors",
            "entry_launch_shape", "row_index_error", "row_launch_shape", "py_math_errors", "round_digits_bits",
            "entry_from_disk", "entry_shape_clauses", "aligned_launch_shape", "graph_launches",
            "present_call"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_ptx_is_made_without_a_gpu_and_ptxas_accepts_it(name, monkeypatch):
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")
    f, args = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pyacc.PyaccWarning)
        done = f.compile(*args, target="nvidia")
    assert done and all(ok for _, ok in done), done
    ptx = f.inspect_ptx()
    assert ptx, "no PTX"
    for sig, text in ptx.items():
        assert ".entry pyacc_k0" in text and ".target sm_" in text, sig
        # the host's Ctrl-C polls fold away: nothing refers to host memory;
        # an entry on the GPU may take scratch from the device heap
        externs = re.findall(r"\.extern .*", text)
        assert "pyacc_rt_sigints" not in text, sig
        assert all(re.search(r"\b(malloc|free)\s*$", e) or e.startswith(".extern .shared") for e in externs), \
            (sig, externs)
        if PTXAS:
            with tempfile.NamedTemporaryFile("w", suffix=".ptx", delete=False) as fh:
                fh.write(text)
            try:
                r = subprocess.run([PTXAS, "--gpu-name", "sm_90", fh.name, "-o", os.devnull],
                                   capture_output=True, text=True)
            finally:
                os.unlink(fh.name)
            assert r.returncode == 0, f"{sig}: ptxas refused: {r.stderr}"


def test_the_last_iteration_writes_back_only_the_fields_its_body_stores(monkeypatch):
    # the thread that ran the last iteration writes ctx's plain fields to
    # host memory for the last values; saxpy's body stores none of them, and
    # the trip counts the kernel sets itself the host never reads back, so
    # saxpy's one store is y[i]; last_values' body stores t, j and i
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")
    stores = {}
    for name in ("saxpy", "last_values"):
        f, args = CASES[name]
        f.compile(*args, target="nvidia")
        text = next(iter(f.inspect_ptx().values()))
        stores[name] = len(re.findall(r"\bst\.global\.", text))
    assert stores["saxpy"] == 1 and stores["last_values"] >= 4, stores


def test_reductions_combine_by_warp_shuffles_and_shared_memory_not_one_thread_at_a_time():
    f, args = CASES["dot"]
    f.compile(*args, target="nvidia")
    text = next(iter(f.inspect_ptx().values()))
    assert ".shared" in text and "barrier.sync" in text and "shfl.sync.down" in text
    assert "atom." not in text  # no thread waits on another's update


@pytest.mark.parametrize("name", ["histogram", "hist_reduce", "hist_weights", "hist_shape"])
def test_a_small_histogram_is_summed_in_each_blocks_shared_memory_then_added_once(name):
    f, args = CASES[name]
    f.compile(*args, target="nvidia")
    assert f.inspect_ptx(), "the region stays on the host"
    for text in f.inspect_ptx().values():  # whether the array fits is the launch's to see
        assert ".extern .shared .align 16 .b8 pyacc_private[]" in text and "barrier.sync" in text
        assert re.search(r"atom\.global\.add\.(u64|f32)", text)  # a block's sums into the array, once each


def test_a_histogram_in_a_gang_of_lanes_keeps_its_atomics_on_the_array():
    f, args = CASES["lanes_atomic"]
    f.compile(*args, target="nvidia")
    for text in f.inspect_ptx().values():
        assert "pyacc_private" not in text


def test_a_region_touching_arrays_outside_its_loops_is_made_for_the_gpu_as_one_grid_kernel():
    f = gpu_cases.host_part
    import numpy as np
    assert f.compile(np.zeros(4), np.zeros(4), target="nvidia") == [(f._outlined.regions[0].line, True)]
    (text,) = f.inspect_ptx().values()
    assert text.count(".entry ") == 1 and "atom.global.add.u32" in text  # the grid's barrier


def test_compile_rejects_an_unknown_target():
    f, args = CASES["saxpy"]
    with pytest.raises(ValueError, match="target"):
        f.compile(*args, target="amd")


@pytest.fixture(scope="module")
def gpu_results():
    r = subprocess.run([sys.executable, os.path.join(HERE, "gpu_cases.py")], capture_output=True, text=True,
                       timeout=600, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            out[d["case"]] = d
    if not out:
        pytest.fail(f"gpu_cases.py reported nothing:\n{r.stdout}\n{r.stderr}")
    return out


@pytest.mark.skipif(not HAS_GPU, reason="no NVIDIA GPU here")
@pytest.mark.parametrize("name", sorted(CASES) + GPU_ONLY)
def test_case_runs_on_the_gpu_and_agrees_with_python(name, gpu_results):
    assert name in gpu_results, "the case did not run"
    res = gpu_results[name]
    assert res["ok"], res.get("error")


class _FakeGpuArray:
    """Says its memory is the GPU's (at an address no CPU may read) and
    indexes through a NumPy array: the region must never run compiled on
    the host with it, only in the interpreter."""

    def __init__(self, values):
        self.values = values
        self.shape = values.shape
        self.__cuda_array_interface__ = {"shape": values.shape, "typestr": values.dtype.str,
                                         "data": (0x10, False), "strides": None, "version": 3}

    def __getitem__(self, i):
        return self.values[i]

    def __setitem__(self, i, v):
        self.values[i] = v


def test_gpu_arrays_never_reach_host_code():
    import numpy as np

    @pyacc.acc(device="host")
    def saxpy(a, x, y):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            y[i] = a * x[i] + y[i]

    x, y = _FakeGpuArray(np.arange(5.0)), _FakeGpuArray(np.ones(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        saxpy(2.0, x, y)
    assert np.array_equal(y.values, 1 + 2 * np.arange(5.0))
    assert saxpy.stats()["fallbacks"] == 1
    sigs = [s for s, *_ in saxpy._regions[0].signatures()]
    assert any("(GPU)" in s for s in sigs), sigs


def test_launch_shape_packs_gangs_workers_and_vector_length():
    from pyacc.regions import gpu_shape
    assert gpu_shape() == 0
    assert gpu_shape(gangs=4, workers=2, vector=64) == 4 | 2 << 32 | 64 << 44
    assert gpu_shape(vector=5000) == 1024 << 44  # a block has 1024 threads at most
    with pytest.raises(ValueError, match="vector_length"):
        gpu_shape(vector=-1)
    # the clauses of device_type(nvidia) are the GPU's; a kernels loop's too
    for f in (gpu_cases.typed_shape, gpu_cases.kernels_shaped, gpu_cases.shaped):
        assert f._outlined.regions[0].shape_param >= 0, f
    assert gpu_cases.saxpy._outlined.regions[0].shape_param == -1


def test_array_reductions_update_the_array_itself_with_the_gpus_atomics():
    f, args = CASES["hist_reduce"]
    assert f.compile(*args, target="nvidia") == [(f._outlined.regions[0].line, True)]
    text = next(iter(f.inspect_ptx().values()))
    assert "atom.global.add.u64" in text and "atom.global.cas" not in text
    f, args = CASES["grid_reduce"]
    f.compile(*args, target="nvidia")
    assert "atom.global.add.f64" in next(iter(f.inspect_ptx().values()))


def test_an_array_reduction_read_other_than_by_its_updates_runs_in_the_interpreter():
    import numpy as np
    f = gpu_cases.reads_partial
    x, h = np.arange(30.0), np.zeros(3)
    line = f._outlined.regions[0].line + 2  # the read
    with pytest.warns(pyacc.PyaccWarning, match=rf"'h' is reduced by \+ in the loop at line {line - 1}, "
                                                r"which uses it here other than by an update `h\[k\] \+= e`"):
        assert f.compile(x, h.copy(), target="nvidia") == [(line - 2, False)]
    f(x, h)  # in the interpreter, on any device: private copies would give another answer
    assert f.stats()["fallbacks"] >= 1
    h2 = np.zeros(3)
    f.py_func(x, h2)
    assert np.array_equal(h, h2)


@pytest.mark.parametrize("name", ["flags_all", "flags_any"])
def test_bool_arrays_reduced_by_and_or_store_the_deciding_value_on_the_gpu(name):
    """No compare-and-swap: a thread stores False (&&) or True (||) when its
    statement's value is that, and leaves the element alone otherwise."""
    f, args = CASES[name]
    assert f.compile(*args, target="nvidia") == [(f._outlined.regions[0].line, True)]
    text = next(iter(f.inspect_ptx().values()))
    assert "atom." not in text and re.search(r"st(\.volatile|\.relaxed\.\w+)?\.global\.u8", text)
