"""The suite's latency rows: what a user waits for besides the kernels
themselves, each pyacc figure beside its peer's (Numba on the host,
numba-cuda on a GPU) and beside the issue's goal.

  cold compile     a fresh process, an empty disk cache: a small kernel's
                   (saxpy, one parallel loop) first call minus its second,
                   that is the compile; beside njit(parallel=True,
                   cache=False)'s first call minus its second.  On a GPU
                   machine the same for a kernel on the GPU (its arrays put
                   there first, so that neither the CUDA context nor the
                   copies are counted) beside numba-cuda's @cuda.jit.
  warm start       a fresh process finding the kernel in a warm disk cache:
                   from before `import numpy` to the end of the first call,
                   the imports included; beside njit(parallel=True,
                   cache=True) with a warm NUMBA_CACHE_DIR.
  per-call         a serial region on two arrays of 4 elements, called many
                   times in a loop (timeit's): the median time a call,
                   beside an @njit function doing the same.
  GPU launch       a tiny kernel on data already on the GPU, a call waited
                   for (suite_gpu.py measures it) beside numba-cuda's.

Each figure is the median over several fresh processes (the launch: over
many calls in one).  Every child checks its kernel's result against the
function run by the interpreter (f.py_func) and that it compiled, or
loaded from the cache, as the row says; a child that fails or disagrees is
a mismatch of the suite.

    python benchmarks/latency.py [--quick] [--runs N]   # these rows alone, printed
    python benchmarks/suite.py --latency-only           # the same, into results.json

compile_latency.py and cache_latency.py print other cuts of the same
children's figures.
"""

import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

# What the issue asks of pyacc (printed beside the figures).
GOAL_COLD_HOST = 20e-3   # seconds: a small kernel's compile on the host
GOAL_COLD_GPU = 60e-3    # seconds: the same for a kernel on the GPU
GOAL_WARM = 30e-3        # seconds: a fresh process to its first call's end, the cache warm
# the per-call overhead: at or below Numba's; the GPU launch: suite_gpu.GOAL_LAUNCH

N = 1000          # elements of the saxpy kernels' arrays
A = 2.5

# --------------------------------------------------------- the children
# Each is a file (pyacc reads a function's pragmas from its source) run by
# a fresh interpreter; it prints one JSON object as its last line.  Times
# are seconds from time.perf_counter(), t0 taken before `import numpy`.

PYACC_SAXPY = r'''
import time
t0 = time.perf_counter()
import json
import numpy as np
t1 = time.perf_counter()
import pyacc
from pyacc import acc
t2 = time.perf_counter()


@acc
def saxpy(a, x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


t3 = time.perf_counter()
x = np.arange(%(n)d) * 0.5
y = np.ones(%(n)d)
t4 = time.perf_counter()
saxpy(%(a)r, x, y)
t5 = time.perf_counter()
saxpy(%(a)r, x, y)
t6 = time.perf_counter()
pyacc.wait_optimised()  # a first call on little data ran quick code: its O3 code made meanwhile
t7 = time.perf_counter()
saxpy(%(a)r, x, y)
ref = np.ones(%(n)d)
for _ in range(3):
    saxpy.py_func(%(a)r, x, ref)
s = saxpy.stats()
sig = saxpy._regions[0].signatures()[0]
out = {"numpy_import": t1 - t0, "pyacc_import": t2 - t1, "decorate": t3 - t2,
       "first_call": t5 - t4, "second_call": t6 - t5, "start_to_first": t5 - t0,
       "o3_ready": t7 - t4, "code": dict(zip(sig[2::2], sig[3::2])).get("code"),
       "compiles": s["compiles"], "disk_hits": s["disk_hits"],
       "ok": bool(np.allclose(y, ref, rtol=1e-12, atol=0))}
try:  # the compiler's own breakdown of the compile (a field it lacks is left out)
    sig = saxpy._regions[0].signatures()[0]
    ms = dict(zip(sig[2::2], sig[3::2]))
    out.update(compile_total=ms["total_ms"] / 1e3, llvm_opt=ms["opt_ms"] / 1e3,
               machine_code=ms["codegen_ms"] / 1e3)
except Exception:
    pass
print(json.dumps(out))
'''

NUMBA_SAXPY = r'''
import time
t0 = time.perf_counter()
import json
import sys
import numpy as np
from numba import njit, prange
t1 = time.perf_counter()


@njit(parallel=True, cache=sys.argv[1] == "cache")
def saxpy(a, x, y):
    for i in prange(x.shape[0]):
        y[i] = a * x[i] + y[i]


x = np.arange(%(n)d) * 0.5
y = np.ones(%(n)d)
t4 = time.perf_counter()
saxpy(%(a)r, x, y)
t5 = time.perf_counter()
saxpy(%(a)r, x, y)
t6 = time.perf_counter()
ref = np.ones(%(n)d)
saxpy.py_func(%(a)r, x, ref)
saxpy.py_func(%(a)r, x, ref)
print(json.dumps({"import": t1 - t0, "first_call": t5 - t4, "second_call": t6 - t5,
                  "start_to_first": t5 - t0, "disk_hits": sum(saxpy.stats.cache_hits.values()),
                  "ok": bool(np.allclose(y, ref, rtol=1e-12, atol=0))}))
'''

# argv: calls a round, rounds.  Rounds alternate pyacc and Numba (a busy
# moment hits both alike); each gives a time a call, of which the median.
OVERHEAD = r'''
import json
import statistics
import sys
import timeit
import numpy as np
import pyacc
from pyacc import acc
try:
    from numba import njit
except ImportError:
    njit = None


@acc
def tiny(x, y):
    #pragma acc serial
    y[0] = x[0] + 1.0


def noop(x, y):
    pass


calls, rounds = int(sys.argv[1]), int(sys.argv[2])
x = np.arange(4.0) + 1.0
y = np.zeros(4)
fns = {"pyacc": tiny, "python_noop": noop}
if njit is not None:
    fns["numba"] = njit(tiny.py_func)
ref = np.zeros(4)
tiny.py_func(x, ref)
ok = tiny.stats()["compiles"] == 0
for k, f in fns.items():  # the first calls compile; each result checked
    y[:] = 0.0
    f(x, y)
    ok = ok and (k == "python_noop" or np.array_equal(y, ref))
ok = ok and tiny.stats()["compiles"] == 1
pyacc.wait_optimised()  # its O3 code, made in the background after the quick code's first call
per = {k: [] for k in fns}
order = list(fns)
for r in range(rounds):
    for k in (order if r % 2 else order[::-1]):
        t = timeit.Timer("f(x, y)", globals={"f": fns[k], "x": x, "y": y})
        per[k].append(t.timeit(calls) / calls)
ok = ok and np.array_equal(y, ref) and tiny.stats()["fallbacks"] == 0
out = {k: statistics.median(v) for k, v in per.items()}
out["ok"] = bool(ok)
print(json.dumps(out))
'''

# On a GPU: the arrays are put there first (acc_copyin also makes the CUDA
# context), so the first call minus the second is the compile and the
# module's load; each call is waited for.
PYACC_GPU = r'''
import time
t0 = time.perf_counter()
import json
import warnings
import numpy as np
import pyacc
from pyacc import acc

# a kernel left on the host warns (when decorated where there is no GPU,
# when first called where its loops cannot run there)
catching = warnings.catch_warnings(record=True)
caught = catching.__enter__()
warnings.simplefilter("always")


@acc(device="nvidia")
def saxpy(a, x, y):
    #pragma acc parallel loop present(x, y)
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


x = np.arange(%(n)d) * 0.5
y = np.ones(%(n)d)
pyacc.acc_set_device_type(pyacc.acc_device_nvidia)
pyacc.acc_copyin(x)
pyacc.acc_copyin(y)
pyacc.acc_wait_all()
t4 = time.perf_counter()
saxpy(%(a)r, x, y)
pyacc.acc_wait_all()
t5 = time.perf_counter()
saxpy(%(a)r, x, y)
pyacc.acc_wait_all()
t6 = time.perf_counter()
catching.__exit__(None, None, None)
pyacc.acc_copyout(y)
pyacc.acc_delete(x)
ref = np.ones(%(n)d)
saxpy.py_func(%(a)r, x, ref)
saxpy.py_func(%(a)r, x, ref)
on_host = [str(w.message) for w in caught if "on the host" in str(w.message)]
s = saxpy.stats()
print(json.dumps({"first_call": t5 - t4, "second_call": t6 - t5, "compiles": s["compiles"],
                  "disk_hits": s["disk_hits"], "on_host": on_host,
                  "ok": bool(np.allclose(y, ref, rtol=1e-12, atol=0)) and not on_host
                        and bool(saxpy.inspect_ptx())}))
'''

NUMBA_CUDA = r'''
import time
t0 = time.perf_counter()
import json
import warnings
import numpy as np
try:
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack  # numba-cuda still names it; NumPy 2.5 removed it
    from numba import cuda
    if not cuda.is_available():
        raise RuntimeError("numba-cuda finds no GPU")
except Exception as e:
    print(json.dumps({"skipped": f"{type(e).__name__}: {e}"}))
    raise SystemExit(0)
warnings.filterwarnings("ignore", message=r".*Grid size \d+ will likely result in GPU under-utilization")


@cuda.jit
def saxpy(a, x, y):
    i = cuda.grid(1)
    if i < x.shape[0]:
        y[i] = a * x[i] + y[i]


x = np.arange(%(n)d) * 0.5
y = np.ones(%(n)d)
dx, dy = cuda.to_device(x), cuda.to_device(y)
cuda.synchronize()
blocks = (x.shape[0] + 255) // 256
t4 = time.perf_counter()
saxpy[blocks, 256](%(a)r, dx, dy)
cuda.synchronize()
t5 = time.perf_counter()
saxpy[blocks, 256](%(a)r, dx, dy)
cuda.synchronize()
t6 = time.perf_counter()
y = dy.copy_to_host()
ref = np.ones(%(n)d)
for _ in range(2):
    for i in range(x.shape[0]):
        ref[i] = %(a)r * x[i] + ref[i]
print(json.dumps({"first_call": t5 - t4, "second_call": t6 - t5,
                  "ok": bool(np.allclose(y, ref, rtol=1e-12, atol=0))}))
'''


def source(code):
    return code % {"n": N, "a": A}


# ------------------------------------------------------ running children

class ChildFailed(Exception):
    pass


_COMPILED = []


def _compile_packages():
    if _COMPILED:
        return
    _COMPILED.append(True)
    import compileall
    import pyacc
    compileall.compile_dir(os.path.dirname(os.path.abspath(pyacc.__file__)), quiet=2)


def child_env(**overrides):
    """This process's environment for a child, PYTHONPATH made absolute
    (children run in their own folder: they must import the same pyacc),
    with overrides (None removes a variable)."""
    env = dict(os.environ)
    # as a user's process: an installed package's modules were compiled to
    # bytecode when it was installed, so children read .pyc files (made once
    # here, where the tree allows) rather than compiling source each start
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    _compile_packages()
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) if p else p
                                            for p in env["PYTHONPATH"].split(os.pathsep))
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_child(code, workdir, env, args=(), name="child.py", timeout=600):
    """Runs a child script (written to workdir/name, the same path at each
    run: Numba's cache is keyed by it) in a fresh interpreter; returns its
    JSON object, with the process's wall time as "process"."""
    path = os.path.join(workdir, name)
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(code)
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, path, *map(str, args)], env=env, cwd=workdir,
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{name}: no answer in {timeout} s") from None
    wall = time.perf_counter() - t0
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        tail = (out.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        raise ChildFailed(f"{name} exited {out.returncode}: {tail}")
    try:
        res = json.loads(lines[-1])
    except ValueError:
        raise ChildFailed(f"{name}: no result ({lines[-1][:200]!r})") from None
    res["process"] = wall
    return res


def saxpy_samples(runs, warm_runs=None):
    """pyacc's cold and warm children for the host's saxpy: (cold, warm),
    lists of the children's results.  Each cold child has its own empty
    cache; the warm ones (runs of them, unless told) find the entry the
    first cold child left."""
    cold, warm = [], []
    warm_runs = runs if warm_runs is None else warm_runs
    with tempfile.TemporaryDirectory(prefix="pyacc-lat-") as d:
        code = source(PYACC_SAXPY)
        for r in range(runs):
            env = child_env(PYACC_CACHE_DIR=os.path.join(d, f"cache{r}"), ACC_DEVICE_TYPE="host")
            cold.append(run_child(code, d, env, name="saxpy.py"))
        env = child_env(PYACC_CACHE_DIR=os.path.join(d, "cache0"), ACC_DEVICE_TYPE="host")
        for _ in range(warm_runs):
            warm.append(run_child(code, d, env, name="saxpy.py"))
    return cold, warm


def numba_samples(runs):
    """Numba's: (cold children with cache=False and an empty
    NUMBA_CACHE_DIR, warm children with cache=True and the cache a first
    cache=True child left)."""
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="pyacc-lat-nb-") as d:
        code = source(NUMBA_SAXPY)
        for r in range(runs):
            env = child_env(NUMBA_CACHE_DIR=os.path.join(d, f"cold{r}"))
            cold.append(run_child(code, d, env, ["nocache"], name="saxpy_nb.py"))
        env = child_env(NUMBA_CACHE_DIR=os.path.join(d, "warm"))
        run_child(code, d, env, ["cache"], name="saxpy_nb.py")  # fills the cache
        for _ in range(runs):
            warm.append(run_child(code, d, env, ["cache"], name="saxpy_nb.py"))
    return cold, warm


def attempt(fn, *args, fail=(None, None)):
    """(fn's result, None), or (fail, why) where a child failed."""
    try:
        return fn(*args), None
    except ChildFailed as e:
        return fail, str(e)


def overhead_samples(runs, calls, rounds):
    """The per-call children: a list of {"pyacc", "numba", "python_noop":
    seconds a call (median of the rounds), "ok"}."""
    out = []
    with tempfile.TemporaryDirectory(prefix="pyacc-lat-oh-") as d:
        for r in range(runs):  # each with an empty cache: its region compiles once
            env = child_env(PYACC_CACHE_DIR=os.path.join(d, f"cache{r}"),
                            NUMBA_CACHE_DIR=os.path.join(d, f"nb{r}"), ACC_DEVICE_TYPE="host")
            out.append(run_child(OVERHEAD, d, env, [calls, rounds], name="overhead.py"))
    return out


def gpu_samples(runs, peer_runs):
    """The GPU's cold children: (pyacc's, numba-cuda's), each in a fresh
    process with empty caches, taking turns."""
    pyacc_s, numba_s = [], []
    with tempfile.TemporaryDirectory(prefix="pyacc-lat-gpu-") as d:
        for r in range(max(runs, peer_runs)):
            if r < runs:
                env = child_env(PYACC_CACHE_DIR=os.path.join(d, f"cache{r}"), ACC_DEVICE_TYPE="nvidia")
                pyacc_s.append(run_child(source(PYACC_GPU), d, env, name="saxpy_gpu.py"))
            if r < peer_runs:
                env = child_env(NUMBA_CACHE_DIR=os.path.join(d, f"nb{r}"))
                numba_s.append(run_child(source(NUMBA_CUDA), d, env, name="saxpy_cuda.py"))
    return pyacc_s, numba_s


# --------------------------------------------------------------- rows

def median(samples, key):
    return statistics.median(s[key] for s in samples)


def row(key, what, target, pyacc_s, peer, peer_s, goal, limit=None, runs=None, note="", peer_runs=None):
    """One row: pyacc's figure, its peer's, the ratio and the goal (limit:
    seconds pyacc must stay within; else at or below the peer); runs: the
    fresh processes of each figure's median."""
    r = {"key": key, "what": what, "target": target, "pyacc_s": pyacc_s, "peer": peer,
         "peer_s": peer_s, "ratio": pyacc_s / peer_s if pyacc_s and peer_s else None,
         "goal": goal, "runs": runs, "peer_runs": runs if peer_runs is None else peer_runs}
    if pyacc_s is None:
        r["met"] = None
    elif limit is not None:
        r["met"] = pyacc_s <= limit
    else:
        r["met"] = None if peer_s is None else pyacc_s <= peer_s
    if note:
        r["note"] = note
    return r


def skipped(key, what, target, peer, goal, why):
    return {"key": key, "what": what, "target": target, "pyacc_s": None, "peer": peer, "peer_s": None,
            "ratio": None, "goal": goal, "met": None, "skipped": why}


def host_rows(runs, quick, bad):
    """The host's rows: cold compile, warm start, per-call."""
    rows = []
    have_numba = True
    try:
        import numba  # noqa: F401
    except ImportError:
        have_numba = False
    calls, rounds = (2000, 5) if quick else (50_000, 21)
    oh_runs = 1 if quick else max(3, runs // 2)
    # Quick: Numba's children run once, beside pyacc's (their figures are
    # not judged, only their results checked), to keep CI's run short.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        numba_job = pool.submit(attempt, numba_samples, 1) if quick and have_numba else None
        (p_cold, p_warm), p_err = attempt(saxpy_samples, runs)
        if have_numba and not quick:
            (n_cold, n_warm), n_err = attempt(numba_samples, runs)
        elif numba_job:
            (n_cold, n_warm), n_err = numba_job.result()
        else:
            (n_cold, n_warm), n_err = (None, None), None
        oh, oh_err = attempt(overhead_samples, oh_runs, calls, rounds, fail=None)
    for who, err in (("pyacc's saxpy", p_err), ("Numba's saxpy", n_err), ("per-call", oh_err)):
        if err:
            bad.append(f"latency, {who}: {err}")
    for which, samples in (("pyacc cold", p_cold), ("pyacc warm", p_warm), ("numba cold", n_cold),
                           ("numba warm", n_warm)):
        for s in samples or []:
            if not s["ok"]:
                bad.append(f"latency, {which} saxpy: the result differs from f.py_func's")
    for s in p_cold or []:
        if s["compiles"] != 1 or s["disk_hits"]:
            bad.append(f"latency, pyacc cold saxpy: {s['compiles']} compiles, {s['disk_hits']} disk hits "
                       "(an empty cache must compile once)")
    for s in (p_cold or []) + (p_warm or []):
        if s.get("code", "O3") != "O3":
            bad.append(f"latency, pyacc saxpy: runs {s['code']} code after waiting for the O3 code")
    for s in p_warm or []:
        if s["compiles"] or s["disk_hits"] != 1:
            bad.append(f"latency, pyacc warm saxpy: {s['compiles']} compiles, {s['disk_hits']} disk hits "
                       "(a warm cache must load, not compile)")
    for s in n_warm or []:
        if not s["disk_hits"]:
            bad.append("latency, Numba warm saxpy: compiled (its cache did not hit)")

    def compile_time(samples):  # the first call minus the second: the compile
        return statistics.median(s["first_call"] - s["second_call"] for s in samples) if samples else None

    pc = compile_time(p_cold)
    rows.append(row("cold_compile_host", "cold compile, host (saxpy)", "host", pc, "numba",
                    compile_time(n_cold), f"<= {GOAL_COLD_HOST * 1e3:.0f} ms", GOAL_COLD_HOST, runs,
                    peer_runs=1 if quick else runs,
                    note="first call - second, fresh process, empty cache"
                         + (f"; compiler's own count {median(p_cold, 'compile_total') * 1e3:.1f} ms"
                            if p_cold and "compile_total" in p_cold[0] else "")
                         + (f"; the quick code's: O3 code in place {median(p_cold, 'o3_ready') * 1e3:.1f} ms "
                            "after the first call began (made in the background)"
                            if p_cold and "o3_ready" in p_cold[0] else "")))
    pw = median(p_warm, "start_to_first") if p_warm else None
    rows.append(row("warm_start", "warm start, host (import + 1st call)", "host", pw, "numba",
                    median(n_warm, "start_to_first") if n_warm else None, f"<= {GOAL_WARM * 1e3:.0f} ms",
                    GOAL_WARM, runs, peer_runs=1 if quick else runs,
                    note=(f"imports: numpy {median(p_warm, 'numpy_import') * 1e3:.1f} ms, "
                          f"pyacc {median(p_warm, 'pyacc_import') * 1e3:.1f} ms; first call (a load) "
                          f"{median(p_warm, 'first_call') * 1e3:.2f} ms; all but numpy's import "
                          f"{statistics.median(s['start_to_first'] - s['numpy_import'] for s in p_warm) * 1e3:.1f}"
                          " ms" if p_warm else "")))
    for s in oh or []:
        if not s["ok"]:
            bad.append("latency, per-call: a serial region's result differs from f.py_func's, "
                       "or it ran in the interpreter")
    rows.append(row("call_overhead", "per call, serial region (2 x 4 elements)", "host",
                    median(oh, "pyacc") if oh else None, "numba",
                    median(oh, "numba") if oh and "numba" in oh[0] else None, "<= numba", None, oh_runs,
                    note=(f"{rounds} rounds of {calls} calls a process; a Python function doing nothing: "
                          f"{median(oh, 'python_noop') * 1e6:.3f} us" if oh else "")))
    return rows, {"pyacc_cold": p_cold, "pyacc_warm": p_warm, "numba_cold": n_cold, "numba_warm": n_warm,
                  "overhead": oh}


def gpu_rows(runs, quick, gpu, launch, bad):
    """The GPU's rows: a kernel's cold compile and the launch overhead
    (launch: suite_gpu's launch_s, or None)."""
    from suite_gpu import GOAL_LAUNCH
    cold_goal, launch_goal = f"<= {GOAL_COLD_GPU * 1e3:.0f} ms", f"<= {GOAL_LAUNCH * 1e6:.0f} us"
    what_cold, what_launch = "cold compile, GPU kernel (saxpy)", "GPU launch, data present"
    if gpu is None:
        return [skipped("cold_compile_gpu", what_cold, "gpu", "numba-cuda", cold_goal, "no GPU"),
                skipped("gpu_launch", what_launch, "gpu", "numba-cuda", launch_goal, "no GPU")], {}
    rows = []
    try:
        p, n = gpu_samples(runs, 1 if quick else runs)
    except ChildFailed as e:
        bad.append(f"latency, GPU saxpy: {e}")
        p = n = None
    note = "first call - second, fresh process, empty cache, arrays already on the GPU"
    if p is not None:
        for s in p:
            if not s["ok"]:
                bad.append("latency, pyacc GPU saxpy: the result differs from f.py_func's, or it ran "
                           f"on the host ({s['on_host']})")
            if s["compiles"] != 1 or s["disk_hits"]:
                bad.append(f"latency, pyacc GPU saxpy: {s['compiles']} compiles, {s['disk_hits']} disk hits")
        if any("skipped" in s for s in n):
            note += f"; numba-cuda not measured ({n[0].get('skipped')})"
            n = None
        for s in n or []:
            if not s["ok"]:
                bad.append("latency, numba-cuda saxpy: the result differs from the interpreter's")
        ct = lambda v: statistics.median(s["first_call"] - s["second_call"] for s in v) if v else None  # noqa: E731
        rows.append(row("cold_compile_gpu", what_cold, "gpu", ct(p), "numba-cuda", ct(n), cold_goal,
                        GOAL_COLD_GPU, runs, note=note, peer_runs=1 if quick else runs))
    else:
        rows.append(skipped("cold_compile_gpu", what_cold, "gpu", "numba-cuda", cold_goal, "failed"))
    if launch and "pyacc" in launch:
        rows.append(row("gpu_launch", what_launch, "gpu", launch["pyacc"], "numba-cuda",
                        launch.get("numba-cuda"), launch_goal, GOAL_LAUNCH, None,
                        note="a tiny kernel (1024 elements, present), waited for; median of many calls"
                             + (f"; cupy {launch['cupy'] * 1e6:.1f} us" if "cupy" in launch else "")
                             + (f"; the driver's own cuLaunchKernel + cuCtxSynchronize (ctypes) "
                                f"{launch['driver'] * 1e6:.1f} us, pyacc at "
                                f"{launch['pyacc'] / launch['driver']:.2f} of it" if "driver" in launch else "")))
    else:
        rows.append(skipped("gpu_launch", what_launch, "gpu", "numba-cuda", launch_goal, "not measured"))
    return rows, {"pyacc_gpu_cold": p, "numba_cuda_cold": n}


def run(quick, host=True, gpu=None, launch=None, label="", runs=None):
    """Measures the latency rows: the host's unless host is False, the
    GPU's where gpu (its name) is given, else they say "skipped (no GPU)".
    Returns (results, mismatches)."""
    runs = runs or (3 if quick else 7)
    bad, samples, rows = [], {}, []
    if host:
        r, s = host_rows(runs, quick, bad)
        rows += r
        samples.update(s)
    r, s = gpu_rows(runs, quick, gpu, launch, bad)
    rows += r
    samples.update(s)
    if quick:  # figures not judged
        for r in rows:
            r["met"] = None
    for r in rows:
        r["machine"] = label if r["target"] == "host" else f"{gpu}; {label}" if gpu else label
    return {"machine": label, "gpu": gpu, "date": time.strftime("%Y-%m-%d"), "quick": quick, "runs": runs,
            "python": sys.version.split()[0], "rows": rows, "samples": samples}, bad


# ----------------------------------------------------------- reporting

def fmt(s):
    if s is None:
        return "-"
    return f"{s * 1e6:.2f} us" if s < 1e-3 else f"{s * 1e3:.1f} ms"


def report(res):
    """Prints the latency table: each row's figure, its peer's, the ratio
    and the goal, met or missed (not judged at quick sizes)."""
    print(f"\nlatency: {res['machine']}" + (f"; GPU: {res['gpu']}" if res["gpu"] else "")
          + f"\nmedians of {res['runs']} fresh processes"
          + (" (quick: Numba's children once, beside pyacc's; figures not judged)" if res["quick"] else "") + "\n")
    print(f"{'what':42}{'pyacc':>12}  {'peer':11}{'peer':>12}{'/peer':>8}  goal")
    for r in res["rows"]:
        if "skipped" in r:
            print(f"{r['what']:42}{'-':>12}  {r['peer']:11}{'-':>12}{'-':>8}  {r['goal']}: "
                  f"skipped ({r['skipped']})")
            continue
        ratio = f"{r['ratio']:8.2f}" if r["ratio"] is not None else f"{'-':>8}"
        verdict = ("not judged" if res["quick"] else "no figure" if r["met"] is None
                   else "met" if r["met"] else "MISSED")
        print(f"{r['what']:42}{fmt(r['pyacc_s']):>12}  {r['peer']:11}{fmt(r['peer_s']):>12}{ratio}  "
              f"{r['goal']}: {verdict}")
    for r in res["rows"]:
        if r.get("note"):
            print(f"  {r['key']}: {r['note']}")


def main():
    quick = "--quick" in sys.argv
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else None
    os.environ.setdefault("ACC_DEVICE_TYPE", "host")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import suite_gpu
    from suite import machine
    gpu = suite_gpu.gpu_present()
    launch, bad = None, []
    if gpu is not None:
        launch, bad = suite_gpu.launch_only(20 if quick else 300)
    res, more = run(quick, gpu=gpu, launch=launch, label=machine(), runs=runs)
    report(res)
    for b in bad + more:
        print("MISMATCH:", b)
    return 1 if bad or more else 0


if __name__ == "__main__":
    sys.exit(main())
