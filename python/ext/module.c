/* module.c - the `pyacc._pyacc` module: set-up, the host JIT, teardown. */
#include "ext.h"

#include "cache.h"
#include "region.h"
#include "rt.h"
#include "tier.h"

#include <string.h>

pyext_state pyext;

static PyObject *region_type;

/* math.gamma, math.lgamma and math.hypot for compiled code (see
 * frontend/mathfn.c): the interpreter's own functions, under the GIL, which
 * compiled code does not hold.  *status: 0, or 1 for ValueError, 2 for
 * OverflowError (3 for anything else, reported as a ValueError too). */
static double py_math(int32_t which, double x, double y, int32_t *status)
{
    static const char *const names[] = {"gamma", "lgamma", "hypot"};
    PyGILState_STATE g = PyGILState_Ensure();
    double r = 0.0;
    *status = 0;
    if (which < 0 || which > 2)
        which = 0;
    PyObject *math = PyImport_ImportModule("math");
    PyObject *fn = math ? PyObject_GetAttrString(math, names[which]) : NULL;
    PyObject *res = !fn ? NULL
                    : which == 2 ? PyObject_CallFunction(fn, "dd", x, y)
                                 : PyObject_CallFunction(fn, "d", x);
    if (res)
        r = PyFloat_AsDouble(res);
    if (!res || PyErr_Occurred()) {
        *status = PyErr_ExceptionMatches(PyExc_OverflowError) ? 2
                  : PyErr_ExceptionMatches(PyExc_ValueError)  ? 1
                                                              : 3;
        if (*status == 3)
            *status = 1;
        PyErr_Clear();
    }
    Py_XDECREF(res);
    Py_XDECREF(fn);
    Py_XDECREF(math);
    PyGILState_Release(g);
    return r;
}

/* Creates the host JIT on first use; NULL with a RuntimeError set when
 * LLVM cannot make one. */
jit_host *pyext_host(void)
{
    if (pyext.host)
        return pyext.host;
    jit_symbol syms[] = {
        {"pyacc.parallel_loop", (void *)pyacc_rt_launch},
        {"pyacc.lane_loop", (void *)pyacc_rt_lane_loop},
        {"pyacc.row_loop", (void *)pyacc_rt_lane_loop},
        {"pyacc_rt_parallel_for", (void *)pyacc_rt_parallel_for},
        {"pyacc_rt_error", (void *)pyacc_rt_error},
        {"pyacc_py_math", (void *)py_math},
        {"pyacc_rt_int_truediv", (void *)pyacc_rt_int_truediv},
        {"pyacc_rt_round_digits", (void *)pyacc_rt_round_digits},
        {"pyacc_rt_num_threads", (void *)pyacc_rt_num_threads},
        {"pyacc_rt_scratch", (void *)pyacc_rt_scratch},
        {"pyacc_rt_scratch_free", (void *)pyacc_rt_scratch_free},
        {"pyacc_rt_gpu_loop", (void *)pyacc_rt_gpu_loop},
        {"pyacc_rt_sigints", (void *)&pyacc_rt_sigints},
    };
    char err[512];
    pyext.host = jit_host_create(syms, (int)(sizeof syms / sizeof syms[0]), err, sizeof err);
    if (!pyext.host)
        PyErr_Format(PyExc_RuntimeError, "pyacc: cannot create the host JIT: %s", err);
    return pyext.host;
}

/* init(opnames, ncache, py_minor, hooks: dict, np_scalars: list) */
static PyObject *ext_init(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *opnames, *ncache, *hooks, *scalars;
    int minor;
    if (!PyArg_ParseTuple(args, "O!O!iO!O!", &PyList_Type, &opnames, &PyList_Type, &ncache, &minor,
                          &PyDict_Type, &hooks, &PyList_Type, &scalars))
        return NULL;
    if (PyList_Size(opnames) != 256 || PyList_Size(ncache) != 256 ||
        PyList_Size(scalars) != FE_DT_COUNT_) {
        PyErr_SetString(PyExc_ValueError, "init: bad table sizes");
        return NULL;
    }
    const char *names[256];
    uint8_t caches[256];
    for (int i = 0; i < 256; i++) {
        PyObject *n = PyList_GetItem(opnames, i);
        names[i] = n == Py_None ? NULL : PyUnicode_AsUTF8AndSize(n, NULL);
        long c = PyLong_AsLong(PyList_GetItem(ncache, i));
        if ((n != Py_None && !names[i]) || (c == -1 && PyErr_Occurred()))
            return NULL;
        caches[i] = (uint8_t)c;
    }
    fe_optable_free(pyext.optable);
    pyext.optable = fe_optable_new(minor, names, caches);
    if (!pyext.optable)
        return PyErr_NoMemory();
    pyext.py_minor = minor;
    struct {
        const char *key;
        PyObject **slot;
    } hookslots[] = {
        {"pragma_error", &pyext.pragma_error}, {"raise_at", &pyext.raise_at},
        {"type_error", &pyext.type_error},     {"unsupported", &pyext.unsupported},
        {"resolve_globals", &pyext.resolve_globals}, {"unbound", &pyext.unbound},
        {"entry_key", &pyext.entry_key},             {"cache_warning", &pyext.cache_warning},
        {"gpu_refused", &pyext.gpu_refused},   {"loop_depth", &pyext.loop_depth},
    };
    for (size_t i = 0; i < sizeof hookslots / sizeof hookslots[0]; i++) {
        PyObject *v = PyDict_GetItemString(hooks, hookslots[i].key); /* borrowed */
        if (!v) {
            PyErr_Format(PyExc_KeyError, "init: missing hook %s", hookslots[i].key);
            return NULL;
        }
        Py_INCREF(v);
        Py_XDECREF(*hookslots[i].slot);
        *hookslots[i].slot = v;
    }
    for (int i = 0; i < FE_DT_COUNT_; i++) {
        PyObject *v = PyList_GetItem(scalars, i);
        Py_XDECREF(pyext.np_scalar[i]);
        pyext.np_scalar[i] = v == Py_None ? NULL : Py_NewRef(v);
    }
    Py_RETURN_NONE;
}

/* host_target() -> (triple, cpu, features) */
static PyObject *ext_host_target(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    jit_host *h = pyext_host();
    if (!h)
        return NULL;
    return Py_BuildValue("(sss)", jit_host_triple(h), jit_host_cpu(h), jit_host_features(h));
}

static PyObject *ext_num_threads(PyObject *self, PyObject *args)
{
    (void)self;
    int n = 0;
    if (!PyArg_ParseTuple(args, "|i", &n))
        return NULL;
    if (n > 0)
        return PyLong_FromLong(rt_set_num_threads(n));
    return PyLong_FromLong(pyacc_rt_num_threads());
}

/* Disposes the JIT explicitly: LLVM objects torn down by static
 * destructors at exit have aborted. */
static PyObject *ext_shutdown(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    pyext_tier_stop(); /* what it compiles reaches the disk cache; it uses the JIT */
    rt_pool_shutdown();
    if (pyext.host) {
        jit_host_free(pyext.host);
        pyext.host = NULL;
    }
    Py_RETURN_NONE;
}

/* cuda_register(): plug the NVIDIA device (the CUDA driver) into the
 * OpenACC device layer, once (again would shut its devices down).  pyacc
 * does it at import when ACC_DEVICE_TYPE or PYACC_GPU asks for the GPU,
 * and for @acc(device="nvidia"). */
static int cuda_registered;

static PyObject *ext_cuda_register(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    if (cuda_registered)
        Py_RETURN_NONE;
    cuda_registered = 1;
    if (rt_cuda_register()) {
        cuda_registered = 0;
        rt_fault f;
        rt_fault_take(&f);
        PyErr_Format(PyExc_RuntimeError, "pyacc: %s", f.msg);
        rt_fault_clear(&f);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* gpu_last_launch() -> (blocks, lanes, workers) of the latest parallel-loop
 * launch on a GPU, zeros before one. */
static PyObject *ext_gpu_last_launch(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    uint32_t g, x, y;
    rt_gpu_last_launch(&g, &x, &y);
    return Py_BuildValue("(III)", g, x, y);
}

/* gpu_launch_counts() -> (through a graph, plain, node updates): kernel
 * launches of compiled regions so far (rt_cuda_launch), and the graph
 * launches among them that gave the node new parameters or a new grid. */
static PyObject *ext_gpu_launch_counts(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    uint64_t graphed, plain, updates;
    rt_cuda_launch_counts(&graphed, &plain, &updates);
    return Py_BuildValue("(KKK)", (unsigned long long)graphed, (unsigned long long)plain,
                         (unsigned long long)updates);
}

/* gpu_count(): the NVIDIA GPUs pyacc can use (0 before cuda_register). */
static PyObject *ext_gpu_count(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    int32_t n;
    Py_BEGIN_ALLOW_THREADS /* the first call opens the driver */
    n = rt_device_count(RT_DEVICE_NVIDIA);
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(n);
}

/* gpu_counters() -> (calls run on the GPU, calls meant for it run on the host) */
static PyObject *ext_gpu_counters(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return Py_BuildValue("(LL)", pyext_gpu_calls[0], pyext_gpu_calls[1]);
}

/* present_entries() -> entries in the current device's present table */
static PyObject *ext_present_entries(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    rt_device *d = rt_device_current();
    return PyLong_FromLongLong(d ? (long long)rt_present_size(d) : 0);
}

static PyMethodDef ext_methods[] = {
    {"present_entries", ext_present_entries, METH_NOARGS, "Entries in the current device's present table."},
    {"gpu_counters", ext_gpu_counters, METH_NOARGS, "(region calls on the GPU, meant for it but on the host)"},
    {"gpu_count", ext_gpu_count, METH_NOARGS, "The NVIDIA GPUs pyacc can use."},
    {"gpu_last_launch", ext_gpu_last_launch, METH_NOARGS, "(blocks, lanes, workers) of the latest GPU loop launch"},
    {"gpu_launch_counts", ext_gpu_launch_counts, METH_NOARGS,
     "(through a graph, plain, node updates) GPU kernel launches so far"},
    {"cuda_register", ext_cuda_register, METH_NOARGS, "Plug the NVIDIA device into the device layer."},
    {"init", ext_init, METH_VARARGS, "Set up the opcode table and hooks (called by pyacc at import)."},
    {"parse_pragma", pyext_parse_pragma, METH_VARARGS,
     "parse_pragma(lines) -> dict: parse one pragma from [(text, line, col), ...]."},
    {"host_target", ext_host_target, METH_NOARGS, "(triple, cpu, features) of the host JIT."},
    {"num_threads", ext_num_threads, METH_VARARGS, "num_threads([n]) -> threads parallel loops use."},
    {"shutdown", ext_shutdown, METH_NOARGS, "Release the JIT and the thread pool (at exit)."},
    {NULL, NULL, 0, NULL},
};

static int ext_exec(PyObject *m)
{
    region_type = PyType_FromSpec(&pyext_region_spec);
    if (!region_type)
        return -1;
    if (PyModule_AddObject(m, "Region", region_type) < 0) {
        Py_DECREF(region_type);
        return -1;
    }
    Py_INCREF(region_type);
    if (pyext_acc_exec(m) < 0 || PyModule_AddFunctions(m, pyext_cache_methods) < 0 ||
        PyModule_AddFunctions(m, pyext_tier_methods) < 0)
        return -1;
    PyObject *disp = PyType_FromSpec(&pyext_dispatcher_spec);
    if (!disp || PyModule_AddObject(m, "Dispatcher", disp) < 0) {
        Py_XDECREF(disp);
        return -1;
    }
    PyObject *bid = pyext_build_id();
    if (!bid || PyModule_AddObject(m, "build_id", bid) < 0) {
        Py_XDECREF(bid);
        return -1;
    }
    if (PyModule_AddStringConstant(m, "llvm_version", jit_llvm_version()) < 0)
        return -1;
    /* Ctrl-C stops a running region (runtime/interrupt.c); Python's own
     * handler is in place by now and stays the one that decides */
    (void)rt_interrupt_install();
    return PyModule_AddIntConstant(m, "MAX_NDIM", FE_MAX_NDIM);
}

static PyModuleDef_Slot ext_slots[] = {
    {Py_mod_exec, (void *)ext_exec},
    {0, NULL},
};

static struct PyModuleDef ext_module = {
    PyModuleDef_HEAD_INIT, "_pyacc", "pyacc's compiler and runtime (C).", 0, ext_methods, ext_slots,
    NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__pyacc(void) { return PyModuleDef_Init(&ext_module); }
