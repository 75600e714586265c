/* acc_constructs.c - the data-construct entry points the outliner calls:
 * acc_data_enter/acc_data_exit (a structured construct, and the token that
 * carries it from one to the other), acc_enter_data, acc_exit_data,
 * acc_update, acc_wait_directive, and acc_submit, which runs a Python
 * callable as an async task.
 *
 * Owns turning their (clause, object, section[, name]) items into batches
 * of runtime items, and the labels ("copyin(a[0:n])") that name an item in
 * their errors (IndexError for a section out of bounds, AccError for a
 * runtime fault).  Arrays come in through the buffer protocol: a data item
 * is the byte range from the first to the last element of the object or
 * its section (for a non-contiguous array that range covers elements
 * outside it too), computed here; everything else is done by the runtime,
 * in C, so a compute region's data clauses cost a microsecond or so.
 */
#include "acc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------- arguments and sections */

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
    return pyext_acc_get_i32(o, "async", "the queue", queue);
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
int pyext_acc_section_span(const Py_buffer *v, PyObject *sec, const label_src *ls,
                           uintptr_t *start, size_t *bytes)
{
    Py_ssize_t nsec = 0;
    if (sec != Py_None) {
        if (!PyTuple_Check(sec))
            return item_error(PyExc_TypeError, ls, "a section is a tuple of (lo, hi) pairs, not %s",
                              pyext_acc_type_name(sec));
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
    /* as integers: a list's section comes with no buffer (buf NULL) */
    *start = (uintptr_t)v->buf + (uintptr_t)lo_off;
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
    int r = pyext_acc_section_span(&fake, first, ls, &s, &b);
    Py_DECREF(first);
    return r;
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
    int r = pyext_acc_section_span(&v, sec, ls, &start, &bytes);
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
                     pyext_acc_type_name(list));
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
    pyext_acc_raise_fault(label);
    Py_DECREF(label);
    return NULL;
}

/* ------------------------------------------------------------------ waits */

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
        st = on == RT_ASYNC_SYNC ? pyext_acc_wait_all_nogil() : pyext_acc_wait_all_async_nogil(on);
    } else if (PyLong_Check(w)) {
        int32_t q;
        if (pyext_acc_get_i32(w, where, "the wait queue", &q) < 0)
            return -1;
        st = on == RT_ASYNC_SYNC ? pyext_acc_wait_nogil(q) : pyext_acc_wait_async_nogil(q, on);
    } else {
        seq = PySequence_Tuple(w);
        if (!seq)
            return -1;
        for (Py_ssize_t i = 0; i < PyTuple_Size(seq) && !st; i++) {
            int32_t q;
            if (pyext_acc_get_i32(PyTuple_GetItem(seq, i), where, "the wait queue", &q) < 0) {
                Py_DECREF(seq);
                return -1;
            }
            st = on == RT_ASYNC_SYNC ? pyext_acc_wait_nogil(q) : pyext_acc_wait_async_nogil(q, on);
        }
        Py_DECREF(seq);
    }
    if (st) {
        pyext_acc_raise_fault_s(where);
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
    rt_device *d = pyext_acc_cur_dev();
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

/* The exit of an async construct (a compute construct's data clauses,
 * exit data): a task of its queue, so that the work queued before it (the
 * region, copies) still finds the data present, and copies out after it.
 * The task holds the arrays it names until it has run. */
typedef struct exit_task {
    rt_device *d;
    int dynamic;       /* exit data, else the end of a structured construct */
    int finalize;
    uint64_t epoch;
    int32_t n, nobjs;
    PyObject **objs;
    rt_data_item items[];
} exit_task;

static int32_t exit_run(void *ctx)
{
    exit_task *x = ctx;
    return x->dynamic ? rt_data_exit_dynamic(x->d, x->items, x->n, RT_ASYNC_SYNC, x->finalize)
                      : rt_data_exit(x->d, x->items, x->n, RT_ASYNC_SYNC, x->epoch);
}

static void exit_free(void *ctx)
{
    exit_task *x = ctx;
    if (x->nobjs && Py_IsInitialized()) {
        PyGILState_STATE g = PyGILState_Ensure();
        for (int32_t i = 0; i < x->nobjs; i++)
            Py_XDECREF(x->objs[i]);
        PyGILState_Release(g);
    }
    free(x);
}

/* Queues the exit of n items on queue; takes a reference to each of the
 * nobjs objects.  -1 with an exception set. */
static int queue_exit(rt_device *d, int32_t queue, const rt_data_item *items, int32_t n, PyObject *const *objs,
                      int32_t nobjs, int dynamic, int finalize, uint64_t epoch, const char *where)
{
    exit_task *x = malloc(sizeof *x + (size_t)n * sizeof(rt_data_item) + (size_t)nobjs * sizeof(PyObject *));
    if (!x) {
        PyErr_NoMemory();
        return -1;
    }
    *x = (exit_task){.d = d, .dynamic = dynamic, .finalize = finalize, .epoch = epoch, .n = n, .nobjs = nobjs};
    memcpy(x->items, items, (size_t)n * sizeof *items);
    x->objs = (PyObject **)(x->items + n);
    for (int32_t i = 0; i < nobjs; i++)
        x->objs[i] = Py_XNewRef(objs[i]);
    if (rt_queue_submit(queue, exit_run, x, exit_free)) {
        pyext_acc_raise_fault_s(where);
        return -1;
    }
    return 0;
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
    if (t->queue != RT_ASYNC_SYNC) {
        t->exited = 1;
        int rc = queue_exit(t->d, t->queue, t->items, t->n, t->objs, t->n, 0, 0, t->epoch, "end of data construct");
        for (int32_t i = 0; i < t->n; i++)
            Py_CLEAR(t->objs[i]);
        if (rc < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    if (token_exit(t))
        return pyext_acc_raise_fault_s("end of data construct");
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
    rt_device *d = pyext_acc_cur_dev();
    if (!d)
        return NULL;
    batch b;
    PyObject *res = NULL;
    if (collect(items, names, finalize < 0 ? RT_CLAUSES_ENTER : RT_CLAUSES_EXIT, 0, where, &b) ==
        0) {
        if (finalize >= 0 && queue != RT_ASYNC_SYNC) { /* in the queue's order */
            if (queue_exit(d, queue, b.items, b.n, b.objs, b.n, 1, finalize, 0, where) == 0)
                res = Py_NewRef(Py_None);
        } else {
            int32_t st = finalize < 0 ? rt_data_enter_dynamic(d, b.items, b.n, queue)
                                      : rt_data_exit_dynamic(d, b.items, b.n, queue, finalize);
            if (st)
                raise_item_fault(items, names, &b, 0, where);
            else
                res = Py_NewRef(Py_None);
        }
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
    rt_device *d = pyext_acc_cur_dev();
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
    if (!pyext_acc_nargs_ok("submit", nargs, 4, 4) ||
        pyext_acc_get_i32(args[0], "submit", "the async queue", &q) < 0)
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
        return pyext_acc_raise_fault_s("submit");
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------- the table */

PyMethodDef pyext_acc_construct_methods[] = {
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
    {NULL, NULL, 0, NULL},
};

int pyext_acc_constructs_init(void)
{
    for (int i = 0; i < NCLAUSE_NAMES; i++)
        if (!clause_str[i] && !(clause_str[i] = PyUnicode_InternFromString(clause_names[i].name)))
            return -1;
    return 0;
}
