/* code.c - a code object as the frontend reads it, and the globals it names.
 *
 * The stable ABI has no access to code object internals, so everything is
 * read through attributes into plain C (pyext_code).  Globals are resolved
 * when compiling, through pyacc.regions.resolve_globals; a global that is a
 * Python function is read the same way, with its own globals, so that the
 * frontend can compile the call.  A function seen again in one compile is
 * the same pyext_code, which makes recursion a cycle the frontend reports.
 */
#include "code.h"

#include <string.h>

#define dupstr pyext_dupstr


char *pyext_dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = PyMem_Malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void pyext_const_clear(fe_const *c)
{
    if (c->kind == FE_CONST_STR)
        PyMem_Free((void *)c->s);
    if (c->kind == FE_CONST_TUPLE) {
        for (int i = 0; i < c->nitems; i++)
            pyext_const_clear((fe_const *)&c->items[i]);
        PyMem_Free((void *)c->items);
    }
}

/* Converts a Python constant into *c (owning what it allocates). */
int pyext_const_convert(PyObject *o, fe_const *c)
{
    memset(c, 0, sizeof *c);
    if (o == Py_None) {
        c->kind = FE_CONST_NONE;
    } else if (o == Py_True || o == Py_False) {
        c->kind = FE_CONST_BOOL;
        c->i = o == Py_True;
    } else if (PyLong_CheckExact(o)) {
        int overflow;
        c->i = PyLong_AsLongLongAndOverflow(o, &overflow);
        c->kind = overflow ? FE_CONST_OTHER : FE_CONST_INT;
    } else if (PyFloat_CheckExact(o)) {
        c->kind = FE_CONST_FLOAT;
        c->f = PyFloat_AsDouble(o);
    } else if (PyComplex_Check(o)) {
        c->kind = FE_CONST_COMPLEX;
        c->f = PyComplex_RealAsDouble(o);
        c->imag = PyComplex_ImagAsDouble(o);
    } else if (PyUnicode_Check(o)) {
        const char *s = PyUnicode_AsUTF8AndSize(o, NULL);
        if (!s)
            return -1;
        c->kind = FE_CONST_STR;
        if (!(c->s = dupstr(s)))
            return -1;
    } else if (PyTuple_Check(o)) {
        Py_ssize_t n = PyTuple_Size(o);
        fe_const *items = PyMem_Calloc((size_t)n + 1, sizeof *items);
        if (!items)
            return -1;
        c->kind = FE_CONST_TUPLE;
        c->items = items;
        c->nitems = (int)n;
        for (Py_ssize_t i = 0; i < n; i++)
            if (pyext_const_convert(PyTuple_GetItem(o, i), &items[i]) < 0)
                return -1;
    } else {
        c->kind = FE_CONST_OTHER;
    }
    return 0;
}

/* ---------------------------------------------------------- the code */

static char **str_tuple(PyObject *t, int *n)
{
    Py_ssize_t len = PyTuple_Size(t);
    if (len < 0)
        return NULL;
    char **v = PyMem_Calloc((size_t)len + 1, sizeof *v);
    if (!v)
        return NULL;
    for (Py_ssize_t i = 0; i < len; i++) {
        const char *s = PyUnicode_AsUTF8AndSize(PyTuple_GetItem(t, i), NULL);
        if (!s || !(v[i] = dupstr(s))) {
            for (Py_ssize_t j = 0; j < i; j++)
                PyMem_Free(v[j]);
            PyMem_Free(v);
            return NULL;
        }
    }
    *n = (int)len;
    return v;
}

static long attr_long(PyObject *o, const char *name)
{
    PyObject *v = PyObject_GetAttrString(o, name);
    if (!v)
        return -1;
    long r = PyLong_AsLong(v);
    Py_DECREF(v);
    return r;
}

/* Reads a code object through its attributes (the stable ABI has no
 * struct access). */
int pyext_code_read(pyext_code *r, PyObject *code)
{
    PyObject *b = PyObject_GetAttrString(code, "co_code");
    if (!b || !PyBytes_Check(b)) {
        Py_XDECREF(b);
        return -1;
    }
    Py_ssize_t nb = PyBytes_Size(b);
    r->bytes = PyMem_Malloc((size_t)nb + 1);
    if (!r->bytes) {
        Py_DECREF(b);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(r->bytes, PyBytes_AsString(b), (size_t)nb);
    Py_DECREF(b);
    r->code.code = r->bytes;
    r->code.ncode = (size_t)nb;

    PyObject *consts = PyObject_GetAttrString(code, "co_consts");
    if (!consts)
        return -1;
    Py_ssize_t nc = PyTuple_Size(consts);
    r->consts = PyMem_Calloc((size_t)nc + 1, sizeof *r->consts);
    if (!r->consts) {
        Py_DECREF(consts);
        PyErr_NoMemory();
        return -1;
    }
    r->code.nconsts = (int)nc;
    for (Py_ssize_t i = 0; i < nc; i++)
        if (pyext_const_convert(PyTuple_GetItem(consts, i), &r->consts[i]) < 0) {
            Py_DECREF(consts);
            return -1;
        }
    Py_DECREF(consts);
    r->code.consts = r->consts;

    PyObject *names = PyObject_GetAttrString(code, "co_names");
    PyObject *varnames = names ? PyObject_GetAttrString(code, "co_varnames") : NULL;
    if (!varnames ||
        !(r->names = str_tuple(names, &r->code.nnames)) ||
        !(r->varnames = str_tuple(varnames, &r->code.nlocals))) {
        Py_XDECREF(names);
        Py_XDECREF(varnames);
        return -1;
    }
    Py_DECREF(names);
    Py_DECREF(varnames);
    r->code.names = (const char *const *)r->names;
    r->code.varnames = (const char *const *)r->varnames;
    r->code.nargs = (int)attr_long(code, "co_argcount");
    if (r->code.nargs < 0 || r->code.nargs > PYEXT_MAXARGS) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "pyacc: a region takes at most %d variables", PYEXT_MAXARGS);
        return -1;
    }

    /* co_positions(): one (line, end_line, col, end_col) per code unit */
    PyObject *pos = PyObject_CallMethod(code, "co_positions", NULL);
    PyObject *it = pos ? PyObject_GetIter(pos) : NULL;
    Py_XDECREF(pos);
    if (!it)
        return -1;
    size_t nunits = (size_t)nb / 2;
    r->positions = PyMem_Calloc(nunits + 1, sizeof *r->positions);
    if (!r->positions) {
        Py_DECREF(it);
        PyErr_NoMemory();
        return -1;
    }
    PyObject *item;
    size_t u = 0;
    while ((item = PyIter_Next(it)) != NULL) {
        if (u < nunits) {
            PyObject *l = PyTuple_GetItem(item, 0), *c = PyTuple_GetItem(item, 2),
                     *e = PyTuple_GetItem(item, 3), *el = PyTuple_GetItem(item, 1);
            fe_loc *p = &r->positions[u];
            p->line = l && l != Py_None ? (int)PyLong_AsLong(l) : 0;
            p->col = c && c != Py_None ? (int)PyLong_AsLong(c) : 0;
            /* an end column on another line is no use to a caret */
            p->end_col = e && e != Py_None && el && el != Py_None && PyLong_AsLong(el) == p->line
                             ? (int)PyLong_AsLong(e)
                             : -1;
            /* a unit without a line (a cache entry) takes its neighbour's */
            if (!p->line && u > 0)
                *p = r->positions[u - 1];
        }
        u++;
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return -1;
    r->code.positions = r->positions;

    PyObject *xt = PyObject_GetAttrString(code, "co_exceptiontable");
    if (!xt)
        return -1;
    r->code.has_exception_table = PyBytes_Size(xt) > 0;
    Py_DECREF(xt);
    PyObject *cells = PyObject_GetAttrString(code, "co_cellvars");
    PyObject *frees = cells ? PyObject_GetAttrString(code, "co_freevars") : NULL;
    if (!frees) {
        Py_XDECREF(cells);
        return -1;
    }
    r->code.has_cells = PyTuple_Size(cells) > 0 || PyTuple_Size(frees) > 0;
    Py_DECREF(cells);
    Py_DECREF(frees);
    PyObject *fn = PyObject_GetAttrString(code, "co_filename");
    PyObject *qn = fn ? PyObject_GetAttrString(code, "co_qualname") : NULL;
    const char *fs = fn ? PyUnicode_AsUTF8AndSize(fn, NULL) : NULL;
    const char *qs = qn ? PyUnicode_AsUTF8AndSize(qn, NULL) : NULL;
    if (fs)
        r->filename = dupstr(fs);
    if (qs)
        r->qualname = dupstr(qs);
    Py_XDECREF(fn);
    Py_XDECREF(qn);
    if (!r->filename || !r->qualname) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return -1;
    }
    r->code.filename = r->filename;
    r->code.qualname = r->qualname;
    return 0;
}


void pyext_code_clear(pyext_code *r)
{
    PyMem_Free(r->bytes);
    for (int i = 0; r->consts && i < r->code.nconsts; i++)
        pyext_const_clear(&r->consts[i]);
    PyMem_Free(r->consts);
    for (int i = 0; r->names && i < r->code.nnames; i++)
        PyMem_Free(r->names[i]);
    PyMem_Free(r->names);
    for (int i = 0; r->varnames && i < r->code.nlocals; i++)
        PyMem_Free(r->varnames[i]);
    PyMem_Free(r->varnames);
    PyMem_Free(r->positions);
    for (int i = 0; r->defaults && i < r->code.ndefaults; i++)
        pyext_const_clear(&r->defaults[i]);
    PyMem_Free(r->defaults);
    PyMem_Free(r->filename);
    PyMem_Free(r->qualname);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------- globals */

/* The globals of one code in one compile. */
static fe_global *resolve(pyext_globals *g, pyext_code *c, PyObject *fglobals, int depth);

/* The code of function `func` for this compile, read and resolved once. */
static pyext_code *callee(pyext_globals *g, PyObject *func, int depth)
{
    for (int i = 0; i < g->nfuncs; i++)
        if (g->funcs[i] == func)
            return g->codes[i];
    if (g->nfuncs == PYEXT_MAXCALLEES || depth > 16)
        return NULL;
    PyObject *code = PyObject_GetAttrString(func, "__code__");
    PyObject *fglobals = code ? PyObject_GetAttrString(func, "__globals__") : NULL;
    pyext_code *c = PyMem_Calloc(1, sizeof *c);
    if (!fglobals || !c || pyext_code_read(c, code) < 0) {
        Py_XDECREF(code);
        Py_XDECREF(fglobals);
        if (c)
            pyext_code_clear(c);
        PyMem_Free(c);
        PyErr_Clear(); /* not compilable: the frontend says so where it is called */
        return NULL;
    }
    Py_DECREF(code);
    /* defaults fill the last parameters a call leaves out */
    PyObject *defs = PyObject_GetAttrString(func, "__defaults__");
    if (defs && PyTuple_Check(defs)) {
        Py_ssize_t nd = PyTuple_Size(defs);
        c->defaults = PyMem_Calloc((size_t)nd + 1, sizeof *c->defaults);
        for (Py_ssize_t i = 0; c->defaults && i < nd; i++)
            if (pyext_const_convert(PyTuple_GetItem(defs, i), &c->defaults[i]) == 0)
                c->code.ndefaults++;
        c->code.defaults = c->defaults;
    }
    Py_XDECREF(defs);
    PyErr_Clear();
    int k = g->nfuncs++;
    g->funcs[k] = func;
    g->codes[k] = c;
    g->globals_of[k] = fglobals;
    c->code.globals = resolve(g, c, fglobals, depth + 1);
    if (!c->code.globals)
        return NULL;
    return c;
}

static fe_global *resolve(pyext_globals *g, pyext_code *c, PyObject *fglobals, int depth)
{
    int n = c->code.nnames;
    PyObject *names = PyTuple_New(n);
    if (!names)
        return NULL;
    for (int i = 0; i < n; i++)
        PyTuple_SetItem(names, i, PyUnicode_FromString(c->names[i]));
    PyObject *res = PyObject_CallFunctionObjArgs(pyext.resolve_globals, fglobals, names, NULL);
    Py_DECREF(names);
    if (!res)
        return NULL;
    if (PyList_Append(g->keep, res) < 0) {
        Py_DECREF(res);
        return NULL;
    }
    Py_DECREF(res); /* g->keep holds it, and so the strings below */
    fe_global *out = PyMem_Calloc((size_t)n + 1, sizeof *out);
    if (!out || g->nglobals == PYEXT_MAXCALLEES + 1) {
        PyMem_Free(out);
        PyErr_NoMemory();
        return NULL;
    }
    g->globals[g->nglobals] = out;
    g->nglobals_n[g->nglobals++] = n;
    for (int i = 0; i < n && i < PyList_Size(res); i++) {
        PyObject *t = PyList_GetItem(res, i), *name, *value;
        int kind;
        if (!PyArg_ParseTuple(t, "iOO", &kind, &name, &value))
            return NULL;
        out[i].kind = (fe_global_kind)kind;
        out[i].name = name == Py_None ? NULL : PyUnicode_AsUTF8AndSize(name, NULL);
        if (kind == FE_GLOBAL_CONST && pyext_const_convert(value, &out[i].value) < 0)
            return NULL;
        if (kind == FE_GLOBAL_FUNCTION) {
            pyext_code *cc = callee(g, value, depth);
            if (PyErr_Occurred())
                return NULL;
            if (cc)
                out[i].code = &cc->code;
            else
                out[i].kind = FE_GLOBAL_OTHER;
        }
    }
    return out;
}

int pyext_globals_resolve(pyext_globals *g, pyext_code *c, PyObject *fglobals)
{
    memset(g, 0, sizeof *g);
    g->keep = PyList_New(0);
    if (!g->keep)
        return -1;
    fe_global *top = resolve(g, c, fglobals, 0);
    if (!top)
        return -1;
    c->code.globals = top;
    return 0;
}

void pyext_globals_clear(pyext_globals *g, pyext_code *c)
{
    for (int k = 0; k < g->nglobals; k++) {
        for (int i = 0; i < g->nglobals_n[k]; i++)
            if (g->globals[k][i].kind == FE_GLOBAL_CONST)
                pyext_const_clear(&g->globals[k][i].value);
        PyMem_Free(g->globals[k]);
    }
    for (int k = 0; k < g->nfuncs; k++) {
        pyext_code_clear(g->codes[k]);
        PyMem_Free(g->codes[k]);
        Py_XDECREF(g->globals_of[k]);
    }
    Py_XDECREF(g->keep);
    if (c)
        c->code.globals = NULL;
    memset(g, 0, sizeof *g);
}
