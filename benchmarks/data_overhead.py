"""What the OpenACC data environment costs a program on the host: a data
region's enter and exit with two arrays (one whole, one a section), and an
acc_is_present query; medians of rounds of many calls.

    python benchmarks/data_overhead.py
"""

import statistics
import time

import numpy as np

import pyacc
from pyacc import runtime as rt


def per_call(fn, n=20000, rounds=7):
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - t0) / n)
    return statistics.median(out)


def main():
    a, b = np.zeros(1000), np.zeros(1000)
    items = [("copyin", a, None), ("copy", b, ((0, 500),))]
    enter, leave = rt.data_enter, rt.data_exit
    pair = per_call(lambda: leave(enter(items)))
    present = per_call(lambda: pyacc.acc_is_present(a))
    if pyacc.acc_is_present(a) or pyacc.acc_is_present(b):
        raise SystemExit("data_overhead: an array is still present after its exits")
    print(f"data region enter + exit, two arrays: {pair * 1e6:.2f} us; acc_is_present: {present * 1e6:.3f} us")


if __name__ == "__main__":
    main()
