/* acc.c - the Python face of the OpenACC runtime (runtime/device.c,
 * present.c, queues.c): its module setup and what its two halves share.
 *
 * The halves are acc_routines.c (the acc_* routines) and acc_constructs.c
 * (the data-construct entry points the outliner calls); this file adds
 * both to the module with acc_setup, acc_atexit and the device and
 * property constants.  It owns the translation of runtime faults into
 * Python exceptions (pyacc.AccError, or the task's own exception for a
 * failed async task), the device-fallback warning, the argument checks
 * both halves make, and the blocking waits, run with the GIL released.
 */
#include "acc.h"

#include <stdint.h>
#include <stdio.h>

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
PyObject *pyext_acc_raise_fault(PyObject *prefix)
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

PyObject *pyext_acc_raise_fault_s(const char *prefix)
{
    PyObject *p = PyUnicode_FromString(prefix);
    if (!p)
        return NULL;
    pyext_acc_raise_fault(p);
    Py_DECREF(p);
    return NULL;
}

/* The current device, after issuing a pending fallback warning.  NULL
 * with an exception set. */
rt_device *pyext_acc_cur_dev(void)
{
    rt_device *d = rt_device_current();
    char msg[400];
    if (rt_device_warning(msg, sizeof msg) &&
        PyErr_WarnEx(acc_warning ? acc_warning : PyExc_RuntimeWarning, msg, 1) < 0)
        return NULL;
    if (!d)
        pyext_acc_raise_fault_s("pyacc: the OpenACC device cannot be initialised");
    return d;
}

int pyext_acc_warn_pending(void)
{
    char msg[400];
    if (rt_device_warning(msg, sizeof msg))
        return PyErr_WarnEx(acc_warning ? acc_warning : PyExc_RuntimeWarning, msg, 1);
    return 0;
}

/* ------------------------------------------------------------- arguments */

/* The name of o's type, for messages (the limited API hides the type
 * struct).  Valid until the next call; under the GIL. */
const char *pyext_acc_type_name(PyObject *o)
{
    static char buf[128];
    PyObject *n = PyType_GetName(Py_TYPE(o));
    const char *s = n ? PyUnicode_AsUTF8AndSize(n, NULL) : NULL;
    snprintf(buf, sizeof buf, "%s", s ? s : "object");
    Py_XDECREF(n);
    return buf;
}

int pyext_acc_get_i32(PyObject *o, const char *fn, const char *what, int32_t *out)
{
    long v = PyLong_AsLong(o);
    if (v == -1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s: %s must be an int, not %s", fn, what,
                         pyext_acc_type_name(o));
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

int pyext_acc_nargs_ok(const char *fn, Py_ssize_t nargs, Py_ssize_t lo, Py_ssize_t hi)
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

/* ------------------------------------------------------------------ waits */

int32_t pyext_acc_wait_nogil(int32_t queue)
{
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait(queue);
    Py_END_ALLOW_THREADS
    return st;
}

int32_t pyext_acc_wait_all_nogil(void)
{
    /* no queue, nothing to wait for: the GIL's release and retaking alone
     * were 0.15 to 0.28 us, a tenth of a GPU launch's own cost outside
     * the driver, in a program that waits after every launch */
    if (!rt_queue_any())
        return RT_ACC_OK;
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait_all();
    Py_END_ALLOW_THREADS
    return st;
}

int32_t pyext_acc_wait_async_nogil(int32_t queue, int32_t on)
{
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait_async(queue, on);
    Py_END_ALLOW_THREADS
    return st;
}

int32_t pyext_acc_wait_all_async_nogil(int32_t on)
{
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_wait_all_async(on);
    Py_END_ALLOW_THREADS
    return st;
}

/* ---------------------------------------------------------- module setup */

/* At interpreter exit: finish every queue and let the workers go, before
 * the interpreter they call into is torn down. */
static PyObject *acc_atexit(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    int32_t st;
    Py_BEGIN_ALLOW_THREADS
    st = rt_queue_shutdown();
    rt_device_atexit();
    Py_END_ALLOW_THREADS
    if (st)
        return pyext_acc_raise_fault_s("an async task failed and no wait reported it");
    Py_RETURN_NONE;
}

/* acc_setup(AccError, PyaccWarning), from pyacc.runtime at import. */
static PyObject *acc_setup(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (!pyext_acc_nargs_ok("acc_setup", nargs, 2, 2))
        return NULL;
    Py_XDECREF(acc_error);
    Py_XDECREF(acc_warning);
    acc_error = Py_NewRef(args[0]);
    acc_warning = Py_NewRef(args[1]);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------- the table */

static PyMethodDef acc_methods[] = {
    NONE(acc_atexit, "acc_atexit(): finish the async queues (at interpreter exit)."),
    FAST(acc_setup, "acc_setup(AccError, PyaccWarning)"),
    {NULL, NULL, 0, NULL},
};

int pyext_acc_exec(PyObject *m)
{
    if (pyext_acc_constructs_init() < 0 ||
        PyModule_AddFunctions(m, pyext_acc_routine_methods) < 0 ||
        PyModule_AddFunctions(m, pyext_acc_construct_methods) < 0 ||
        PyModule_AddFunctions(m, acc_methods) < 0)
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
