"""The disk cache across processes: hits, what invalidates an entry, every
fault the cache can meet (injected here), processes racing on an empty
cache, @acc(cache=False), and the `pyacc cache` commands."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from conftest import HAS_GPU

PYACC_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__import__("pyacc").__file__)))

PROGRAM = '''
import json, sys, warnings
import numpy as np
warnings.simplefilter("always")
import pyacc
from pyacc import acc
SCALE = {scale}

def helper(v):
    return v * {helper}

@acc{deco}
def kernel(x, y):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = helper(x[i]) * SCALE + 1.0
    return y

x = np.arange(1000.0)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    y = kernel(x, np.zeros(1000))
    if len(sys.argv) > 1:   # a second signature
        kernel(x.astype(np.float32), np.zeros(1000, np.float32))
ok = bool(np.array_equal(y, kernel.py_func(x, np.zeros(1000))))
print(json.dumps({{"stats": kernel.stats(), "ok": ok,
                  "warnings": [str(m.message) for m in w]}}))
'''


def write_program(path, scale=2.0, helper=3, deco=""):
    path.write_text(PROGRAM.format(scale=scale, helper=helper, deco=deco))


def run(path, cache, *argv, env=None):
    # host code unless a test asks otherwise (the suite may run with ACC_DEVICE_TYPE=nvidia); O3
    # before the first call, so that what the cache meets happens inside the program's own
    # lines (test_tier.py covers the O3 code saved from the background after quick code)
    e = dict(os.environ, PYACC_CACHE_DIR=str(cache), PYTHONPATH=PYACC_ROOT, ACC_DEVICE_TYPE="host",
             PYACC_TIER="optimised")
    e.update(env or {})
    out = subprocess.run([sys.executable, str(path), *argv], env=e, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["ok"], res
    return res


def cli(cache, *args):
    e = dict(os.environ, PYACC_CACHE_DIR=str(cache), PYTHONPATH=PYACC_ROOT)
    return subprocess.run([sys.executable, "-m", "pyacc", "cache", *args], env=e, capture_output=True,
                          text=True)


def entries(cache):
    return json.loads(cli(cache, "list", "--json").stdout)


# ------------------------------------------------------------ hits

def test_a_second_process_loads_from_disk_and_compiles_nothing(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    first = run(prog, cache)
    assert first["stats"]["compiles"] == 1 and first["stats"]["disk_hits"] == 0
    second = run(prog, cache)
    assert second["stats"]["compiles"] == 0 and second["stats"]["disk_hits"] == 1
    assert not second["warnings"]
    [e] = entries(cache)
    assert e["hits"] == 1 and e["qualname"] == "kernel" and e["line"] == 14
    assert e["signature"] == "(float64[:], float64[:])"


def test_each_signature_is_its_own_entry(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    assert run(prog, cache, "two")["stats"]["compiles"] == 2
    assert run(prog, cache, "two")["stats"]["disk_hits"] == 2
    assert len(entries(cache)) == 2


# ---------------------------------------------------- invalidation

@pytest.mark.parametrize("change", [
    {"scale": 5.0},        # a global constant the region reads
    {"helper": 7},         # a function the region calls
    {"deco": "(boundscheck=True)"},
])
def test_what_the_code_depends_on_changes_the_key(tmp_path, change):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache)
    write_program(prog, **change)
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1 and res["stats"]["disk_hits"] == 0
    assert len(entries(cache)) == 2


def test_editing_the_region_changes_the_key(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache)
    prog.write_text(prog.read_text().replace("+ 1.0", "+ 2.0"))
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1


def test_touching_the_file_does_not(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache)
    os.utime(prog, (1, 1))
    assert run(prog, cache)["stats"]["disk_hits"] == 1


def test_cache_false_keeps_a_function_off_disk(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog, deco="(cache=False)")
    run(prog, cache)
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1 and res["stats"]["disk_hits"] == 0
    assert entries(cache) == []


# ------------------------------------------------------------ faults

def _entry_file(cache):
    [e] = entries(cache)
    return cache / "entries" / e["key"][:2] / e["key"]


@pytest.mark.parametrize("damage", ["truncate", "corrupt", "delete", "garbage"])
def test_a_damaged_entry_is_dropped_and_compiled_again(tmp_path, damage):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache)
    f = _entry_file(cache)
    data = f.read_bytes()
    if damage == "truncate":
        f.write_bytes(data[:len(data) // 2])
    elif damage == "corrupt":
        f.write_bytes(data[:3000] + bytes([data[3000] ^ 0xFF]) + data[3001:])
    elif damage == "delete":
        f.unlink()
    else:
        f.write_bytes(b"\0" * len(data))
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1 and res["stats"]["disk_hits"] == 0
    assert len(res["warnings"]) == 1 and "compiling it again" in res["warnings"][0]
    # and it was written again, whole
    res = run(prog, cache)
    assert res["stats"]["disk_hits"] == 1 and not res["warnings"]


def test_a_payload_that_passes_the_checksum_but_is_not_an_entry_is_refused(tmp_path):
    # rewrite the frame around a payload of the wrong shape: only the
    # payload check can catch it
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache)
    f = _entry_file(cache)
    payload = b"\x01\x00\x00\x00" + b"\xff" * 100
    h = 0xcbf29ce484222325
    for b in payload:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    f.write_bytes(b"PYACCE01" + len(payload).to_bytes(8, "little") + h.to_bytes(8, "little") + payload)
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1 and "dropped" in res["warnings"][0]


def test_an_index_from_another_version_is_rebuilt(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache)
    db = sqlite3.connect(cache / "index.sqlite")
    db.execute("PRAGMA user_version = 999")
    db.commit()
    db.close()
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1
    assert any("another pyacc version" in m for m in res["warnings"])
    assert run(prog, cache)["stats"]["disk_hits"] == 1


def test_an_unreadable_index_is_replaced(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache)
    for suffix in ("", "-wal", "-shm"):
        p = cache / ("index.sqlite" + suffix)
        if p.exists():
            p.write_bytes(b"this is not SQLite " * 200)
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1 and any("moved aside" in m for m in res["warnings"])


def test_a_cache_directory_that_cannot_be_made_costs_only_a_warning(tmp_path):
    prog = tmp_path / "prog.py"
    write_program(prog)
    res = run(prog, "/proc/self/pyacc-cache")
    assert res["stats"]["compiles"] == 1
    assert len(res["warnings"]) == 1 and "no disk cache" in res["warnings"][0]


def test_a_cache_that_cannot_be_written_costs_only_a_warning(tmp_path):
    # a file where the entries directory should be: no write succeeds,
    # whoever runs the test
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    cache.mkdir()
    (cache / "entries").write_text("in the way")
    res = run(prog, cache)
    assert res["stats"]["compiles"] == 1
    assert len(res["warnings"]) == 1 and "not saved" in res["warnings"][0]


def test_an_empty_cache_dir_setting_disables_the_cache(tmp_path):
    prog = tmp_path / "prog.py"
    write_program(prog)
    res = run(prog, "")
    assert res["stats"]["compiles"] == 1 and not res["warnings"]


def test_eight_processes_on_an_empty_cache(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    e = dict(os.environ, PYACC_CACHE_DIR=str(cache), PYTHONPATH=PYACC_ROOT, ACC_DEVICE_TYPE="host",
             PYACC_TIER="optimised")  # as run() does
    procs = [subprocess.Popen([sys.executable, str(prog), "two"], env=e, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(8)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert all(r["ok"] and not r["warnings"] for r in results)
    compiles = sum(r["stats"]["compiles"] for r in results)
    hits = sum(r["stats"]["disk_hits"] for r in results)
    assert compiles + hits == 16
    assert compiles <= 4, compiles  # two kernels: the others wait for them and load
    assert len(entries(cache)) == 2
    # and a ninth finds everything
    assert run(prog, cache, "two")["stats"]["disk_hits"] == 2


# ------------------------------------------------------------- the CLI

def test_cache_commands(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache, "two")
    run(prog, cache, "two")

    out = cli(cache, "list")
    assert out.returncode == 0
    assert "2 entries in" in out.stdout and out.stdout.count("kernel") == 2
    assert "prog.py:14" in out.stdout

    rows = entries(cache)
    assert {r["signature"] for r in rows} == {"(float64[:], float64[:])", "(float32[:], float32[:])"}
    assert all(set(r) >= {"key", "qualname", "file", "line", "signature", "target", "size",
                          "compile_ms", "created", "last_used", "hits"} for r in rows)
    assert all(r["hits"] == 1 for r in rows)

    key = rows[0]["key"]
    out = cli(cache, "show", key[:12])
    assert out.returncode == 0 and key in out.stdout and "signature" in out.stdout
    llvm = cli(cache, "show", key, "--llvm").stdout
    assert "define" in llvm and "target triple" in llvm
    asm = cli(cache, "show", key, "--asm").stdout
    assert ".text" in asm or "ret" in asm
    out = cli(cache, "show", key, "--ptx")
    assert out.returncode == 1 and "no PTX" in out.stderr
    out = cli(cache, "show", "ffffffffffffffff")
    assert out.returncode == 1 and "no cache entry" in out.stderr
    assert json.loads(cli(cache, "list", "--json").stdout)[0]["hits"] == 1  # show is not a use

    out = cli(cache, "stats")
    assert "entries    2" in out.stdout and "hits       2" in out.stdout

    out = cli(cache, "verify")
    assert out.returncode == 0 and "2 good, 0 dropped" in out.stdout
    f = cache / "entries" / key[:2] / key
    f.write_bytes(f.read_bytes()[:100])
    out = cli(cache, "verify")
    assert out.returncode == 1 and "1 good, 1 dropped" in out.stdout and key[:16] in out.stdout
    assert len(entries(cache)) == 1

    out = cli(cache, "clear", "--older-than", "1")
    assert "removed 0 entries" in out.stdout
    out = cli(cache, "clear")
    assert "removed 1 entries" in out.stdout and entries(cache) == []


def test_the_command_is_installed_and_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "pyacc", "--version"], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=PYACC_ROOT))
    assert out.returncode == 0 and out.stdout.strip()


# ------------------------------------------------------------- warmup

WARM_MODULE = '''
import numpy as np
from pyacc import acc

@acc(signatures=["(float64[:], float64[:], float64)", "(float32[::1], float32[:], np.float32)"])
def saxpy(x, y, a):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]

@acc(signatures=["(float64[:, :], int64)"])
def rowsum(m, k):
    n = m.shape[0]
    out = np.zeros(n)
    #pragma acc parallel loop
    for i in range(n):
        s = 0.0
        for j in range(m.shape[1]):
            s += m[i, j] * k
        out[i] = s
    total = 0.0
    #pragma acc parallel loop reduction(+:total)
    for i in range(n):
        total += out[i]
    return total
'''

WARM_USER = '''
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import kernels
x = np.arange(100.0)
y = np.ones(100)
kernels.saxpy(x, y, 2.0)
kernels.saxpy(x.astype(np.float32), y.astype(np.float32), np.float32(2))
t = kernels.rowsum(np.ones((10, 5)), 3)
stats = [f.stats() for f in (kernels.saxpy, kernels.rowsum)]
print(json.dumps({"stats": stats, "ok": bool(y[3] == 7.0 and t == 150.0)}))
'''


def warmup(cache, *args):
    e = dict(os.environ, PYACC_CACHE_DIR=str(cache), PYTHONPATH=PYACC_ROOT)
    return subprocess.run([sys.executable, "-m", "pyacc", "warmup", *args], env=e, capture_output=True,
                          text=True)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_warmup_then_a_run_compiles_nothing(tmp_path, jobs):
    (tmp_path / "kernels.py").write_text(WARM_MODULE)
    cache = tmp_path / "cache"
    out = warmup(cache, str(tmp_path / "kernels.py"), "--jobs", jobs)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 signatures" in out.stdout and "3 compiled" in out.stdout
    assert "[3/3]" in out.stdout and "rowsum" in out.stdout
    assert len(entries(cache)) == 4  # saxpy twice, rowsum's two regions
    (tmp_path / "user.py").write_text(WARM_USER)
    res = run(tmp_path / "user.py", cache, str(tmp_path))
    assert [s["compiles"] for s in res["stats"]] == [0, 0]
    assert [s["disk_hits"] for s in res["stats"]] == [2, 2]
    # again: everything is there already
    out = warmup(cache, str(tmp_path / "kernels.py"))
    assert out.returncode == 0 and "3 from cache" in out.stdout


def test_warmup_for_the_gpu_needs_no_gpu_and_a_gpu_run_then_compiles_nothing(tmp_path, monkeypatch):
    # PYACC_GPU_SERIAL=0 is part of a GPU entry's target: the figures below are without it
    monkeypatch.delenv("PYACC_GPU_SERIAL", raising=False)
    (tmp_path / "kernels.py").write_text(WARM_MODULE)
    cache = tmp_path / "cache"
    out = warmup(cache, str(tmp_path / "kernels.py"), "--target", "nvidia")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 compiled" in out.stdout
    rows = entries(cache)
    assert len(rows) == 4 and all("nvidia sm_90" in r["target"] for r in rows), rows
    ptx = cli(cache, "show", rows[0]["key"], "--ptx")
    assert ptx.returncode == 0 and ".entry pyacc_k0" in ptx.stdout and ".target sm_90" in ptx.stdout
    stats = cli(cache, "stats").stdout
    assert "nvidia sm_90 +ptx80: 4 entries" in stats
    out = warmup(cache, str(tmp_path / "kernels.py"), "--target", "nvidia")
    assert "3 from cache" in out.stdout
    if HAS_GPU:  # the GPU run loads the kernels and their launches from disk
        (tmp_path / "user.py").write_text(WARM_USER)
        res = run(tmp_path / "user.py", cache, str(tmp_path), env={"ACC_DEVICE_TYPE": "nvidia"})
        assert [s["compiles"] for s in res["stats"]] == [0, 0]
        assert [s["disk_hits"] for s in res["stats"]] == [2, 2]


def test_warmup_of_an_importable_module(tmp_path):
    (tmp_path / "kernels.py").write_text(WARM_MODULE)
    cache = tmp_path / "cache"
    e = dict(os.environ, PYACC_CACHE_DIR=str(cache), PYTHONPATH=f"{PYACC_ROOT}:{tmp_path}", PYACC_TIER="optimised")
    out = subprocess.run([sys.executable, "-m", "pyacc", "warmup", "kernels"], env=e, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 compiled" in out.stdout


def test_warmup_reports_failures_and_exits_non_zero(tmp_path):
    (tmp_path / "bad.py").write_text(WARM_MODULE + '''
@acc(signatures=["(float64[:])", "(qubit[:])"])
def touch(x):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        x[i] = {1: 2}[1]
''')
    out = warmup(tmp_path / "cache", str(tmp_path / "bad.py"))
    assert out.returncode == 1
    assert "unknown array type 'qubit[:]'" in out.stdout
    assert "runs in the interpreter" in out.stdout
    assert "3 compiled, 2 failed" in out.stdout
    # PTX needs no GPU; the region the host cannot compile cannot go to a GPU either
    out = warmup(tmp_path / "cache", str(tmp_path / "bad.py"), "--target", "nvidia")
    assert out.returncode == 1
    assert "3 compiled, 2 failed" in out.stdout, out.stdout


def test_signature_strings():
    import numpy as np
    from pyacc.warmup import example_args
    a, b, c, d, e, f = example_args("(float64[:], int32[:, ::1], float32[::1, :], int64, np.float32, "
                                    "list[float64])")
    assert a.dtype == np.float64 and a.ndim == 1
    assert b.dtype == np.int32 and b.ndim == 2 and b.flags.c_contiguous
    assert c.dtype == np.float32 and c.flags.f_contiguous
    assert type(d) is int and type(e) is np.float32 and e == 1 and f == [1.0]
    assert example_args("()") == ()
    assert example_args("void(float64[:])")[0].shape == (1,)
    with pytest.raises(ValueError, match="signature"):
        example_args("float64[:]")


def test_the_size_limit_evicts_the_least_recently_used(tmp_path):
    prog, cache = tmp_path / "prog.py", tmp_path / "cache"
    write_program(prog)
    run(prog, cache, "two")
    sizes = [e["size"] for e in entries(cache)]
    assert len(sizes) == 2
    # room for one entry only: the second signature's compile evicts the first
    limit = str(max(sizes) + 100)
    res = run(prog, tmp_path / "small", "two", env={"PYACC_CACHE_SIZE": limit})
    assert res["stats"]["compiles"] == 2
    left = entries(tmp_path / "small")
    assert len(left) == 1 and left[0]["signature"] == "(float32[:], float32[:])"
    bad = run(prog, tmp_path / "other", env={"PYACC_CACHE_SIZE": "lots"})
    assert any("PYACC_CACHE_SIZE=lots" in w for w in bad["warnings"])
