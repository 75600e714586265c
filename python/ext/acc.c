/* acc.c - the Python face of the OpenACC runtime (runtime/device.c,
 * present.c, queues.c).
 *
 * Owns the acc_* routines as _pyacc functions (pyacc.runtime re-exports
 * them under the same names), the data-construct entry points the outliner
 * calls (acc_data_enter/exit, acc_enter_data, acc_exit_data, acc_update,
 * acc_wait_directive), Python callables run as async tasks, the device and
 * property constants, and the translation of runtime faults into Python
 * exceptions (pyacc.AccError, IndexError for sections out of bounds, the
 * task's own exception for a failed async task).
 *
 * Arrays come in through the buffer protocol: a data item is the byte
 * range from the first to the last element of the object or its section
 * (for a non-contiguous array that range covers elements outside it too),
 * computed here; everything else is done by the runtime, in C, so a compute
 * region's data clauses cost a microsecond or so.
 */
#include "ext.h"

#include "rt.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PyObject *acc_error;   /* pyacc.runtime.AccError(msg, code) */
static PyObject *acc_warning; /* pyacc.errors.PyaccWarning */

/* AccError.code for each rt_acc_status. */
static const char *const status_codes[RT_ACC_STATUS_COUNT_] = {
    "ok", "not_present", "partially_present", "mapped", "not_mapped",
    "invalid", "no_memory", "device", "task"};

/* ---------------------------------------------------------------- faults */

static void pyobj_free(void *p)
{
    PyGILState_STATE g = PyGILState_Ensure();
    Py_DECREF((PyObject *)p);
    PyGILState_Release(g);
}

int32_t pyext_acc_fail_pyerr(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return rt_fail(RT_ACC_TASK, "an async task failed without an exception");
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    PyObject *name = PyType_GetName((PyTypeObject *)type);
    PyObject *text = value ? PyObject_Str(value) : NULL;
    const char *n = name ? PyUnicode_AsUTF8AndSize(name, NULL) : NULL;
    const char *t = text ? PyUnicode_AsUTF8AndSize(text, NULL) : NULL;
    PyErr_Clear();
    int32_t st = value ? rt_fail_detail(RT_ACC_TASK, value, pyobj_free, "%s: %s",
                                        n ? n : "exception", t ? t : "")
                       : rt_fail(RT_ACC_TASK, "%s", n ? n : "exception");
    Py_XDECREF(name);
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return st; /* the fault owns value */
}

/* Raises the calling thread's fault: a failed Python task's own exception,
 * else AccError("prefix: message", code).  prefix may be NULL.  NULL. */
static PyObject *raise_fault(PyObject *prefix)
{
    rt_fault f;
    rt_fault_take(&f);
    if (f.detail && f.free_detail == pyobj_free) {
        PyObject *exc = f.detail;
        f.detail = NULL;
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
        rt_fault_clear(&f);
        return NULL;
    }
    const char *code = f.status > 0 && f.status < RT_ACC_STATUS_COUNT_ ? status_codes[f.status]
                                                                       : "invalid";
    PyObject *msg = prefix ? PyUnicode_FromFormat("%U: %s", prefix, f.msg)
                           : PyUnicode_FromString(f.msg);
    rt_fault_clear(&f);
    if (!msg)
        return NULL;
    PyObject *cls = acc_error ? acc_error : PyExc_RuntimeError;
    PyObject *exc = acc_error ? PyObject_CallFunction(cls, "Os", msg, code)
                              : PyObject_CallFunctionObjArgs(cls, msg, NULL);
    Py_DECREF(msg);
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *raise_fault_s(const char *prefix)
{
    PyObject *p = PyUnicode_FromString(prefix);
    if (!p)
        return NULL;
    raise_fault(p);
    Py_DECREF(p);
    return NULL;
}

/* The current device, after issuing a pending fallback warning.  NULL
 * with an exception set. */
static rt_device *cur_dev(void)
{
    rt_device *d = rt_device_current();
    char msg[400];
    if (rt_device_warning(msg, sizeof msg) &&
        PyErr_WarnEx(acc_warning ? acc_warning : PyExc_RuntimeWarning, msg, 1) < 0)
        return NULL;
    if (!d)
        raise_fault_s("pyacc: the OpenACC device cannot be initialised");
    return d;
}

static int warn_pending(void)
{
    char msg[400];
    if (rt_device_warning(msg, sizeof msg))
        return PyErr_WarnEx(acc_warning ? acc_warning : PyExc_RuntimeWarning, msg, 1);
    return 0;
}

/* ------------------------------------------------------------- arguments */

/* The name of o's type, for messages (the limited API hides the type
 * struct).  Valid until the next call; under the GIL. */
static const char *type_name(PyObject *o)
{
    static char buf[128];
    PyObject *n = PyType_GetName(Py_TYPE(o));
    const char *s = n ? PyUnicode_AsUTF8AndSize(n, NULL) : NULL;
    snprintf(buf, sizeof buf, "%s", s ? s : "object");
    Py_XDECREF(n);
    return buf;
}

static int get_i32(PyObject *o, const char *fn, const char *what, int32_t *out)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: %s must be an int, not %s", fn, what,
                         type_name(o));
        }
        return -1;
    }
    if (v < INT32_MIN || v > INT32_MAX) {
        PyErr_Format(PyExc_OverflowError, "%s: %s %ld is out of range", fn, what, v);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int get_size(PyObject *o, const char *fn, const char *what, size_t *out)
{
    PyObject *i = PyNumber_Index(o);
    if (!i)
        return -1;
    Py_ssize_t v = PyLong_AsSsize_t(i);
    Py_DECREF(i);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0) {
        PyErr_Format(PyExc_ValueError, "%s: %s must not be negative (got %zd)", fn, what, v);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int get_addr(PyObject *o, const char *fn, const char *what, uintptr_t *out)
{
    PyObject *i = PyNumber_Index(o);
    if (!i)
        return -1;
    void *p = PyLong_AsVoidPtr(i);
    Py_DECREF(i);
    if (!p && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: %s is not an address", fn, what);
        return -1;
    }
    *out = (uintptr_t)p;
    return 0;
}

/* The async argument of a data construct: None is synchronous, True the
 * default async queue (a bare `async`), an int that queue. */
static int get_async(PyObject *o, int32_t *queue)
{
    if (o == Py_None || o == Py_False) {
        *queue = RT_ASYNC_SYNC;
        return 0;
    }
    if (o == Py_True) {
        *queue = RT_ASYNC_NOVAL;
        return 0;
    }
    return get_i32(o, "async", "the queue", queue);
}

/* Where a data item came from, to name it in messages: built into a
 * label ("copyin(a[0:n])") only when an error needs one, since formatting
 * costs more than the item's whole work. */
typedef struct label_src {
    const char *clause;
    PyObject *names, *tuple, *sec;
    Py_ssize_t k, name_at;
} label_src;

static PyObject *item_label(const char *clause, PyObject *names, PyObject *tuple, Py_ssize_t k,
                            Py_ssize_t name_at, PyObject *sec);

/* Raises exc("<label>: <fmt ...>").  -1. */
static int item_error(PyObject *exc, const label_src *ls, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    PyObject *label = !ls ? PyUnicode_FromString("section")
                          : item_label(ls->clause, ls->names, ls->tuple, ls->k, ls->name_at,
                                       ls->sec);
    if (msg && label)
        PyErr_Format(exc, "%U: %U", label, msg);
    Py_XDECREF(msg);
    Py_XDECREF(label);
    return -1;
}

/* The byte range [*start, *start + *bytes) that section `sec` (None: the
 * whole object) of view covers: from its lowest-addressed element to the end
 * of its highest.  Sections are tuples of (lo, hi) pairs, Python slice
 * meaning (None for an omitted bound, negative from the end); the element
 * form a[i] arrives as (i, i+1), so (-1, 0) means the last element.  -1
 * with IndexError (naming the item) when a bound is out of range. */
static int section_span(const Py_buffer *v, PyObject *sec, const label_src *ls, uintptr_t *start,
                        size_t *bytes)
{
    Py_ssize_t nsec = 0;
    if (sec != Py_None) {
        if (!PyTuple_Check(sec))
            return item_error(PyExc_TypeError, ls, "a section is a tuple of (lo, hi) pairs, not %s",
                              type_name(sec));
        nsec = PyTuple_Size(sec);
    }
    if (nsec > v->ndim)
        return item_error(PyExc_IndexError, ls,
                          "%zd dimensions in the section, but the array has %d", nsec, v->ndim);
    if (v->ndim == 0) {
        *start = (uintptr_t)v->buf;
        *bytes = (size_t)v->len;
        return 0;
    }
    Py_ssize_t lo_off = 0, hi_off = 0;
    int empty = 0;
    for (int d = 0; d < v->ndim; d++) {
        Py_ssize_t n = v->shape[d], lo = 0, hi = n;
        if (d < nsec) {
            PyObject *pair = PyTuple_GetItem(sec, d);
            if (!pair || !PyTuple_Check(pair) || PyTuple_Size(pair) != 2) {
                PyErr_Clear();
                return item_error(PyExc_TypeError, ls,
                                  "dimension %d of the section is not a (lo, hi) pair", d);
            }
            PyObject *plo = PyTuple_GetItem(pair, 0), *phi = PyTuple_GetItem(pair, 1);
            Py_ssize_t rlo = 0, rhi = n;
            if (plo != Py_None && (rlo = PyNumber_AsSsize_t(plo, PyExc_IndexError)) == -1 &&
                PyErr_Occurred())
                return -1;
            if (phi != Py_None && (rhi = PyNumber_AsSsize_t(phi, PyExc_IndexError)) == -1 &&
                PyErr_Occurred())
                return -1;
            lo = rlo < 0 ? rlo + n : rlo;
            hi = rlo == -1 && rhi == 0 && phi != Py_None ? n : rhi < 0 ? rhi + n : rhi;
            if (lo < 0 || hi > n || lo > hi)
                return item_error(PyExc_IndexError, ls,
                                  "the section %zd:%zd of dimension %d is outside the bounds 0:%zd",
                                  rlo, rhi, d, n);
        }
        if (lo == hi)
            empty = 1;
        if (empty)
            continue;
        Py_ssize_t s = v->strides ? v->strides[d] : 0;
        if (s >= 0) {
            lo_off += lo * s;
            hi_off += (hi - 1) * s;
        } else {
            lo_off += (hi - 1) * s;
            hi_off += lo * s;
        }
    }
    *start = (uintptr_t)((char *)v->buf + lo_off);
    *bytes = empty ? 0 : (size_t)(hi_off - lo_off + v->itemsize);
    return 0;
}

/* Bounds of a section of a non-buffer object that has a len() (a list):
 * only its first dimension can be checked.  0, or -1 with IndexError. */
static int check_len_section(PyObject *obj, PyObject *sec, const label_src *ls)
{
    if (sec == Py_None || !PyTuple_Check(sec) || PyTuple_Size(sec) < 1)
        return 0;
    Py_ssize_t n = PyObject_Size(obj);
    if (n < 0) {
        PyErr_Clear();
        return 0;
    }
    PyObject *pair = PyTuple_GetItem(sec, 0);
    if (!pair || !PyTuple_Check(pair) || PyTuple_Size(pair) != 2) {
        PyErr_Clear();
        return 0;
    }
    Py_buffer fake = {.buf = NULL, .len = 0, .itemsize = 1, .ndim = 1, .shape = &n,
                      .strides = NULL};
    PyObject *first = PyTuple_Pack(1, pair);
    if (!first)
        return -1;
    uintptr_t s;
    size_t b;
    int r = section_span(&fake, first, ls, &s, &b);
    Py_DECREF(first);
    return r;
}

/* Whole object span for the routines: (obj, nbytes or NULL). */
static int routine_span(const char *fn, PyObject *obj, PyObject *nbytes, int writable,
                        uintptr_t *start, size_t *bytes)
{
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes an array (an object with the buffer protocol), not %s", fn,
                     type_name(obj));
        return -1;
    }
    Py_buffer v;
    if (PyObject_GetBuffer(obj, &v, writable ? PyBUF_STRIDES | PyBUF_WRITABLE : PyBUF_STRIDES) < 0)
        return -1;
    int r = section_span(&v, Py_None, NULL, start, bytes); /* cannot fail */
    PyBuffer_Release(&v);
    if (r < 0 || !nbytes)
        return r;
    size_t n;
    if (get_size(nbytes, fn, "the byte count", &n) < 0)
        return -1;
    if (n > *bytes) {
        PyErr_Format(PyExc_ValueError, "%s: %zu bytes asked for, but the array has %zu", fn, n,
                     *bytes);
        return -1;
    }
    *bytes = n;
    return 0;
}

/* routine_span, then the current device: NULL with an exception set. */
static rt_device *span_dev(const char *fn, PyObject *obj, PyObject *nbytes, int writable,
                           uintptr_t *start, size_t *bytes)
{
    return routine_span(fn, obj, nbytes, writable, start, bytes) < 0 ? NULL : cur_dev();
}

/* ---------------------------------------------------- data-construct items */

#define CLAUSE_IMPLICIT (-2) /* an array a compute construct uses without a clause */

static const struct {
    const char *name;
    int32_t clause;
} clause_names[] = {
    {"copy", RT_CLAUSE_COPY},
    {"copyin", RT_CLAUSE_COPYIN},
    {"copyout", RT_CLAUSE_COPYOUT},
    {"create", RT_CLAUSE_CREATE},
    {"no_create", RT_CLAUSE_NO_CREATE},
    {"present", RT_CLAUSE_PRESENT},
    {"deviceptr", RT_CLAUSE_DEVICEPTR},
    {"attach", RT_CLAUSE_ATTACH},
    {"detach", RT_CLAUSE_DETACH},
    {"delete", RT_CLAUSE_DELETE},
    {"implicit", CLAUSE_IMPLICIT},
    /* OpenACC 2.7 keeps the 1.0 spellings as aliases. */
    {"pcopy", RT_CLAUSE_COPY},
    {"present_or_copy", RT_CLAUSE_COPY},
    {"pcopyin", RT_CLAUSE_COPYIN},
    {"present_or_copyin", RT_CLAUSE_COPYIN},
    {"pcopyout", RT_CLAUSE_COPYOUT},
    {"present_or_copyout", RT_CLAUSE_COPYOUT},
    {"pcreate", RT_CLAUSE_CREATE},
    {"present_or_create", RT_CLAUSE_CREATE},
};
#define NCLAUSE_NAMES ((int)(sizeof clause_names / sizeof clause_names[0]))
static PyObject *clause_str[NCLAUSE_NAMES];

/* The clause a name means, or -1 with ValueError. */
static int32_t clause_of(PyObject *s, const char *where)
{
    for (int i = 0; i < NCLAUSE_NAMES; i++) /* interned: the outliner's constants */
        if (s == clause_str[i])
            return clause_names[i].clause;
    if (PyUnicode_Check(s))
        for (int i = 0; i < NCLAUSE_NAMES; i++)
            if (PyUnicode_Compare(s, clause_str[i]) == 0)
                return clause_names[i].clause;
    PyErr_Format(PyExc_ValueError, "%s: %R is not a data clause", where, s);
    return -1;
}

/* "clause(name[lo:hi, ...])" for messages; name from `names`, from the
 * item's 4th element, else "<item k>". */
static PyObject *item_label(const char *clause, PyObject *names, PyObject *tuple, Py_ssize_t k,
                            Py_ssize_t name_at, PyObject *sec)
{
    PyObject *name = NULL;
    if (names && names != Py_None)
        name = PySequence_GetItem(names, k);
    else if (tuple && name_at >= 0 && PyTuple_Size(tuple) > name_at)
        name = Py_NewRef(PyTuple_GetItem(tuple, name_at));
    PyErr_Clear();
    if (!name)
        name = PyUnicode_FromFormat("<item %zd>", k);
    else if (!PyUnicode_Check(name)) {
        PyObject *str = PyObject_Str(name);
        Py_DECREF(name);
        name = str;
    }
    if (!name)
        return NULL;
    PyObject *s = NULL;
    if (sec && sec != Py_None && PyTuple_Check(sec)) {
        PyObject *parts = PyList_New(0);
        for (Py_ssize_t d = 0; parts && d < PyTuple_Size(sec); d++) {
            PyObject *pair = PyTuple_GetItem(sec, d), *p = NULL;
            if (pair && PyTuple_Check(pair) && PyTuple_Size(pair) == 2) {
                PyObject *lo = PyTuple_GetItem(pair, 0), *hi = PyTuple_GetItem(pair, 1);
                p = PyUnicode_FromFormat("%S:%S", lo == Py_None ? Py_None : lo,
                                         hi == Py_None ? Py_None : hi);
                if (p) { /* an omitted bound prints as nothing, as in the pragma */
                    PyObject *none = PyUnicode_FromString("None"),
                             *empty = PyUnicode_FromString("");
                    PyObject *q = none && empty ? PyUnicode_Replace(p, none, empty, -1) : NULL;
                    Py_DECREF(p);
                    p = q;
                    Py_XDECREF(none);
                    Py_XDECREF(empty);
                }
            } else {
                p = PyObject_Repr(pair ? pair : Py_None);
            }
            if (!p || PyList_Append(parts, p) < 0)
                Py_CLEAR(parts);
            Py_XDECREF(p);
        }
        PyObject *sep = PyUnicode_FromString(", ");
        PyObject *joined = parts && sep ? PyUnicode_Join(sep, parts) : NULL;
        s = joined ? PyUnicode_FromFormat("%s(%U[%U])", clause, name, joined) : NULL;
        Py_XDECREF(joined);
        Py_XDECREF(sep);
        Py_XDECREF(parts);
    } else {
        s = PyUnicode_FromFormat("%s(%U)", clause, name);
    }
    Py_DECREF(name);
    return s;
}

/* A batch of C items made from Python items, with the objects they came
 * from (kept alive by a structured construct's token) and each one's index
 * in the Python list (for messages). */
#define BATCH_STACK 16
typedef struct batch {
    rt_data_item *items;
    PyObject **objs;
    Py_ssize_t *from;
    int32_t n;
    Py_ssize_t cap;
    rt_data_item items_s[BATCH_STACK];
    PyObject *objs_s[BATCH_STACK];
    Py_ssize_t from_s[BATCH_STACK];
} batch;

static int batch_init(batch *b, Py_ssize_t n)
{
    b->n = 0;
    b->cap = n;
    if (n <= BATCH_STACK) {
        b->items = b->items_s;
        b->objs = b->objs_s;
        b->from = b->from_s;
        return 0;
    }
    if (n > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many data items");
        return -1;
    }
    b->items = PyMem_Malloc((size_t)n * sizeof *b->items);
    b->objs = PyMem_Malloc((size_t)n * sizeof *b->objs);
    b->from = PyMem_Malloc((size_t)n * sizeof *b->from);
    if (!b->items || !b->objs || !b->from) {
        PyMem_Free(b->items);
        PyMem_Free(b->objs);
        PyMem_Free(b->from);
        b->items = b->items_s;
        b->objs = b->objs_s;
        b->from = b->from_s;
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void batch_free(batch *b)
{
    if (b->items != b->items_s) {
        PyMem_Free(b->items);
        PyMem_Free(b->objs);
        PyMem_Free(b->from);
    }
}

/* Adds obj (with section sec) as clause `clause` to b, or nothing for a
 * non-buffer object (a list or a scalar: compiled code copies those
 * itself), whose section is bounds-checked when it has a len() (except for
 * copyout: a region may append to a list it copies out). */
static int batch_add(batch *b, int32_t clause, PyObject *obj, PyObject *sec, const label_src *ls)
{
    if (clause == RT_CLAUSE_DEVICEPTR) /* already device memory: nothing to map */
        return 0;
    uintptr_t start = 0;
    size_t bytes = 0;
    if (!PyObject_CheckBuffer(obj)) {
        if (sec == Py_None || clause == RT_CLAUSE_COPYOUT)
            return 0;
        return check_len_section(obj, sec, ls);
    }
    Py_buffer v;
    if (PyObject_GetBuffer(obj, &v, PyBUF_STRIDES) < 0)
        return -1;
    int r = section_span(&v, sec, ls, &start, &bytes);
    PyBuffer_Release(&v);
    if (r < 0)
        return -1;
    if (clause == RT_CLAUSE_ATTACH || clause == RT_CLAUSE_DETACH)
        bytes = sizeof(void *); /* the object holds the pointer at its start */
    else if (bytes == 0)
        return 0; /* a zero-length section: no action */
    rt_data_item *it = &b->items[b->n];
    *it = (rt_data_item){.host = (const void *)start, .bytes = bytes, .clause = clause};
    b->objs[b->n] = obj;
    b->from[b->n] = ls->k;
    b->n++;
    return 0;
}

/* Fills b from a list of (clause, obj, section[, name]) items; clauses
 * outside `mask` (bits of rt_clause) are ValueErrors naming `where`. */
static int collect(PyObject *list, PyObject *names, unsigned mask, int default_present,
                   const char *where, batch *b)
{
    b->items = b->items_s; /* so that batch_free is safe whatever fails */
    int islist = PyList_Check(list);
    if (!islist && !PyTuple_Check(list)) {
        PyErr_Format(PyExc_TypeError, "%s: items must be a list, not %s", where,
                     type_name(list));
        return -1;
    }
    Py_ssize_t n = islist ? PyList_Size(list) : PyTuple_Size(list);
    if (batch_init(b, n) < 0)
        return -1;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *t = islist ? PyList_GetItem(list, k) : PyTuple_GetItem(list, k);
        Py_ssize_t tn = t && PyTuple_Check(t) ? PyTuple_Size(t) : 0;
        if (tn != 3 && tn != 4) {
            PyErr_Format(PyExc_TypeError,
                         "%s: item %zd is not a (clause, object, section[, name]) tuple", where, k);
            return -1;
        }
        int32_t clause = clause_of(PyTuple_GetItem(t, 0), where);
        if (clause == -1)
            return -1;
        if (clause == CLAUSE_IMPLICIT)
            clause = default_present ? RT_CLAUSE_PRESENT : RT_CLAUSE_COPY;
        if (!(mask >> clause & 1u)) {
            PyErr_Format(PyExc_ValueError, "%s does not take a %s clause", where,
                         rt_clause_name(clause));
            return -1;
        }
        label_src ls = {rt_clause_name(clause), names, t, PyTuple_GetItem(t, 2), k, 3};
        if (batch_add(b, clause, PyTuple_GetItem(t, 1), ls.sec, &ls) < 0)
            return -1;
    }
    return 0;
}

/* Raises the fault of a failed batch call, naming the item. */
static PyObject *raise_item_fault(PyObject *list, PyObject *names, const batch *b,
                                  int update_kind, const char *where)
{
    int32_t k = rt_fault_last()->item;
    PyObject *label = NULL;
    if (k >= 0 && k < b->n) {
        Py_ssize_t from = b->from[k];
        PyObject *t = PySequence_GetItem(list, from);
        if (t && PyTuple_Check(t)) {
            const char *clause = update_kind ? (b->items[k].clause == RT_CLAUSE_UPDATE_SELF
                                                    ? "update self"
                                                    : "update device")
                                             : rt_clause_name(b->items[k].clause);
            Py_ssize_t sec_at = update_kind ? 1 : 2;
            label = item_label(clause, names, t, from, sec_at + 1,
                               PyTuple_Size(t) > sec_at ? PyTuple_GetItem(t, sec_at) : NULL);
        }
        Py_XDECREF(t);
        PyErr_Clear();
    }
    if (!label)
        label = PyUnicode_FromString(where);
    if (!label)
        return NULL;
    raise_fault(label);
    Py_DECREF(label);
    return NULL;
}

/* ------------------------------------------------------------------ waits */

static PyObject *check_wait(int32_t st, const char *fn)
{
    if (st)
        return raise_fault_s(fn);
    Py_RETURN_NONE;
}

static int32_t wait_nogil(int32_t queue)
{
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait(queue);
    Py_END_ALLOW_THREADS
    return st;
}

static int32_t wait_all_nogil(void)
{
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait_all();
    Py_END_ALLOW_THREADS
    return st;
}

static int32_t wait_async_nogil(int32_t queue, int32_t on)
{
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait_async(queue, on);
    Py_END_ALLOW_THREADS
    return st;
}

static int32_t wait_all_async_nogil(int32_t on)
{
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait_all_async(on);
    Py_END_ALLOW_THREADS
    return st;
}

/* The wait clause of a construct, or the wait directive's list: None
 * waits for nothing, True (or an empty list) for every queue, an int or a
 * list of ints for those; with `on` async, queue `on` waits instead of the
 * caller.  0, or -1 with an exception. */
static int do_wait(PyObject *w, int32_t on, const char *where)
{
    if (w == Py_None || w == Py_False)
        return 0;
    int32_t st = 0;
    PyObject *seq = NULL;
    if (w == Py_True || (PySequence_Check(w) && PySequence_Size(w) == 0)) {
        PyErr_Clear();
        st = on == RT_ASYNC_SYNC ? wait_all_nogil() : wait_all_async_nogil(on);
    } else if (PyLong_Check(w)) {
        int32_t q;
        if (get_i32(w, where, "the wait queue", &q) < 0)
            return -1;
        st = on == RT_ASYNC_SYNC ? wait_nogil(q) : wait_async_nogil(q, on);
    } else {
        seq = PySequence_Tuple(w);
        if (!seq)
            return -1;
        for (Py_ssize_t i = 0; i < PyTuple_Size(seq) && !st; i++) {
            int32_t q;
            if (get_i32(PyTuple_GetItem(seq, i), where, "the wait queue", &q) < 0) {
                Py_DECREF(seq);
                return -1;
            }
            st = on == RT_ASYNC_SYNC ? wait_nogil(q) : wait_async_nogil(q, on);
        }
        Py_DECREF(seq);
    }
    if (st) {
        raise_fault_s(where);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------ data constructs */

/* What a structured construct entered, for its exit. */
typedef struct token {
    rt_device *d;
    uint64_t epoch;
    int32_t queue;
    int32_t n;
    int exited;
    PyObject **objs;         /* references keeping the data alive */
    rt_data_item items[];
} token;

static const char TOKEN_NAME[] = "pyacc.data_token";

static int32_t token_exit(token *t)
{
    t->exited = 1;
    int32_t st = rt_data_exit(t->d, t->items, t->n, t->queue, t->epoch);
    for (int32_t i = 0; i < t->n; i++)
        Py_CLEAR(t->objs[i]);
    return st;
}

static void token_destroy(PyObject *cap)
{
    token *t = PyCapsule_GetPointer(cap, TOKEN_NAME);
    if (!t)
        return;
    /* A construct abandoned without its exit (a generator dropped inside
     * it) still releases what it held. */
    if (!t->exited && token_exit(t)) {
        rt_fault f;
        rt_fault_take(&f);
        rt_fault_clear(&f);
    }
    PyMem_Free(t);
}

static PyObject *acc_data_enter(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"items", "cond", "async_", "wait", "default_present", "names", NULL};
    PyObject *items, *cond = Py_True, *async_ = Py_None, *wait = Py_None, *names = Py_None;
    int default_present = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOOpO:data_enter", kwlist, &items, &cond,
                                     &async_, &wait, &default_present, &names))
        return NULL;
    int c = cond == Py_True ? 1 : PyObject_IsTrue(cond);
    if (c <= 0)
        return c < 0 ? NULL : Py_NewRef(Py_None);
    int32_t queue;
    if (get_async(async_, &queue) < 0 || do_wait(wait, queue, "data construct") < 0)
        return NULL;
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    batch b;
    PyObject *res = NULL;
    if (collect(items, names, RT_CLAUSES_STRUCTURED, default_present, "a data construct", &b) < 0)
        goto out;
    if (b.n == 0) {
        res = Py_NewRef(Py_None);
        goto out;
    }
    token *t = PyMem_Malloc(sizeof *t + (size_t)b.n * (sizeof(rt_data_item) + sizeof(PyObject *)));
    if (!t) {
        PyErr_NoMemory();
        goto out;
    }
    t->d = d;
    t->queue = queue;
    t->n = b.n;
    t->exited = 0;
    t->objs = (PyObject **)(t->items + b.n);
    memcpy(t->items, b.items, (size_t)b.n * sizeof *b.items);
    if (rt_data_enter(d, t->items, t->n, queue, &t->epoch)) {
        PyMem_Free(t);
        raise_item_fault(items, names, &b, 0, "data construct");
        goto out;
    }
    for (int32_t i = 0; i < b.n; i++)
        t->objs[i] = Py_NewRef(b.objs[i]);
    res = PyCapsule_New(t, TOKEN_NAME, token_destroy);
    if (!res) {
        token_exit(t);
        PyMem_Free(t);
    }
out:
    batch_free(&b);
    return res;
}

static PyObject *acc_data_exit(PyObject *self, PyObject *tok)
{
    (void)self;
    if (tok == Py_None)
        Py_RETURN_NONE;
    token *t = PyCapsule_GetPointer(tok, TOKEN_NAME);
    if (!t)
        return NULL;
    if (t->exited) {
        PyErr_SetString(PyExc_RuntimeError, "data_exit: this data construct has already ended");
        return NULL;
    }
    if (token_exit(t))
        return raise_fault_s("end of data construct");
    Py_RETURN_NONE;
}

/* enter data and exit data (finalize < 0 for enter data). */
static PyObject *dynamic_data(PyObject *items, PyObject *cond, PyObject *async_, PyObject *wait,
                              PyObject *names, int finalize)
{
    const char *where = finalize < 0 ? "enter data" : "exit data";
    int c = PyObject_IsTrue(cond);
    if (c <= 0)
        return c < 0 ? NULL : Py_NewRef(Py_None);
    int32_t queue;
    if (get_async(async_, &queue) < 0 || do_wait(wait, queue, where) < 0)
        return NULL;
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    batch b;
    PyObject *res = NULL;
    if (collect(items, names, finalize < 0 ? RT_CLAUSES_ENTER : RT_CLAUSES_EXIT, 0, where, &b) ==
        0) {
        int32_t st = finalize < 0 ? rt_data_enter_dynamic(d, b.items, b.n, queue)
                                  : rt_data_exit_dynamic(d, b.items, b.n, queue, finalize);
        if (st)
            raise_item_fault(items, names, &b, 0, where);
        else
            res = Py_NewRef(Py_None);
    }
    batch_free(&b);
    return res;
}

static PyObject *acc_enter_data(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"items", "cond", "async_", "wait", "names", NULL};
    PyObject *items, *cond = Py_True, *async_ = Py_None, *wait = Py_None, *names = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOOO:enter_data", kwlist, &items, &cond,
                                     &async_, &wait, &names))
        return NULL;
    return dynamic_data(items, cond, async_, wait, names, -1);
}

static PyObject *acc_exit_data(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"items", "cond", "async_", "wait", "finalize", "names", NULL};
    PyObject *items, *cond = Py_True, *async_ = Py_None, *wait = Py_None, *names = Py_None;
    int finalize = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOOpO:exit_data", kwlist, &items, &cond,
                                     &async_, &wait, &finalize, &names))
        return NULL;
    return dynamic_data(items, cond, async_, wait, names, finalize);
}

/* Adds update items, (obj, section[, name]) each, to b. */
static int collect_update(PyObject *list, int32_t clause, Py_ssize_t base, batch *b)
{
    PyObject *seq = PySequence_Tuple(list);
    if (!seq)
        return -1;
    const char *what = clause == RT_CLAUSE_UPDATE_SELF ? "update self" : "update device";
    for (Py_ssize_t k = 0; k < PyTuple_Size(seq); k++) {
        PyObject *t = PyTuple_GetItem(seq, k);
        Py_ssize_t tn = PyTuple_Check(t) ? PyTuple_Size(t) : 0;
        if (tn != 2 && tn != 3) {
            PyErr_Format(PyExc_TypeError, "%s: item %zd is not an (object, section[, name]) tuple",
                         what, k);
            Py_DECREF(seq);
            return -1;
        }
        label_src ls = {what, NULL, t, PyTuple_GetItem(t, 1), k, 2};
        int32_t before = b->n;
        if (batch_add(b, clause, PyTuple_GetItem(t, 0), ls.sec, &ls) < 0) {
            Py_DECREF(seq);
            return -1;
        }
        if (b->n > before)
            b->from[before] = base + k;
    }
    Py_DECREF(seq);
    return 0;
}

static PyObject *acc_update(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"self_items", "device_items", "cond", "if_present", "async_", "wait",
                             NULL};
    PyObject *sitems, *ditems, *cond = Py_True, *async_ = Py_None, *wait = Py_None;
    int if_present = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OpOO:update", kwlist, &sitems, &ditems, &cond,
                                     &if_present, &async_, &wait))
        return NULL;
    int c = PyObject_IsTrue(cond);
    if (c <= 0)
        return c < 0 ? NULL : Py_NewRef(Py_None);
    int32_t queue;
    if (get_async(async_, &queue) < 0 || do_wait(wait, queue, "update") < 0)
        return NULL;
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    Py_ssize_t ns = PyObject_Size(sitems), nd = PyObject_Size(ditems);
    if (ns < 0 || nd < 0)
        return NULL;
    batch b;
    if (batch_init(&b, ns + nd) < 0)
        return NULL;
    PyObject *res = NULL, *all = NULL;
    if (collect_update(sitems, RT_CLAUSE_UPDATE_SELF, 0, &b) < 0 ||
        collect_update(ditems, RT_CLAUSE_UPDATE_DEVICE, ns, &b) < 0)
        goto out;
    if (rt_data_update(d, b.items, b.n, queue, if_present)) {
        all = PySequence_Concat(sitems, ditems);
        if (!all) {
            PyErr_Clear();
            all = PyList_New(0);
        }
        if (all)
            raise_item_fault(all, NULL, &b, 1, "update");
        goto out;
    }
    res = Py_NewRef(Py_None);
out:
    Py_XDECREF(all);
    batch_free(&b);
    return res;
}

static PyObject *acc_wait_directive(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *kwlist[] = {"queues", "cond", "async_", NULL};
    PyObject *queues = Py_None, *cond = Py_True, *async_ = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOO:wait", kwlist, &queues, &cond, &async_))
        return NULL;
    int c = PyObject_IsTrue(cond);
    if (c <= 0)
        return c < 0 ? NULL : Py_NewRef(Py_None);
    int32_t on;
    if (get_async(async_, &on) < 0)
        return NULL;
    if (do_wait(queues == Py_None ? Py_True : queues, on, "wait") < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---------------------------------------------------- memory routines */

static int nargs_ok(const char *fn, Py_ssize_t nargs, Py_ssize_t lo, Py_ssize_t hi)
{
    if (nargs >= lo && nargs <= hi)
        return 1;
    if (lo == hi)
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", fn, lo, nargs);
    else
        PyErr_Format(PyExc_TypeError, "%s() takes %zd to %zd arguments (%zd given)", fn, lo, hi,
                     nargs);
    return 0;
}

/* acc_copyin, acc_create, acc_copyout, acc_delete, acc_update_device,
 * acc_update_self and their _async/_finalize forms: (a[, nbytes]) or, async,
 * (a, [nbytes,] async). */
static PyObject *data_routine(const char *fn, int32_t clause, int async, int finalize,
                              PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok(fn, nargs, 1 + async, 2 + async))
        return NULL;
    int32_t queue = RT_ASYNC_SYNC;
    if (async && get_i32(args[nargs - 1], fn, "the async queue", &queue) < 0)
        return NULL;
    uintptr_t start;
    size_t bytes;
    rt_device *d = span_dev(fn, args[0], nargs - async == 2 ? args[1] : NULL, 0, &start, &bytes);
    if (!d)
        return NULL;
    rt_data_item it = {.host = (const void *)start, .bytes = bytes, .clause = clause};
    int32_t st;
    switch (clause) {
    case RT_CLAUSE_COPYIN:
    case RT_CLAUSE_CREATE:
        st = rt_data_enter_dynamic(d, &it, 1, queue);
        if (!st && !async)
            return PyLong_FromSize_t((size_t)it.dev);
        break;
    case RT_CLAUSE_COPYOUT:
    case RT_CLAUSE_DELETE:
        st = rt_data_exit_dynamic(d, &it, 1, queue, finalize);
        break;
    default:
        st = rt_data_update(d, &it, 1, queue, 0);
    }
    if (st)
        return raise_fault_s(fn);
    Py_RETURN_NONE;
}

#define DATA_ROUTINE(name, clause, async, finalize)                                          \
    static PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs)             \
    {                                                                                          \
        (void)self;                                                                            \
        return data_routine(#name, clause, async, finalize, args, nargs);                      \
    }
DATA_ROUTINE(acc_copyin, RT_CLAUSE_COPYIN, 0, 0)
DATA_ROUTINE(acc_copyin_async, RT_CLAUSE_COPYIN, 1, 0)
DATA_ROUTINE(acc_create, RT_CLAUSE_CREATE, 0, 0)
DATA_ROUTINE(acc_create_async, RT_CLAUSE_CREATE, 1, 0)
DATA_ROUTINE(acc_copyout, RT_CLAUSE_COPYOUT, 0, 0)
DATA_ROUTINE(acc_copyout_async, RT_CLAUSE_COPYOUT, 1, 0)
DATA_ROUTINE(acc_copyout_finalize, RT_CLAUSE_COPYOUT, 0, 1)
DATA_ROUTINE(acc_copyout_finalize_async, RT_CLAUSE_COPYOUT, 1, 1)
DATA_ROUTINE(acc_delete, RT_CLAUSE_DELETE, 0, 0)
DATA_ROUTINE(acc_delete_async, RT_CLAUSE_DELETE, 1, 0)
DATA_ROUTINE(acc_delete_finalize, RT_CLAUSE_DELETE, 0, 1)
DATA_ROUTINE(acc_delete_finalize_async, RT_CLAUSE_DELETE, 1, 1)
DATA_ROUTINE(acc_update_device, RT_CLAUSE_UPDATE_DEVICE, 0, 0)
DATA_ROUTINE(acc_update_device_async, RT_CLAUSE_UPDATE_DEVICE, 1, 0)
DATA_ROUTINE(acc_update_self, RT_CLAUSE_UPDATE_SELF, 0, 0)
DATA_ROUTINE(acc_update_self_async, RT_CLAUSE_UPDATE_SELF, 1, 0)

/* acc_attach / acc_detach: p is the address of a pointer (an int), or an
 * array whose first element is the pointer. */
static PyObject *attach_routine(const char *fn, int detach, int async, int finalize,
                                PyObject *const *args, Py_ssize_t nargs)
{
    if (!nargs_ok(fn, nargs, 1 + async, 1 + async))
        return NULL;
    int32_t queue = RT_ASYNC_SYNC;
    if (async && get_i32(args[1], fn, "the async queue", &queue) < 0)
        return NULL;
    uintptr_t slot;
    size_t bytes;
    if (PyObject_CheckBuffer(args[0])) {
        if (routine_span(fn, args[0], NULL, 0, &slot, &bytes) < 0)
            return NULL;
    } else if (get_addr(args[0], fn, "the pointer's address", &slot) < 0) {
        return NULL;
    }
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    rt_data_item it = {.host = (const void *)slot, .bytes = sizeof(void *),
                       .clause = detach ? RT_CLAUSE_DETACH : RT_CLAUSE_ATTACH};
    int32_t st = detach ? rt_data_exit_dynamic(d, &it, 1, queue, finalize)
                        : rt_data_enter_dynamic(d, &it, 1, queue);
    if (st)
        return raise_fault_s(fn);
    Py_RETURN_NONE;
}

#define ATTACH_ROUTINE(name, detach, async, finalize)                                        \
    static PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs)             \
    {                                                                                          \
        (void)self;                                                                            \
        return attach_routine(#name, detach, async, finalize, args, nargs);                    \
    }
ATTACH_ROUTINE(acc_attach, 0, 0, 0)
ATTACH_ROUTINE(acc_attach_async, 0, 1, 0)
ATTACH_ROUTINE(acc_detach, 1, 0, 0)
ATTACH_ROUTINE(acc_detach_async, 1, 1, 0)
ATTACH_ROUTINE(acc_detach_finalize, 1, 0, 1)
ATTACH_ROUTINE(acc_detach_finalize_async, 1, 1, 1)

static PyObject *acc_is_present(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    uintptr_t start;
    size_t bytes;
    rt_device *d = !nargs_ok("acc_is_present", nargs, 1, 2)
                       ? NULL
                       : span_dev("acc_is_present", args[0], nargs == 2 ? args[1] : NULL, 0,
                                  &start, &bytes);
    if (!d)
        return NULL;
    return PyBool_FromLong(rt_is_present(d, (const void *)start, bytes));
}

static PyObject *acc_deviceptr(PyObject *self, PyObject *arg)
{
    (void)self;
    uintptr_t start;
    size_t bytes;
    rt_device *d = span_dev("acc_deviceptr", arg, NULL, 0, &start, &bytes);
    return d ? PyLong_FromSize_t((size_t)rt_deviceptr(d, (const void *)start)) : NULL;
}

static PyObject *acc_hostptr(PyObject *self, PyObject *arg)
{
    (void)self;
    uintptr_t dptr;
    if (get_addr(arg, "acc_hostptr", "the device address", &dptr) < 0)
        return NULL;
    rt_device *d = cur_dev();
    return d ? PyLong_FromSize_t((size_t)(uintptr_t)rt_hostptr(d, dptr)) : NULL;
}

static PyObject *acc_map_data(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    uintptr_t start, dptr;
    size_t bytes;
    if (!nargs_ok("acc_map_data", nargs, 2, 3) ||
        routine_span("acc_map_data", args[0], nargs == 3 ? args[2] : NULL, 0, &start, &bytes) <
            0 ||
        get_addr(args[1], "acc_map_data", "the device address", &dptr) < 0)
        return NULL;
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    if (rt_map_data(d, (const void *)start, dptr, bytes))
        return raise_fault_s("acc_map_data");
    Py_RETURN_NONE;
}

static PyObject *acc_unmap_data(PyObject *self, PyObject *arg)
{
    (void)self;
    uintptr_t start;
    size_t bytes;
    rt_device *d = span_dev("acc_unmap_data", arg, NULL, 0, &start, &bytes);
    if (!d)
        return NULL;
    if (rt_unmap_data(d, (const void *)start))
        return raise_fault_s("acc_unmap_data");
    Py_RETURN_NONE;
}

static PyObject *acc_malloc(PyObject *self, PyObject *arg)
{
    (void)self;
    size_t bytes;
    uintptr_t p;
    if (get_size(arg, "acc_malloc", "the byte count", &bytes) < 0)
        return NULL;
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    if (rt_acc_malloc(d, bytes, &p))
        return raise_fault_s("acc_malloc");
    return PyLong_FromSize_t((size_t)p);
}

static PyObject *acc_free(PyObject *self, PyObject *arg)
{
    (void)self;
    uintptr_t p = 0;
    if (arg != Py_None && get_addr(arg, "acc_free", "the device address", &p) < 0)
        return NULL;
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    if (rt_acc_free(d, p))
        return raise_fault_s("acc_free");
    Py_RETURN_NONE;
}

/* acc_memcpy_to_device(dst, src[, nbytes]) and _async(dst, src, [nbytes,]
 * async); acc_memcpy_from_device(dst, src[, nbytes]) likewise, dst the
 * array; acc_memcpy_device(dst, src, nbytes[, async]). */
static PyObject *memcpy_routine(const char *fn, int kind, int async, PyObject *const *args,
                                Py_ssize_t nargs)
{
    int need_n = kind == 2;
    if (!nargs_ok(fn, nargs, 2 + need_n + async, 3 + async))
        return NULL;
    int32_t queue = RT_ASYNC_SYNC;
    if (async && get_i32(args[nargs - 1], fn, "the async queue", &queue) < 0)
        return NULL;
    PyObject *nb = nargs - async == 3 ? args[2] : NULL;
    uintptr_t dst = 0, src = 0, hstart;
    size_t bytes = 0;
    int r = 0;
    if (kind == 0)
        r = get_addr(args[0], fn, "the device address", &dst) < 0 ||
            routine_span(fn, args[1], nb, 0, &hstart, &bytes) < 0;
    else if (kind == 1)
        r = routine_span(fn, args[0], nb, 1, &hstart, &bytes) < 0 ||
            get_addr(args[1], fn, "the device address", &src) < 0;
    else
        r = get_addr(args[0], fn, "the destination", &dst) < 0 ||
            get_addr(args[1], fn, "the source", &src) < 0 ||
            get_size(args[2], fn, "the byte count", &bytes) < 0;
    if (r)
        return NULL;
    rt_device *d = cur_dev();
    if (!d)
        return NULL;
    int32_t st;
    Py_BEGIN_ALLOW_THREADS /* a large copy on a discrete device */
    st = kind == 0   ? rt_memcpy_to_device(d, dst, (const void *)hstart, bytes, queue)
         : kind == 1 ? rt_memcpy_from_device(d, (void *)hstart, src, bytes, queue)
                     : rt_memcpy_device(d, dst, src, bytes, queue);
    Py_END_ALLOW_THREADS
    if (st)
        return raise_fault_s(fn);
    Py_RETURN_NONE;
}

#define MEMCPY_ROUTINE(name, kind, async)                                                    \
    static PyObject *name(PyObject *self, PyObject *const *args, Py_ssize_t nargs)             \
    {                                                                                          \
        (void)self;                                                                            \
        return memcpy_routine(#name, kind, async, args, nargs);                                \
    }
MEMCPY_ROUTINE(acc_memcpy_to_device, 0, 0)
MEMCPY_ROUTINE(acc_memcpy_to_device_async, 0, 1)
MEMCPY_ROUTINE(acc_memcpy_from_device, 1, 0)
MEMCPY_ROUTINE(acc_memcpy_from_device_async, 1, 1)
MEMCPY_ROUTINE(acc_memcpy_device, 2, 0)
MEMCPY_ROUTINE(acc_memcpy_device_async, 2, 1)

/* ------------------------------------------- device and queue routines */

/* A routine of one int argument: calls call(v), with the GIL released when
 * it may block on the queues (whose tasks may need the GIL), issues a
 * fallback warning it left, and returns None, or raises its fault. */
static PyObject *status_routine(const char *fn, const char *what, PyObject *arg,
                                int32_t (*call)(int32_t), int nogil)
{
    int32_t v, st;
    if (get_i32(arg, fn, what, &v) < 0)
        return NULL;
    if (nogil) {
        Py_BEGIN_ALLOW_THREADS
        st = call(v);
        Py_END_ALLOW_THREADS
    } else {
        st = call(v);
    }
    if (warn_pending() < 0)
        return NULL;
    if (st)
        return raise_fault_s(fn);
    Py_RETURN_NONE;
}

/* A routine of one int argument answering an int (bool with as_bool; a
 * negative answer is -status, raised). */
static PyObject *int_routine(const char *fn, const char *what, PyObject *arg,
                             int32_t (*call)(int32_t), int as_bool)
{
    int32_t v;
    if (get_i32(arg, fn, what, &v) < 0)
        return NULL;
    int32_t r = call(v);
    if (warn_pending() < 0)
        return NULL;
    if (as_bool && r < 0)
        return raise_fault_s(fn);
    return as_bool ? PyBool_FromLong(r) : PyLong_FromLong(r);
}

#define STATUS_ROUTINE(name, what, call, nogil)                                              \
    static PyObject *name(PyObject *self, PyObject *arg)                                       \
    {                                                                                          \
        (void)self;                                                                            \
        return status_routine(#name, what, arg, call, nogil);                                  \
    }
#define INT_ROUTINE(name, what, call, as_bool)                                               \
    static PyObject *name(PyObject *self, PyObject *arg)                                       \
    {                                                                                          \
        (void)self;                                                                            \
        return int_routine(#name, what, arg, call, as_bool);                                   \
    }
STATUS_ROUTINE(acc_set_device_type, "the device type", rt_device_set_type, 0)
STATUS_ROUTINE(acc_init, "the device type", rt_device_init, 0)
STATUS_ROUTINE(acc_shutdown, "the device type", rt_device_shutdown, 1)
STATUS_ROUTINE(acc_wait, "the async queue", rt_queue_wait, 1)
STATUS_ROUTINE(acc_wait_all_async, "the async queue", rt_queue_wait_all_async, 1)
STATUS_ROUTINE(acc_set_default_async, "the async queue", rt_queue_set_default, 0)
INT_ROUTINE(acc_get_num_devices, "the device type", rt_device_count, 0)
INT_ROUTINE(acc_get_device_num, "the device type", rt_device_get_num, 0)
INT_ROUTINE(acc_async_test, "the async queue", rt_queue_test, 1)

static PyObject *acc_get_device_type(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    int32_t t = rt_device_get_type();
    if (warn_pending() < 0)
        return NULL;
    return PyLong_FromLong(t);
}

static PyObject *acc_get_default_async(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyLong_FromLong(rt_queue_get_default());
}

static PyObject *acc_async_test_all(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    int32_t r = rt_queue_test_all();
    if (r < 0)
        return raise_fault_s("acc_async_test_all");
    return PyBool_FromLong(r);
}

static PyObject *acc_wait_all(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return check_wait(wait_all_nogil(), "acc_wait_all");
}

static PyObject *acc_set_device_num(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    int32_t num, t;
    if (!nargs_ok("acc_set_device_num", nargs, 2, 2) ||
        get_i32(args[0], "acc_set_device_num", "the device number", &num) < 0 ||
        get_i32(args[1], "acc_set_device_num", "the device type", &t) < 0)
        return NULL;
    int32_t st = rt_device_set_num(num, t);
    if (warn_pending() < 0)
        return NULL;
    if (st)
        return raise_fault_s("acc_set_device_num");
    Py_RETURN_NONE;
}

static PyObject *acc_wait_async(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    int32_t q, on;
    if (!nargs_ok("acc_wait_async", nargs, 2, 2) ||
        get_i32(args[0], "acc_wait_async", "the async queue", &q) < 0 ||
        get_i32(args[1], "acc_wait_async", "the async queue", &on) < 0)
        return NULL;
    return check_wait(wait_async_nogil(q, on), "acc_wait_async");
}

static PyObject *property(const char *fn, int text, PyObject *const *args, Py_ssize_t nargs)
{
    int32_t num, t, prop;
    if (!nargs_ok(fn, nargs, 3, 3) || get_i32(args[0], fn, "the device number", &num) < 0 ||
        get_i32(args[1], fn, "the device type", &t) < 0 ||
        get_i32(args[2], fn, "the property", &prop) < 0)
        return NULL;
    size_t value;
    const char *s;
    if (rt_device_property(num, t, prop, &value, &s))
        return raise_fault_s(fn);
    if (text) {
        if (!s)
            Py_RETURN_NONE;
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
    }
    return PyLong_FromSize_t(value);
}

static PyObject *acc_get_property(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return property("acc_get_property", 0, args, nargs);
}

static PyObject *acc_get_property_string(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    return property("acc_get_property_string", 1, args, nargs);
}

/* ------------------------------------------------- Python async tasks */

typedef struct pytask {
    PyObject *fn, *args, *kwargs;
} pytask;

static int32_t pytask_run(void *ctx)
{
    pytask *t = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *r = PyObject_Call(t->fn, t->args, t->kwargs);
    int32_t st = RT_ACC_OK;
    if (r)
        Py_DECREF(r);
    else
        st = pyext_acc_fail_pyerr();
    PyGILState_Release(g);
    return st;
}

static void pytask_free(void *ctx)
{
    pytask *t = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    Py_DECREF(t->fn);
    Py_DECREF(t->args);
    Py_XDECREF(t->kwargs);
    PyGILState_Release(g);
    free(t); /* not PyMem: freed by a worker, maybe without the GIL */
}

/* acc_submit(queue, fn, args, kwargs): runs fn(*args, **kwargs) as a task
 * of the async queue (at once for acc_async_sync); an exception it raises
 * is raised by the wait that observes it. */
static PyObject *acc_submit(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    int32_t q;
    if (!nargs_ok("submit", nargs, 4, 4) || get_i32(args[0], "submit", "the async queue", &q) < 0)
        return NULL;
    if (!PyCallable_Check(args[1]) || !PyTuple_Check(args[2]) ||
        (args[3] != Py_None && !PyDict_Check(args[3]))) {
        PyErr_SetString(PyExc_TypeError, "submit(queue, fn, args: tuple, kwargs: dict | None)");
        return NULL;
    }
    pytask *t = malloc(sizeof *t);
    if (!t)
        return PyErr_NoMemory();
    t->fn = Py_NewRef(args[1]);
    t->args = Py_NewRef(args[2]);
    t->kwargs = args[3] == Py_None ? NULL : Py_NewRef(args[3]);
    if (rt_queue_submit(q, pytask_run, t, pytask_free))
        return raise_fault_s("submit");
    Py_RETURN_NONE;
}

/* present_counts(a) -> (structured, dynamic, attach) or None when absent. */
static PyObject *acc_present_counts(PyObject *self, PyObject *arg)
{
    (void)self;
    uintptr_t start;
    size_t bytes;
    rt_device *d = span_dev("present_counts", arg, NULL, 0, &start, &bytes);
    if (!d)
        return NULL;
    int64_t s, dy, a;
    if (!rt_present_counts(d, (const void *)start, &s, &dy, &a))
        Py_RETURN_NONE;
    return Py_BuildValue("(LLL)", (long long)s, (long long)dy, (long long)a);
}

static PyObject *acc_queue_workers(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyLong_FromLong(rt_queue_workers());
}

/* At interpreter exit: finish every queue and let the workers go, before
 * the interpreter they call into is torn down. */
static PyObject *acc_atexit(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_shutdown();
    Py_END_ALLOW_THREADS
    if (st)
        return raise_fault_s("an async task failed and no wait reported it");
    Py_RETURN_NONE;
}

/* acc_setup(AccError, PyaccWarning), from pyacc.runtime at import. */
static PyObject *acc_setup(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!nargs_ok("acc_setup", nargs, 2, 2))
        return NULL;
    Py_XDECREF(acc_error);
    Py_XDECREF(acc_warning);
    acc_error = Py_NewRef(args[0]);
    acc_warning = Py_NewRef(args[1]);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------- the table */

#define FAST(name, doc) {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL, doc}
#define ONE(name, doc) {#name, (PyCFunction)name, METH_O, doc}
#define NONE(name, doc) {#name, (PyCFunction)name, METH_NOARGS, doc}
#define KW(name, doc) {#name, (PyCFunction)(void (*)(void))name, METH_VARARGS | METH_KEYWORDS, doc}

static PyMethodDef acc_methods[] = {
    FAST(acc_copyin, "acc_copyin(a[, nbytes]) -> device address: copy a in unless present."),
    FAST(acc_copyin_async, "acc_copyin_async(a, [nbytes,] async)"),
    FAST(acc_create, "acc_create(a[, nbytes]) -> device address: make a present unless it is."),
    FAST(acc_create_async, "acc_create_async(a, [nbytes,] async)"),
    FAST(acc_copyout, "acc_copyout(a[, nbytes]): lower the dynamic count; copy out at zero."),
    FAST(acc_copyout_async, "acc_copyout_async(a, [nbytes,] async)"),
    FAST(acc_copyout_finalize, "acc_copyout_finalize(a[, nbytes])"),
    FAST(acc_copyout_finalize_async, "acc_copyout_finalize_async(a, [nbytes,] async)"),
    FAST(acc_delete, "acc_delete(a[, nbytes]): lower the dynamic count; remove at zero."),
    FAST(acc_delete_async, "acc_delete_async(a, [nbytes,] async)"),
    FAST(acc_delete_finalize, "acc_delete_finalize(a[, nbytes])"),
    FAST(acc_delete_finalize_async, "acc_delete_finalize_async(a, [nbytes,] async)"),
    FAST(acc_update_device, "acc_update_device(a[, nbytes]): host to device; a must be present."),
    FAST(acc_update_device_async, "acc_update_device_async(a, [nbytes,] async)"),
    FAST(acc_update_self, "acc_update_self(a[, nbytes]): device to host; a must be present."),
    FAST(acc_update_self_async, "acc_update_self_async(a, [nbytes,] async)"),
    FAST(acc_attach, "acc_attach(p): p an int address of a pointer, or an array holding it."),
    FAST(acc_attach_async, "acc_attach_async(p, async)"),
    FAST(acc_detach, "acc_detach(p)"),
    FAST(acc_detach_async, "acc_detach_async(p, async)"),
    FAST(acc_detach_finalize, "acc_detach_finalize(p)"),
    FAST(acc_detach_finalize_async, "acc_detach_finalize_async(p, async)"),
    FAST(acc_is_present, "acc_is_present(a[, nbytes]) -> bool"),
    ONE(acc_deviceptr, "acc_deviceptr(a) -> int: a's device address, 0 when not present."),
    ONE(acc_hostptr, "acc_hostptr(d) -> int: the host address of device address d, or 0."),
    FAST(acc_map_data, "acc_map_data(a, d[, nbytes]): make device memory d a's device copy."),
    ONE(acc_unmap_data, "acc_unmap_data(a)"),
    ONE(acc_malloc, "acc_malloc(nbytes) -> int device address"),
    ONE(acc_free, "acc_free(d)"),
    FAST(acc_memcpy_to_device, "acc_memcpy_to_device(d, src[, nbytes])"),
    FAST(acc_memcpy_to_device_async, "acc_memcpy_to_device_async(d, src, [nbytes,] async)"),
    FAST(acc_memcpy_from_device, "acc_memcpy_from_device(dst, d[, nbytes])"),
    FAST(acc_memcpy_from_device_async, "acc_memcpy_from_device_async(dst, d, [nbytes,] async)"),
    FAST(acc_memcpy_device, "acc_memcpy_device(d_dst, d_src, nbytes)"),
    FAST(acc_memcpy_device_async, "acc_memcpy_device_async(d_dst, d_src, nbytes, async)"),
    ONE(acc_get_num_devices, "acc_get_num_devices(device_type) -> int"),
    ONE(acc_set_device_type, "acc_set_device_type(device_type)"),
    NONE(acc_get_device_type, "acc_get_device_type() -> int"),
    FAST(acc_set_device_num, "acc_set_device_num(num, device_type)"),
    ONE(acc_get_device_num, "acc_get_device_num(device_type) -> int"),
    FAST(acc_get_property, "acc_get_property(num, device_type, property) -> int"),
    FAST(acc_get_property_string,
         "acc_get_property_string(num, device_type, property) -> str or None"),
    ONE(acc_init, "acc_init(device_type)"),
    ONE(acc_shutdown, "acc_shutdown(device_type)"),
    ONE(acc_async_test, "acc_async_test(queue) -> bool: whether its work is done."),
    NONE(acc_async_test_all, "acc_async_test_all() -> bool"),
    ONE(acc_wait, "acc_wait(queue): block until its work is done."),
    FAST(acc_wait_async, "acc_wait_async(queue, on): queue `on` waits for `queue`."),
    NONE(acc_wait_all, "acc_wait_all()"),
    ONE(acc_wait_all_async, "acc_wait_all_async(on)"),
    NONE(acc_get_default_async, "acc_get_default_async() -> int"),
    ONE(acc_set_default_async, "acc_set_default_async(queue)"),
    KW(acc_data_enter,
       "data_enter(items, cond=True, async_=None, wait=None, default_present=False, "
       "names=None)\n--\n\nEnter a structured data or compute construct; returns its token."),
    ONE(acc_data_exit, "data_exit(token)\n--\n\nEnd the construct data_enter entered."),
    KW(acc_enter_data, "enter_data(items, cond=True, async_=None, wait=None, names=None)"),
    KW(acc_exit_data,
       "exit_data(items, cond=True, async_=None, wait=None, finalize=False, names=None)"),
    KW(acc_update,
       "update(self_items, device_items, cond=True, if_present=False, async_=None, wait=None)"),
    KW(acc_wait_directive, "wait(queues=None, cond=True, async_=None)"),
    FAST(acc_submit, "acc_submit(queue, fn, args, kwargs): run fn as an async task."),
    ONE(acc_present_counts, "acc_present_counts(a) -> (structured, dynamic, attach) or None"),
    NONE(acc_queue_workers, "acc_queue_workers() -> worker threads alive"),
    NONE(acc_atexit, "acc_atexit(): finish the async queues (at interpreter exit)."),
    FAST(acc_setup, "acc_setup(AccError, PyaccWarning)"),
    {NULL, NULL, 0, NULL},
};

int pyext_acc_exec(PyObject *m)
{
    for (int i = 0; i < NCLAUSE_NAMES; i++)
        if (!clause_str[i] && !(clause_str[i] = PyUnicode_InternFromString(clause_names[i].name)))
            return -1;
    if (PyModule_AddFunctions(m, acc_methods) < 0)
        return -1;
    static const struct {
        const char *name;
        long value;
    } consts[] = {
        {"acc_device_none", RT_DEVICE_NONE},
        {"acc_device_default", RT_DEVICE_DEFAULT},
        {"acc_device_host", RT_DEVICE_HOST},
        {"acc_device_not_host", RT_DEVICE_NOT_HOST},
        {"acc_device_nvidia", RT_DEVICE_NVIDIA},
        {"acc_async_noval", RT_ASYNC_NOVAL},
        {"acc_async_sync", RT_ASYNC_SYNC},
        {"acc_property_memory", RT_PROPERTY_MEMORY},
        {"acc_property_free_memory", RT_PROPERTY_FREE_MEMORY},
        {"acc_property_name", RT_PROPERTY_NAME},
        {"acc_property_vendor", RT_PROPERTY_VENDOR},
        {"acc_property_driver", RT_PROPERTY_DRIVER},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0)
            return -1;
    return 0;
}
