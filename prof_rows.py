import sys
sys.path.insert(0, "benchmarks")
import numpy as np, pyacc
from pyacc.runtime import acc_device_nvidia
import lanes
from pyacc import _pyacc
_pyacc.cuda_register()
pyacc.acc_set_device_type(acc_device_nvidia)
rng = np.random.default_rng(3)
which = sys.argv[1]
if which == "rows":
    a, x = rng.standard_normal((4096, 64, 256)), rng.standard_normal((4096, 256)); y = np.zeros((4096, 64)); f = lanes.bmv_rows
else:
    a, x = rng.standard_normal((65536, 1024)), rng.standard_normal(1024); y = np.zeros(65536); f = lanes.mv_lanes
for v in (a, x, y):
    pyacc.acc_copyin(v)
for _ in range(3):
    f(a, x, y)
pyacc.acc_wait_all()
