"""Writes the frontend's test fixtures for the running Python version.

Each case is a region function, the argument types of one call and what the
unoptimised LLVM IR must (or must not) contain, or the error lowering must
give.  The fixture holds the code object as the extension hands it to the
frontend (instruction bytes, constants, names, positions, the opcode table
of the opcodes used), so the Criterion test in tests/c/test_lower.c drives
the frontend without Python.  Run it under 3.11 and 3.12:

    python3.11 tests/c/lower/make_fixtures.py
    python3.12 tests/c/lower/make_fixtures.py
"""

import dis
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PAR_NONE, PAR_INDEPENDENT, PAR_AUTO, PAR_SEQ = 0, 1, 2, 3

# ------------------------------------------------------------------ cases


def saxpy(a, x, y):
    for i in range(x.shape[0]):
        y[i] = a * x[i] + y[i]


def seed(data, ret, n):
    for d in data:
        ret.append(d ** 2)


def serial_steps(x, n):
    for i in range(n, 0, -2):
        x[i] = i


def floordiv(x, d):
    for i in range(3):
        x[i] = i // d


def with_dict(x):
    for i in range(3):
        x[i] = {1: 2}[1]


def bad_types(x, lst):
    for i in range(3):
        x[i] = x + lst


def carried(x, s):
    for i in range(x.shape[0]):
        s += x[i]
    return (s,)


def lastvalue(x, t):
    for i in range(x.shape[0]):
        t = x[i] * 2.0
    return (t,)


def escape(cr, counts, maxit):
    for i in range(cr.shape[0]):
        z = 0.0
        k = 0
        while z * z < 4.0 and k < maxit:
            z = z * z + cr[i]
            k += 1
        counts[i] = k


def matrix(a, out):
    n, m = a.shape
    for i in range(n):
        for j in range(m):
            out[i, j] = a[i][j] * 2 + math.sqrt(abs(a[i, j]))


def promote(x32, x64, i32, i64, a, n, out):
    for i in range(n):
        p = x32[i] * a          # weak float with float32: float32
        q = x32[i] + x64[i]     # float32 with float64: float64
        r = i32[i] + i64[i]     # int32 with int64: int64
        s = i64[i] / i64[i]     # true division of ints: float64
        t = i32[i] + n          # weak int with int32: int32
        u = x32[i] + i32[i]     # float32 with int32: float64
        w = n / 2               # Python ints: float
        out[i] = p + q + r + s + t + u + w


def accumulate(x, n):
    s = 0
    for i in range(n):
        s += x[i]               # int, then numpy.float64: the variable is float64
    return (s,)


def mixed(x, n):
    v = x[0]
    for i in range(n):
        v = 1.5
    v = x[1] + x[2]
    return (v,)


def mixed_bad(x, n):
    v = x
    if n > 0:
        v = 1.5
    return (n,)


# More than 256 constants: LOAD_CONST needs EXTENDED_ARG (x[0] first keeps
# them from being folded into one).
exec("def many_consts(x):\n    x[0] = x[0] + " + " + ".join(f"{1000 + k}.5" for k in range(300)) + "\n")


ARR = lambda dtype, nd=1, layout="C": ("array", dtype, nd, layout)
PYF, PYI = ("float", "bool", 0, "C"), ("int", "bool", 0, "C")

CASES = {
    "saxpy": dict(func=saxpy, args=[PYF, ARR("float32"), ARR("float32")],
                  loops=[(PAR_INDEPENDENT, 1)],
                  expect=["call void @pyacc.parallel_loop", "define internal void @", "load float",
                          "fmul float", "fadd float", "store float"],
                  reject=["fmul double"]),
    "seed": dict(func=seed, args=[("list", "int64", 1, "C"), ("list_out", "bool", 0, "C"), PYI],
                 listouts=[(1, 2)], loops=[(PAR_INDEPENDENT, 1)],
                 expect=["call void @pyacc.parallel_loop", "llvm.smul.with.overflow.i64", "store i64"]),
    "serial_steps": dict(func=serial_steps, args=[ARR("int64"), PYI], loops=[(PAR_SEQ, 1)],
                         expect=["store i64"], reject=["pyacc.parallel_loop"]),
    "floordiv": dict(func=floordiv, args=[ARR("int64"), PYI], loops=[(PAR_INDEPENDENT, 1)],
                     expect=["call i32 @pyacc_rt_error", "sdiv i64"]),
    "with_dict": dict(func=with_dict, args=[ARR("int64")], loops=[(PAR_INDEPENDENT, 1)],
                      error=("unsupported", "a dict")),
    "bad_types": dict(func=bad_types, args=[ARR("float64"), ("list", "int64", 1, "C")],
                      loops=[(PAR_INDEPENDENT, 1)], error=("type", "unsupported operand types for +")),
    "carried": dict(func=carried, args=[ARR("float64"), PYF], loops=[(PAR_INDEPENDENT, 1)],
                    nouts=1, error=("unsupported", "carries a value")),
    "carried_seq": dict(func=carried, args=[ARR("float64"), PYF], loops=[(PAR_SEQ, 1)], nouts=1,
                        expect=["fadd double"], reject=["pyacc.parallel_loop"]),
    "lastvalue": dict(func=lastvalue, args=[ARR("float64"), PYF], loops=[(PAR_INDEPENDENT, 1)],
                      nouts=1, expect=["pyacc.parallel_loop", "lastprivate"]),
    "escape": dict(func=escape, args=[ARR("float64"), ARR("int32"), PYI],
                   loops=[(PAR_INDEPENDENT, 1)],
                   expect=["pyacc.parallel_loop", "fcmp olt double", "trunc i64"]),
    "matrix_c": dict(func=matrix, args=[ARR("float64", 2, "C"), ARR("float64", 2, "C")],
                     loops=[(PAR_INDEPENDENT, 1)],
                     expect=["pyacc.parallel_loop", "llvm.sqrt.f64", "llvm.fabs.f64"]),
    "promote": dict(func=promote, args=[ARR("float32"), ARR("float64"), ARR("int32"), ARR("int64"), PYF, PYI,
                                       ARR("float64")], loops=[(PAR_INDEPENDENT, 1)],
                    types={"p": "numpy.float32", "q": "numpy.float64", "r": "numpy.int64",
                           "s": "numpy.float64", "t": "numpy.int32", "u": "numpy.float64", "w": "float",
                           "i": "int", "n": "int", "a": "float"}),
    "accumulate": dict(func=accumulate, args=[ARR("float64"), PYI], loops=[(PAR_SEQ, 1)], nouts=1,
                       types={"s": "numpy.float64"}),
    "mixed": dict(func=mixed, args=[ARR("int64"), PYI], loops=[(PAR_SEQ, 1)], nouts=1,
                  types={"v": "numpy.float64"}),
    "mixed_bad": dict(func=mixed_bad, args=[ARR("int64"), PYI], nouts=1,
                      error=("type", "variable 'v' holds")),
    "many_consts": dict(func=many_consts, args=[ARR("float64")], expect=["store double"]),
    "matrix_f": dict(func=matrix, args=[ARR("float64", 2, "F"), ARR("float64", 2, "A")],
                     loops=[(PAR_INDEPENDENT, 1)],
                     expect=["pyacc.parallel_loop", "llvm.sqrt.f64"]),
}

# ---------------------------------------------------------------- writing


def const_lines(c):
    if c is None:
        return ["const none"]
    if isinstance(c, bool):
        return [f"const bool {int(c)}"]
    if isinstance(c, int) and -2**63 <= c < 2**63:
        return [f"const int {c}"]
    if isinstance(c, float):
        return [f"const float {c.hex()}"]
    if isinstance(c, str):
        return [f"const str {c.encode('unicode_escape').decode()}"]
    if isinstance(c, tuple):
        out = [f"const tuple {len(c)}"]
        for x in c:
            out += const_lines(x)
        return out
    return ["const other"]


def global_line(name, fglobals):
    import builtins
    if name in fglobals:
        v = fglobals[name]
    elif hasattr(builtins, name):
        v = getattr(builtins, name)
    else:
        return "global unbound -"
    if type(v) is type(sys):
        return f"global module {v.__name__}"
    if getattr(builtins, name, None) is v:
        return f"global builtin {name}"
    if type(v) in (int, float, bool):
        return "global const " + const_lines(v)[0][len("const "):]
    return "global other -"


def fixture(name, case):
    code = case["func"].__code__
    used = sorted({code.co_code[i] for i in range(0, len(code.co_code), 2)})
    out = ["pyacc-fixture 1", f"python {sys.version_info[1]}", f"name {name}"]
    out += [f"opcode {op} {dis.opname[op]} {dis._inline_cache_entries[op]}" for op in used]
    out.append("code " + code.co_code.hex())
    for c in code.co_consts:
        out += const_lines(c)
    for n in code.co_names:
        out.append(f"name_ {n}")
        out.append(global_line(n, case["func"].__globals__))
    out += [f"var {v}" for v in code.co_varnames]
    out.append(f"nargs {code.co_argcount}")
    out.append(f"exctable {int(len(code.co_exceptiontable) > 0)}")
    for (line, _, col, end) in code.co_positions():
        out.append(f"pos {line or 0} {col if col is not None else 0} {end if end is not None else -1}")
    for a in case["args"]:
        out.append("arg " + " ".join(str(x) for x in a))
    for_lines = [ins.positions.lineno for ins in dis.get_instructions(code) if ins.opname == "FOR_ITER"]
    # the directives apply to the first loops, outermost first
    for line, (par, collapse) in zip(for_lines, case.get("loops", [])):
        out.append(f"loop {line} {par} {collapse}")
    for p, lp in case.get("listouts", []):
        out.append(f"listout {p} {lp}")
    out.append(f"nouts {case.get('nouts', 0)}")
    out += [f"expect {e}" for e in case.get("expect", [])]
    out += [f"reject {r}" for r in case.get("reject", [])]
    out += [f"type {k} {v}" for k, v in case.get("types", {}).items()]
    if "error" in case:
        out.append(f"error {case['error'][0]} {case['error'][1]}")
    return "\n".join(out) + "\n"


def main():
    tag = f"py3{sys.version_info[1]}"
    for name, case in CASES.items():
        with open(os.path.join(HERE, f"{name}.{tag}.fixture"), "w") as f:
            f.write(fixture(name, case))
    print(f"wrote {len(CASES)} fixtures for Python 3.{sys.version_info[1]}")


if __name__ == "__main__":
    main()
