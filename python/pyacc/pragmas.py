"""Finding ``#pragma acc`` comments in a function's source.

Only real comments count: the source goes through ``tokenize``, so a string
that happens to contain ``#pragma acc`` is not a pragma.  Each pragma (with
its backslash continuation lines) is parsed by the C parser in frontend/,
which returns the directive with clause arguments as text spans; clause
expressions are later compiled by Python itself in the function's scope.
"""

from __future__ import annotations

import io
import re
import tokenize

from . import _pyacc
from .errors import PragmaSyntaxError

_ACC = re.compile(r"#[ \t]*pragma[ \t]+acc(?:[ \t\\]|$)")

#: fe_red_op numbering (frontend/fe.h)
RED_OPS = {"+": 1, "*": 2, "max": 3, "min": 4, "&": 5, "|": 6, "^": 7, "&&": 8, "||": 9}


class Pragma:
    """One parsed pragma: its directive dict (see python/ext/pragma.c) and
    the lines its comments occupy.  (A plain class: a dataclass compiles
    its methods at import, time each process's start would pay.)"""

    def __init__(self, directive, line, end_line, col, own_line):
        self.directive = directive
        self.line = line            # line of the first comment
        self.end_line = end_line    # line of the last (continuation) comment
        self.col = col
        self.own_line = own_line    # the comment is alone on its line
        self.kind = directive["kind"]

    def __repr__(self):
        return f"Pragma({self.kind!r} at {self.line}:{self.col})"

    def clauses(self, name):
        return [c for c in self.directive["clauses"] if c["name"] == name]

    def has(self, name):
        return any(c["name"] == name for c in self.directive["clauses"])


def find_pragmas(lines, first_line, indent, filename):
    """Parses every pragma in `lines` (the function's dedented source lines,
    the first at file line `first_line`, dedented by `indent` columns).
    Raises PragmaSyntaxError naming filename on a malformed one."""
    source = "".join(lines)
    comments = []
    code_lines = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments.append(tok)
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                  tokenize.DEDENT, tokenize.ENDMARKER):
                for ln in range(tok.start[0], tok.end[0] + 1):
                    code_lines.add(ln)
    except (tokenize.TokenError, SyntaxError):
        return []  # the compile of the function reports it better
    pragmas = []
    i = 0
    while i < len(comments):
        tok = comments[i]
        if not _ACC.match(tok.string):
            i += 1
            continue
        group = [tok]
        # a trailing backslash continues the pragma on the next comment line
        while group[-1].string.rstrip().endswith("\\") and i + 1 < len(comments) \
                and comments[i + 1].start[0] == group[-1].start[0] + 1:
            i += 1
            group.append(comments[i])
        i += 1
        spans = [(t.string, t.start[0] + first_line - 1, t.start[1] + indent) for t in group]
        try:
            directive = _pyacc.parse_pragma(spans)
        except PragmaSyntaxError as e:
            raise e.with_file(filename) from None
        own = group[0].start[0] not in code_lines
        pragmas.append(Pragma(directive, spans[0][1], spans[-1][1], spans[0][2], own))
    return pragmas


def error_at(msg, filename, line, col=None):
    """A PragmaSyntaxError at a place in the user's file."""
    return PragmaSyntaxError(msg, line, col, None, filename)
