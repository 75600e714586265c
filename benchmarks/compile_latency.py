"""Compile latency of the saxpy region, each sample in a fresh process with
an empty disk cache (the suite's cold-compile children, latency.py).

Prints, as medians over the runs: importing NumPy and pyacc, decorating
(outlining and parsing pragmas), the first call (compile, including
creating the JIT, plus the run) and the compiler's own breakdown of that
compile (frontend, LLVM optimisation, machine code), then a later call.

    python benchmarks/compile_latency.py [runs]
"""

import os
import statistics
import sys

# these figures are the host's (the processes it starts inherit this)
os.environ.setdefault("ACC_DEVICE_TYPE", "host")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import latency  # noqa: E402

KEYS = ("numpy_import", "pyacc_import", "decorate", "first_call", "second_call", "compile_total",
        "llvm_opt", "machine_code")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    samples, _ = latency.saxpy_samples(runs, warm_runs=0)
    if not all(s["ok"] and s["compiles"] == 1 for s in samples):
        sys.exit("compile_latency: a child's result differs from f.py_func's, or it did not compile")
    print(f"saxpy region ({latency.N} float64), fresh process and empty cache each run, "
          f"median of {runs} (python {sys.version.split()[0]})")
    for k in KEYS:
        if k not in samples[0]:
            continue
        v = statistics.median(s[k] for s in samples)
        unit, scale = ("us", 1e6) if v < 1e-3 else ("ms", 1e3)
        print(f"  {k:<14} {v * scale:8.2f} {unit}")
    if "compile_total" in samples[0]:
        front = statistics.median(s["compile_total"] - s["llvm_opt"] - s["machine_code"] for s in samples)
        print(f"  {'frontend+jit':<14} {front * 1e3:8.2f} ms   (compile_total - llvm_opt - machine_code)")


if __name__ == "__main__":
    main()
