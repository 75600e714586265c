"""First calls and calls on a hit: pyacc beside Numba, same run (the
suite's latency children, latency.py).

For each tool, in fresh processes:
  cold    an empty cache: import, decorate, first call (compiles; Numba
          with cache=False, as the suite's cold-compile row)
  warm    a warm cache: import, decorate, first call (loads; Numba with
          cache=True)
each the median of several runs, "first call" its own time and "process"
the time from before `import numpy` to after the first call returns.  Then
the cost of one call that hits the in-memory table: two small arrays and a
serial region (pyacc) against an @njit function doing the same (Numba),
the median over alternating rounds of many calls.

    python benchmarks/cache_latency.py [runs]
"""

import os
import statistics
import sys

# these figures are the host's (the processes it starts inherit this)
os.environ.setdefault("ACC_DEVICE_TYPE", "host")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latency  # noqa: E402


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"python {sys.version.split()[0]}, median of {runs} fresh processes each")
    rows = [("pyacc", *latency.saxpy_samples(runs))]
    try:
        import numba  # noqa: F401
        rows.append(("numba", *latency.numba_samples(runs)))
    except ImportError:
        pass
    if not all(s["ok"] for _, cold, warm in rows for s in cold + warm):
        sys.exit("cache_latency: a child's result differs from the interpreter's")
    med = lambda v, k: statistics.median(x[k] for x in v) * 1e3  # noqa: E731
    print(f"{'':8} {'cold first call':>16} {'cold process':>14} {'warm first call':>16} {'warm process':>14}")
    for name, cold, warm in rows:
        print(f"{name:8} {med(cold, 'first_call'):13.1f} ms {med(cold, 'start_to_first'):11.1f} ms "
              f"{med(warm, 'first_call'):13.1f} ms {med(warm, 'start_to_first'):11.1f} ms")
    if len(rows) == 2:
        (_, pc, pw), (_, nc, nw) = rows
        print(f"numba/pyacc, to the first call's end: cold "
              f"{med(nc, 'start_to_first') / med(pc, 'start_to_first'):.1f}x, warm "
              f"{med(nw, 'start_to_first') / med(pw, 'start_to_first'):.1f}x")
    oh = latency.overhead_samples(1, 100_000, 9)[0]
    if not oh["ok"]:
        sys.exit("cache_latency: the serial region's result differs from the interpreter's")
    p, e = oh["pyacc"] * 1e6, oh["python_noop"] * 1e6
    line = f"call on a hit (two small arrays, serial region): pyacc {p:.3f} us"
    if "numba" in oh:
        q = oh["numba"] * 1e6
        line += f", numba {q:.3f} us, numba/pyacc {q / p:.2f}x"
    print(line + f" (a Python function doing nothing: {e:.3f} us)")


if __name__ == "__main__":
    main()
