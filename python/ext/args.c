/* args.c - classifying call arguments and boxing results.
 *
 * Arrays come through the buffer protocol (in the limited API since 3.11),
 * so NumPy arrays, array.array and memoryviews all work and no NumPy
 * headers are needed.  A NumPy scalar is a zero-dimensional buffer. */
#include "args.h"

#include <stdlib.h>
#include <string.h>

/* dtype from a struct-module format and item size; -1 if unsupported. */
static int format_dtype(const char *fmt, Py_ssize_t itemsize)
{
    if (!fmt)
        fmt = "B";
    if (*fmt == '@' || *fmt == '=' || *fmt == '<')
        fmt++;
    else if (*fmt == '>' || *fmt == '!')
        return -1; /* not this machine's byte order */
    int d;
    switch (fmt[0]) {
    case '?': d = FE_DT_BOOL; break;
    case 'b': d = FE_DT_INT8; break;
    case 'B': d = FE_DT_UINT8; break;
    case 'h': d = FE_DT_INT16; break;
    case 'H': d = FE_DT_UINT16; break;
    case 'i': d = itemsize == 4 ? FE_DT_INT32 : -1; break;
    case 'I': d = itemsize == 4 ? FE_DT_UINT32 : -1; break;
    case 'l':
    case 'q': d = itemsize == 8 ? FE_DT_INT64 : itemsize == 4 ? FE_DT_INT32 : -1; break;
    case 'L':
    case 'Q': d = itemsize == 8 ? FE_DT_UINT64 : itemsize == 4 ? FE_DT_UINT32 : -1; break;
    case 'f': d = FE_DT_FLOAT32; break;
    case 'd': d = FE_DT_FLOAT64; break;
    case 'Z': d = fmt[1] == 'f' ? FE_DT_COMPLEX64 : fmt[1] == 'd' ? FE_DT_COMPLEX128 : -1; break;
    default: return -1;
    }
    if (d < 0 || fmt[d >= FE_DT_COMPLEX64 ? 2 : 1] != 0)
        return -1;
    return fe_dtype_bits((fe_dtype)d) / 8 == itemsize ? d : -1;
}

static int layout_of(int ndim, const Py_ssize_t *shape, const Py_ssize_t *strides, Py_ssize_t itemsize)
{
    Py_ssize_t want = itemsize;
    int c = 1, f = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        if (shape[d] > 1 && strides[d] != want)
            c = 0;
        want *= shape[d];
    }
    want = itemsize;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] > 1 && strides[d] != want)
            f = 0;
        want *= shape[d];
    }
    return c ? FE_LAYOUT_C : f ? FE_LAYOUT_F : FE_LAYOUT_A;
}

static int64_t scalar_slot(int dtype, const void *p)
{
    int64_t s = 0;
    double x;
    switch (dtype) {
    case FE_DT_BOOL: s = *(const uint8_t *)p != 0; break;
    case FE_DT_INT8: s = *(const int8_t *)p; break;
    case FE_DT_UINT8: s = *(const uint8_t *)p; break;
    case FE_DT_INT16: s = *(const int16_t *)p; break;
    case FE_DT_UINT16: s = *(const uint16_t *)p; break;
    case FE_DT_INT32: s = *(const int32_t *)p; break;
    case FE_DT_UINT32: s = *(const uint32_t *)p; break;
    case FE_DT_INT64:
    case FE_DT_UINT64: memcpy(&s, p, 8); break;
    case FE_DT_FLOAT32: x = *(const float *)p; memcpy(&s, &x, 8); break;
    case FE_DT_FLOAT64: memcpy(&s, p, 8); break;
    default: break;
    }
    return s;
}

/* A list or tuple of numbers, copied into a contiguous buffer of int64,
 * float64 or bool.  Mixed element types are opaque: iterating them gives
 * values of different types, which one compiled type cannot follow. */
static int classify_sequence(PyObject *o, fe_argtype *t, int64_t *slot, pyext_arg *a)
{
    Py_ssize_t n = PySequence_Size(o);
    int kind = -1; /* FE_DT_BOOL, FE_DT_INT64 or FE_DT_FLOAT64 */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyList_Check(o) ? PyList_GetItem(o, i) : PyTuple_GetItem(o, i);
        int k = (x == Py_True || x == Py_False) ? FE_DT_BOOL
                : PyLong_CheckExact(x)           ? FE_DT_INT64
                : PyFloat_CheckExact(x)          ? FE_DT_FLOAT64
                                                 : -2;
        if (k == -2 || (kind >= 0 && k != kind))
            return 0;
        kind = k;
    }
    if (kind < 0)
        kind = FE_DT_FLOAT64; /* an empty list: nothing is read from it */
    size_t isz = kind == FE_DT_BOOL ? 1 : 8;
    a->temp = PyMem_Malloc(n ? (size_t)n * isz : 1);
    if (!a->temp) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyList_Check(o) ? PyList_GetItem(o, i) : PyTuple_GetItem(o, i);
        if (kind == FE_DT_BOOL) {
            ((uint8_t *)a->temp)[i] = x == Py_True;
        } else if (kind == FE_DT_INT64) {
            int overflow;
            long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
            if (overflow) {
                PyMem_Free(a->temp);
                a->temp = NULL;
                return 0;
            }
            ((int64_t *)a->temp)[i] = v;
        } else {
            ((double *)a->temp)[i] = PyFloat_AsDouble(x);
        }
    }
    t->kind = FE_ARG_LIST;
    t->dtype = (uint8_t)kind;
    t->ndim = 1;
    t->layout = PyTuple_Check(o) ? 1 : 0;
    a->desc.data = a->temp;
    a->desc.shape[0] = n;
    a->desc.strides[0] = (int64_t)isz;
    *slot = (int64_t)(intptr_t)&a->desc;
    return 1;
}

static int classify_buffer(PyObject *o, fe_argtype *t, int64_t *slot, pyext_arg *a)
{
    if (PyObject_GetBuffer(o, &a->view, PyBUF_RECORDS_RO) < 0) {
        PyErr_Clear();
        return 0;
    }
    a->has_view = 1;
    Py_buffer *v = &a->view;
    int dt = format_dtype(v->format, v->itemsize);
    if (dt < 0 || v->ndim > FE_MAX_NDIM || ((uintptr_t)v->buf % (uintptr_t)v->itemsize) != 0)
        return 0;
    if (v->ndim == 0) {
        if (dt >= FE_DT_COMPLEX64)
            return 0;
        t->kind = FE_ARG_NPSCALAR;
        t->dtype = (uint8_t)dt;
        *slot = scalar_slot(dt, v->buf);
        return 1;
    }
    for (int d = 0; d < v->ndim; d++)
        if (v->strides[d] % v->itemsize)
            return 0;
    t->kind = FE_ARG_ARRAY;
    t->dtype = (uint8_t)dt;
    t->ndim = (uint8_t)v->ndim;
    t->layout = (uint8_t)layout_of(v->ndim, v->shape, v->strides, v->itemsize);
    a->readonly = v->readonly;
    a->itemsize = v->itemsize;
    a->desc.data = v->buf;
    for (int d = 0; d < v->ndim; d++) {
        a->desc.shape[d] = v->shape[d];
        a->desc.strides[d] = v->strides[d];
    }
    *slot = (int64_t)(intptr_t)&a->desc;
    return 1;
}

/* The bytes array argument a spans: [*lo, *hi). */
void pyext_arg_extent(const pyext_arg *a, int ndim, int64_t itemsize, uintptr_t *lo, uintptr_t *hi)
{
    intptr_t first = 0, last = 0;
    for (int d = 0; d < ndim; d++) {
        if (a->desc.shape[d] == 0) {
            *lo = *hi = (uintptr_t)a->desc.data;
            return;
        }
        intptr_t span = (intptr_t)(a->desc.shape[d] - 1) * (intptr_t)a->desc.strides[d];
        if (span < 0)
            first += span;
        else
            last += span;
    }
    *lo = (uintptr_t)a->desc.data + (uintptr_t)first;
    *hi = (uintptr_t)a->desc.data + (uintptr_t)last + (uintptr_t)itemsize;
}

void pyext_mark_overlaps(fe_argtype *sig, const pyext_arg *a, int n)
{
    uintptr_t lo[64], hi[64];
    int idx[64], m = 0;
    for (int i = 0; i < n && m < 64; i++)
        if (sig[i].kind == FE_ARG_ARRAY) {
            pyext_arg_extent(&a[i], sig[i].ndim, a[i].itemsize, &lo[m], &hi[m]);
            idx[m++] = i;
        }
    for (int x = 0; x < m; x++)
        for (int y = x + 1; y < m; y++)
            if (lo[x] < hi[y] && lo[y] < hi[x]) {
                sig[idx[x]].layout |= FE_LAYOUT_OVERLAPS;
                sig[idx[y]].layout |= FE_LAYOUT_OVERLAPS;
            }
}

/* ------------------------------------------------- NumPy, read directly
 *
 * Asking an ndarray for a buffer costs ~0.15 us, as much as the rest of a
 * small call.  NumPy's array and descriptor structs have kept the fields
 * read here at the same offsets since NumPy 1.x (they are its ABI for
 * extensions built against older versions), and pyacc has no NumPy headers
 * to take them from; so the first arrays and scalars read this way are
 * also read through the buffer protocol, and any difference turns this
 * path off for the process. */
typedef struct nd_fields {
    PyObject_HEAD
    char *data;
    int nd;
    Py_ssize_t *dims;
    Py_ssize_t *strides;
    PyObject *base;
    PyObject *descr;
    int flags;
} nd_fields;

#define ND_DESCR_BYTEORDER 26 /* char */
#define ND_DESCR_TYPE_NUM 28  /* int */
#define ND_WRITEABLE 0x0400
#define ND_CROSS_CHECKS 8

static PyObject *nd_type; /* numpy.ndarray, once numpy is imported */
static int nd_state;      /* 0: not looked for yet, 1: on, -1: off */
static int nd_checked;    /* arrays and scalars compared with the buffer protocol */

static int numpy_scalars(void);

/* NumPy's type_num (on LP64) -> fe_dtype, or -1. */
static int nd_dtype(int type_num)
{
    static const int map[] = {
        FE_DT_BOOL,  FE_DT_INT8,   FE_DT_UINT8,  FE_DT_INT16,   FE_DT_UINT16,    FE_DT_INT32, FE_DT_UINT32,
        FE_DT_INT64, FE_DT_UINT64, FE_DT_INT64,  FE_DT_UINT64,  FE_DT_FLOAT32,   FE_DT_FLOAT64, -1,
        FE_DT_COMPLEX64, FE_DT_COMPLEX128,
    };
    if (type_num < 0 || type_num >= (int)(sizeof map / sizeof map[0]))
        return -1;
    if (sizeof(long) != 8 && (type_num == 7 || type_num == 8))
        return -1; /* NPY_LONG is 32 bits there */
    return map[type_num];
}

/* Reads ndarray o into t/slot/a: 1 done, 0 not this way (use the buffer). */
static int nd_array(PyObject *o, fe_argtype *t, int64_t *slot, pyext_arg *a)
{
    const nd_fields *f = (const nd_fields *)o;
    if (f->nd < 1 || f->nd > FE_MAX_NDIM || !f->descr)
        return 0;
    const char *descr = (const char *)f->descr;
    char order = descr[ND_DESCR_BYTEORDER];
    int type_num;
    memcpy(&type_num, descr + ND_DESCR_TYPE_NUM, sizeof type_num);
    int dt = nd_dtype(type_num);
    if (dt < 0 || order == '>')
        return 0;
    int64_t isz = fe_dtype_bits((fe_dtype)dt) / 8;
    if ((uintptr_t)f->data % (uintptr_t)isz)
        return 0;
    for (int d = 0; d < f->nd; d++)
        if (f->strides[d] % isz)
            return 0;
    t->kind = FE_ARG_ARRAY;
    t->dtype = (uint8_t)dt;
    t->ndim = (uint8_t)f->nd;
    t->layout = (uint8_t)layout_of(f->nd, f->dims, f->strides, (Py_ssize_t)isz);
    a->readonly = !(f->flags & ND_WRITEABLE);
    a->itemsize = isz;
    a->desc.data = f->data;
    for (int d = 0; d < f->nd; d++) {
        a->desc.shape[d] = f->dims[d];
        a->desc.strides[d] = f->strides[d];
    }
    *slot = (int64_t)(intptr_t)&a->desc;
    return 1;
}

static int classify_buffer(PyObject *o, fe_argtype *t, int64_t *slot, pyext_arg *a);

/* The direct read of o, checked against the buffer protocol while
 * nd_checked is small: 1 done, 0 not this way. */
static int nd_classify(PyObject *o, fe_argtype *t, int64_t *slot, pyext_arg *a)
{
    if (nd_state == 0) {
        PyObject *name = PyUnicode_FromString("numpy");
        PyObject *np = name ? PyImport_GetModule(name) : NULL;
        Py_XDECREF(name);
        if (!np) {
            PyErr_Clear();
            return 0; /* not imported: nothing of NumPy's can come */
        }
        nd_type = PyObject_GetAttrString(np, "ndarray");
        Py_DECREF(np);
        nd_state = nd_type && numpy_scalars() == 0 ? 1 : -1;
        PyErr_Clear();
    }
    if (nd_state < 0)
        return 0;
    PyTypeObject *tp = Py_TYPE(o);
    int done = 0;
    if ((PyObject *)tp == nd_type) {
        done = nd_array(o, t, slot, a);
    } else {
        for (int dt = 0; dt < FE_DT_COMPLEX64; dt++)
            if ((PyObject *)tp == pyext.np_scalar[dt]) {
                /* a scalar object holds its value right after its header */
                t->kind = FE_ARG_NPSCALAR;
                t->dtype = (uint8_t)dt;
                *slot = scalar_slot(dt, (const char *)o + sizeof(PyObject));
                done = 1;
                break;
            }
    }
    if (!done || nd_checked >= ND_CROSS_CHECKS)
        return done;
    /* the first few: the buffer protocol must say the same */
    fe_argtype t2;
    int64_t slot2;
    pyext_arg a2;
    memset(&t2, 0, sizeof t2);
    memset(&a2, 0, sizeof a2);
    int same = classify_buffer(o, &t2, &slot2, &a2) == 1 && memcmp(&t2, t, sizeof t2) == 0;
    if (same && t->kind == FE_ARG_NPSCALAR)
        same = slot2 == *slot;
    if (same && t->kind == FE_ARG_ARRAY) {
        same = a2.desc.data == a->desc.data && a2.readonly == a->readonly;
        for (int d = 0; same && d < t->ndim; d++)
            same = a2.desc.shape[d] == a->desc.shape[d] && a2.desc.strides[d] == a->desc.strides[d];
    }
    pyext_arg_release(&a2);
    PyErr_Clear();
    nd_checked++;
    if (!same) {
        nd_state = -1; /* this NumPy lays things out differently: buffers from now on */
        memset(t, 0, sizeof *t);
        *slot = 0;
        a->readonly = 0;
        return 0;
    }
    return 1;
}

/* A dtype from __cuda_array_interface__'s typestr ("<f8"), or -1. */
static int typestr_dtype(const char *ts)
{
    if (!ts || (ts[0] != '<' && ts[0] != '|' && ts[0] != '=') || !ts[1])
        return -1;
    int size = atoi(ts + 2);
    switch (ts[1]) {
    case 'b': return size == 1 ? FE_DT_BOOL : -1;
    case 'f': return size == 4 ? FE_DT_FLOAT32 : size == 8 ? FE_DT_FLOAT64 : -1;
    case 'i': return size == 1 ? FE_DT_INT8 : size == 2 ? FE_DT_INT16 : size == 4 ? FE_DT_INT32 : size == 8 ? FE_DT_INT64 : -1;
    case 'u':
        return size == 1 ? FE_DT_UINT8 : size == 2 ? FE_DT_UINT16 : size == 4 ? FE_DT_UINT32 : size == 8 ? FE_DT_UINT64 : -1;
    default: return -1;
    }
}

/* An array in GPU memory (__cuda_array_interface__: CuPy, PyTorch, Numba's
 * device arrays): an array whose data pointer is the GPU's, marked so
 * (FE_LAYOUT_DEVICE) that only GPU code is given it.  1 done, 0 not one. */
static int classify_cuda(PyObject *o, fe_argtype *t, int64_t *slot, pyext_arg *a)
{
    PyObject *cai = PyObject_GetAttrString(o, "__cuda_array_interface__");
    if (!cai) {
        PyErr_Clear();
        return 0;
    }
    int ok = 0;
    PyObject *shape = PyDict_Check(cai) ? PyDict_GetItemString(cai, "shape") : NULL;
    PyObject *typestr = PyDict_Check(cai) ? PyDict_GetItemString(cai, "typestr") : NULL;
    PyObject *data = PyDict_Check(cai) ? PyDict_GetItemString(cai, "data") : NULL;
    PyObject *strides = PyDict_Check(cai) ? PyDict_GetItemString(cai, "strides") : NULL;
    int dt = typestr && PyUnicode_Check(typestr) ? typestr_dtype(PyUnicode_AsUTF8AndSize(typestr, NULL)) : -1;
    Py_ssize_t nd = shape && PyTuple_Check(shape) ? PyTuple_Size(shape) : -1;
    if (dt >= 0 && nd >= 1 && nd <= FE_MAX_NDIM && data && PyTuple_Check(data) && PyTuple_Size(data) == 2 &&
        (!strides || strides == Py_None || (PyTuple_Check(strides) && PyTuple_Size(strides) == nd))) {
        Py_ssize_t itemsize = dt == FE_DT_BOOL || dt == FE_DT_INT8 || dt == FE_DT_UINT8 ? 1
                              : dt == FE_DT_INT16 || dt == FE_DT_UINT16                 ? 2
                              : dt == FE_DT_INT32 || dt == FE_DT_UINT32 || dt == FE_DT_FLOAT32 ? 4 : 8;
        Py_ssize_t sh[FE_MAX_NDIM], st[FE_MAX_NDIM];
        ok = 1;
        for (Py_ssize_t d = 0; d < nd && ok; d++) {
            sh[d] = PyLong_AsSsize_t(PyTuple_GetItem(shape, d));
            ok = sh[d] >= 0;
        }
        Py_ssize_t want = itemsize; /* no strides: C order */
        for (Py_ssize_t d = nd - 1; d >= 0 && ok; d--) {
            st[d] = strides && strides != Py_None ? PyLong_AsSsize_t(PyTuple_GetItem(strides, d)) : want;
            want *= sh[d];
            ok = st[d] % itemsize == 0;
        }
        unsigned long long ptr = PyLong_AsUnsignedLongLong(PyTuple_GetItem(data, 0));
        int ro = PyObject_IsTrue(PyTuple_GetItem(data, 1));
        if (PyErr_Occurred()) {
            PyErr_Clear();
            ok = 0;
        }
        if (ok) {
            t->kind = FE_ARG_ARRAY;
            t->dtype = (uint8_t)dt;
            t->ndim = (uint8_t)nd;
            t->layout = (uint8_t)(layout_of((int)nd, sh, st, itemsize) | FE_LAYOUT_DEVICE);
            a->readonly = ro == 1;
            a->itemsize = itemsize;
            a->desc.data = (void *)(uintptr_t)ptr;
            for (Py_ssize_t d = 0; d < nd; d++) {
                a->desc.shape[d] = sh[d];
                a->desc.strides[d] = st[d];
            }
            *slot = (int64_t)(intptr_t)&a->desc;
        }
    }
    Py_DECREF(cai);
    return ok;
}

int pyext_arg_classify(PyObject *o, int is_listout, fe_argtype *t, int64_t *slot, pyext_arg *a)
{
    memset(t, 0, sizeof *t);
    *slot = 0;
    if (o == Py_True || o == Py_False) {
        t->kind = FE_ARG_BOOL;
        *slot = o == Py_True;
        return 0;
    }
    if (PyFloat_CheckExact(o)) {
        double x = PyFloat_AsDouble(o);
        t->kind = FE_ARG_FLOAT;
        memcpy(slot, &x, 8);
        return 0;
    }
    if (PyLong_CheckExact(o)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        t->kind = overflow ? FE_ARG_OPAQUE : FE_ARG_INT;
        *slot = overflow ? 0 : v;
        return 0;
    }
    if (o == Py_None) {
        t->kind = FE_ARG_NONE;
        return 0;
    }
    if (PyList_CheckExact(o) && is_listout) {
        memset(&a->desc, 0, sizeof a->desc);
        t->kind = FE_ARG_LIST_OUT;
        *slot = (int64_t)(intptr_t)&a->desc;
        return 0;
    }
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) {
        int rc = classify_sequence(o, t, slot, a);
        if (rc < 0)
            return -1;
        if (!rc)
            t->kind = FE_ARG_OPAQUE;
        return 0;
    }
    if (nd_classify(o, t, slot, a))
        return 0;
    if (classify_cuda(o, t, slot, a)) /* before buffers: some GPU arrays are both */
        return 0;
    if (PyObject_CheckBuffer(o)) {
        if (!classify_buffer(o, t, slot, a)) {
            memset(t, 0, sizeof *t);
            t->kind = FE_ARG_OPAQUE;
        }
        return 0;
    }
    if (PyFloat_Check(o)) {
        double x = PyFloat_AsDouble(o);
        t->kind = FE_ARG_FLOAT;
        memcpy(slot, &x, 8);
        return 0;
    }
    if (PyLong_Check(o)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        t->kind = overflow ? FE_ARG_OPAQUE : FE_ARG_INT;
        *slot = overflow ? 0 : v;
        return 0;
    }
    t->kind = FE_ARG_OPAQUE;
    return 0;
}

void pyext_arg_release(pyext_arg *a)
{
    if (a->has_view) {
        PyBuffer_Release(&a->view);
        a->has_view = 0;
    }
    if (a->temp) {
        PyMem_Free(a->temp);
        a->temp = NULL;
    }
}

/* NumPy's scalar types, looked up when a result first needs one: by then
 * the caller has passed NumPy values, so importing numpy costs nothing, and
 * `import pyacc` alone never imports it. */
static int numpy_scalars(void)
{
    static const char *const names[FE_DT_COUNT_] = {
        "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16",
        "uint32", "uint64", "float32", "float64", "complex64", "complex128"};
    if (pyext.np_scalar[FE_DT_FLOAT64])
        return 0;
    PyObject *np = PyImport_ImportModule("numpy");
    if (!np)
        return -1;
    for (int i = 0; i < FE_DT_COUNT_; i++) {
        PyObject *t = PyObject_GetAttrString(np, names[i]);
        if (!t) {
            Py_DECREF(np);
            return -1;
        }
        Py_XDECREF(pyext.np_scalar[i]);
        pyext.np_scalar[i] = t;
    }
    Py_DECREF(np);
    return 0;
}

PyObject *pyext_box(const fe_argtype *t, int64_t slot)
{
    double x;
    switch ((fe_argkind)t->kind) {
    case FE_ARG_NONE: Py_RETURN_NONE;
    case FE_ARG_BOOL: return PyBool_FromLong(slot != 0);
    case FE_ARG_INT: return PyLong_FromLongLong(slot);
    case FE_ARG_FLOAT: memcpy(&x, &slot, 8); return PyFloat_FromDouble(x);
    case FE_ARG_NPSCALAR: {
        PyObject *v;
        if (t->dtype == FE_DT_BOOL)
            v = PyBool_FromLong(slot != 0);
        else if (t->dtype == FE_DT_UINT64)
            v = PyLong_FromUnsignedLongLong((unsigned long long)slot);
        else if (fe_dtype_is_float((fe_dtype)t->dtype)) {
            memcpy(&x, &slot, 8);
            v = PyFloat_FromDouble(x);
        } else
            v = PyLong_FromLongLong(slot);
        if (!v)
            return NULL;
        if (numpy_scalars() < 0) {
            Py_DECREF(v);
            return NULL;
        }
        /* numpy.float32(x) of a float32 value held in a double is exact */
        PyObject *r = PyObject_CallFunctionObjArgs(pyext.np_scalar[t->dtype], v, NULL);
        Py_DECREF(v);
        return r;
    }
    default:
        PyErr_SetString(PyExc_SystemError, "pyacc: cannot box this result");
        return NULL;
    }
}

size_t pyext_listout_itemsize(const fe_argtype *t)
{
    if (t->kind == FE_ARG_NPSCALAR)
        return (size_t)fe_dtype_bits((fe_dtype)t->dtype) / 8;
    return t->kind == FE_ARG_BOOL ? 1 : 8;
}

/* One list-out element as the slot pyext_box takes. */
static int64_t load_item(const fe_argtype *t, const void *buf, int64_t i)
{
    size_t isz = pyext_listout_itemsize(t);
    const char *p = (const char *)buf + (size_t)i * isz;
    if (t->kind == FE_ARG_NPSCALAR)
        return scalar_slot(t->dtype, p);
    if (t->kind == FE_ARG_BOOL)
        return *(const uint8_t *)p != 0;
    int64_t s;
    memcpy(&s, p, 8);
    return s;
}

int pyext_extend_list(PyObject *list, const fe_argtype *t, const void *buf, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        PyObject *v = pyext_box(t, load_item(t, buf, i));
        if (!v || PyList_Append(list, v) < 0) {
            Py_XDECREF(v);
            return -1;
        }
        Py_DECREF(v);
    }
    return 0;
}

int pyext_list_store_back(PyObject *list, const fe_argtype *t, const pyext_arg *a)
{
    Py_ssize_t n = PyList_Size(list);
    if (n != a->desc.shape[0])
        return 0; /* the region cannot change a list's length */
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v;
        if (t->dtype == FE_DT_BOOL)
            v = PyBool_FromLong(((const uint8_t *)a->temp)[i]);
        else if (t->dtype == FE_DT_INT64)
            v = PyLong_FromLongLong(((const int64_t *)a->temp)[i]);
        else
            v = PyFloat_FromDouble(((const double *)a->temp)[i]);
        if (!v || PyList_SetItem(list, i, v) < 0) /* steals v */
            return -1;
    }
    return 0;
}

PyObject *pyext_box_kind(const fe_argtype *st, const fe_argtype *kt, int64_t slot)
{
    if (memcmp(st, kt, sizeof *st) == 0)
        return pyext_box(st, slot);
    int st_float = st->kind == FE_ARG_FLOAT || (st->kind == FE_ARG_NPSCALAR && fe_dtype_is_float((fe_dtype)st->dtype));
    int kt_float = kt->kind == FE_ARG_FLOAT || (kt->kind == FE_ARG_NPSCALAR && fe_dtype_is_float((fe_dtype)kt->dtype));
    double d;
    memcpy(&d, &slot, 8);
    int64_t out;
    if (kt_float) {
        double v = st_float ? d : (double)slot;
        memcpy(&out, &v, 8);
    } else {
        out = st_float ? (int64_t)d : slot;
    }
    return pyext_box(kt, out);
}
