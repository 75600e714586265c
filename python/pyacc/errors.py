"""Exceptions and warnings pyacc raises, and how they point at user code.

Every error names the user's file and line: pragma mistakes as a
``SyntaxError`` subclass (so tools and tracebacks show the line with a
caret), type errors with a caret under the expression, and run-time errors
of compiled code with a traceback entry at the line that failed.
"""

from __future__ import annotations

import linecache
import warnings


class PragmaSyntaxError(SyntaxError):
    """A malformed ``#pragma acc`` line: unknown directive or clause, a
    clause not allowed on its directive, unbalanced brackets, ..."""

    def __init__(self, msg, line=None, col=None, end_col=None, filename=None):
        self._raw = msg
        text = None
        if filename and line:
            text = linecache.getline(filename, line) or None
        offset = None if col is None or col < 0 else col + 1
        end = None if end_col is None or end_col < 0 else end_col + 1
        super().__init__(msg, (filename, line, offset, text, line, end))

    def with_file(self, filename):
        """The same error, now naming its file (the C parser knows only lines)."""
        col = None if self.offset is None else self.offset - 1
        end = None if self.end_offset is None else self.end_offset - 1
        return PragmaSyntaxError(self._raw, self.lineno, col, end, filename)


class PyaccTypeError(TypeError):
    """A type error found while compiling a region, shown with its source line."""

    def __init__(self, msg, filename=None, line=None, col=None, end_col=None):
        self.msg, self.filename, self.lineno = msg, filename, line
        self.col, self.end_col = col, end_col
        super().__init__(_with_source(msg, filename, line, col, end_col))


class UnsupportedError(Exception):
    """A region the compiler cannot handle, raised instead of falling back to
    the interpreter when ``strict=True`` or ``PYACC_STRICT=1``."""


class PyaccWarning(RuntimeWarning):
    """A region runs in the interpreter, or a pragma is ignored."""


class PyaccPerformanceWarning(RuntimeWarning):
    """Code runs correctly but not where asked: a region whose loops cannot
    run on the GPU runs on the host."""


def _with_source(msg, filename, line, col, end_col):
    if not filename or not line:
        return msg
    text = linecache.getline(filename, line).rstrip("\n")
    out = f'{msg}\n  File "{filename}", line {line}'
    if text:
        stripped = text.lstrip()
        indent = len(text) - len(stripped)
        out += "\n    " + stripped
        if col is not None and col >= indent:
            width = (end_col - col) if end_col is not None and end_col > col else 1
            out += "\n    " + " " * (col - indent) + "^" * width
    return out


def type_error(msg, filename, line, col, end_col):
    """Hook for the extension: the exception for a type error at a place."""
    return PyaccTypeError(msg, filename, line, col if col >= 0 else None,
                          end_col if end_col >= 0 else None)


def unsupported(label, msg, filename, line, col, strict, warned, internal):
    """Hook for the extension: a region that cannot be compiled runs in the
    interpreter after one warning, or raises under strict mode."""
    what = "pyacc internal error: " + msg if internal else msg
    if strict:
        raise UnsupportedError(f"{filename}:{line}: {label} cannot be compiled: {what}")
    if not warned:
        warnings.warn_explicit(f"{label} runs in the interpreter: {what}", PyaccWarning,
                               filename, line)


# (region, reason) of every region compiled for a GPU that runs on the host
gpu_refusals = []


def gpu_refused(label, why, filename, line, failed):
    """Hook for the extension: a region whose loops cannot run on the GPU
    runs on the host (its arrays kept in step with their GPU copies), after
    one warning a region."""
    what = "compiling it for the GPU failed: " + why if failed else why
    gpu_refusals.append((label, what))
    warnings.warn_explicit(f"{label} runs on the host, not the GPU: {what}", PyaccPerformanceWarning,
                           filename, line)


def _raise_at(exc, filename, line):
    """Raises exc with a traceback entry at filename:line, the user's line
    where compiled code failed, so the traceback shows that source line."""
    code = compile("\n" * (max(line, 1) - 1) + "raise __pyacc_exc__", filename, "exec")
    exec(code, {"__pyacc_exc__": exc})


def cache_warning(msg):
    """Hook for the extension: a fault of the disk cache, which costs a
    compile, never a result."""
    warnings.warn(msg, PyaccWarning, stacklevel=2)
