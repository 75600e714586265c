"""pyacc: OpenACC for Python.

Decorate a function with ``@acc`` and annotate its loops with
``#pragma acc ...`` comments, as in C; the compute regions are compiled to
vectorised code running on every core.
"""

from __future__ import annotations

import atexit
import dis
import sys

from . import _pyacc, errors, regions
from .errors import (PragmaSyntaxError, PyaccPerformanceWarning, PyaccTypeError, PyaccWarning,
                     UnsupportedError)

__version__ = "0.1.0"
_OPENACC = 201811  # OpenACC 2.7


def _opcode_table():
    names = [None] * 256
    for name, num in dis.opmap.items():
        if 0 <= num < 256:
            names[num] = name
    ncache = [0] * 256
    entries = getattr(dis, "_inline_cache_entries", None)
    if isinstance(entries, dict):  # keyed by name in later Pythons
        for name, c in entries.items():
            if name in dis.opmap and dis.opmap[name] < 256:
                ncache[dis.opmap[name]] = c
    elif entries is not None:
        for i, c in enumerate(entries[:256]):
            ncache[i] = c
    return names, ncache


def _init():
    if sys.version_info[:2] not in ((3, 11), (3, 12)):
        raise ImportError(f"pyacc supports Python 3.11 and 3.12, not {sys.version.split()[0]}")
    names, ncache = _opcode_table()
    hooks = {
        "pragma_error": errors.PragmaSyntaxError,
        "raise_at": errors._raise_at,
        "type_error": errors.type_error,
        "unsupported": errors.unsupported,
        "resolve_globals": regions.resolve_globals,
        "unbound": regions.UNBOUND,
        "entry_key": regions.entry_key,
        "cache_warning": errors.cache_warning,
        "gpu_refused": errors.gpu_refused,
        "loop_depth": regions.loop_depth,
    }
    _pyacc.init(names, ncache, sys.version_info[1], hooks, [None] * 13)
    atexit.register(_pyacc.shutdown)
    # The NVIDIA device: where compute regions run by default when the
    # machine has a GPU (ACC_DEVICE_TYPE=host keeps them on the host).  The
    # driver is opened on the first use of a device, not here.
    _pyacc.cuda_register()


_init()

from .decorator import AccFunction, acc  # noqa: E402


def wait_optimised():
    """Waits until the O3 code of every region whose first call ran quick
    code (a first call on little data: see PYACC_TIER) is made in the
    background, in place and saved to the disk cache.  Never needed for
    results, which both codes compute alike; at exit pyacc waits by
    itself."""
    _pyacc.tier_wait()


def num_threads(n=None):
    """The number of threads parallel loops use; with n, sets it."""
    return _pyacc.num_threads(n or 0)


__all__ = ["acc", "AccFunction", "PragmaSyntaxError", "PyaccTypeError", "PyaccWarning", "PyaccPerformanceWarning",
           "UnsupportedError", "num_threads", "wait_optimised", "_OPENACC"]

# The OpenACC runtime routines and constants (pyacc.runtime), as pyacc.acc_*.
from . import runtime  # noqa: E402
from .runtime import *  # noqa: E402,F401,F403
from .runtime import AccError  # noqa: E402,F401

__all__ += runtime.__all__
