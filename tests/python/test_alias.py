"""Array arguments that share no memory are alias scopes of their own
(frontend/alias.c): LLVM then knows a store through one leaves the others
alone.  Arguments that overlap are left as LLVM finds them, and must still
give what the plain function gives."""

import re

import numpy as np

import pyacc
from conftest import check
from subset_helpers import make


def test_arguments_sharing_no_memory_are_told_apart_and_overlapping_ones_are_not():
    # an array argument that shares no byte with another is an alias scope of its own
    # (frontend/alias.c), so LLVM need not check at run time whether a store to dst
    # changes a or b; views that overlap are left as LLVM finds them
    f = make("""
@acc
def f(dst, a, b, c):
    #pragma acc serial
    for i in range(dst.shape[0]):
        dst[i] = a[i] + 2.0 * b[i] - c[i]
    return dst
""")
    rng = np.random.default_rng(5)
    check(f, np.zeros(1001), rng.random(1001), rng.random(1001), rng.random(1001))
    # dst[i] = dst[i - 1] + ...: right only in order, and only if LLVM knows they may alias
    x, y = np.arange(1002.0), np.arange(1002.0)
    b, c = rng.random(1001), rng.random(1001)
    f(x[1:], x[:-1], b, c)
    f.py_func(y[1:], y[:-1], b, c)
    assert np.array_equal(x, y)
    if pyacc.acc_get_device_type() == pyacc.acc_device_nvidia:
        return
    irs = f.inspect_llvm()
    apart = [ir for sig, ir in irs.items() if "overlapping" not in sig]
    together = [ir for sig, ir in irs.items() if "overlapping" in sig]
    assert len(apart) == 1 and len(together) == 1, list(irs)
    def stores(ir):
        return [line for line in ir.splitlines() if re.match(r"\s*store (double|<\d+ x double>)", line)]
    assert stores(apart[0]) and all("!alias.scope" in s and "!noalias" in s for s in stores(apart[0]))
    # b and c are still told apart from each other, dst and a from nothing
    assert stores(together[0]) and not any("!alias.scope" in s for s in stores(together[0]))
    assert "!alias.scope" in together[0]
