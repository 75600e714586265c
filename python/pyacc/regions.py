"""Turning outlined regions into dispatchers, and what the compiler asks of
Python while compiling one (what a global name is bound to)."""

from __future__ import annotations

import builtins
import os
import sys
import warnings

from . import _pyacc
from .errors import PyaccWarning

# fe_global_kind numbering (frontend/fe.h)
G_UNBOUND, G_BUILTIN, G_MODULE, G_CONST, G_OTHER = range(5)

_BUILTINS = {"range", "len", "min", "max", "abs", "int", "float", "bool", "round", "enumerate"}


def resolve_globals(fglobals, names):
    """For each name a region reads as a global: what it is bound to now.
    Constants are compiled in, so later changes to them are not seen by
    code already compiled (as in Numba)."""
    bi = fglobals.get("__builtins__", builtins)
    bi = bi if isinstance(bi, dict) else vars(bi)
    out = []
    for name in names:
        if name in fglobals:
            v = fglobals[name]
        elif name in bi:
            v = bi[name]
        else:
            out.append((G_UNBOUND, None, None))
            continue
        if type(v) is type(sys):
            out.append((G_MODULE, v.__name__, None))
        elif name in _BUILTINS and v is getattr(builtins, name):
            out.append((G_BUILTIN, name, None))
        elif type(v) in (int, float, bool):
            out.append((G_CONST, None, v))
        else:
            out.append((G_OTHER, None, None))
    return out


class Interpreted:
    """A region pyacc does not compile yet: runs its Python function, with
    one warning the first time."""

    def __init__(self, func, label, why, filename, line):
        self.func, self.label, self.why = func, label, why
        self.filename, self.line = filename, line
        self.calls = 0

    def __call__(self, *args):
        if self.calls == 0:
            warnings.warn_explicit(f"{self.label} runs in the interpreter: {self.why}",
                                   PyaccWarning, self.filename, self.line)
        self.calls += 1
        return self.func(*args)

    def stats(self):
        return {"compiles": 0, "memory_hits": 0, "fallbacks": self.calls, "signatures": 0,
                "compile_ms": 0.0}

    def inspect(self, kind):
        return {}

    def signatures(self):
        return []

    def compile(self, args):
        return False


def make_region(spec, outlined, qualname, strict, boundscheck):
    label = f"'{spec.construct}' region at line {spec.line} of {qualname}"
    if spec.interpret:
        return Interpreted(spec.func, label, spec.interpret, outlined.filename, spec.line)
    info = {
        "construct": spec.construct,
        "where": (outlined.filename, qualname, label, spec.line, spec.col, len(spec.outs)),
        "flags": (int(strict), int(boundscheck)),
        "loops": spec.loops,
        "listouts": spec.listouts,
    }
    return _pyacc.Region(spec.func.__code__, spec.func, spec.func.__globals__, info)


def env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")
