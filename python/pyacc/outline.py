"""Outlining: every compute construct of an @acc function becomes a region.

The function's source is parsed with ``ast`` (keeping the file's own lines
and columns), each compute construct's statements are moved into a region
function of their own, and the construct is replaced by a call to the
region's dispatcher.  A region's parameters are the variables it reads (or
writes, when they may hold a value already); its results are the variables it
assigns that the rest of the function reads.  Clause expressions, such as the
length in ``copyout(ret[0:len(data)])``, become extra arguments computed by
the caller, so they mean what Python means in the function's own scope.
Everything outside the constructs stays ordinary Python.
"""

from __future__ import annotations

import ast
import inspect
import types

from . import directives
from .pragmas import RED_OPS, error_at, find_pragmas
from .regions import UNBOUND, control, gpu_shape

COMPUTE = {"parallel", "kernels", "serial", "parallel loop", "kernels loop", "serial loop"}
COMBINED = {"parallel loop", "kernels loop", "serial loop"}
# Directives that stand alone: the executable ones become runtime calls
# (directives.py); cache is a hint for a device's software-managed cache,
# which the host has none of.
STANDALONE = directives.EXECUTABLE | {"cache"}
# Structured data constructs: runtime calls around their statements.
DATA = {"data", "host_data", "declare"}

# fe_par numbering (frontend/fe.h)
PAR_NONE, PAR_INDEPENDENT, PAR_AUTO, PAR_SEQ = 0, 1, 2, 3


# Plain classes, not dataclasses: making a dataclass compiles its methods
# from source at import, 2 to 3 ms of every process's start for these two.

class RegionSpec:
    """What pyacc knows of one compute region."""

    def __init__(self, line, col, construct, stmts, pragmas=()):
        self.line = line
        self.col = col
        self.construct = construct
        self.stmts = stmts
        self.params = []
        self.hidden = []          # (name, expression) computed by the caller
        self.outs = []
        self.loops = []           # (line, par, collapse, [(name, op)], [names], levels)
        self.listouts = []        # (param index, length param index)
        self.maybe_unbound = []   # outs that may stay unassigned
        self.threads_param = -1   # the hidden parameter of the launch's thread limit
        self.shape_param = -1     # the hidden parameter of a GPU launch's shape
        self.atomics = []         # (fe_atomic_kind, first line, last line)
        self.data = []            # enclosing data-construct pragmas, outermost first
        self.present = []         # (param index, name): present(...) the call checks
        self.if_var = ""          # the variable holding the if clause's value
        self.if_expr = None       # ast.expr
        self.pragmas = list(pragmas)  # the pragmas stacked on it
        self.name = ""
        self.code = None          # what the compiler reads (types.CodeType)
        self.func = None          # what the interpreter runs (types.FunctionType)
        self._parent = None       # set by outline(): where the region's statements are
        self._index = -1

    def __repr__(self):
        return f"RegionSpec({self.construct!r} at {self.line}:{self.col}, {self.name!r})"


class Outlined:
    """A decorated function outlined: the function the interpreter runs
    and its compute regions."""

    def __init__(self, func, regions, filename, ignored, direct=None):
        self.func = func            # the rewritten function
        self.regions = regions
        self.filename = filename
        self.ignored = ignored      # pragmas of directives without an effect here
        self.direct = direct        # (region, params, return kind, index): see _direct_plan


# ------------------------------------------------------------- source

def _source(func):
    try:
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return None
    indent = len(lines[0]) - len(lines[0].lstrip())
    out = []
    for ln in lines:
        if ln[:indent].strip() == "":
            out.append(ln[indent:])
        else:
            out.append(ln.lstrip())
    return out, first, indent


def _shift_columns(tree, indent):
    if not indent:
        return
    for node in ast.walk(tree):
        if hasattr(node, "col_offset") and node.col_offset is not None:
            node.col_offset += indent
        if getattr(node, "end_col_offset", None) is not None:
            node.end_col_offset += indent


# ------------------------------------------------------------ variables

class _Names(ast.NodeVisitor):
    """Names read and written by some statements, in order of first use,
    leaving out those bound inside lambdas and comprehensions."""

    def __init__(self):
        self.loads, self.stores, self.order = set(), set(), []
        self._hidden = []

    def _note(self, name):
        if name not in self.loads and name not in self.stores:
            self.order.append(name)

    def visit_Name(self, node):
        if any(node.id in h for h in self._hidden):
            return
        self._note(node.id)
        if isinstance(node.ctx, ast.Load):
            self.loads.add(node.id)
        else:
            self.stores.add(node.id)

    def _scoped(self, node, bound, children):
        self._hidden.append(bound)
        for c in children:
            self.visit(c)
        self._hidden.pop()

    def visit_Lambda(self, node):
        a = node.args
        bound = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
        bound |= {x.arg for x in (a.vararg, a.kwarg) if x}
        for d in a.defaults + [d for d in a.kw_defaults if d]:
            self.visit(d)
        self._scoped(node, bound, [node.body])

    def _comp(self, node, elts):
        bound = set()
        for g in node.generators:
            for n in ast.walk(g.target):
                if isinstance(n, ast.Name):
                    bound.add(n.id)
        self.visit(node.generators[0].iter)  # evaluated in the enclosing scope
        rest = [node.generators[0].target] + node.generators[0].ifs
        for g in node.generators[1:]:
            rest += [g.target, g.iter] + g.ifs
        self._scoped(node, bound, rest + elts)

    def visit_ListComp(self, node):
        self._comp(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        self._comp(node, [node.key, node.value])


def _names(stmts):
    v = _Names()
    for s in stmts:
        v.visit(s)
    return v


def _positions(nodes):
    """(line, col) of every Name node in nodes, by name and context."""
    out = {}
    for s in nodes:
        for n in ast.walk(s):
            if isinstance(n, ast.Name):
                out.setdefault((n.id, type(n.ctx)), []).append((n.lineno, n.col_offset))
    return out


# -------------------------------------------------------- pragmas to code

def _statements(body, parent, out):
    for i, s in enumerate(body):
        out.append((s, parent, i))
        for fld in ("body", "orelse", "finalbody"):
            sub = getattr(s, fld, None)
            if isinstance(sub, list) and sub and isinstance(sub[0], ast.stmt):
                _statements(sub, sub, out)
        for h in getattr(s, "handlers", []) or []:
            _statements(h.body, h.body, out)
        for c in getattr(s, "cases", []) or []:
            _statements(c.body, c.body, out)


def _groups(pragmas):
    """Pragmas stacked on consecutive lines apply to the same statement."""
    groups = []
    for p in pragmas:
        if groups and groups[-1][-1].end_line + 1 == p.line and p.kind != "end" \
                and groups[-1][-1].kind != "end" and p.kind not in STANDALONE \
                and groups[-1][-1].kind not in STANDALONE:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def _target(stmts, after_line, filename, p):
    """The statement a pragma ending at after_line applies to (never the
    placeholder of an executable directive)."""
    best = None
    for s, parent, i in stmts:
        if directives.is_placeholder(s):
            continue
        if s.lineno > after_line and (best is None or s.lineno < best[0].lineno):
            best = (s, parent, i)
        # a pragma inside a simple statement's lines is inside an expression
        if s.lineno <= after_line < (s.end_lineno or s.lineno) and not hasattr(s, "body"):
            raise error_at(f"'{p.kind}' pragma inside a statement", filename, p.line, p.col)
    return best


def _const_int(item, filename, what):
    try:
        v = ast.literal_eval(item["text"])
    except (ValueError, SyntaxError):
        v = None
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise error_at(f"{what} needs a positive integer constant, not {item['text']!r}",
                       filename, item["line"], item["col"])
    return v


# fe_atomic_kind numbering (frontend/fe.h)
ATOMIC_KINDS = {"read": 1, "write": 2, "update": 3, "capture": 4}


def _atomic_lines(p, node, parent, idx, ends, filename):
    """The lines an atomic directive covers: its statement, or for the
    two-statement capture form everything up to `#pragma acc end atomic`."""
    close = [e for e in ends if e.directive["end_of"] == "atomic" and e.col == p.col and e.line > p.line]
    if close:
        ends.remove(close[0])
        body = [s for s in parent[idx:] if s.lineno < close[0].line]
        if p.directive["atomic"] != "capture" or len(body) != 2:
            raise error_at("'atomic ... end atomic' holds the two statements of an atomic capture",
                           filename, p.line, p.col)
        return body[0].lineno, body[-1].end_lineno or body[-1].lineno
    if not isinstance(node, (ast.Assign, ast.AugAssign)):
        raise error_at(f"'atomic {p.directive['atomic'] or 'update'}' applies to an assignment", filename,
                       p.line, p.col)
    return node.lineno, node.end_lineno or node.lineno


def active_clauses(pragmas, device="host"):
    """The clauses of pragmas that apply on `device`: a clause after
    device_type(...) applies only when the list names the device or `*`."""
    out = []
    for p in pragmas:
        applies = True
        for c in p.directive["clauses"]:
            if c["name"] == "device_type":
                types = {it["text"] or "*" for it in c["items"]} | \
                        {"*" for it in c["items"] if it["kind"] == "star"}
                applies = "*" in types or device in types
                continue
            if applies:
                out.append(c)
    return out


def _loop_spec(for_node, pragmas, construct, filename, inherited=()):
    """(line, par, collapse, reductions, privates, levels) of a for loop
    carrying loop clauses (from `loop` or a combined construct); `inherited`
    are the enclosing compute construct's own clauses (its reduction and
    private apply to the loops inside it).  levels: the gang (1), worker (2)
    and vector (4) clauses the loop itself has for an NVIDIA GPU."""
    names = set()
    reds, privs, collapse = [], [], 1
    for c in list(inherited) + active_clauses(pragmas):
        names.add(c["name"])
        if c["name"] == "reduction":
            op = RED_OPS[c["op"]]
            reds += [(it["text"], op) for it in c["items"] if (it["text"], op) not in reds]
        elif c["name"] in ("private", "firstprivate"):
            privs += [it["text"] for it in c["items"]]
        elif c["name"] == "collapse":
            collapse = _const_int(c["items"][0], filename, "collapse")
    if "seq" in names or construct.startswith("serial"):
        par = PAR_SEQ
    elif "independent" in names:
        par = PAR_INDEPENDENT
    elif "auto" in names or construct.startswith("kernels"):
        par = PAR_AUTO
    else:
        par = PAR_INDEPENDENT
    # collapse(n) needs n tightly nested for loops
    node, depth = for_node, 1
    while depth < collapse:
        inner = [s for s in node.body if isinstance(s, ast.For)]
        if len(node.body) != 1 or not inner:
            p = pragmas[0]
            raise error_at(f"collapse({collapse}) needs {collapse} tightly nested for loops, "
                           f"found {depth}", filename, p.line, p.col)
        node, depth = inner[0], depth + 1
    levels = sum(bit for name, bit in (("gang", 1), ("worker", 2), ("vector", 4))
                 if any(c["name"] == name for c in active_clauses(pragmas, "nvidia")))
    return (for_node.lineno, par, collapse, reds, privs, levels)


def _appended(stmts):
    """Names x with an x.append(...) call in the statements."""
    out = set()
    for s in stmts:
        for n in ast.walk(s):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) \
                    and n.func.attr == "append" and isinstance(n.func.value, ast.Name):
                out.add(n.func.value.id)
    return out


# --------------------------------------------------------------- regions

def _plan_region(spec, fdef, func, region_pragmas, filename):
    """Fills in a region's parameters, results, loops and list outputs."""
    stmts = spec.stmts
    inside = set()
    for s in stmts:
        for n in ast.walk(s):
            inside.add(id(n))
    outside = [n for n in ast.walk(fdef) if id(n) not in inside and n is not fdef]
    code = func.__code__
    locals_ = set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)
    for n in ast.walk(fdef):
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            locals_ |= set(n.names)
    nargs = code.co_argcount + code.co_kwonlyargcount + \
        bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    fparams = set(code.co_varnames[:nargs])

    used = _names(stmts)
    start = stmts[0].lineno
    stores_before = {n.id for n in outside if isinstance(n, ast.Name)
                     and not isinstance(n.ctx, ast.Load) and n.lineno < start}
    loads_outside = {n.id for n in outside if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}

    # A variable comes in when it may hold a value from before the region:
    # read there and not only assigned there, or assigned there but bound
    # before (its old value survives iterations that do not assign it).
    params = []
    for name in used.order:
        if name not in locals_:
            continue  # a global or builtin: resolved when compiling
        bound_before = name in fparams or name in stores_before
        if bound_before and (name in used.loads or name in used.stores):
            params.append(name)
        elif name in used.loads and name not in used.stores:
            params.append(name)
    # the function's own parameters first, in its order: a function that is
    # nothing but the region then passes its arguments straight through
    order = {n: i for i, n in enumerate(code.co_varnames[:nargs])}
    first_use = {n: i for i, n in enumerate(params)}
    params.sort(key=lambda n: (0, order[n]) if n in order else (1, first_use[n]))
    spec.params = params
    spec.outs = [n for n in used.order if n in used.stores and n in locals_ and n in loads_outside]
    spec.maybe_unbound = [n for n in spec.outs if n not in params]

    # loops: the combined construct's own loop and every `loop` inside; the
    # construct's reduction and private clauses reach the loops inside it
    compute = [p for p in spec.pragmas if p.kind in COMPUTE]
    construct_clauses = [c for c in active_clauses(compute)
                         if c["name"] in ("reduction", "private", "firstprivate")]
    for s_pragmas, node in region_pragmas:
        if not isinstance(node, ast.For):
            p = s_pragmas[0]
            raise error_at(f"'{p.kind}' must be followed by a for loop", filename, p.line, p.col)
        inherit = () if spec.construct in COMBINED else construct_clauses
        spec.loops.append(_loop_spec(node, s_pragmas, spec.construct, filename, inherit))
    if spec.construct == "kernels":
        # in kernels every loop is the compiler's to parallelise: those with
        # no loop directive are `loop auto`, run in parallel where proven
        # independent
        marked = {id(node) for _, node in region_pragmas}
        for s in stmts:
            for node in ast.walk(s):
                if isinstance(node, ast.For) and id(node) not in marked:
                    spec.loops.append(_loop_spec(node, [], "kernels", filename, construct_clauses))
    _check_default_none(spec, filename)
    _control(spec, filename)
    _shape(spec, region_pragmas, filename)

    # lists the region appends to need their length from a data clause
    appended = _appended(stmts)
    sections = {}
    for p in spec.pragmas:
        for c in p.directive["clauses"]:
            if c["name"] not in ("copyout", "copy", "create"):
                continue
            for it in c["items"]:
                if it["kind"] == "var" and it["text"] in appended:
                    sections[it["text"]] = (it, c)
    for name in sorted(appended & set(params)):
        if name not in sections:
            continue  # the frontend reports it, and the region runs in the interpreter
        it, c = sections[name]
        if len(it["dims"]) != 1 or it["dims"][0][1] is None:
            raise error_at(f"copyout of the list '{name}' that the region appends to needs its "
                           f"length: {c['name']}({name}[0:n])", filename, it["line"], it["col"])
        lo, hi, _, lo_line, lo_col, hi_line, hi_col = it["dims"][0]
        length = directives.expr(hi, hi_line, hi_col, filename)
        if lo is not None and lo.strip() != "0":
            length = ast.copy_location(
                ast.BinOp(length, ast.Sub(), directives.expr(lo, lo_line, lo_col, filename)), length)
        spec.hidden.append((f"__pyacc_n{len(spec.hidden)}", length))
        spec.listouts.append((params.index(name), len(params) + len(spec.hidden) - 1))


DATA_CLAUSES = {"copy", "copyin", "copyout", "create", "no_create", "present", "deviceptr", "attach",
                "private", "firstprivate", "reduction"}


def _check_default_none(spec, filename):
    """default(none): every variable the region uses must be named by a
    clause of the construct (or of a loop inside it)."""
    clauses = active_clauses(spec.pragmas)
    dflt = [c for c in clauses if c["name"] == "default" and c["default"] == "none"]
    if not dflt:
        return
    named = {it["text"] for c in clauses if c["name"] in DATA_CLAUSES for it in c["items"]}
    for line, _, _, reds, privs, _ in spec.loops:
        named |= {r[0] for r in reds} | set(privs)
    missing = [p for p in spec.params if p not in named]
    if missing:
        c = dflt[0]
        raise error_at(f"default(none): {', '.join(repr(m) for m in missing)} "
                       f"{'is' if len(missing) == 1 else 'are'} used in the region but named in no "
                       f"data, private or reduction clause", filename, c["line"], c["col"])


def _folded(call, fn):
    """call (of fn, with keyword arguments) as a constant when every
    argument is one and fn accepts them: the caller then computes nothing
    a call, and the dispatcher may call the region directly.  Values fn
    refuses keep the call, to raise at the pragma each call, as before."""
    if not all(isinstance(k.value, ast.Constant) for k in call.keywords):
        return call
    try:
        value = fn(**{k.arg: k.value.value for k in call.keywords})
    except (TypeError, ValueError, OverflowError):
        return call
    return ast.copy_location(ast.Constant(value), call)


def _control(spec, filename):
    """The launch's thread limit from if, self and num_gangs, computed by the
    caller as `__pyacc_ctl(cond=..., self_=..., gangs=...)`."""
    compute = [p for p in spec.pragmas if p.kind in COMPUTE]
    kw = []
    for c in active_clauses(compute):
        if c["name"] == "if":
            # evaluated once before the launch (outline's _launch), since
            # the data clauses need it too
            spec.if_var, spec.if_expr = f"__pyacc_if{spec.line}", directives.clause_expr(c, filename)
            kw.append(ast.keyword("cond", ast.copy_location(ast.Name(spec.if_var, ast.Load()),
                                                            spec.if_expr)))
        elif c["name"] == "self":
            kw.append(ast.keyword("self_", directives.clause_expr(c, filename) if c["items"] else ast.Constant(True)))
        elif c["name"] == "num_gangs":
            kw.append(ast.keyword("gangs", directives.clause_expr(c, filename)))
    if not kw:
        return
    call = ast.Call(ast.Name("__pyacc_ctl", ast.Load()), [], kw)
    ast.copy_location(call, kw[0].value)
    spec.hidden.append(("__pyacc_threads", _folded(call, control)))
    spec.threads_param = len(spec.params) + len(spec.hidden) - 1


_SHAPE_CLAUSES = {"num_gangs": "gangs", "num_workers": "workers", "vector_length": "vector"}
# a kernels loop's gang(num: g), worker(num: w), vector(length: v)
_SHAPE_LOOP = {"gang": ("num", "gangs"), "worker": ("num", "workers"), "vector": ("length", "vector")}


def _shape(spec, region_pragmas, filename):
    """A GPU launch's gangs, workers and vector length, from the construct's
    clauses for device_type nvidia (and in kernels from its loops' gang,
    worker and vector arguments, the first given of each), computed by the
    caller as `__pyacc_shape_of(gangs=..., workers=..., vector=...)`."""
    compute = [p for p in spec.pragmas if p.kind in COMPUTE]
    found = {}
    for c in active_clauses(compute, "nvidia"):
        if c["name"] in _SHAPE_CLAUSES and c["items"]:
            found[_SHAPE_CLAUSES[c["name"]]] = directives.clause_expr(c, filename)
    if spec.construct == "kernels":
        for s_pragmas, _ in region_pragmas:
            for c in active_clauses(s_pragmas, "nvidia"):
                if c["name"] not in _SHAPE_LOOP or not c["items"]:
                    continue
                key, what = _SHAPE_LOOP[c["name"]]
                it = c["items"][0]
                if it["kind"] == "expr" and it["key"] in (None, key) and what not in found:
                    found[what] = directives.expr(it["text"], it["line"], it["col"], filename)
    if not found:
        return
    kw = [ast.keyword(k, v) for k, v in found.items()]
    call = ast.Call(ast.Name("__pyacc_shape_of", ast.Load()), [], kw)
    ast.copy_location(call, kw[0].value)
    spec.hidden.append(("__pyacc_shape", _folded(call, gpu_shape)))
    spec.shape_param = len(spec.params) + len(spec.hidden) - 1


def _funcdef(name, args, body):
    return ast.FunctionDef(name=name, args=ast.arguments(posonlyargs=[], args=args, vararg=None,
                                                         kwonlyargs=[], kw_defaults=[], kwarg=None,
                                                         defaults=[]),
                           body=body, decorator_list=[], returns=None)


def _located(node, line, col=0):
    for n in ast.walk(node):
        if isinstance(n, (ast.expr, ast.stmt)):
            n.lineno = n.end_lineno = line
            n.col_offset = n.end_col_offset = col
    return node


def _compile_def(fn, filename):
    mod = ast.Module([fn], [])
    ast.fix_missing_locations(mod)
    code = compile(mod, filename, "exec")
    return next(c for c in code.co_consts if isinstance(c, types.CodeType))


def _region_function(spec, filename, fglobals, index):
    """Compiles the region's statements as a function of its parameters,
    twice when a result may stay unassigned: the compiler reads a plain
    `return (results)` (it tracks which are bound itself), while the
    interpreter's copy returns UNBOUND for those, instead of raising."""
    from .regions import UNBOUND
    args = [ast.arg(a) for a in spec.params + [h for h, _ in spec.hidden]]
    last = spec.stmts[-1]
    end = last.end_lineno or last.lineno
    name = f"__pyacc_region_{spec.line}"

    def make(ret, extra_args=()):
        fn = _funcdef(name, args + list(extra_args), list(spec.stmts) + [ret])
        fn.lineno, fn.col_offset = spec.line, spec.col
        fn.end_lineno, fn.end_col_offset = end, 0
        return fn

    if spec.outs:
        plain = ast.Tuple([ast.Name(n, ast.Load()) for n in spec.outs], ast.Load())
    else:
        plain = ast.Constant(None)
    code = _compile_def(make(_located(ast.Return(plain), end)), filename)
    spec.name = name
    spec.code = code
    if not spec.maybe_unbound:
        spec.func = types.FunctionType(code, fglobals, name)
        return spec.func
    # locals() holds only the bound ones
    safe = ast.Return(ast.Tuple([
        ast.Call(ast.Attribute(ast.Call(ast.Name("locals", ast.Load()), [], []), "get", ast.Load()),
                 [ast.Constant(n), ast.Name("__pyacc_u", ast.Load())], [])
        for n in spec.outs], ast.Load()))
    fn = make(_located(safe, end), [ast.arg("__pyacc_u")])
    fn.args.defaults = [_located(ast.Constant(None), end)]
    fcode = _compile_def(fn, filename)
    spec.func = types.FunctionType(fcode, fglobals, name, (UNBOUND,))
    return spec.func


def _call_stmt(spec, index):
    """The region's call in place of its statements:
        a, b = __pyacc_rN(params..., clause values...)
    or, when a result may come back unassigned,
        __pyacc_o = __pyacc_rN(...)
        a = __pyacc_o[0]
        if __pyacc_o[1] is not __pyacc_unbound: b = __pyacc_o[1]"""
    call = ast.Call(ast.Name(f"__pyacc_r{index}", ast.Load()),
                    [ast.Name(p, ast.Load()) for p in spec.params] + [e for _, e in spec.hidden], [])
    first = spec.stmts[0]
    if not spec.outs:
        stmts = [ast.Expr(call)]
    elif not spec.maybe_unbound:
        target = ast.Tuple([ast.Name(n, ast.Store()) for n in spec.outs], ast.Store())
        stmts = [ast.Assign([target], call)]
    else:
        stmts = [ast.Assign([ast.Name("__pyacc_o", ast.Store())], call)]
        for i, n in enumerate(spec.outs):
            item = ast.Subscript(ast.Name("__pyacc_o", ast.Load()), ast.Constant(i), ast.Load())
            assign = ast.Assign([ast.Name(n, ast.Store())], item)
            if n in spec.maybe_unbound:
                test = ast.Compare(ast.Subscript(ast.Name("__pyacc_o", ast.Load()), ast.Constant(i), ast.Load()),
                                   [ast.IsNot()], [ast.Name("__pyacc_unbound", ast.Load())])
                stmts.append(ast.If(test, [assign], []))
            else:
                stmts.append(assign)
    for st in stmts:
        for n in ast.walk(st):
            if isinstance(n, (ast.expr, ast.stmt)) and getattr(n, "lineno", None) is None:
                ast.copy_location(n, first)
    return stmts


def _data_extent(p, node, parent, idx, ends, filename):
    """(pragma, first line, last line, statement list) of a data, host_data
    or declare construct: its statement, or up to its `end`, or for declare
    the rest of its block."""
    if p.kind == "declare":
        if node.col_offset != p.col:  # nothing follows it in its block
            return (p, p.line, p.line, parent)
        last = parent[-1]
        return (p, p.line, last.end_lineno or last.lineno, parent)
    close = [e for e in ends if e.directive["end_of"] == p.kind and e.col == p.col and e.line > p.line]
    if close:
        ends.remove(close[0])
        return (p, p.line, close[0].line - 1, parent)
    return (p, p.line, node.end_lineno or node.lineno, parent)


def _wrap_data(p, lo, hi, parent, k, filename):
    """Puts the statements of parent within lines [lo, hi] inside the data
    construct p: enter before, exit in a finally."""
    idx = [i for i, s in enumerate(parent) if lo <= s.lineno <= hi]
    if not idx:
        return
    a, b = idx[0], idx[-1] + 1
    cl = p.directive["clauses"]
    if p.kind == "host_data":
        enter = directives.host_data_enter(p, filename)
    else:
        enter = directives.data_enter(directives.items(cl, filename, directives.DATA_CLAUSES), cl,
                                      filename)
    parent[a:b] = directives.guarded(enter, parent[a:b], f"__pyacc_d{k}", p.line, p.col)


def _present_params(clauses, params):
    """[(parameter index, name)] when the construct's only data clauses are
    present(...) of whole parameters of its region, else []."""
    out = []
    for c in clauses:
        if c["name"] not in directives.DATA_CLAUSES:
            continue
        if c["name"] != "present":
            return []
        for it in c["items"]:
            if it["kind"] != "var" or it.get("dims") or it["text"] not in params:
                return []
            out.append((params.index(it["text"]), it["text"]))
    return out


def _launch(spec, k, filename):
    """The statements running region k: its call, inside the data region
    its clauses make, queued on its async queue when it has one."""
    call_stmts = _call_stmt(spec, k)
    compute = [p for p in spec.pragmas if p.kind in COMPUTE]
    cl = active_clauses(compute)
    # default(none|present) of the construct, or of the innermost data
    # construct around it that has one
    dflt = directives.clause(cl, "default")
    for d in reversed(spec.data):
        dflt = dflt or directives.clause(d.directive["clauses"], "default")
    default_present = bool(dflt and dflt["default"] == "present")
    asy, wait = directives.clause(cl, "async"), directives.clause(cl, "wait")
    if not (default_present or asy or wait or spec.if_var):
        spec.present = _present_params(cl, spec.params)
    # present(...) of parameters alone: the region's call checks them (region.c)
    item_list = (ast.List([], ast.Load()) if spec.present
                 else directives.items(cl, filename, directives.DATA_CLAUSES))
    if not (item_list.elts or default_present or asy or wait):
        return ([ast.copy_location(ast.Assign([ast.Name(spec.if_var, ast.Store())], spec.if_expr),
                                   spec.stmts[0])] if spec.if_var else []) + call_stmts
    listed = directives.named(cl)
    for d in spec.data:
        listed |= directives.named(d.directive["clauses"])
    implicit = [p for p in spec.params if p not in listed]
    first = spec.stmts[0]
    pre, cond = [], None
    if spec.if_var:  # the if clause, evaluated once for the launch and the data
        cond = ast.Name(spec.if_var, ast.Load())
        pre = [ast.copy_location(ast.Assign([ast.Name(spec.if_var, ast.Store())], spec.if_expr), first)]
    enter = directives.data_enter(item_list, cl, filename, default_present, implicit, cond)
    body = call_stmts
    if asy is not None:
        queue = directives.async_kw(cl, filename)[0][1]
        if isinstance(queue, ast.Constant) and queue.value is True:
            queue = ast.Attribute(ast.Name(directives.RT, ast.Load()), "acc_async_noval", ast.Load())
        body = directives.async_launch(k, queue, call_stmts, bool(spec.outs), cond)
    return pre + directives.guarded(enter, body, f"__pyacc_t{k}", spec.line, spec.col)


class NoSource(Exception):
    """func's source cannot be read (made by exec, typed at the interactive
    prompt, loaded from a .pyc alone): its pragmas cannot be found."""


def outline(func):
    """Returns an Outlined for func, or None when it has no pragma (it then
    runs exactly as written).  Raises PragmaSyntaxError for a bad pragma,
    NoSource when func's source cannot be read."""
    src = _source(func)
    if src is None:
        raise NoSource(func.__qualname__)
    lines, first, indent = src
    filename = func.__code__.co_filename
    pragmas = find_pragmas(lines, first, indent, filename)
    if not pragmas:
        return None
    for p in pragmas:
        if not p.own_line:
            raise error_at("a pragma must be on a line of its own", filename, p.line, p.col)
    if func.__code__.co_name == "<lambda>":  # a lambda's body is one expression: no region fits
        raise error_at("a pragma inside a lambda: write the function with def and decorate it with @acc",
                       filename, pragmas[0].line, pragmas[0].col)
    lines, found = directives.placeholders(pragmas, lines, first, indent, filename)
    try:
        tree = ast.parse("".join(lines), filename)
    except SyntaxError as exc:  # only a misplaced executable directive can cause it here
        bad = [p for p in found.values() if exc.lineno is not None and p.line == exc.lineno + first - 1]
        if not bad:
            raise
        raise error_at(f"'{bad[0].kind}' must be indented like the statements around it",
                       filename, bad[0].line, bad[0].col) from None
    ast.increment_lineno(tree, first - 1)
    _shift_columns(tree, indent)
    fdef = tree.body[0]
    if not isinstance(fdef, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    fdef.decorator_list = []
    # a function or class defined inside is code of its own: its pragmas
    # are its own @acc's to compile, not this function's
    for n in ast.walk(fdef):
        if n is not fdef and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for p in pragmas:
                if n.lineno <= p.line <= (n.end_lineno or n.lineno):
                    raise error_at(f"a pragma inside '{n.name}', which is defined in "
                                   f"'{fdef.name}': decorate '{n.name}' with @acc to compile its "
                                   f"regions", filename, p.line, p.col)
        if isinstance(n, ast.Lambda):
            for p in pragmas:
                if n.lineno <= p.line <= (n.end_lineno or n.lineno):
                    raise error_at(f"a pragma inside a lambda in '{fdef.name}': write it with def and "
                                   f"decorate it with @acc", filename, p.line, p.col)
    stmts = []
    _statements(fdef.body, fdef.body, stmts)

    regions, ignored, loop_groups, atomic_groups, data = [], [], [], [], []
    groups = _groups(pragmas)
    ends = [g[0] for g in groups if g[0].kind == "end"]
    for g in groups:
        kinds = [p.kind for p in g]
        if kinds[0] == "end" or kinds[0] in STANDALONE:
            continue  # executable directives are placeholders already
        compute = [p for p in g if p.kind in COMPUTE]
        if len(compute) > 1:
            raise error_at(f"'{compute[1].kind}' inside '{compute[0].kind}': compute constructs "
                           f"do not nest", filename, compute[1].line, compute[1].col)
        tgt = _target(stmts, g[-1].end_line, filename, g[-1])
        if tgt is None or tgt[0].lineno > fdef.end_lineno:
            raise error_at(f"'{g[-1].kind}' is not followed by a statement", filename,
                           g[-1].line, g[-1].col)
        node, parent, idx = tgt
        for p in g:
            if p.kind in DATA:
                data.append(_data_extent(p, node, parent, idx, ends, filename))
        for p in g:
            if p.kind == "atomic":
                atomic_groups.append((p, _atomic_lines(p, node, parent, idx, ends, filename)))
        loopish = [p for p in g if p.kind == "loop" or p.kind in COMBINED]
        if loopish:
            loop_groups.append((loopish, node))
        if not compute:
            continue
        c = compute[0]
        body = [node]
        close = [e for e in ends if e.directive["end_of"] == c.kind and e.col == c.col
                 and e.line > c.line]
        if close and c.kind not in COMBINED:
            stop = close[0].line
            body = [s for s in parent[idx:] if s.lineno < stop]
            ends.remove(close[0])
        spec = RegionSpec(c.line, c.col, c.kind, body, pragmas=g)
        spec._parent, spec._index = parent, idx
        regions.append(spec)

    # data constructs and executable directives stay outside compute regions
    def inside(line, r):
        return r.stmts[0].lineno <= line <= (r.stmts[-1].end_lineno or r.stmts[-1].lineno)
    for r in regions:
        for p in [d[0] for d in data] + list(found.values()):
            if inside(p.line, r) and p.line > r.line:
                raise error_at(f"'{p.kind}' inside a compute construct ('{r.construct}' at line "
                               f"{r.line})", filename, p.line, p.col)
        r.data = [d[0] for d in sorted(data, key=lambda d: d[1]) if d[1] <= r.line <= d[2]]

    # every loop directive belongs to a region
    for ps, node in loop_groups:
        owner = None
        for r in regions:
            for s in r.stmts:
                if s.lineno <= node.lineno <= (s.end_lineno or s.lineno):
                    owner = r
        if owner is None:
            p = ps[0]
            raise error_at(f"'{p.kind}' outside a compute construct (parallel, kernels or serial)",
                           filename, p.line, p.col)
        owner._loops = getattr(owner, "_loops", []) + [(ps, node)]
    # every atomic too
    for p, (lo, hi) in atomic_groups:
        owner = [r for r in regions if r.stmts[0].lineno <= lo and hi <= (r.stmts[-1].end_lineno or 0)]
        if not owner:
            raise error_at("'atomic' outside a compute construct (parallel, kernels or serial)",
                           filename, p.line, p.col)
        owner[0].atomics.append((ATOMIC_KINDS[p.directive["atomic"] or "update"], lo, hi))
    for r in regions:
        _plan_region(r, fdef, func, getattr(r, "_loops", []), filename)

    # replace each region's statements with its call, last first
    for k, r in sorted(enumerate(regions), key=lambda kr: -kr[1].stmts[0].lineno):
        parent, idx = r._parent, r._index
        parent[idx:idx + len(r.stmts)] = _launch(r, k, filename)
    # executable directives: their calls in place of the placeholders
    for s, parent, idx in stmts:
        p = directives.placeholder_of(s, found)
        if p is not None:
            parent[parent.index(s)] = directives.executable(p, filename)
    # data constructs around their statements, innermost first
    for k, (p, lo, hi, parent) in sorted(enumerate(data), key=lambda kd: (kd[1][2] - kd[1][1],
                                                                          -kd[1][0].line)):
        _wrap_data(p, lo, hi, parent, k, filename)

    for k, r in enumerate(regions):
        _region_function(r, filename, func.__globals__, k)

    direct = _direct_plan(fdef, regions)
    new = _rebuild(func, fdef, len(regions), filename)
    return Outlined(new, regions, filename, ignored, direct)


def _direct_plan(fdef, regions):
    """When the rewritten function is nothing but one region's call on its
    own parameters, in order, then constants (clause values folded by
    _folded), and perhaps a return of a parameter or of the region's one
    result, the dispatcher calls the region itself (saving a Python frame
    a call): (region index, parameter count, return kind, parameter index,
    the constants), kind 0 None, 1 that parameter, 2 the result; else
    None."""
    a = fdef.args
    if a.vararg or a.kwarg or a.kwonlyargs or isinstance(fdef, ast.AsyncFunctionDef):
        return None
    names = [x.arg for x in a.posonlyargs + a.args]
    body = list(fdef.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    ret = None
    if body and isinstance(body[-1], ast.Return):
        ret = body.pop().value
    if len(body) != 1 or len(regions) != 1:
        return None
    spec = regions[0]
    st = body[0]
    call = st.value if isinstance(st, (ast.Expr, ast.Assign)) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "__pyacc_r0"):
        return None
    if spec.maybe_unbound or spec.params != names or \
            not all(isinstance(e, ast.Constant) for _, e in spec.hidden):
        return None
    extra = tuple(e.value for _, e in spec.hidden)
    for n in ast.walk(fdef):  # the function's own body reaches beyond the call (a nested def, ...)
        if isinstance(n, (ast.FunctionDef, ast.Lambda, ast.ClassDef, ast.Yield, ast.YieldFrom, ast.Await)) \
                and n is not fdef:
            return None
    if ret is None or (isinstance(ret, ast.Constant) and ret.value is None):
        return (0, len(names), 0, 0, extra)
    if isinstance(ret, ast.Name):
        if ret.id in names and ret.id not in spec.outs:
            return (0, len(names), 1, names.index(ret.id), extra)
        if spec.outs == [ret.id]:
            return (0, len(names), 2, 0, extra)
    return None


def _rebuild(func, fdef, nregions, filename):
    """Compiles the rewritten def inside a factory whose parameters are the
    region dispatchers and the original closure variables, so both are
    free variables of the new function; returns a function that takes the
    dispatchers and gives the new function."""
    code = func.__code__
    names = [f"__pyacc_r{k}" for k in range(nregions)] + \
        ["__pyacc_unbound", "__pyacc_ctl", "__pyacc_shape_of", directives.RT, "__pyacc_dirs"] + \
        list(code.co_freevars)
    factory = _funcdef("__pyacc_factory", [ast.arg(n) for n in names],
                       [fdef, ast.Return(ast.Name(fdef.name, ast.Load()))])
    mod = ast.Module([factory], [])
    ast.fix_missing_locations(mod)
    fcode = compile(mod, filename, "exec")
    factory_code = next(c for c in fcode.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in factory_code.co_consts
                 if isinstance(c, types.CodeType) and c.co_name == fdef.name)
    orig_cells = dict(zip(code.co_freevars, func.__closure__ or ()))

    def make(dispatchers):
        cells = []
        for n in inner.co_freevars:
            if n in orig_cells:
                cells.append(orig_cells[n])
            elif n == "__pyacc_unbound":
                cells.append(types.CellType(UNBOUND))
            elif n == "__pyacc_ctl":
                cells.append(types.CellType(control))
            elif n == "__pyacc_shape_of":
                cells.append(types.CellType(gpu_shape))
            elif n == directives.RT:
                from . import runtime
                cells.append(types.CellType(runtime))
            elif n == "__pyacc_dirs":
                cells.append(types.CellType(directives))
            else:
                cells.append(types.CellType(dispatchers[int(n[len("__pyacc_r"):])]))
        f = types.FunctionType(inner, func.__globals__, func.__name__, func.__defaults__,
                               tuple(cells) or None)
        f.__kwdefaults__ = func.__kwdefaults__
        f.__qualname__ = func.__qualname__
        f.__doc__ = func.__doc__
        f.__module__ = func.__module__
        f.__dict__.update(func.__dict__)
        return f

    return make
