"""Regions whose code outside their parallel loops touches arrays: on a GPU
their entry runs on the grid's first thread and their loops over the whole
grid (jit/gpu_grid.c).  Here, without a GPU: each such case of
gpu_cases.py gives py_func's answer on the host, its PTX has the grid's
barrier, and what cannot run that way is refused with its reason.  On the
GPU machine the cases run there (test_gpu_regions.py)."""

import re
import warnings

import numpy as np
import pytest

import gpu_cases
import pyacc
from conftest import same

CASES = {name: case for name, case in gpu_cases._args().items() if name.startswith("entry_")}
CASES["host_part"] = (gpu_cases.host_part, (np.arange(10.0), np.zeros(10)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_gives_what_python_gives_on_the_host(name):
    f, args = CASES[name]
    a1, a2 = gpu_cases.copy.deepcopy(args), gpu_cases.copy.deepcopy(args)
    r1, r2 = f(*a1), f.py_func(*a2)
    approx = name in gpu_cases.APPROX
    assert gpu_cases._same(r1, r2, approx), (r1, r2)
    for p, q in zip(a1, a2):
        assert gpu_cases._same(p, q, approx)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_entry_goes_to_the_gpu_as_one_grid_kernel(name, monkeypatch):
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")
    f, args = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pyacc.PyaccWarning)
        assert f.compile(*args, target="nvidia") == [(f._outlined.regions[0].line, True)]
    for sig, text in f.inspect_ptx().items():
        assert text.count(".entry ") == 1, sig
        # the grid's barrier: blocks count in atomically, spin on the generation
        assert "atom.global.add.u32" in text and "ld.volatile.global.u32" in text and "membar.gl" in text
        externs = re.findall(r"\.extern .*", text)
        assert all(re.search(r"\b(malloc|free)\s*$", e) for e in externs), externs  # the device heap only


def test_block_results_are_combined_by_block_zero_in_order_not_by_atomics():
    f, args = CASES["entry_normalize"]
    f.compile(*args, target="nvidia")
    text = next(iter(f.inspect_ptx().values()))
    assert "shfl.sync.down" in text and "atom.global.add.f64" not in text
    assert re.search(r"\bmalloc\b", text)  # the first thread's reduction slots: the device heap


def test_a_vector_loop_in_a_gang_loop_of_such_a_region_runs_in_order_in_each_thread():
    f, args = CASES["entry_lanes"]
    f.compile(*args, target="nvidia")
    text = next(iter(f.inspect_ptx().values()))
    assert "pyacc.lane" not in text and "pyacc_$_lane" not in text  # no block handshake


def test_a_scalar_its_loop_updates_atomically_moves_to_memory_all_threads_reach():
    f, args = CASES["entry_atomic_scalar"]
    f.compile(*args, target="nvidia")
    text = next(iter(f.inspect_ptx().values()))
    assert re.search(r"atom\.(global\.)?add\.u64", text), "the hits counter: a 64-bit atomic add"
    assert "__local_depot" not in text  # nothing stays in the first thread's own memory


@pytest.mark.parametrize("f, k, line", [(gpu_cases.entry_index_error, 3, "out[i] = x[i + k]"),
                                        (gpu_cases.entry_own_error, 5000, "out[k] = 2.0")])
def test_errors_in_its_loops_and_in_its_own_code_are_raised_at_their_lines(f, k, line):
    import traceback
    with pytest.raises(IndexError) as e:
        f(np.ones(5000), np.zeros(5000), k)
    assert line in traceback.extract_tb(e.value.__traceback__)[-1].line
