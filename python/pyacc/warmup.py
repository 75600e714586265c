"""`pyacc warmup`: compile a module's declared signatures into the disk
cache ahead of time, so that the program's first calls load instead of
compiling.

Signatures are Numba-style strings, one per call shape, given to
``@acc(signatures=[...])``::

    @acc(signatures=["(float64[:], float64[:, :], int64)"])

Types: ``bool``, ``int8`` ... ``int64``, ``uint8`` ... ``uint64``,
``float32``, ``float64``; ``int`` and ``float`` are Python's (as are
``int64``/``float64``/``bool`` scalars, which is what a Python number
passes as); ``np.int32`` and the like are NumPy scalars; ``T[:]``,
``T[:, :]`` ... arrays (``T[::1]``, ``T[:, ::1]`` C-contiguous, ``T[::1, :]``
Fortran); ``list[T]`` a list.  Each function is run once in the interpreter
on small arguments of those types, each of its regions being compiled for
what reaches it (see AccFunction.compile).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import time

import numpy as np

_DTYPES = {"bool": np.bool_, "boolean": np.bool_, "b1": np.bool_,
           "int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64,
           "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
           "intp": np.intp, "float32": np.float32, "float64": np.float64, "f4": np.float32,
           "f8": np.float64, "i4": np.int32, "i8": np.int64,
           "complex64": np.complex64, "complex128": np.complex128}
# scalar types a Python value passes as
_PY_SCALARS = {"int": 1, "int64": 1, "intp": 1, "float": 1.0, "float64": 1.0, "double": 1.0,
               "bool": True, "boolean": True}


def _split(text):
    """Top-level comma-separated parts of text."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def example_value(t):
    """A small value of type t (a signature's element)."""
    t = t.strip()
    m = re.fullmatch(r"(?:list|reflected list)\s*[\[(]\s*(\w+)\s*[\])]", t)
    if m:
        return [example_value(m.group(1))]
    m = re.fullmatch(r"(\w+)\s*\[(.*)\]", t)
    if m:
        dt = _DTYPES.get(m.group(1))
        dims = [d.strip() for d in m.group(2).split(",")]
        if dt is None or not dims or any(d not in (":", "::1") for d in dims):
            raise ValueError(f"unknown array type {t!r}")
        order = "F" if dims[0] == "::1" and len(dims) > 1 else "C"
        return np.ones((1,) * len(dims), dtype=dt, order=order)
    if t.startswith("np.") or t.startswith("numpy."):
        dt = _DTYPES.get(t.split(".", 1)[1])
        if dt is None:
            raise ValueError(f"unknown NumPy scalar type {t!r}")
        return dt(1)
    if t in _PY_SCALARS:
        return _PY_SCALARS[t]
    if t in _DTYPES:
        return _DTYPES[t](1)
    raise ValueError(f"unknown type {t!r}")


def example_args(sig):
    """Example arguments for a signature string such as
    "(float64[:], float64[:, :], int64)"."""
    s = sig.strip()
    if "->" in s:  # "float64(float64[:])": the return type is not needed
        s = s.split("->")[0]
    m = re.fullmatch(r"\w*\s*\((.*)\)", s, re.S)
    if not m:
        raise ValueError(f"a signature is written (type, type, ...), not {sig!r}")
    return tuple(example_value(p) for p in _split(m.group(1)))


def load(target):
    """The module named, or defined by the file at, target."""
    if os.path.exists(target) or target.endswith(".py"):
        path = os.path.abspath(target)
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None:
            raise ImportError(f"cannot load {target}")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        sys.path.insert(0, os.path.dirname(path))
        spec.loader.exec_module(mod)
        return mod
    return importlib.import_module(target)


def functions(mod):
    """(name, AccFunction) of every decorated function in mod with declared
    signatures."""
    from .decorator import AccFunction
    out, seen = [], set()
    for name, v in sorted(vars(mod).items()):
        if isinstance(v, AccFunction) and v.signatures and id(v) not in seen:
            seen.add(id(v))
            out.append((name, v))
    return out


def warm_one(f, sig, target):
    """Compiles f for one signature; (status, regions, ms, message)."""
    before = f.stats()
    t0 = time.perf_counter()
    try:
        done = f.compile(*example_args(sig), target=target)
    except Exception as e:  # reported in the summary, not raised
        return "failed", 0, (time.perf_counter() - t0) * 1e3, f"{type(e).__name__}: {e}"
    ms = (time.perf_counter() - t0) * 1e3
    after = f.stats()
    if not all(ok for _, ok in done):
        bad = [line for line, ok in done if not ok]
        where = "on the host, not the GPU" if target == "nvidia" else "in the interpreter"
        return "failed", len(done), ms, f"region at line {bad[0]} runs {where}"
    if after["compiles"] > before["compiles"]:
        return "compiled", len(done), ms, ""
    if after["disk_hits"] > before["disk_hits"]:
        return "from cache", len(done), ms, ""
    return "in memory", len(done), ms, ""


def _worker(args):
    target_mod, fname, sig, target = args
    mod = sys.modules.get("__pyacc_warm_mod__")
    if mod is None:
        mod = load(target_mod)
        sys.modules["__pyacc_warm_mod__"] = mod
    return warm_one(getattr(mod, fname), sig, target)


def run(target_mod, targets=("host",), jobs=1, out=sys.stdout):
    """Warms every declared signature; prints progress and a summary;
    returns the exit status (1 when something failed)."""
    mod = load(target_mod)
    tasks = [(name, f, sig, t) for name, f in functions(mod) for sig in f.signatures for t in targets]
    if not tasks:
        print(f"pyacc warmup: no @acc function with signatures=[...] in {target_mod}", file=out)
        return 1
    results = []
    tty = out.isatty()

    def progress(k, name, sig, t):
        line = f"[{k}/{len(tasks)}] {name} {sig} ({t})"
        if tty:
            bar = "#" * (20 * k // len(tasks))
            print(f"\r[{bar:20}] {line[:70]:70}", end="", file=out, flush=True)
        else:
            print(line, file=out, flush=True)

    t0 = time.perf_counter()
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            futs = [ex.submit(_worker, (target_mod, name, sig, t)) for name, _, sig, t in tasks]
            for k, ((name, _, sig, t), fut) in enumerate(zip(tasks, futs), 1):
                try:
                    results.append(fut.result())
                except Exception as e:
                    results.append(("failed", 0, 0.0, f"{type(e).__name__}: {e}"))
                progress(k, name, sig, t)
    else:
        for k, (name, f, sig, t) in enumerate(tasks, 1):
            results.append(warm_one(f, sig, t))
            progress(k, name, sig, t)
    if tty:
        print(file=out)
    total = time.perf_counter() - t0
    w = max([len("function")] + [len(n) for n, *_ in tasks])
    ws = max([len("signature")] + [len(s) for _, _, s, _ in tasks])
    print(f"\n{'function':{w}}  {'signature':{ws}}  {'target':6}  {'result':10}  {'regions':>7}  {'ms':>8}",
          file=out)
    failed = 0
    for (name, _, sig, t), (status, nreg, ms, msg) in zip(tasks, results):
        failed += status == "failed"
        print(f"{name:{w}}  {sig:{ws}}  {t:6}  {status:10}  {nreg:>7}  {ms:>8.1f}"
              + (f"  {msg}" if msg else ""), file=out)
    counts = {}
    for status, *_ in results:
        counts[status] = counts.get(status, 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    print(f"\n{len(tasks)} signatures in {total:.2f} s: {summary}", file=out)
    return 1 if failed else 0
