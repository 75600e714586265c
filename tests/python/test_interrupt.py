"""Ctrl-C during a long compiled region: the region stops within a moment,
KeyboardInterrupt is raised at the user's loop, and the process stays
usable (the same functions give the interpreter's results afterwards, the
thread pool included).  Each case runs in a child process, on the host (a
GPU kernel runs to its end; its polls fold away, checked in
test_gpu_regions.py)."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

PYACC_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__import__("pyacc").__file__)))

KERNELS = '''
import numpy as np
from pyacc import acc

@acc
def spin(n):
    s = 0
    k = 0
    #pragma acc serial
    while k < n:
        s += k % 7
        k += 1
    return s

@acc
def flat_sum(n):
    s = 0
    #pragma acc parallel loop reduction(+:s)
    for i in range(n):
        s += i % 3
    return s

@acc
def nested(a, m):
    #pragma acc parallel loop
    for i in range(a.shape[0]):
        t = 0.0
        for j in range(m):
            t += (i + j) % 5
        a[i] = t

@acc
def rows(n, m):
    s = 0
    #pragma acc parallel loop reduction(+:s)
    for i in range(n):
        for j in range(m):
            for k in range(3):
                s += (i + j + k) % 5
    return s


@acc
def seq_nest(a, m):
    #pragma acc serial
    for i in range(a.shape[0]):
        for j in range(m):
            a[i] += j % 3

def collatz(x):
    steps = 0
    while x != 1:
        x = x // 2 if x % 2 == 0 else 3 * x + 1
        steps += 1
    return steps

@acc
def calls(a, reps):
    #pragma acc parallel loop
    for i in range(a.shape[0]):
        t = 0
        for r in range(reps):
            t += collatz(i + 1)
        a[i] = t

@acc
def triad(a, b, c):
    #pragma acc parallel loop
    for i in range(a.shape[0]):
        a[i] = b[i] + 2.5 * c[i]
'''

CHILD = '''
import json, os, signal, sys, threading, time
# Python's own Ctrl-C handler, before pyacc places its one in front: a
# process started in the background by a shell inherits SIGINT ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
import numpy as np
signal.alarm(100)  # a region Ctrl-C does not stop ends the child, not the suite
sys.path.insert(0, {dir!r})
from kernels import *

def warm():
    # compiled before the clock starts, and right
    a = np.zeros(8); b = np.arange(8.0); c = np.ones(8)
    ok = spin(100) == spin.py_func(100) and flat_sum(1000) == flat_sum.py_func(1000)
    x = np.zeros(5); y = np.zeros(5); nested(x, 7); nested.py_func(y, 7); ok &= bool((x == y).all())
    x = np.zeros(5); y = np.zeros(5); seq_nest(x, 7); seq_nest.py_func(y, 7); ok &= bool((x == y).all())
    ok &= rows(50, 7) == rows.py_func(50, 7)
    x = np.zeros(6, dtype=np.int64); y = x.copy(); calls(x, 2); calls.py_func(y, 2); ok &= bool((x == y).all())
    triad(a, b, c); ok &= bool((a == b + 2.5 * c).all())
    # every region compiled: none ran in the interpreter
    return ok and all(f.stats()["fallbacks"] == 0 for f in (spin, flat_sum, nested, rows, seq_nest, calls, triad))

def kick(after):
    time.sleep(after)
    os.kill(os.getpid(), signal.SIGINT)

out = {{"warm": warm()}}
long_calls = {{
    "spin": lambda: spin(10**13),
    "flat_sum": lambda: flat_sum(10**14),
    "nested": lambda: nested(np.zeros(64), 10**12),
    # short iterations, very many: the body without polls inside them (unpolled.c)
    "rows": lambda: rows(10**14, 100),
    "seq_nest": lambda: seq_nest(np.zeros(4), 10**12),
    "calls": lambda: calls(np.zeros(64, dtype=np.int64), 10**9),
}}
for name, call in long_calls.items():
    threading.Thread(target=kick, args=(0.3,)).start()
    t = time.perf_counter()
    try:
        call()
        out[name] = "finished"
    except KeyboardInterrupt as e:
        tb = e.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        # raised out of compiled code, at the user's line (not by the
        # interpreter running the loop, whose frame would be the function's)
        out[name] = [round(time.perf_counter() - t, 3), tb.tb_frame.f_code.co_filename, tb.tb_lineno,
                     tb.tb_frame.f_code.co_name]
# a Ctrl-C that arrived while no region ran stops no later region
try:
    threading.Thread(target=kick, args=(0.05,)).start()
    time.sleep(5)
    out["sleep"] = "finished"
except KeyboardInterrupt:
    out["sleep"] = "interrupted"
out["after"] = warm() and spin(10**6) == spin.py_func(10**6)
print("go", flush=True)
sys.stdin.readline()  # the parent's SIGINT arrives during this call
t = time.perf_counter()
try:
    flat_sum(10**14)
    out["parent"] = "finished"
except KeyboardInterrupt:
    out["parent"] = round(time.perf_counter() - t, 3)
out["last"] = warm()
print(json.dumps(out), flush=True)
'''


def _line_of(src, func, text):
    """The line of `text` within function `func` of src."""
    lines = src.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"def {func}("))
    return next(i + 1 for i in range(start, len(lines)) if lines[i].strip() == text)


def test_ctrl_c_stops_long_regions_at_the_users_loop_and_leaves_the_process_usable(tmp_path):
    (tmp_path / "kernels.py").write_text(KERNELS)
    child = tmp_path / "child.py"
    child.write_text(CHILD.format(dir=str(tmp_path)))
    env = dict(os.environ, PYTHONPATH=PYACC_ROOT, ACC_DEVICE_TYPE="host", PYACC_CACHE_DIR="")
    p = subprocess.Popen([sys.executable, str(child)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "go", p.stderr.read()
        p.stdin.write("\n")
        p.stdin.flush()
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, stderr
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["warm"] and out["after"] and out["last"]
    kernels = str(tmp_path / "kernels.py")
    where = {"spin": ("spin", "while k < n:"), "flat_sum": ("flat_sum", "for i in range(n):"),
             "nested": ("nested", "for j in range(m):"), "rows": ("rows", "for i in range(n):"),
             "seq_nest": ("seq_nest", "for j in range(m):"),
             "calls": ("calls", "for r in range(reps):", "collatz", "while x != 1:")}
    for name, places in where.items():
        assert out[name] != "finished", name
        seconds, filename, line, frame = out[name]
        assert frame == "<module>", (name, frame)
        # each would run for hours; stopped within moments of the signal at 0.3 s
        assert seconds < 3.0, (name, seconds)
        # at a loop of the region, or of the function it calls
        lines = [_line_of(KERNELS, places[i], places[i + 1]) for i in range(0, len(places), 2)]
        assert filename == kernels and line in lines, (name, filename, line)
    assert out["sleep"] == "interrupted"
    assert out["parent"] != "finished" and out["parent"] < 3.0


def test_a_program_with_its_own_sigint_handler_keeps_it(tmp_path):
    # signal.signal after import replaces pyacc's handler: the region runs to
    # its end, then the program's handler runs, as with any C extension
    (tmp_path / "kernels.py").write_text(KERNELS)
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent(f'''
        import os, signal, sys, threading, time
        sys.path.insert(0, {str(tmp_path)!r})
        from kernels import spin
        seen = []
        signal.signal(signal.SIGINT, lambda *a: seen.append(time.perf_counter()))
        spin(10)
        threading.Thread(target=lambda: (time.sleep(0.05), os.kill(os.getpid(), signal.SIGINT))).start()
        t = time.perf_counter()
        r = spin({N})
        print(r, time.perf_counter() - t, seen[0] - t if seen else None)
    '''))
    env = dict(os.environ, PYTHONPATH=PYACC_ROOT, ACC_DEVICE_TYPE="host", PYACC_CACHE_DIR="")
    out = subprocess.run([sys.executable, str(child)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    value, took, handled = out.stdout.split()
    full, rest = divmod(N, 7)
    assert int(value) == full * 21 + sum(range(rest))  # the whole sum: not stopped
    assert handled != "None" and float(handled) >= float(took) * 0.99  # the handler ran after the region


N = 2_000_000_000
