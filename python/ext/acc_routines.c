/* acc_routines.c - the OpenACC runtime routines as _pyacc functions
 * (pyacc.runtime re-exports them under the same names): the memory
 * routines (acc_copyin, acc_create, acc_copyout, acc_delete, acc_update_*,
 * acc_attach/detach, acc_is_present, acc_deviceptr/hostptr,
 * acc_map/unmap_data, acc_malloc/free, acc_memcpy_*), the device and
 * property routines, the queue routines (acc_wait*, acc_async_test*,
 * acc_*_default_async), and the present counts and worker count the tests
 * read.
 *
 * A routine takes a whole array through the buffer protocol (its byte
 * range, or its first nbytes) or a plain address; the runtime does the
 * rest.
 */
#include "acc.h"

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------- arguments */

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

/* Whole object span for the routines: (obj, nbytes or NULL). */
static int routine_span(const char *fn, PyObject *obj, PyObject *nbytes, int writable,
                        uintptr_t *start, size_t *bytes)
{
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes an array (an object with the buffer protocol), not %s", fn,
                     pyext_acc_type_name(obj));
        return -1;
    }
    Py_buffer v;
    if (PyObject_GetBuffer(obj, &v, writable ? PyBUF_STRIDES | PyBUF_WRITABLE : PyBUF_STRIDES) < 0)
        return -1;
    int r = pyext_acc_section_span(&v, Py_None, NULL, start, bytes); /* cannot fail */
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
    return routine_span(fn, obj, nbytes, writable, start, bytes) < 0 ? NULL : pyext_acc_cur_dev();
}

/* ---------------------------------------------------- memory routines */

/* acc_copyin, acc_create, acc_copyout, acc_delete, acc_update_device,
 * acc_update_self and their _async/_finalize forms: (a[, nbytes]) or, async,
 * (a, [nbytes,] async). */
static PyObject *data_routine(const char *fn, int32_t clause, int async, int finalize,
                              PyObject *const *args, Py_ssize_t nargs)
{
    if (!pyext_acc_nargs_ok(fn, nargs, 1 + async, 2 + async))
        return NULL;
    int32_t queue = RT_ASYNC_SYNC;
    if (async && pyext_acc_get_i32(args[nargs - 1], fn, "the async queue", &queue) < 0)
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
        return pyext_acc_raise_fault_s(fn);
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
    if (!pyext_acc_nargs_ok(fn, nargs, 1 + async, 1 + async))
        return NULL;
    int32_t queue = RT_ASYNC_SYNC;
    if (async && pyext_acc_get_i32(args[1], fn, "the async queue", &queue) < 0)
        return NULL;
    uintptr_t slot;
    size_t bytes;
    if (PyObject_CheckBuffer(args[0])) {
        if (routine_span(fn, args[0], NULL, 0, &slot, &bytes) < 0)
            return NULL;
    } else if (get_addr(args[0], fn, "the pointer's address", &slot) < 0) {
        return NULL;
    }
    rt_device *d = pyext_acc_cur_dev();
    if (!d)
        return NULL;
    rt_data_item it = {.host = (const void *)slot, .bytes = sizeof(void *),
                       .clause = detach ? RT_CLAUSE_DETACH : RT_CLAUSE_ATTACH};
    int32_t st = detach ? rt_data_exit_dynamic(d, &it, 1, queue, finalize)
                        : rt_data_enter_dynamic(d, &it, 1, queue);
    if (st)
        return pyext_acc_raise_fault_s(fn);
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
    rt_device *d = !pyext_acc_nargs_ok("acc_is_present", nargs, 1, 2)
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
    rt_device *d = pyext_acc_cur_dev();
    return d ? PyLong_FromSize_t((size_t)(uintptr_t)rt_hostptr(d, dptr)) : NULL;
}

static PyObject *acc_map_data(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    uintptr_t start, dptr;
    size_t bytes;
    if (!pyext_acc_nargs_ok("acc_map_data", nargs, 2, 3) ||
        routine_span("acc_map_data", args[0], nargs == 3 ? args[2] : NULL, 0, &start, &bytes) <
            0 ||
        get_addr(args[1], "acc_map_data", "the device address", &dptr) < 0)
        return NULL;
    rt_device *d = pyext_acc_cur_dev();
    if (!d)
        return NULL;
    if (rt_map_data(d, (const void *)start, dptr, bytes))
        return pyext_acc_raise_fault_s("acc_map_data");
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
        return pyext_acc_raise_fault_s("acc_unmap_data");
    Py_RETURN_NONE;
}

static PyObject *acc_malloc(PyObject *self, PyObject *arg)
{
    (void)self;
    size_t bytes;
    uintptr_t p;
    if (get_size(arg, "acc_malloc", "the byte count", &bytes) < 0)
        return NULL;
    rt_device *d = pyext_acc_cur_dev();
    if (!d)
        return NULL;
    if (rt_acc_malloc(d, bytes, &p))
        return pyext_acc_raise_fault_s("acc_malloc");
    return PyLong_FromSize_t((size_t)p);
}

static PyObject *acc_free(PyObject *self, PyObject *arg)
{
    (void)self;
    uintptr_t p = 0;
    if (arg != Py_None && get_addr(arg, "acc_free", "the device address", &p) < 0)
        return NULL;
    rt_device *d = pyext_acc_cur_dev();
    if (!d)
        return NULL;
    if (rt_acc_free(d, p))
        return pyext_acc_raise_fault_s("acc_free");
    Py_RETURN_NONE;
}

/* acc_memcpy_to_device(dst, src[, nbytes]) and _async(dst, src, [nbytes,]
 * async); acc_memcpy_from_device(dst, src[, nbytes]) likewise, dst the
 * array; acc_memcpy_device(dst, src, nbytes[, async]). */
static PyObject *memcpy_routine(const char *fn, int kind, int async, PyObject *const *args,
                                Py_ssize_t nargs)
{
    int need_n = kind == 2;
    if (!pyext_acc_nargs_ok(fn, nargs, 2 + need_n + async, 3 + async))
        return NULL;
    int32_t queue = RT_ASYNC_SYNC;
    if (async && pyext_acc_get_i32(args[nargs - 1], fn, "the async queue", &queue) < 0)
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
    rt_device *d = pyext_acc_cur_dev();
    if (!d)
        return NULL;
    int32_t st;
    Py_BEGIN_ALLOW_THREADS /* a large copy on a discrete device */
    st = kind == 0   ? rt_memcpy_to_device(d, dst, (const void *)hstart, bytes, queue)
         : kind == 1 ? rt_memcpy_from_device(d, (void *)hstart, src, bytes, queue)
                     : rt_memcpy_device(d, dst, src, bytes, queue);
    Py_END_ALLOW_THREADS
    if (st)
        return pyext_acc_raise_fault_s(fn);
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

static PyObject *check_wait(int32_t st, const char *fn)
{
    if (st)
        return pyext_acc_raise_fault_s(fn);
    Py_RETURN_NONE;
}

/* A routine of one int argument: calls call(v), with the GIL released when
 * it may block on the queues (whose tasks may need the GIL), issues a
 * fallback warning it left, and returns None, or raises its fault. */
static PyObject *status_routine(const char *fn, const char *what, PyObject *arg,
                                int32_t (*call)(int32_t), int nogil)
{
    int32_t v, st;
    if (pyext_acc_get_i32(arg, fn, what, &v) < 0)
        return NULL;
    if (nogil) {
        Py_BEGIN_ALLOW_THREADS
        st = call(v);
        Py_END_ALLOW_THREADS
    } else {
        st = call(v);
    }
    if (pyext_acc_warn_pending() < 0)
        return NULL;
    if (st)
        return pyext_acc_raise_fault_s(fn);
    Py_RETURN_NONE;
}

/* A routine of one int argument answering an int (bool with as_bool; a
 * negative answer is -status, raised). */
static PyObject *int_routine(const char *fn, const char *what, PyObject *arg,
                             int32_t (*call)(int32_t), int as_bool)
{
    int32_t v;
    if (pyext_acc_get_i32(arg, fn, what, &v) < 0)
        return NULL;
    int32_t r = call(v);
    if (pyext_acc_warn_pending() < 0)
        return NULL;
    if (as_bool && r < 0)
        return pyext_acc_raise_fault_s(fn);
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
    if (pyext_acc_warn_pending() < 0)
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
        return pyext_acc_raise_fault_s("acc_async_test_all");
    return PyBool_FromLong(r);
}

static PyObject *acc_wait_all(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return check_wait(pyext_acc_wait_all_nogil(), "acc_wait_all");
}

static PyObject *acc_set_device_num(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    int32_t num, t;
    if (!pyext_acc_nargs_ok("acc_set_device_num", nargs, 2, 2) ||
        pyext_acc_get_i32(args[0], "acc_set_device_num", "the device number", &num) < 0 ||
        pyext_acc_get_i32(args[1], "acc_set_device_num", "the device type", &t) < 0)
        return NULL;
    int32_t st = rt_device_set_num(num, t);
    if (pyext_acc_warn_pending() < 0)
        return NULL;
    if (st)
        return pyext_acc_raise_fault_s("acc_set_device_num");
    Py_RETURN_NONE;
}

static PyObject *acc_wait_async(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    int32_t q, on;
    if (!pyext_acc_nargs_ok("acc_wait_async", nargs, 2, 2) ||
        pyext_acc_get_i32(args[0], "acc_wait_async", "the async queue", &q) < 0 ||
        pyext_acc_get_i32(args[1], "acc_wait_async", "the async queue", &on) < 0)
        return NULL;
    return check_wait(pyext_acc_wait_async_nogil(q, on), "acc_wait_async");
}

static PyObject *property(const char *fn, int text, PyObject *const *args, Py_ssize_t nargs)
{
    int32_t num, t, prop;
    if (!pyext_acc_nargs_ok(fn, nargs, 3, 3) ||
        pyext_acc_get_i32(args[0], fn, "the device number", &num) < 0 ||
        pyext_acc_get_i32(args[1], fn, "the device type", &t) < 0 ||
        pyext_acc_get_i32(args[2], fn, "the property", &prop) < 0)
        return NULL;
    size_t value;
    const char *s;
    if (rt_device_property(num, t, prop, &value, &s))
        return pyext_acc_raise_fault_s(fn);
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

/* ------------------------------------------------------- for the tests */

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

/* ------------------------------------------------------------- the table */

PyMethodDef pyext_acc_routine_methods[] = {
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
    ONE(acc_present_counts, "acc_present_counts(a) -> (structured, dynamic, attach) or None"),
    NONE(acc_queue_workers, "acc_queue_workers() -> worker threads alive"),
    {NULL, NULL, 0, NULL},
};
