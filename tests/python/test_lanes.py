"""Lane loops: a `loop vector` or `loop worker` inside a gang loop, and a
`loop vector` inside such a `loop worker`.

On a GPU its iterations spread over the threads of the gang's block (a
vector loop in a worker's body: over the threads of the worker's row),
and the code around it runs once per gang (or worker) (jit/gpu_lanes.c);
everywhere else it is an ordinary loop inside the parallel loop's body.  Here, without a GPU:
every lane case of gpu_cases.py gives on the host what the plain function
gives, its notes say which loops become lane loops and why others do not,
and its PTX has the gang's thread and the helpers meeting at barriers.
The GPU runs of the same cases are in test_gpu_regions.py."""

import copy
import re
import warnings

import numpy as np
import pytest

import gpu_cases
import pyacc
from pyacc import acc

LANE_CASES = [n for n in gpu_cases._args() if "lanes" in n or n.startswith("rows_") or n == "gang_single"]


@pytest.mark.parametrize("name", LANE_CASES)
def test_lane_cases_give_what_the_plain_function_gives_on_the_host(name):
    f, args = gpu_cases._args()[name]
    a1, a2 = copy.deepcopy(args), copy.deepcopy(args)
    before = f.stats()["fallbacks"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pyacc.PyaccWarning)
        r1 = f(*a1)
    r2 = f.py_func(*a2)
    approx = name in gpu_cases.APPROX
    assert gpu_cases._same(r1, r2, approx), (r1, r2)
    for i, (p, q) in enumerate(zip(a1, a2)):
        assert gpu_cases._same(p, q, approx), f"argument {i} differs"
    assert f.stats()["fallbacks"] == before


def _notes(f):
    return "".join(f.notes().values())


def test_notes_name_the_lane_loops():
    f, args = gpu_cases._args()["lanes_in_seq_loop"]
    f(*copy.deepcopy(args))
    notes = _notes(f)
    # the two vector loops, not the seq loop holding them
    assert notes.count("runs across the threads of each gang's block") == 2, notes


@acc
def carried_in_vector(a, out):
    #pragma acc parallel loop gang
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop vector
        for j in range(a.shape[1]):
            s = s * 0.5 + a[i, j]
        out[i] = s


@acc
def vector_outer(a, out):
    #pragma acc parallel loop gang vector
    for i in range(a.shape[0]):
        #pragma acc loop
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] + 1.0


def test_a_lane_loop_carrying_a_value_runs_in_the_gangs_thread_as_written():
    # OpenACC makes this the program's error; pyacc keeps the loop in order
    # inside the gang, with a note, and the answer is Python's
    a = np.random.default_rng(1).random((20, 30))
    o1, o2 = np.zeros(20), np.zeros(20)
    carried_in_vector(a, o1)
    carried_in_vector.py_func(a, o2)
    assert np.array_equal(o1, o2)
    notes = _notes(carried_in_vector)
    assert "runs in each GPU thread, not across the block's" in notes and "'s' carries a value" in notes, notes


def test_no_lane_loops_under_a_loop_that_takes_the_threads_itself():
    a = np.ones((5, 6))
    o = np.zeros((5, 6))
    vector_outer(a, o)
    assert (o == 2.0).all()
    assert "gang's block" not in _notes(vector_outer)


def test_ptx_has_the_gang_thread_and_its_helpers_meet_at_non_aligned_barriers(monkeypatch):
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")
    f, args = gpu_cases._args()["lanes_in_seq_loop"]
    assert f.compile(*copy.deepcopy(args), target="nvidia")[0][1]
    text = next(iter(f.inspect_ptx().values()))
    # the two kinds of thread meet at different barriers: never bar.sync
    # (.aligned), which needs every thread at the same one
    assert "barrier.sync" in text and "bar.sync" not in text, text[:2000]
    assert "pyacc_$_lane_$_cmd" in text  # the command the helpers wait for
    f, args = gpu_cases._args()["matvec_lanes"]
    f.compile(*copy.deepcopy(args), target="nvidia")
    text = next(iter(f.inspect_ptx().values()))
    assert "shfl.sync.down" in text  # the lanes' sums combine across the block


def test_notes_name_the_row_loops():
    f, args = gpu_cases._args()["rows_two_loops"]
    f(*copy.deepcopy(args))
    notes = _notes(f)
    assert notes.count("runs across the threads of each worker's row") == 2, notes
    assert notes.count("runs across the threads of each gang's block") == 1, notes


@acc
def worker_vector_seq(a, out):
    #pragma acc parallel loop gang
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            #pragma acc loop seq
            for j in range(a.shape[2]):
                out[b, i, j] = a[b, i, j] + 1.0


def test_a_seq_loop_in_a_workers_body_runs_in_the_workers_thread():
    a = np.ones((2, 3, 4))
    o = np.zeros_like(a)
    worker_vector_seq(a, o)
    assert (o == 2.0).all()
    notes = _notes(worker_vector_seq)
    assert "worker's row" not in notes and notes.count("gang's block") == 1, notes


@pytest.mark.parametrize("name", ["rows_matvec", "rows_shaped", "rows_two_loops", "rows_atomic_worker",
                                  "rows_gang_worker", "rows_gang_worker_shaped", "rows_worker_updates"])
def test_ptx_has_each_row_meet_at_its_own_named_barrier(name, monkeypatch):
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")
    f, args = gpu_cases._args()[name]
    assert f.compile(*copy.deepcopy(args), target="nvidia")[0][1]
    text = next(iter(f.inspect_ptx().values()))
    # a row's barrier: id 1 + threadIdx.y, ntid.x threads; the block's: 0
    assert re.search(r"barrier\.sync\s+%r\d+, %r\d+;", text), text[:3000]
    assert "bar.sync" not in text
    if not name.startswith("rows_gang_worker"):  # the gang's thread's handshake
        assert "barrier.sync \t0;" in text
    assert "%tid.y" in text
    # every thread of a row runs the worker's own code, unless it has an
    # atomic: then the row's first thread, the others waiting for commands
    assert ("pyacc_$_row_$_cmd" in text) == (name == "rows_atomic_worker")
    if name == "rows_matvec":
        assert "shfl.sync.down" in text and "pyacc_$_row_$_shared" in text  # sums over the row
        assert "shfl.sync.idx" in text  # handed to every thread of the row
    # registers bounded: two blocks of 256 threads a multiprocessor at least
    assert ".maxnreg 128" in text


def test_a_gang_worker_loop_with_an_atomic_runs_a_thread_an_iteration(monkeypatch):
    # its worker code cannot run in every thread of a row: no rows then,
    # the vector loop in order in each thread
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")
    f, args = gpu_cases._args()["rows_gang_worker_atomic"]
    assert f.compile(*copy.deepcopy(args), target="nvidia")[0][1]
    text = next(iter(f.inspect_ptx().values()))
    assert not re.search(r"barrier\.sync\s+%r\d+, %r\d+;", text) and "atom.global.add" in text


def test_compile_for_the_gpu_keeps_the_notes_too(monkeypatch):
    # notes() after compile(target="nvidia") alone: what the GPU build found
    monkeypatch.setenv("PYACC_GPU_ARCH", "sm_90")

    @acc
    def gw(a, y):
        #pragma acc parallel loop gang worker
        for i in range(a.shape[0]):
            s = 0.0
            #pragma acc loop vector reduction(+:s)
            for j in range(a.shape[1]):
                s += a[i, j]
            y[i] = s

    assert gw.compile(np.ones((3, 4)), np.zeros(3), target="nvidia")[0][1]
    assert "runs across the threads of each worker's row" in _notes(gw), gw.notes()
