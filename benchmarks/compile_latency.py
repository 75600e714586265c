"""Compile latency of the saxpy region, each sample in a fresh process.

Prints, as medians over the runs: importing pyacc, decorating (outlining and
parsing pragmas), the first call (compile, including creating the JIT, plus
the run) and the compiler's own breakdown of that compile (frontend, LLVM
optimisation, machine code), then a later call.

    python benchmarks/compile_latency.py [runs]
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile

# these figures are the host's (the processes it starts inherit this)
os.environ.setdefault("ACC_DEVICE_TYPE", "host")

CHILD = r'''
import json, time
t0 = time.perf_counter()
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
x = np.ones(1000, dtype=np.float32); y = np.ones(1000, dtype=np.float32)
t4 = time.perf_counter()
saxpy(np.float32(2.0), x, y)
t5 = time.perf_counter()
saxpy(np.float32(2.0), x, y)
t6 = time.perf_counter()
sig = saxpy._regions[0].signatures()[0]
print(json.dumps({"numpy_import": t1 - t0, "pyacc_import": t2 - t1, "decorate": t3 - t2,
                  "first_call": t5 - t4, "second_call": t6 - t5,
                  "compile_total": sig[3] / 1e3, "llvm_opt": sig[5] / 1e3,
                  "machine_code": sig[7] / 1e3}))
'''


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    # the child is a file: pyacc reads a function's pragmas from its source
    with tempfile.TemporaryDirectory() as tmp:
        child = os.path.join(tmp, "child.py")
        with open(child, "w") as f:
            f.write(CHILD)
        samples = [json.loads(subprocess.run([sys.executable, child], check=True,
                                             capture_output=True, text=True).stdout)
                   for _ in range(runs)]
    print(f"saxpy region, fresh process each run, median of {runs} (python {sys.version.split()[0]})")
    for k in samples[0]:
        v = statistics.median(s[k] for s in samples)
        unit, scale = ("us", 1e6) if v < 1e-3 else ("ms", 1e3)
        print(f"  {k:<14} {v * scale:8.2f} {unit}")
    front = statistics.median(s["compile_total"] - s["llvm_opt"] - s["machine_code"] for s in samples)
    print(f"  {'frontend+jit':<14} {front * 1e3:8.2f} ms   (compile_total - llvm_opt - machine_code)")


if __name__ == "__main__":
    main()
