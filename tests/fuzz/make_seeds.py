"""Writes the fuzzers' seed corpora from the tests (run it again after adding
tests; files are named by the SHA-1 of their content, as libFuzzer names its
own, so a second run adds only what is new):

    python3 tests/fuzz/make_seeds.py

corpus/pragma/: every `#pragma acc` the tests hold, one file per pragma, its
comment lines joined by '\\n' (what fuzz_pragma.c splits them on): the C
string literals of tests/c/test_pragma.c and tests/c/test_clause.c and the
comments and strings of tests/python/*.py.

corpus/lower/: one file per fixture of tests/c/lower/, in the input format of
fuzz_lower.c: the fixture's name, '\\n', four zero bytes (no argument
retyped, the region kept) and the fixture's own instruction bytes.
"""

import ast
import codecs
import hashlib
import io
import os
import re
import sys
import tokenize

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PRAGMA = re.compile(r"#\s*pragma\b")


def write(dirname, data):
    os.makedirs(dirname, exist_ok=True)
    path = os.path.join(dirname, hashlib.sha1(data).hexdigest())
    if os.path.exists(path):
        return 0
    with open(path, "wb") as fh:
        fh.write(data)
    return 1


def continues(line):
    return line.rstrip(" \t").endswith("\\")


def group(lines):
    """Pragma lines, each followed by the comment lines its backslashes
    continue it on, as lists of lines."""
    out, cur = [], None
    for line in lines:
        if PRAGMA.match(line):
            cur = [line]
            out.append(cur)
        elif cur is not None and continues(cur[-1]) and line.startswith("#"):
            cur.append(line)
        else:
            cur = None
    return out


C_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
C_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", "\\": "\\", '"': '"',
             "'": "'", "0": "\0", "a": "\a", "b": "\b"}


def c_unescape(s):
    def one(m):
        e = m.group(1)
        if e[0] == "x":
            return chr(int(e[1:], 16))
        return C_ESCAPES.get(e, e)
    return re.sub(r"\\(x[0-9a-fA-F]+|.)", one, s)


def from_c(path):
    """Adjacent C string literals that start with '#', in file order."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    lits = [c_unescape(m.group(1)) for m in C_STRING.finditer(text)]
    return group([s for s in lits if s.startswith("#")])


def string_lines(value):
    """The comment parts of the lines of a Python string (source code that a
    test compiles), from their '#'."""
    out = []
    for line in value.split("\n"):
        k = line.find("#")
        out.append(line[k:] if k >= 0 else "")
    return out


def from_python(path):
    with open(path, "rb") as fh:
        src = fh.read()
    comments, strings = [], []
    for tok in tokenize.tokenize(io.BytesIO(src).readline):
        if tok.type == tokenize.COMMENT:
            comments.append((tok.start[0], tok.string))
        elif tok.type == tokenize.STRING:
            body = re.sub(r"^[rRbBuUfF]*(?=['\"])", lambda m: m.group(0).replace("f", "").replace("F", ""),
                          tok.string)
            try:
                value = ast.literal_eval(body)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, str):
                strings.extend(group(string_lines(value)))
        elif getattr(tokenize, "FSTRING_MIDDLE", None) == tok.type:  # 3.12+
            try:
                value = codecs.decode(tok.string, "unicode_escape")
            except UnicodeDecodeError:
                continue
            strings.extend(group(string_lines(value)))
    # Comments continue only onto the very next line.
    lines, last = [], None
    for lineno, text in comments:
        if last is not None and lineno != last + 1:
            lines.append("")
        lines.append(text)
        last = lineno
    return group(lines) + strings


def fixture_seeds(lower_dir, out_dir):
    n = 0
    for fname in sorted(os.listdir(lower_dir)):
        if not fname.endswith(".fixture"):
            continue
        with open(os.path.join(lower_dir, fname)) as fh:
            code = next((l.split(" ", 1)[1].strip() for l in fh if l.startswith("code ")), "")
        key = fname[: -len(".fixture")]
        n += write(out_dir, key.encode() + b"\n\0\0\0\0" + bytes.fromhex(code))
    return n


def main():
    pragmas = []
    for fname in ("test_pragma.c", "test_clause.c"):
        pragmas += from_c(os.path.join(ROOT, "tests", "c", fname))
    pydir = os.path.join(ROOT, "tests", "python")
    for fname in sorted(os.listdir(pydir)):
        if fname.endswith(".py"):
            pragmas += from_python(os.path.join(pydir, fname))
    seen = set()
    new = 0
    for p in pragmas:
        data = "\n".join(p).encode("utf-8", "surrogateescape")
        if data not in seen:
            seen.add(data)
            new += write(os.path.join(HERE, "corpus", "pragma"), data)
    print(f"pragma: {len(seen)} distinct pragmas, {new} new files")
    new = fixture_seeds(os.path.join(ROOT, "tests", "c", "lower"), os.path.join(HERE, "corpus", "lower"))
    print(f"lower: {new} new files")


if __name__ == "__main__":
    sys.exit(main())
