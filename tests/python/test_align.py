"""Warp-aligned GPU loops (frontend/align.c): a parallel loop whose
innermost index starts off a multiple of 32 (a stencil's range(1, m - 1))
walks, on a GPU, a space whose rows are padded so that every warp starts at
an index that is a multiple of 32.  Here, without a GPU: each case of
gpu_align_cases.py gives py_func's answer on the host, and the kernel's PTX
takes a row's position back by the pad and skips the padding.  On the GPU
machine the cases run there (test_gpu_regions.py), and aligned_launch_shape
checks the padded grid."""

import copy
import re
import warnings

import numpy as np
import pytest

import gpu_align_cases
import gpu_cases
import pyacc

CASES = gpu_align_cases.args(np.random.default_rng(11))


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_case_gives_what_python_gives_on_the_host(name):
    f, args = CASES[name]
    a1, a2 = copy.deepcopy(args), copy.deepcopy(args)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pyacc.PyaccWarning)
        r1 = f(*a1)
    r2 = f.py_func(*a2)
    assert gpu_cases._same(r1, r2, False), (r1, r2)
    for p, q in zip(a1, a2):
        assert gpu_cases._same(p, q, False)


def _kernel_ptx(f, args, monkeypatch):
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")
    with warnings.catch_warnings():
        warnings.simplefilter("error", pyacc.PyaccWarning)
        done = f.compile(*args, target="nvidia")
    assert done and all(ok for _, ok in done), done
    (text,) = f.inspect_ptx().values()
    return text


def _param_regs(text):
    """Registers loaded from the kernel's ctx (its first parameter)."""
    return set(re.findall(r"ld\.param\.u64\s+(%rd\d+), \[pyacc_k0_param_0\+\d+\]", text))


@pytest.mark.parametrize("name,levels", [("aligned_stencil", 1), ("aligned_collapse3", 2),
                                         ("aligned_collapse_reduce", 1)])
def test_a_collapsed_kernel_takes_the_padded_rows_position_back_by_the_pad(name, levels, monkeypatch):
    f, args = CASES[name]
    text = _kernel_ptx(f, args, monkeypatch)
    ctx = _param_regs(text)
    # q = (the point's place in its padded row) - pad, the pad from the
    # ctx; the point runs only where q < the row's count (from the ctx),
    # tested unsigned so that a place in front of the pad fails it too:
    # the padding's threads idle
    taken_back = {q for q, _, p in re.findall(r"sub\.s64\s+(%rd\d+), (%rd\d+), (%rd\d+);", text) if p in ctx}
    tests = re.findall(r"setp\.(?:ge|lt)\.u64\s+%p\d+, (%rd\d+), (%rd\d+);", text)
    assert any(q in taken_back and c in ctx for q, c in tests), (taken_back, tests)
    # one way to place a point, a division by magic number (and its
    # fallback) a collapsed level: the loop's own mapping is folded away in
    # a kernel that always walks the padded space
    assert len(re.findall(r"\bdiv\.u32\b", text)) == levels, text
    assert len(re.findall(r"\bdiv\.s64\b", text)) == levels, text


def test_the_note_says_which_loops_are_aligned():
    f, args = CASES["aligned_stencil"]
    f(*copy.deepcopy(args))
    assert "warps start at multiples of 32 of the innermost index" in "".join(f.notes().values())
    # a step of 1 from 1, but lane loops inside: a block a gang, not aligned
    g, gargs = CASES["aligned_gang_lanes"]
    g(*copy.deepcopy(gargs))
    assert "warps start" not in "".join(g.notes().values())
