"""Turning outlined regions into dispatchers, and what the compiler asks of
Python while compiling one (what a global name is bound to)."""

from __future__ import annotations

import builtins
import dis
import types
import os
import sys
import weakref

from . import _pyacc

try:  # CPython's own SHA-256 (the same digests): hashlib loads OpenSSL, 3 ms of each start
    from _sha2 import sha256 as _sha256  # 3.12
except ImportError:
    try:
        from _sha256 import sha256 as _sha256  # 3.11
    except ImportError:  # a Python built without them
        from hashlib import sha256 as _sha256

class _Unbound:
    """What a region returns for a result variable it left unassigned: the
    caller then leaves its variable unassigned too, as the plain function
    would."""

    def __repr__(self):
        return "<unbound>"


UNBOUND = _Unbound()

def control(cond=None, self_=False, gangs=0):
    """A compute construct's thread limit: -1 to run on the local thread
    (an if clause that is false; a true self clause, unless an if clause is
    there and true, which overrides it), the gang count of num_gangs, or 0
    for all the pool's threads (on a GPU: the grid it chooses)."""
    if cond is not None and not cond:
        return -1
    if self_ and cond is None:
        return -1
    g = int(gangs)
    if g < 0:
        raise ValueError(f"num_gangs must be positive, not {g}")
    return g


def gpu_shape(gangs=0, workers=0, vector=0):
    """A GPU launch's shape (rt.h's RT_SHAPE_*): num_gangs in the low 32
    bits, num_workers and vector_length in the next 12 each (a block has
    at most 1024 threads), 0 for what the runtime derives from the trip
    count."""
    vals = []
    for name, v, cap in (("num_gangs", gangs, 0x7fffffff), ("num_workers", workers, 1024),
                         ("vector_length", vector, 1024)):
        v = int(v)
        if v < 0:  # 0, as for the host's num_gangs, leaves it to the runtime
            raise ValueError(f"{name} must be positive, not {v}")
        vals.append(min(v, cap))
    return vals[0] | vals[1] << 32 | vals[2] << 44


# fe_global_kind numbering (frontend/fe.h)
G_UNBOUND, G_BUILTIN, G_MODULE, G_CONST, G_OTHER, G_FUNCTION = range(6)

_BUILTINS = {"range", "len", "min", "max", "abs", "int", "float", "bool", "round", "enumerate"}


_routines = weakref.WeakKeyDictionary()


def routine_pragma(func):
    """The `#pragma acc routine ...` on the lines above func's def (above its
    decorators too), parsed, or None.  A malformed one raises
    PragmaSyntaxError at its line.  On the host a routine is compiled where
    it is called, like any function in the subset; its level (seq, vector,
    worker, gang) describes the parallelism of loops inside it."""
    if func in _routines:
        return _routines[func]
    import inspect
    import linecache

    from .pragmas import find_pragmas
    found = None
    try:
        _, first = inspect.getsourcelines(func)
    except (OSError, TypeError):
        first = 0
    filename = func.__code__.co_filename
    line = first - 1
    group = []
    while line >= 1:
        text = linecache.getline(filename, line)
        stripped = text.strip()
        if not stripped.startswith("#"):
            break
        group.insert(0, (line, text))
        line -= 1
    if group:
        indent = min(len(t) - len(t.lstrip()) for _, t in group)
        lines = [t[indent:] for _, t in group]
        for p in find_pragmas(lines, group[0][0], indent, filename):
            if p.kind == "routine":
                found = p
    _routines[func] = found
    return found


def _is_acc_on_device(v):
    """Whether v is pyacc's acc_on_device, which a region compiled for a
    device answers without a call."""
    import pyacc
    return v is getattr(pyacc, "acc_on_device", None) and v is not None


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
        elif isinstance(v, int) and not isinstance(v, bool):
            out.append((G_CONST, None, int(v)))            # acc_device_host, an IntEnum
        elif _is_acc_on_device(v):
            out.append((G_BUILTIN, "acc_on_device", None))
        elif isinstance(v, types.FunctionType):
            routine_pragma(v)                               # checked, if there is one
            out.append((G_FUNCTION, v.__qualname__, v))    # compiled where it is called
        elif isinstance(getattr(v, "py_func", None), types.FunctionType) and not v._regions:
            out.append((G_FUNCTION, v.__qualname__, v.py_func))  # an @acc function without regions
        else:
            out.append((G_OTHER, None, None))
    return out


# Regions by content: a function decorated again unchanged (a re-run cell,
# a reloaded module) finds its compiled code here instead of compiling again.
_shared = weakref.WeakValueDictionary()


def content_key(code, info):
    """SHA-256 of everything in a region that decides its code: bytecode,
    constants, names, positions (they are in error messages) and what its
    pragmas say.  Argument types are the second half of the cache key, and
    live in each Region's own table."""
    h = _sha256()
    for part in (code.co_code, repr(code.co_consts), code.co_names, code.co_varnames,
                 code.co_argcount, list(code.co_positions()), code.co_filename, info):
        h.update(repr(part).encode() if not isinstance(part, bytes) else part)
        h.update(b"\0")
    return h.hexdigest()


_CACHE_FORMAT = "pyacc-entry-1"


def _names_read(code):
    """Every name a code object (and those nested in it) may read as a
    global."""
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names_read(c)
    return out


def _describe(v, seen):
    """What of a global's value can change the code compiled for it."""
    if isinstance(v, bool) or v is None:
        return ("const", repr(v))
    if isinstance(v, (int, float, complex, str, bytes)):
        return ("const", type(v).__name__, repr(v))
    if type(v) is type(sys):
        return ("module", v.__name__)
    py_func = getattr(v, "py_func", None)
    if isinstance(py_func, types.FunctionType):  # an @acc function, called as plain code
        v = py_func
    if isinstance(v, types.FunctionType):
        if id(v.__code__) in seen:
            return ("function", v.__qualname__, "recursive")
        seen.add(id(v.__code__))
        return ("function", v.__qualname__, content_key(v.__code__, repr(v.__defaults__)),
                _globals_fingerprint(v.__code__, v.__globals__, seen), repr(routine_pragma(v) and
                                                                            routine_pragma(v).directive))
    if isinstance(v, types.BuiltinFunctionType):
        return ("builtin", getattr(v, "__module__", None), v.__qualname__)
    return ("object", type(v).__module__, type(v).__qualname__, getattr(v, "__name__", None))


def _globals_fingerprint(code, fglobals, seen):
    bi = fglobals.get("__builtins__", builtins)
    bi = bi if isinstance(bi, dict) else vars(bi)
    out = []
    for name in sorted(_names_read(code)):
        if name in fglobals:
            out.append((name, _describe(fglobals[name], seen)))
        elif name in bi:
            out.append((name, "builtin", _describe(bi[name], seen)))
    return out


def entry_key(static_key, func, sig, target):
    """The disk cache's key of one compiled region: SHA-256 of the region's
    code and pragmas (static_key, from content_key), what the globals it
    reads are now (constants by value, functions it calls by their own
    content, recursively), the argument types, the target and the versions
    of pyacc, LLVM and Python, and this build of pyacc's compiler and runtime
    (the extension's build ID: code another build made may call its
    runtime otherwise).  Called by the extension on a miss of its
    in-memory table."""
    from . import __version__
    h = _sha256()
    parts = (_CACHE_FORMAT, __version__, _pyacc.build_id, _pyacc.llvm_version, sys.version_info[:2],
             sys.implementation.name, target, static_key, sig.hex(),
             _globals_fingerprint(func.__code__, func.__globals__, set()))
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()


_BACKWARD = frozenset(op for name, op in dis.opmap.items() if "JUMP_BACKWARD" in name)


def _back_edges(code):
    """(target, offset) of each jump to an earlier instruction (a loop's
    back edge, `for` or `while` alike).  Read off the raw bytecode: the
    jumps backward are relative to the next instruction and have no inline
    caches in 3.11 and 3.12, and dis.get_instructions would cost a
    millisecond a region."""
    try:
        return [(off + 2 - 2 * arg, off) for off, op, arg in dis._unpack_opargs(code.co_code) if op in _BACKWARD]
    except Exception:  # another layout: the slow, documented way
        return [(i.argval, i.offset) for i in dis.get_instructions(code)
                if i.opcode in _BACKWARD and isinstance(i.argval, int)]


def _own_loop_depth(code):
    """How deep the loops of one code object nest: its back edges as
    intervals."""
    loops = {}
    for target, off in _back_edges(code):
        loops[target] = max(loops.get(target, 0), off)
    spans = sorted(loops.items())
    return max((sum(1 for a, b in spans if a <= start <= b) for start, _ in spans), default=0)


def loop_depth(code, fglobals, seen=None):
    """How deep a region's loops may nest, for the compiler's estimate of a
    call's work (which decides whether a first call gets quick code): its
    own loops, plus the deepest of the functions it calls (counted as if
    called from its innermost loop: an overestimate, the safe side).  Asked
    when a region first compiles, when the names it calls are bound."""
    seen = set() if seen is None else seen
    if id(code) in seen:
        return 0
    seen.add(id(code))
    inner = 0
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            inner = max(inner, loop_depth(c, fglobals, seen))
    bi = fglobals.get("__builtins__", builtins)
    bi = bi if isinstance(bi, dict) else vars(bi)
    for name in code.co_names:  # attributes too: a name neither global nor builtin is skipped
        if name not in fglobals and name not in bi:
            continue
        v = fglobals.get(name, bi.get(name))
        v = getattr(v, "py_func", v)
        if isinstance(v, types.FunctionType):
            inner = max(inner, loop_depth(v.__code__, v.__globals__, seen))
    return _own_loop_depth(code) + inner


def make_region(spec, outlined, qualname, strict, boundscheck, cache=True, device=0):
    label = f"'{spec.construct}' region at line {spec.line} of {qualname}"
    info = {
        "construct": spec.construct,
        "where": (outlined.filename, qualname, label, spec.line, spec.col, len(spec.outs)),
        "flags": (int(strict), int(boundscheck), int(cache), int(device)),
        "loops": spec.loops,
        "listouts": spec.listouts,
        "atomics": spec.atomics,
        "threads_param": spec.threads_param,
        "shape_param": spec.shape_param,
        "present": spec.present,
    }
    code = spec.code
    info["key"] = content_key(code, info)
    # the globals dict is part of the key: names resolve in it when compiling
    key = (info["key"], id(spec.func.__globals__))
    region = _shared.get(key)
    if region is None:
        region = _pyacc.Region(spec.code, spec.func, spec.func.__globals__, info)
        _shared[key] = region
    return region


def env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no", "off")
