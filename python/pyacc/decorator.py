"""The @acc decorator."""

from __future__ import annotations

import functools
import types
import warnings

from . import _pyacc
from .errors import PyaccWarning, UnsupportedError
from .outline import NoSource, outline
from .regions import env_flag, make_region

_DEVICES = {None, "host", "nvidia", "default"}
_DEVICE_CODES = {"default": 0, "host": 1, "nvidia": 2}  # region.h's RG_DEVICE_*


class AccFunction(_pyacc.Dispatcher):
    """A function whose OpenACC compute regions run compiled.

    Calling it calls the function; each compute region inside is compiled for
    the types it meets on first use and runs on every core.  ``py_func`` is
    the function as written, which gives the same results in the
    interpreter."""

    def __init__(self, func, device=None, strict=None, boundscheck=False, cache=True,
                 signatures=None):
        if not isinstance(func, types.FunctionType):
            raise TypeError(f"@acc needs a Python function, not {type(func).__name__}")
        if device not in _DEVICES:
            raise ValueError(f"@acc(device=...) must be one of 'host', 'nvidia', 'default', "
                             f"not {device!r}")
        self.py_func = func
        self.device = device or "default"
        self.strict = env_flag("PYACC_STRICT") if strict is None else bool(strict)
        self.boundscheck = bool(boundscheck)
        self.cache = bool(cache)
        self.signatures = list(signatures or [])
        functools.update_wrapper(self, func)
        try:
            out = outline(func)
        except NoSource:
            # pragmas are comments, which only the source keeps: silence
            # here would leave a user's directives doing nothing unnoticed
            msg = (f"@acc: the source of {func.__qualname__} cannot be read (a function made by exec "
                   f"or typed at the interactive prompt), so its pragmas cannot be found: "
                   f"it runs as plain Python")
            if self.strict:
                raise UnsupportedError(msg) from None
            warnings.warn_explicit(msg, PyaccWarning, func.__code__.co_filename, func.__code__.co_firstlineno)
            out = None
        if out is None:
            self._regions = []
            self._impl = func
            return
        qual = func.__qualname__
        self._outlined = out
        if self.device == "nvidia":
            _pyacc.cuda_register()
        self._regions = [make_region(spec, out, qual, self.strict, self.boundscheck, self.cache,
                                     _DEVICE_CODES[self.device])
                         for spec in out.regions]
        self._impl = out.func(self._regions)
        if out.direct is not None:  # nothing but one region's call: the dispatcher calls it
            k, self._nparams, self._ret_kind, self._ret_index, extra = out.direct
            self._direct_extra = extra or None
            self._direct = self._regions[k]
        for p in out.ignored:
            warnings.warn_explicit(f"'{p.kind}' is not implemented yet; on the host it is "
                                   f"ignored, which leaves results unchanged", PyaccWarning,
                                   out.filename, p.line)
        if self.device == "nvidia" and not _pyacc.gpu_count():
            warnings.warn_explicit("@acc(device='nvidia'): no NVIDIA GPU is available; running on "
                                   "the host", PyaccWarning, out.filename, func.__code__.co_firstlineno)

    # Calling it runs self._impl: Dispatcher's call, in C.

    def compile(self, *args, target="host", **kwargs):
        """Compiles every region for the types these arguments give it,
        without running compiled code: the function runs in the interpreter
        (on these arguments: pass small or dummy ones), each region being
        compiled for what reaches it on the way.  Returns
        [(region line, compiled?)].  target "host", or "nvidia": the PTX of
        the region's GPU kernels, made without a GPU (for the GPU's compute
        capability when there is one, else PYACC_GPU_ARCH or sm_90) and
        shown by inspect_ptx(); compiled? is then whether its loops can run
        on a GPU."""
        if target not in ("host", "nvidia"):
            raise ValueError(f"target must be 'host' or 'nvidia', not {target!r}")
        if not self._regions:
            return []
        done = []

        def shadow(region, spec):
            def run(*region_args):
                done.append((spec.line, bool(region.compile(region_args, target))))
                return spec.func(*region_args)
            return run

        impl = self._outlined.func([shadow(r, spec) for r, spec in zip(self._regions, self._outlined.regions)])
        impl(*args, **kwargs)
        return done

    def __get__(self, obj, objtype=None):
        return self if obj is None else types.MethodType(self, obj)

    def __repr__(self):
        return f"<pyacc function {self.py_func.__qualname__} ({len(self._regions)} regions)>"

    # ------------------------------------------------------- introspection

    def stats(self):
        """Counters over all regions: compiles, memory_hits, disk_hits,
        fallbacks (calls that ran in the interpreter), compile_ms."""
        total = {"compiles": 0, "memory_hits": 0, "disk_hits": 0, "fallbacks": 0,
                 "compile_ms": 0.0, "regions": len(self._regions)}
        for r in self._regions:
            for k, v in r.stats().items():
                if k in total and k != "regions":
                    total[k] += v
        return total

    def _inspect(self, kind):
        out = {}
        for spec, r in zip(self._outlined.regions if self._regions else [], self._regions):
            for sig, text in r.inspect(kind).items():
                out[f"line {spec.line} {sig}"] = text
        return out

    def notes(self):
        """{"line N (types)": text}: for every compiled region, which loops
        run in parallel and, for loops left in order (kernels, loop auto),
        why.  PYACC_DEBUG=1 prints the same when each region compiles."""
        out = {}
        for spec, r in zip(self._outlined.regions if self._regions else [], self._regions):
            for sig, text in r.notes().items():
                out[f"line {spec.line} {sig}"] = text
        return out

    def inspect_llvm(self):
        """{"line N (types)": optimised LLVM IR} for every compiled region."""
        return self._inspect("llvm")

    def inspect_asm(self):
        """{"line N (types)": host assembly} for every compiled region."""
        return self._inspect("asm")

    def inspect_ptx(self):
        """{"line N (types)": PTX} of every region compiled for a GPU (by a
        call running there, or by compile(..., target="nvidia"))."""
        return self._inspect("ptx")


def acc(func=None, **options):
    """Compile a function's ``#pragma acc`` compute regions.

    Use as ``@acc`` or ``@acc(device=..., strict=..., boundscheck=...,
    cache=..., signatures=[...])``."""
    if func is None:
        return lambda f: AccFunction(f, **options)
    if not callable(func):
        raise TypeError("@acc takes keyword options only: @acc(strict=True)")
    return AccFunction(func, **options)
