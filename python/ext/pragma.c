/* pragma.c - fe_pragma_parse for Python: a directive as plain dicts.
 *
 * Expressions stay text with their positions; pyacc.pragmas compiles them
 * with Python's own parser in the function's scope. */
#include "ext.h"

static PyObject *span_text(const fe_directive *d, const fe_span *s)
{
    if (s->len == 0)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(d->text + s->off, (Py_ssize_t)s->len, "replace");
}

/* Sets key to value in dict and drops the reference to value. */
static int put(PyObject *dict, const char *key, PyObject *value)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

static const char *key_name(fe_item_key k)
{
    switch (k) {
    case FE_KEY_NUM: return "num";
    case FE_KEY_STATIC: return "static";
    case FE_KEY_DIM: return "dim";
    case FE_KEY_LENGTH: return "length";
    case FE_KEY_FORCE: return "force";
    case FE_KEY_DEVNUM: return "devnum";
    default: return NULL;
    }
}

static PyObject *item_dict(const fe_directive *d, const fe_item *it)
{
    PyObject *o = PyDict_New();
    if (!o)
        return NULL;
    const char *kind = it->kind == FE_ITEM_VAR ? "var" : it->kind == FE_ITEM_STAR ? "star" : "expr";
    const char *key = key_name(it->key);
    const fe_span *main = it->kind == FE_ITEM_VAR ? &it->name : &it->expr;
    if (put(o, "kind", PyUnicode_FromString(kind)) ||
        put(o, "key", key ? PyUnicode_FromString(key) : Py_NewRef(Py_None)) ||
        put(o, "text", span_text(d, main)) || put(o, "line", PyLong_FromLong(main->loc.line)) ||
        put(o, "col", PyLong_FromLong(main->loc.col)))
        goto fail;
    if (it->kind == FE_ITEM_VAR) {
        PyObject *dims = PyList_New(it->ndims);
        if (!dims)
            goto fail;
        for (int i = 0; i < it->ndims; i++) {
            const fe_section_dim *sd = &it->dims[i];
            PyObject *t = Py_BuildValue("(NNiiiii)", span_text(d, &sd->lo), span_text(d, &sd->hi),
                                        sd->is_index, sd->lo.loc.line, sd->lo.loc.col,
                                        sd->hi.loc.line, sd->hi.loc.col);
            if (!t) {
                Py_DECREF(dims);
                goto fail;
            }
            PyList_SetItem(dims, i, t);
        }
        if (put(o, "dims", dims))
            goto fail;
    }
    return o;
fail:
    Py_DECREF(o);
    return NULL;
}

static PyObject *items_list(const fe_directive *d, const fe_item *items, int n)
{
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        PyObject *it = item_dict(d, &items[i]);
        if (!it) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SetItem(l, i, it);
    }
    return l;
}

static PyObject *clause_dict(const fe_directive *d, const fe_clause *c)
{
    PyObject *o = PyDict_New();
    if (!o)
        return NULL;
    const char *def = c->def == FE_DEFAULT_NONE ? "none" : c->def == FE_DEFAULT_PRESENT ? "present" : NULL;
    if (put(o, "name", PyUnicode_FromString(fe_clause_name(c->kind))) ||
        put(o, "line", PyLong_FromLong(c->loc.line)) || put(o, "col", PyLong_FromLong(c->loc.col)) ||
        put(o, "has_args", PyBool_FromLong(c->has_args)) ||
        put(o, "readonly", PyBool_FromLong(!!(c->mods & FE_MOD_READONLY))) ||
        put(o, "zero", PyBool_FromLong(!!(c->mods & FE_MOD_ZERO))) ||
        put(o, "queues", PyBool_FromLong(!!(c->mods & FE_MOD_QUEUES))) ||
        put(o, "op", c->red_op ? PyUnicode_FromString(fe_red_op_name(c->red_op)) : Py_NewRef(Py_None)) ||
        put(o, "default", def ? PyUnicode_FromString(def) : Py_NewRef(Py_None)) ||
        put(o, "items", items_list(d, c->items, c->nitems))) {
        Py_DECREF(o);
        return NULL;
    }
    return o;
}

static const char *atomic_name(fe_atomic_kind k)
{
    switch (k) {
    case FE_ATOMIC_READ: return "read";
    case FE_ATOMIC_WRITE: return "write";
    case FE_ATOMIC_UPDATE: return "update";
    case FE_ATOMIC_CAPTURE: return "capture";
    default: return NULL;
    }
}

static PyObject *directive_dict(const fe_directive *d)
{
    PyObject *o = PyDict_New();
    if (!o)
        return NULL;
    const char *atomic = atomic_name(d->atomic);
    PyObject *clauses = PyList_New(d->nclauses);
    if (!clauses)
        goto fail;
    for (int i = 0; i < d->nclauses; i++) {
        PyObject *c = clause_dict(d, &d->clauses[i]);
        if (!c) {
            Py_DECREF(clauses);
            goto fail;
        }
        PyList_SetItem(clauses, i, c);
    }
    if (put(o, "clauses", clauses) || put(o, "kind", PyUnicode_FromString(fe_dir_name(d->kind))) ||
        put(o, "end_of", d->kind == FE_DIR_END ? PyUnicode_FromString(fe_dir_name(d->end_of)) : Py_NewRef(Py_None)) ||
        put(o, "atomic", atomic ? PyUnicode_FromString(atomic) : Py_NewRef(Py_None)) ||
        put(o, "line", PyLong_FromLong(d->loc.line)) || put(o, "col", PyLong_FromLong(d->loc.col)) ||
        put(o, "text", PyUnicode_DecodeUTF8(d->text, (Py_ssize_t)d->text_len, "replace")) ||
        put(o, "args", items_list(d, d->args, d->nargs)))
        goto fail;
    return o;
fail:
    Py_DECREF(o);
    return NULL;
}

/* parse_pragma(lines: list[(text, line, col)]) -> dict, or raises
 * pyacc.PragmaSyntaxError(msg, line, col). */
PyObject *pyext_parse_pragma(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *lines;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &lines))
        return NULL;
    Py_ssize_t n = PyList_Size(lines);
    if (n < 1 || n > 1024) {
        PyErr_SetString(PyExc_ValueError, "parse_pragma: need 1 to 1024 lines");
        return NULL;
    }
    fe_src_line *src = PyMem_Calloc((size_t)n, sizeof *src);
    if (!src)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *text;
        Py_ssize_t len;
        int line, col;
        PyObject *t = PyList_GetItem(lines, i);
        PyObject *s;
        if (!PyArg_ParseTuple(t, "Uii", &s, &line, &col) || !(text = PyUnicode_AsUTF8AndSize(s, &len))) {
            PyMem_Free(src);
            return NULL;
        }
        src[i] = (fe_src_line){text, (size_t)len, line, col};
    }
    fe_directive *d = NULL;
    fe_error err = {0};
    fe_status st = fe_pragma_parse(src, (int)n, &d, &err);
    PyMem_Free(src);
    if (st == FE_ERR_NOMEM)
        return PyErr_NoMemory();
    if (st != FE_OK) {
        PyObject *exc = PyObject_CallFunction(pyext.pragma_error ? pyext.pragma_error : PyExc_SyntaxError,
                                              "siii", err.msg, err.loc.line, err.loc.col, err.loc.end_col);
        if (exc) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return NULL;
    }
    PyObject *o = directive_dict(d);
    fe_directive_free(d);
    return o;
}
