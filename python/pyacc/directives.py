"""Data and executable directives as calls into the OpenACC runtime.

The outliner turns compute regions into calls of compiled code; this module
turns everything around them into ordinary Python statements in the
rewritten function, calling pyacc.runtime (bound to the free variable
``__pyacc_acc``):

- ``data`` and ``host_data`` constructs, and the data clauses, ``async`` and
  ``wait`` of compute constructs, become ``t = data_enter(...)`` before the
  statements and ``try: ... finally: data_exit(t)`` around them, so a
  structured region is left exactly once however its statements end;
- ``declare`` in a function is a data region over the rest of the block it
  stands in (for a declare at the top, the whole function);
- the executable directives (``enter data``, ``exit data``, ``update``,
  ``wait``, ``init``, ``shutdown``, ``set``) become one call each, placed
  where the comment stands: before parsing, their comment lines are replaced
  by placeholder statements at the same indentation, so Python's own parser
  decides which block they belong to.

Clause arguments are compiled as Python expressions at their pragma's
position, so a traceback points at the user's pragma.
"""

from __future__ import annotations

import ast

from .pragmas import error_at

RT = "__pyacc_acc"
PLACEHOLDER = "__pyacc_sa"

EXECUTABLE = {"enter data", "exit data", "update", "wait", "init", "shutdown", "set"}
# the data clauses a structured construct maps (runtime.data_enter's names)
DATA_CLAUSES = {"copy", "copyin", "copyout", "create", "no_create", "present", "deviceptr",
                "attach", "pcopy", "pcopyin", "pcopyout", "pcreate", "present_or_copy",
                "present_or_copyin", "present_or_copyout", "present_or_create"}
EXIT_CLAUSES = {"copyout", "delete", "detach", "pcopyout", "present_or_copyout"}
ENTER_CLAUSES = {"copyin", "create", "attach", "pcopyin", "pcreate", "present_or_copyin",
                 "present_or_create"}


# ------------------------------------------------------------ expressions

def expr(text, line, col, filename):
    """A clause argument as a Python expression located at its pragma."""
    try:
        e = ast.parse(text.strip(), filename, mode="eval").body
    except SyntaxError as exc:
        raise error_at(f"bad expression {text!r} in a clause: {exc.msg}", filename, line, col) from None
    for n in ast.walk(e):
        if hasattr(n, "lineno"):
            n.lineno = n.end_lineno = line
            n.col_offset = col
            n.end_col_offset = col + len(text)
    return e


def _rt(fn, args=(), kw=()):
    return ast.Call(ast.Attribute(ast.Name(RT, ast.Load()), fn, ast.Load()), list(args),
                    [ast.keyword(k, v) for k, v in kw])


def _at(node, line, col):
    """Gives node and every descendant without a position line:col (clause
    expressions keep their own)."""
    for n in ast.walk(node):
        if isinstance(n, (ast.expr, ast.stmt, ast.excepthandler)) and getattr(n, "lineno", None) is None:
            n.lineno = n.end_lineno = line
            n.col_offset = n.end_col_offset = col
    return node


def _section(dims, filename):
    """A section's (lo, hi) pairs with Python slice meaning; `a[i]` is
    (i, i + 1)."""
    pairs = []
    for lo, hi, is_index, lo_line, lo_col, hi_line, hi_col in dims:
        lo_e = expr(lo, lo_line, lo_col, filename) if lo else ast.Constant(None)
        if is_index:
            hi_e = ast.BinOp(expr(lo, lo_line, lo_col, filename), ast.Add(), ast.Constant(1))
        else:
            hi_e = expr(hi, hi_line, hi_col, filename) if hi else ast.Constant(None)
        pairs.append(ast.Tuple([lo_e, hi_e], ast.Load()))
    return ast.Tuple(pairs, ast.Load())


def items(clauses, filename, allowed, rename=None):
    """The list expression of (clause, object, section, name) for every item
    of the clauses named in `allowed` (rename maps a clause to the name the
    runtime takes)."""
    out = []
    for c in clauses:
        if c["name"] not in allowed:
            continue
        for it in c["items"]:
            if it["kind"] != "var":
                raise error_at(f"'{c['name']}' takes variables or array sections, not "
                               f"{it['text']!r}", filename, it["line"], it["col"])
            obj = expr(it["text"], it["line"], it["col"], filename)
            sec = _section(it["dims"], filename) if it.get("dims") else ast.Constant(None)
            name = (rename or {}).get(c["name"], c["name"])
            out.append(ast.Tuple([ast.Constant(name), obj, sec, ast.Constant(it["text"])], ast.Load()))
    return ast.List(out, ast.Load())


def _update_items(clauses, names, filename):
    out = []
    for c in clauses:
        if c["name"] not in names:
            continue
        for it in c["items"]:
            obj = expr(it["text"], it["line"], it["col"], filename)
            sec = _section(it["dims"], filename) if it.get("dims") else ast.Constant(None)
            out.append(ast.Tuple([obj, sec, ast.Constant(it["text"])], ast.Load()))
    return ast.List(out, ast.Load())


def clause(clauses, name):
    found = [c for c in clauses if c["name"] == name]
    return found[-1] if found else None


def clause_expr(c, filename):
    it = c["items"][0]
    return expr(it["text"], it["line"], it["col"], filename)


def cond_kw(clauses, filename):
    c = clause(clauses, "if")
    return [("cond", clause_expr(c, filename))] if c else []


def async_kw(clauses, filename):
    """async_=: None absent, True bare (the default queue), else the queue."""
    c = clause(clauses, "async")
    if c is None:
        return []
    return [("async_", clause_expr(c, filename) if c["items"] else ast.Constant(True))]


def wait_kw(clauses, filename, key="wait"):
    """wait=: True bare (every queue), else the list of queues."""
    c = clause(clauses, "wait")
    if c is None:
        return []
    if not c["items"]:
        return [(key, ast.Constant(True))]
    qs = [expr(it["text"], it["line"], it["col"], filename) for it in c["items"]
          if it.get("key") != "devnum"]
    return [(key, ast.List(qs, ast.Load()))]


# ------------------------------------------------- executable directives

def placeholders(pragmas, lines, first, indent, filename):
    """Replaces the comment lines of each executable directive by a
    placeholder call at the comment's indentation; returns the new lines
    and {placeholder name: pragma}."""
    lines = list(lines)
    found = {}
    for k, p in enumerate(pragmas):
        if p.kind not in EXECUTABLE:
            continue
        name = f"{PLACEHOLDER}{k}"
        found[name] = p
        col = p.col - indent
        lines[p.line - first] = " " * col + f"{name}()\n"
        for ln in range(p.line + 1, p.end_line + 1):
            lines[ln - first] = "\n"
    return lines, found


def placeholder_of(stmt, found):
    """The pragma a statement stands for, or None."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
            and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id in found:
        return found[stmt.value.func.id]
    return None


def executable(p, filename):
    """The statement an executable directive runs."""
    cl = p.directive["clauses"]
    kind = p.kind
    if kind == "enter data":
        call = _rt("enter_data", [items(cl, filename, ENTER_CLAUSES)],
                   cond_kw(cl, filename) + async_kw(cl, filename) + wait_kw(cl, filename))
    elif kind == "exit data":
        kw = cond_kw(cl, filename) + async_kw(cl, filename) + wait_kw(cl, filename)
        if clause(cl, "finalize"):
            kw.append(("finalize", ast.Constant(True)))
        call = _rt("exit_data", [items(cl, filename, EXIT_CLAUSES)], kw)
    elif kind == "update":
        kw = cond_kw(cl, filename) + async_kw(cl, filename) + wait_kw(cl, filename)
        if clause(cl, "if_present"):
            kw.append(("if_present", ast.Constant(True)))
        call = _rt("update", [_update_items(cl, {"self", "host"}, filename),
                              _update_items(cl, {"device"}, filename)], kw)
    elif kind == "wait":
        queues = [expr(it["text"], it["line"], it["col"], filename) for it in p.directive.get("args", [])
                  if it.get("key") != "devnum"]
        kw = cond_kw(cl, filename) + async_kw(cl, filename)
        call = _rt("wait", [ast.List(queues, ast.Load()) if queues else ast.Constant(None)], kw)
    else:  # init, shutdown, set
        call = _device_call(p, cl, filename)
    return _at(ast.Expr(call), p.line, p.col)


def _device_call(p, cl, filename):
    dt = clause(cl, "device_type")
    types_ = [ast.Constant(it["text"]) for it in dt["items"]] if dt else []
    kw = cond_kw(cl, filename) + [("device_types", ast.List(types_, ast.Load()))]
    num = clause(cl, "device_num")
    if num:
        kw.append(("device_num", clause_expr(num, filename)))
    if p.kind == "set":
        da = clause(cl, "default_async")
        if da:
            kw.append(("default_async", clause_expr(da, filename)))
    return ast.Call(ast.Attribute(ast.Name("__pyacc_dirs", ast.Load()), p.kind.replace(" ", "_"),
                                  ast.Load()), [], [ast.keyword(k, v) for k, v in kw])


# ---------------------------------------------------- structured regions

def guarded(enter_call, body, token, line, col):
    """token = enter_call; try: body finally: data_exit(token)."""
    assign = ast.Assign([ast.Name(token, ast.Store())], enter_call)
    exit_ = ast.Expr(_rt("data_exit", [ast.Name(token, ast.Load())]))
    try_ = ast.Try(body=body, handlers=[], orelse=[], finalbody=[exit_])
    return [_at(assign, line, col), _at(try_, line, col)]


def data_enter(item_list, clauses, filename, default_present=False, implicit=(), cond=None):
    """The data_enter call of a construct with these clauses; `implicit`
    are the names a compute construct uses without a clause (checked
    present under default(present)); `cond`, when given, replaces the if
    clause's expression (already evaluated into a variable)."""
    if implicit and default_present:
        extra = [ast.Tuple([ast.Constant("implicit"), ast.Name(n, ast.Load()), ast.Constant(None),
                            ast.Constant(n)], ast.Load()) for n in implicit]
        item_list = ast.List(item_list.elts + extra, ast.Load())
    kw = [("cond", cond)] if cond is not None else cond_kw(clauses, filename)
    kw += async_kw(clauses, filename) + wait_kw(clauses, filename)
    if default_present:
        kw.append(("default_present", ast.Constant(True)))
    return _rt("data_enter", [item_list], kw)


def named(clauses):
    """Variable names the data clauses list."""
    return {it["text"] for c in clauses if c["name"] in DATA_CLAUSES for it in c["items"]
            if it["kind"] == "var"}


def host_data_enter(p, filename):
    """host_data use_device(list): on a device sharing memory with the host
    the device address is the host's, so the construct only checks that the
    data is present (not even that under if_present)."""
    cl = p.directive["clauses"]
    rename = {"use_device": "no_create" if clause(cl, "if_present") else "present"}
    return _rt("data_enter", [items(cl, filename, {"use_device"}, rename)], cond_kw(cl, filename))


def is_placeholder(stmt):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) \
        and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id.startswith(PLACEHOLDER)


def async_launch(k, queue, call_stmts, has_outs, cond):
    """Region k under async(queue): queued behind the queue's earlier work
    and the caller goes on.  A region whose results the caller reads at
    once, or one an if clause sends to the local thread, runs now instead,
    after the queue's earlier work."""
    sync = [ast.Expr(_rt("wait", [ast.List([queue], ast.Load())]))] + call_stmts
    if has_outs:
        return sync
    call = call_stmts[0].value
    submit = ast.Expr(_rt("submit", [queue, call.func] + call.args))
    if cond is None:
        return [submit]
    return [ast.If(cond, [submit], sync)]


# ------------------------------------------------- init, shutdown, set

def _device_types(names):
    """device_type(...) names as acc_device_t values; none given is the
    current type."""
    from . import runtime as rt
    table = {"host": rt.acc_device_host, "nvidia": rt.acc_device_nvidia,
             "default": rt.acc_device_default, "*": rt.acc_device_default}
    if not names:
        return [rt.acc_get_device_type()]
    out = []
    for n in names:
        if n.lower() not in table:
            raise ValueError(f"unknown device type {n!r}: host, nvidia, default or *")
        out.append(table[n.lower()])
    return out


def init(cond=True, device_types=(), device_num=None):
    """`#pragma acc init`: starts the device types' runtime."""
    if not cond:
        return
    from . import runtime as rt
    for t in _device_types(device_types):
        if device_num is not None and not 0 <= device_num < max(rt.acc_get_num_devices(t), 1):
            raise ValueError(f"init device_num({device_num}): no such device")
        rt.acc_init(t)


def shutdown(cond=True, device_types=(), device_num=None):
    """`#pragma acc shutdown`: finishes the device types' work."""
    if not cond:
        return
    from . import runtime as rt
    for t in _device_types(device_types):
        if device_num is not None and not 0 <= device_num < max(rt.acc_get_num_devices(t), 1):
            raise ValueError(f"shutdown device_num({device_num}): no such device")
        rt.acc_shutdown(t)


def set(cond=True, device_types=(), device_num=None, default_async=None):  # noqa: A001
    """`#pragma acc set`: the current device type, device number and
    default async queue."""
    if not cond:
        return
    from . import runtime as rt
    types_ = _device_types(device_types)
    if device_types:
        rt.acc_set_device_type(types_[0])
    if device_num is not None:
        rt.acc_set_device_num(device_num, types_[0])
    if default_async is not None:
        rt.acc_set_default_async(default_async)
