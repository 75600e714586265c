/* region.c - pyacc._pyacc.Region: one compute region and its dispatcher.
 *
 * A Region holds the plain-C description of the region's code object (made
 * once), and a table of compiled entries keyed on the call's argument types
 * (four bytes an argument, compared as bytes).  A call classifies its
 * arguments, finds or compiles the entry (region_compile.c), releases the
 * GIL and runs it; a region or signature the compiler cannot handle runs
 * its Python function instead, after one warning.  A construct whose only
 * data clause is present(...) of its parameters has it entered and left
 * around the call here (present_enter), not by Python code around it:
 * from the classified arguments, with no Python objects made.
 */
#include "region.h"
#include "acc.h"
#include "tier.h"

#include <structmember.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long pyext_symbol_counter;

/* ------------------------------------------------------- the pragmas */

static const struct {
    const char *name;
    fe_dir_kind kind;
} construct_names[] = {
    {"parallel", FE_DIR_PARALLEL},         {"kernels", FE_DIR_KERNELS},
    {"serial", FE_DIR_SERIAL},             {"parallel loop", FE_DIR_PARALLEL_LOOP},
    {"kernels loop", FE_DIR_KERNELS_LOOP}, {"serial loop", FE_DIR_SERIAL_LOOP},
};

static int read_info(rg_region *r, PyObject *info)
{
    PyObject *v;
    const char *construct;
    if (!(v = PyDict_GetItemString(info, "construct")) || !(construct = PyUnicode_AsUTF8AndSize(v, NULL)))
        goto bad;
    r->construct = FE_DIR_PARALLEL;
    for (size_t i = 0; i < sizeof construct_names / sizeof construct_names[0]; i++)
        if (strcmp(construct_names[i].name, construct) == 0)
            r->construct = construct_names[i].kind;
    const char *file, *qual, *label;
    if (!PyArg_ParseTuple(PyDict_GetItemString(info, "where"), "sssiii", &file, &qual, &label,
                          &r->loc.line, &r->loc.col, &r->nouts))
        return -1;
    if (!(r->filename = pyext_dupstr(file)) || !(r->qualname = pyext_dupstr(qual)) || !(r->label = pyext_dupstr(label))) {
        PyErr_NoMemory();
        return -1;
    }
    r->loc.end_col = -1;
    if (!(v = PyDict_GetItemString(info, "flags")) ||
        !PyArg_ParseTuple(v, "iiii", &r->strict, &r->boundscheck, &r->use_cache, &r->device))
        return -1;
    r->loop_depth = -1; /* asked of pyacc.regions when a call first compiles (not for cache loads) */
    const char *skey;
    if (!(v = PyDict_GetItemString(info, "key")) || !(skey = PyUnicode_AsUTF8AndSize(v, NULL)))
        goto bad;
    if (!(r->static_key = pyext_dupstr(skey))) {
        PyErr_NoMemory();
        return -1;
    }

    /* loops: [(line, par, collapse, [(name, op)], [private names], levels)] */
    PyObject *loops = PyDict_GetItemString(info, "loops");
    if (!loops || !PyList_Check(loops))
        goto bad;
    r->nloops = (int)PyList_Size(loops);
    r->loops = PyMem_Calloc((size_t)r->nloops + 1, sizeof *r->loops);
    if (!r->loops)
        return -1;
    for (int i = 0; i < r->nloops; i++) {
        PyObject *reds, *privs;
        fe_loopspec *ls = &r->loops[i];
        int par;
        int levels;
        if (!PyArg_ParseTuple(PyList_GetItem(loops, i), "iiiO!O!i", &ls->line, &par, &ls->collapse,
                              &PyList_Type, &reds, &PyList_Type, &privs, &levels))
            return -1;
        ls->levels = (uint8_t)levels;
        ls->par = (fe_par)par;
        Py_ssize_t nr = PyList_Size(reds), np = PyList_Size(privs);
        fe_reduction *rs = PyMem_Calloc((size_t)nr + 1, sizeof *rs);
        char **ps = PyMem_Calloc((size_t)np + 1, sizeof *ps);
        if (!rs || !ps) {
            PyMem_Free(rs);
            PyMem_Free(ps);
            return -1;
        }
        ls->reds = rs;
        ls->privates = (const char *const *)ps;
        for (Py_ssize_t k = 0; k < nr; k++) {
            const char *name;
            int op;
            if (!PyArg_ParseTuple(PyList_GetItem(reds, k), "si", &name, &op) || !(rs[k].name = pyext_dupstr(name)))
                return -1;
            rs[k].op = (fe_red_op)op;
            ls->nred++;
        }
        for (Py_ssize_t k = 0; k < np; k++) {
            const char *name = PyUnicode_AsUTF8AndSize(PyList_GetItem(privs, k), NULL);
            if (!name || !(ps[k] = pyext_dupstr(name)))
                return -1;
            ls->nprivate++;
        }
    }
    PyObject *tp = PyDict_GetItemString(info, "threads_param");
    r->threads_param = tp ? (int)PyLong_AsLong(tp) : -1;
    if (r->threads_param == -1 && PyErr_Occurred())
        return -1;
    PyObject *pr = PyDict_GetItemString(info, "present");
    if (pr && PyList_Check(pr) && PyList_Size(pr)) {
        if (!(r->present = PyList_AsTuple(pr)))
            return -1;
        for (Py_ssize_t i = 0; i < PyTuple_Size(r->present); i++) {
            PyObject *it = PyTuple_GetItem(r->present, i);
            if (!PyTuple_Check(it) || PyTuple_Size(it) != 2 || !PyLong_Check(PyTuple_GetItem(it, 0)) ||
                !PyUnicode_Check(PyTuple_GetItem(it, 1)))
                goto bad;
            if (i >= RG_MAXARGS || (r->present_at[i] = (int)PyLong_AsLong(PyTuple_GetItem(it, 0))) < 0)
                goto bad;
            r->npresent = (int)i + 1;
        }
    }
    PyObject *sp = PyDict_GetItemString(info, "shape_param");
    r->shape_param = sp ? (int)PyLong_AsLong(sp) : -1;
    if (r->shape_param == -1 && PyErr_Occurred())
        return -1;
    /* atomics: [(kind, first line, last line)] */
    PyObject *at = PyDict_GetItemString(info, "atomics");
    if (!at || !PyList_Check(at))
        goto bad;
    r->natomics = (int)PyList_Size(at);
    r->atomics = PyMem_Calloc((size_t)r->natomics + 1, sizeof *r->atomics);
    if (!r->atomics)
        return -1;
    for (int i = 0; i < r->natomics; i++) {
        int kind;
        if (!PyArg_ParseTuple(PyList_GetItem(at, i), "iii", &kind, &r->atomics[i].first_line,
                              &r->atomics[i].last_line))
            return -1;
        r->atomics[i].kind = (fe_atomic_kind)kind;
    }
    /* listouts: [(param, len_param)] */
    PyObject *lo = PyDict_GetItemString(info, "listouts");
    if (!lo || !PyList_Check(lo))
        goto bad;
    r->nlistouts = (int)PyList_Size(lo);
    r->listouts = PyMem_Calloc((size_t)r->nlistouts + 1, sizeof *r->listouts);
    r->is_listout = PyMem_Calloc(RG_MAXARGS, 1);
    if (!r->listouts || !r->is_listout)
        return -1;
    for (int i = 0; i < r->nlistouts; i++) {
        if (!PyArg_ParseTuple(PyList_GetItem(lo, i), "ii", &r->listouts[i].param, &r->listouts[i].len_param))
            return -1;
        if (r->listouts[i].param < 0 || r->listouts[i].param >= RG_MAXARGS || r->listouts[i].len_param < 0 ||
            r->listouts[i].len_param >= RG_MAXARGS)
            goto bad;
        r->is_listout[r->listouts[i].param] = 1;
    }
    return 0;
bad:
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "pyacc: bad region description");
    return -1;
}

/* Region(code, func, fglobals, info) */
static int region_init(PyObject *self, PyObject *args, PyObject *kw)
{
    rg_region *r = (rg_region *)self;
    PyObject *code, *func, *fglobals, *info;
    (void)kw;
    if (!PyArg_ParseTuple(args, "OOO!O!", &code, &func, &PyDict_Type, &fglobals, &PyDict_Type, &info))
        return -1;
    if (r->pc.bytes) {
        PyErr_SetString(PyExc_RuntimeError, "Region already initialised");
        return -1;
    }
    Py_INCREF(func);
    Py_INCREF(fglobals);
    r->func = func;
    r->fglobals = fglobals;
    if (read_info(r, info) < 0 || pyext_code_read(&r->pc, code) < 0) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void region_dealloc(PyObject *self)
{
    rg_region *r = (rg_region *)self;
    if (r->weakreflist)
        PyObject_ClearWeakRefs(self);
    for (int i = 0; i < r->nentries; i++) {
        pyext_region_entry_free(r->entries[i]);
        PyMem_Free(r->entries[i]);
    }
    PyMem_Free(r->entries);
    pyext_code_clear(&r->pc);
    PyMem_Free(r->filename);
    PyMem_Free(r->qualname);
    PyMem_Free(r->label);
    PyMem_Free(r->static_key);
    for (int i = 0; r->loops && i < r->nloops; i++) {
        for (int k = 0; k < r->loops[i].nred; k++)
            PyMem_Free((void *)r->loops[i].reds[k].name);
        PyMem_Free((void *)r->loops[i].reds);
        for (int k = 0; k < r->loops[i].nprivate; k++)
            PyMem_Free((void *)r->loops[i].privates[k]);
        PyMem_Free((void *)r->loops[i].privates);
    }
    PyMem_Free(r->loops);
    PyMem_Free(r->listouts);
    PyMem_Free(r->atomics);
    PyMem_Free(r->is_listout);
    Py_XDECREF(r->func);
    Py_XDECREF(r->present);
    Py_XDECREF(r->fglobals);
    Py_XDECREF(r->ptx);
    Py_XDECREF(r->gpu_notes);
    PyTypeObject *tp = Py_TYPE(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

/* --------------------------------------------------------------- call */

static PyObject *raise_runtime(rg_region *r, const rg_entry *e, const rt_error *err)
{
    PyObject *type = PyExc_RuntimeError;
    char msg[512];
    long long a = (long long)err->info[0], b = (long long)err->info[1];
    const char *file = err->file > 0 && err->file < e->nfiles ? e->files[err->file] : r->filename;
    if (err->kind == RT_ERR_INTERRUPT) {
        /* Python's handler has seen the signal too: on the main thread it
         * runs now and decides (KeyboardInterrupt by default); elsewhere, or
         * if it raised nothing, the region still stopped short */
        PyObject *et, *ev, *tb;
        if (PyErr_CheckSignals() < 0) {
            PyErr_Fetch(&et, &ev, &tb);
            PyErr_NormalizeException(&et, &ev, &tb);
            Py_XDECREF(et);
            Py_XDECREF(tb);
        } else {
            ev = PyObject_CallNoArgs(PyExc_KeyboardInterrupt);
        }
        if (!ev)
            return NULL;
        PyObject *res = PyObject_CallFunction(pyext.raise_at, "Osi", ev, file, err->line ? err->line : r->loc.line);
        Py_DECREF(ev);
        Py_XDECREF(res);
        return NULL;
    }
    switch (err->kind) {
    case RT_ERR_ZERO_DIVISION: {
        static const char *const what[] = {"integer division or modulo by zero", "division by zero",
                                           "integer modulo by zero", "float modulo",
                                           "float floor division by zero",
                                           "0.0 cannot be raised to a negative power"};
        type = PyExc_ZeroDivisionError;
        snprintf(msg, sizeof msg, "%s", a >= 0 && a < 6 ? what[a] : "division by zero");
        break;
    }
    case RT_ERR_INDEX:
        type = PyExc_IndexError;
        snprintf(msg, sizeof msg, "index %lld is out of bounds for axis with size %lld", a, b);
        break;
    case RT_ERR_VALUE: {
        static const char *const what[] = {
            "math domain error",
            "a negative number to a fractional power is complex; the region cannot hold it",
            "negative shift count", "cannot convert float NaN to integer",
            "range() arg 3 must not be zero"};
        type = PyExc_ValueError;
        snprintf(msg, sizeof msg, "%s", a >= 0 && a < 5 ? what[a] : "bad value");
        break;
    }
    case RT_ERR_OVERFLOW:
        type = PyExc_OverflowError;
        if (a >= 100 && a < 100 + FE_DT_COUNT_)
            snprintf(msg, sizeof msg, "Python integer %lld out of bounds for %s", b,
                     fe_dtype_name((fe_dtype)(a - 100)));
        else if (a == 2)
            snprintf(msg, sizeof msg, "int ** int gave %lld, beyond 2**53, which this region holds as a "
                     "float and cannot keep exact", b);
        else
            snprintf(msg, sizeof msg, "%s", a == 1   ? "math range error"
                                             : a == 3 ? "rounded value too large to represent"
                                                      : "integer overflow: the result passes the int64 range");
        break;
    case RT_ERR_UNBOUND:
        type = PyExc_UnboundLocalError;
        snprintf(msg, sizeof msg, "cannot access local variable '%s' where it is not associated with a value",
                 err->file == 0 && a >= 0 && a < r->pc.code.nlocals ? r->pc.varnames[a] : "?");
        break;
    case RT_ERR_NOMEM:
        type = PyExc_MemoryError;
        snprintf(msg, sizeof msg, "pyacc: out of memory (%lld bytes for a reduction)", a);
        break;
    case RT_ERR_DEVICE:
        snprintf(msg, sizeof msg, "pyacc: the GPU failed: %s", rt_fault_last()->msg);
        break;
    case RT_ERR_LIST_LENGTH:
        type = PyExc_ValueError;
        snprintf(msg, sizeof msg,
                 "the copyout section of the list holds %lld elements but the loop appends %lld", a, b);
        break;
    default:
        snprintf(msg, sizeof msg, "pyacc: unknown error %d in a compiled region", err->kind);
    }
    PyObject *exc = PyObject_CallFunction(type, "s", msg);
    if (!exc)
        return NULL;
    PyObject *res = PyObject_CallFunction(pyext.raise_at, "Osi", exc, file, err->line ? err->line : r->loc.line);
    Py_DECREF(exc);
    Py_XDECREF(res);
    return NULL; /* raise_at always raises */
}

/* Classifies args into sig/slots/a; returns the argument count or -1. */
static int classify_all(rg_region *r, PyObject *args, fe_argtype *sig, int64_t *slots, pyext_arg *a)
{
    Py_ssize_t n = PyTuple_Size(args);
    if (n != r->pc.code.nargs) {
        PyErr_Format(PyExc_TypeError, "pyacc region %s takes %d arguments (%zd given)", r->label,
                     r->pc.code.nargs, n);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        a[i].has_view = 0, a[i].temp = NULL, a[i].readonly = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (pyext_arg_classify(PyTuple_GetItem(args, i), r->is_listout[i], &sig[i], &slots[i], &a[i]) < 0) {
            for (Py_ssize_t k = 0; k <= i; k++)
                pyext_arg_release(&a[k]);
            return -1;
        }
    if (n > 1)
        pyext_mark_overlaps(sig, a, (int)n);
    return (int)n;
}

static void release_all(pyext_arg *a, int n)
{
    for (int i = 0; i < n; i++)
        pyext_arg_release(&a[i]);
}

/* How big a call's data is, for tier.c: the largest extent of its array
 * and list arguments (any dimension) and the largest magnitude of its
 * ints, the likely loop bounds. */
static int64_t call_extent(const fe_argtype *sig, const pyext_arg *a, const int64_t *slots, int n)
{
    int64_t m = 0;
    for (int i = 0; i < n; i++) {
        if (sig[i].kind == FE_ARG_INT) {
            int64_t v = slots[i] == INT64_MIN ? INT64_MAX : slots[i] < 0 ? -slots[i] : slots[i];
            m = v > m ? v : m;
        } else if (sig[i].kind == FE_ARG_ARRAY || sig[i].kind == FE_ARG_LIST) {
            for (int d = 0; d < (sig[i].ndim ? sig[i].ndim : 1) && d < FE_MAX_NDIM; d++)
                m = a[i].desc.shape[d] > m ? a[i].desc.shape[d] : m;
        }
    }
    return m;
}

/* Runs the region on arguments classify_all classified, releasing them. */
static PyObject *region_go(rg_region *r, PyObject *args, fe_argtype *sig, int64_t *slots, pyext_arg *a, int n)
{
    rt_device *gpu = r->device == RG_DEVICE_HOST ? NULL : pyext_gpu_device(r->device);
    rg_entry *e = pyext_region_find(r, sig, gpu);
    if (e && e->gcode && e->gcode->infos[0].generation != gpu->generation) {
        /* the GPU was shut down (acc_shutdown) and started again: its
         * kernels went with it; load them again (from the disk cache) */
        pyext_compile_lock();
        if (!e->stale) {
            jit_host_remove(pyext_host(), e->handle);
            e->handle = NULL;
            if (e->symbol[0])
                pyext_symbol_release(e->symbol);
            e->symbol[0] = 0;
            pyext_gpu_code_free(e->gcode);
            e->gcode = NULL;
            e->stale = 1;
        }
        pyext_compile_unlock();
        e = pyext_region_find(r, sig, gpu);
    }
    if (e)
        r->memory_hits++;
    else if (!(e = pyext_region_entry(r, sig, gpu, call_extent(sig, a, slots, n)))) {
        release_all(a, n);
        return NULL;
    }
    /* arrays in GPU memory (CuPy, ...) can only go to a kernel: any other
     * run of the region is the interpreter's, on the arrays' own indexing */
    if (e->device_args && !e->gcode && !e->fallback) {
        release_all(a, n);
        r->fallbacks++;
        return PyObject_Call(r->func, args, NULL);
    }
    /* an entry that runs on the GPU, whose if or self clause asks for the
     * host this time: the host entry, as for a region the GPU refused */
    int entry_on_gpu = e->gcode && e->gcode->kernels[0].serial;
    int tp = r->threads_param;
    if (entry_on_gpu && !e->device_args && tp >= 0 && tp < n && sig[tp].kind == FE_ARG_INT && slots[tp] < 0)
        entry_on_gpu = 0;
    /* a host run while the arrays may be on the GPU: their copies agree */
    int synced = gpu && (!e->gcode || (e->gcode->kernels[0].serial && !entry_on_gpu));
    if (gpu)
        pyext_gpu_calls[synced]++;
    if (synced && pyext_gpu_sync(gpu, sig, a, n, 1) < 0) {
        release_all(a, n);
        return NULL;
    }
    if (e->fallback) {
        r->fallbacks++;
        PyObject *res = PyObject_Call(r->func, args, NULL);
        if (synced && pyext_gpu_sync(gpu, sig, a, n, 0) < 0)
            Py_CLEAR(res);
        release_all(a, n);
        return res;
    }
    for (int i = 0; i < n; i++)
        if (e->written[i] && a[i].readonly) {
            release_all(a, n);
            PyObject *exc = PyObject_CallFunction(PyExc_ValueError, "s",
                                                  "assignment destination is read-only");
            if (exc) {
                PyObject *res = PyObject_CallFunction(pyext.raise_at, "Osi", exc, r->filename, r->loc.line);
                Py_XDECREF(res);
                Py_DECREF(exc);
            }
            return NULL;
        }
    /* buffers for the lists the region appends to */
    for (int k = 0; k < r->nlistouts; k++) {
        int p = r->listouts[k].param, lp = r->listouts[k].len_param;
        if (sig[p].kind != FE_ARG_LIST_OUT)
            continue;
        int64_t cap = sig[lp].kind == FE_ARG_INT ? slots[lp] : -1;
        if (cap < 0) {
            release_all(a, n);
            PyErr_Format(PyExc_ValueError, "%s: the copyout section of a list needs a non-negative int length",
                         r->label);
            return NULL;
        }
        size_t isz = pyext_listout_itemsize(&e->listout_types[k]);
        a[p].temp = PyMem_Malloc(cap ? (size_t)cap * isz : 1);
        if (!a[p].temp) {
            release_all(a, n);
            return PyErr_NoMemory();
        }
        a[p].desc.data = a[p].temp;
        a[p].desc.shape[0] = cap;
        a[p].desc.strides[0] = (int64_t)isz; /* for a run on the GPU, which maps the buffer as an array */
    }
    /* cells for the results that are tuples */
    int64_t cells[8][FE_MAX_OUT_ITEMS];
    int ncells = 0;
    for (int o = 0; o < r->nouts; o++)
        if (e->outtypes[o].kind == FE_ARG_TUPLE) {
            if (ncells == 8) {
                release_all(a, n);
                PyErr_SetString(PyExc_NotImplementedError, "pyacc: more than 8 tuple results in one region");
                return NULL;
            }
            slots[n + o] = (int64_t)(intptr_t)cells[ncells++];
        }
    rt_error err = {0};
    int32_t rc;
    rg_fn fn = e->fn;
    if (entry_on_gpu) { /* the whole region on the GPU: one thread, or the grid */
        int nslots = n + 3 * r->nouts + 2;
        uint64_t tuples = 0;
        for (int o = 0; o < r->nouts && o < 64; o++)
            if (e->outtypes[o].kind == FE_ARG_TUPLE)
                tuples |= (uint64_t)1 << o;
        Py_BEGIN_ALLOW_THREADS
        int sp = r->shape_param; /* num_gangs, num_workers, vector_length, packed by the caller */
        int64_t shape = sp >= 0 && sp < n && sig[sp].kind == FE_ARG_INT ? slots[sp] : 0;
        rc = pyext_gpu_serial(e->gcode, sig, a, n, nslots, slots, tuples, shape, &err);
        Py_END_ALLOW_THREADS
    } else {
        Py_BEGIN_ALLOW_THREADS
        rc = fn(slots, &err);
        Py_END_ALLOW_THREADS
    }
    if (synced && pyext_gpu_sync(gpu, sig, a, n, 0) < 0) {
        release_all(a, n);
        return NULL;
    }
    /* what was appended lands in the lists, also before an error, as the
     * interpreter would have left them */
    int list_rc = 0;
    for (int k = 0; k < r->nlistouts && !list_rc; k++) {
        int p = r->listouts[k].param;
        if (sig[p].kind == FE_ARG_LIST_OUT)
            list_rc = pyext_extend_list(PyTuple_GetItem(args, p), &e->listout_types[k], a[p].desc.data,
                                        a[p].desc.shape[0]);
    }
    /* lists the region wrote: copied back, also before an error */
    for (int i = 0; i < n && !list_rc; i++)
        if (sig[i].kind == FE_ARG_LIST && e->written[i] && sig[i].layout == 0)
            list_rc = pyext_list_store_back(PyTuple_GetItem(args, i), &sig[i], &a[i]);
    release_all(a, n);
    if (list_rc)
        return NULL;
    if (rc)
        return raise_runtime(r, e, &err);
    if (r->nouts == 0)
        Py_RETURN_NONE;
    PyObject *outs = PyTuple_New(r->nouts);
    int64_t bound = slots[n + r->nouts];
    for (int o = 0; outs && o < r->nouts; o++) {
        int64_t kind = slots[n + 2 * r->nouts + 1 + o];
        if (e->outtypes[o].kind == FE_ARG_TUPLE && !(o < 63 && !((bound >> o) & 1))) {
            const int64_t *c = (const int64_t *)(intptr_t)slots[n + o];
            PyObject *t = PyTuple_New(e->outtypes[o].ndim);
            for (int k = 0; t && k < e->outtypes[o].ndim; k++) {
                PyObject *item = pyext_box(&e->outitems[o * FE_MAX_OUT_ITEMS + k], c[k]);
                if (!item) {
                    Py_CLEAR(t);
                    break;
                }
                PyTuple_SetItem(t, k, item);
            }
            if (!t) {
                Py_DECREF(outs);
                return NULL;
            }
            PyTuple_SetItem(outs, o, t);
            continue;
        }
        PyObject *v = o < 63 && !((bound >> o) & 1) ? Py_NewRef(pyext.unbound)
                      : kind >= 0 && kind < e->nkinds ? pyext_box_kind(&e->outtypes[o], &e->kinds[kind], slots[n + o])
                                                       : pyext_box(&e->outtypes[o], slots[n + o]);
        if (!v) {
            Py_DECREF(outs);
            return NULL;
        }
        PyTuple_SetItem(outs, o, v);
    }
    return outs;
}

/* What a call entered for its construct's present clause (r->present). */
typedef struct held {
    rt_device *d;
    uint64_t epoch;
    int32_t n;
    int16_t spec[RG_MAXARGS];     /* each item's entry in r->present, to name it */
    rt_data_item items[RG_MAXARGS];
} held;

/* The construct's present clause on its parameters (r->present), entered
 * as data_enter would have entered it for Python code around the call
 * (the same runtime items, checks and message, "present(x): ..."), at the
 * construct's line.  The items come from the arguments as classify_all
 * left them: no Python items, no second request for the buffer (the
 * Python path took 2,600 instructions a call, NumPy's buffer 500 of
 * them).  0, or -1 with the exception set. */
static int present_enter(rg_region *r, PyObject *args, const pyext_arg *a, int n, held *h)
{
    h->n = 0;
    h->d = pyext_acc_cur_dev();
    if (!h->d)
        goto raise;
    for (int i = 0; i < r->npresent; i++) {
        int k = r->present_at[i];
        if (k < 0 || k >= n)
            continue;
        PyObject *obj = PyTuple_GetItem(args, k);
        uintptr_t start;
        size_t bytes;
        if (a[k].has_view) {
            pyext_acc_section_span(&a[k].view, Py_None, NULL, &start, &bytes);
        } else if (PyObject_CheckBuffer(obj)) { /* one classify gave up on: asked as data_enter asks */
            Py_buffer v;
            if (PyObject_GetBuffer(obj, &v, PyBUF_STRIDES) < 0)
                goto raise;
            pyext_acc_section_span(&v, Py_None, NULL, &start, &bytes);
            PyBuffer_Release(&v);
        } else {
            continue; /* a list, a scalar, an array in GPU memory: nothing to map */
        }
        if (bytes == 0)
            continue;
        h->spec[h->n] = (int16_t)i;
        h->items[h->n++] = (rt_data_item){.host = (const void *)start, .bytes = bytes, .clause = RT_CLAUSE_PRESENT};
    }
    if (h->n && rt_data_enter(h->d, h->items, h->n, RT_ASYNC_SYNC, &h->epoch)) {
        int32_t k = rt_fault_last()->item;
        PyObject *name = PyTuple_GetItem(PyTuple_GetItem(r->present, k >= 0 && k < h->n ? h->spec[k] : 0), 1);
        PyObject *label = PyUnicode_FromFormat("present(%U)", name);
        if (label) {
            pyext_acc_raise_fault(label);
            Py_DECREF(label);
        }
        h->n = 0;
        goto raise;
    }
    return 0;
raise: /* at the pragma, as Python code there would have raised it */
    {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb)
            PyException_SetTraceback(value, tb);
        PyObject *res = PyObject_CallFunction(pyext.raise_at, "Osi", value, r->filename, r->loc.line);
        Py_XDECREF(res);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    return -1;
}

/* A call: its arguments classified, its construct's present clause
 * entered, the region run, the clause left (also after an error, as
 * try/finally would; the region's own error wins over the exit's). */
static PyObject *region_run(rg_region *r, PyObject *args)
{
    fe_argtype sig[RG_MAXARGS];
    int64_t slots[RG_MAXARGS + 3 * 64];
    pyext_arg a[RG_MAXARGS]; /* classify_all clears the ones it uses */
    int n = classify_all(r, args, sig, slots, a);
    if (n < 0)
        return NULL;
    if (!r->npresent)
        return region_go(r, args, sig, slots, a, n);
    held h;
    if (present_enter(r, args, a, n, &h) < 0) {
        release_all(a, n);
        return NULL;
    }
    PyObject *res = region_go(r, args, sig, slots, a, n);
    if (h.n && rt_data_exit(h.d, h.items, h.n, RT_ASYNC_SYNC, h.epoch)) {
        if (res) {
            Py_CLEAR(res);
            pyext_acc_raise_fault_s("end of data construct");
        } else { /* the region's error stands; the exit's fault goes */
            rt_fault f;
            rt_fault_take(&f);
            rt_fault_clear(&f);
        }
    }
    return res;
}

static PyObject *region_call(PyObject *self, PyObject *args, PyObject *kw)
{
    rg_region *r = (rg_region *)self;
    if (kw && PyDict_Size(kw)) {
        PyErr_SetString(PyExc_TypeError, "pyacc regions take no keyword arguments");
        return NULL;
    }
    return region_run(r, args);
}

/* ------------------------------------------------------------ methods */

/* compile(args[, target]) -> bool: compiles for these arguments without
 * running; True when the region compiled (False: it will run in the
 * interpreter; for target "nvidia", its loops cannot run on a GPU). */
static PyObject *region_compile(PyObject *self, PyObject *args)
{
    rg_region *r = (rg_region *)self;
    PyObject *cargs;
    const char *target = "host";
    if (!PyArg_ParseTuple(args, "O!|s", &PyTuple_Type, &cargs, &target))
        return NULL;
    if (strcmp(target, "host") != 0 && strcmp(target, "nvidia") != 0)
        return PyErr_Format(PyExc_ValueError, "target must be 'host' or 'nvidia', not %R",
                            PyTuple_GetItem(args, 1));
    fe_argtype sig[RG_MAXARGS];
    int64_t slots[RG_MAXARGS + 3 * 64];
    pyext_arg a[RG_MAXARGS];
    int n = classify_all(r, cargs, sig, slots, a);
    if (n < 0)
        return NULL;
    release_all(a, n);
    if (target[0] == 'n')
        return pyext_region_compile_ptx(r, sig);
    rg_entry *e = pyext_region_find(r, sig, NULL);
    if (!e && !(e = pyext_region_entry(r, sig, NULL, INT64_MAX))) /* compiled ahead: O3 at once */
        return NULL;
    return PyBool_FromLong(!e->fallback);
}

PyObject *pyext_region_signature(rg_region *r, const fe_argtype *sig)
{
    char buf[2048];
    size_t k = 0;
    buf[k++] = '(';
    for (int i = 0; i < r->pc.code.nargs && k < sizeof buf - 64; i++) {
        if (i)
            k += (size_t)snprintf(buf + k, sizeof buf - k, ", ");
        k += (size_t)fe_argtype_str(&sig[i], buf + k, sizeof buf - k);
    }
    snprintf(buf + k, sizeof buf - k, ")");
    return PyUnicode_FromString(buf);
}

static PyObject *region_stats(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    rg_region *r = (rg_region *)self;
    return Py_BuildValue("{sLsLsLsLsisd}", "compiles", r->compiles, "memory_hits", r->memory_hits, "disk_hits",
                         r->disk_hits, "fallbacks", r->fallbacks, "signatures", r->nentries, "compile_ms",
                         r->compile_ms);
}

static PyObject *region_signatures(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    rg_region *r = (rg_region *)self;
    PyObject *l = PyList_New(0);
    for (int i = 0; l && i < r->nentries; i++) {
        PyObject *s = pyext_region_signature(r, r->entries[i]->sig);
        rg_entry *e = r->entries[i];
        int quick;
        double o3_ms;
        pyext_tier_read(e, &quick, &o3_ms);
        PyObject *t = s ? Py_BuildValue("(Nisdsdsdsssd)", s, !e->fallback, "total_ms", e->compile_ms, "opt_ms",
                                        e->opt_ms, "codegen_ms", e->codegen_ms, "code", quick ? "quick" : "O3",
                                        "o3_ms", o3_ms)
                        : NULL;
        if (!t || PyList_Append(l, t) < 0) {
            Py_XDECREF(t);
            Py_DECREF(l);
            return NULL;
        }
        Py_DECREF(t);
    }
    return l;
}

/* notes() -> {signature: text}: which loops each compiled signature runs
 * in parallel, and for kernels loops that run in order, why. */
static PyObject *region_notes(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    rg_region *r = (rg_region *)self;
    /* a GPU build's (compile(target="nvidia")), then the compiled entries' */
    PyObject *out = r->gpu_notes ? PyDict_Copy(r->gpu_notes) : PyDict_New();
    for (int i = 0; out && i < r->nentries; i++) {
        rg_entry *e = r->entries[i];
        if (e->fallback)
            continue;
        PyObject *key = pyext_region_signature(r, e->sig);
        PyObject *val = PyUnicode_FromString(e->notes ? e->notes : "");
        if (!key || !val || PyDict_SetItem(out, key, val) < 0) {
            Py_XDECREF(key);
            Py_XDECREF(val);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(key);
        Py_DECREF(val);
    }
    return out;
}

static PyMethodDef region_methods[] = {
    {"notes", region_notes, METH_NOARGS, "notes() -> {signature: which loops run in parallel}"},
    {"compile", region_compile, METH_VARARGS, "compile(args) -> bool"},
    {"inspect", pyext_region_inspect, METH_VARARGS, "inspect('llvm'|'asm') -> {signature: text}"},
    {"stats", region_stats, METH_NOARGS, "counters of this region"},
    {"signatures", region_signatures, METH_NOARGS,
     "[(signature, compiled, 'total_ms', ms, 'opt_ms', ms, 'codegen_ms', ms, 'code', 'quick' or 'O3', 'o3_ms', "
     "ms)]: o3_ms, the O3 code's compile in the background after quick code ran first"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef region_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(rg_region, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot region_slots[] = {
    {Py_tp_members, region_members},
    {Py_tp_init, (void *)region_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_dealloc, (void *)region_dealloc},
    {Py_tp_call, (void *)region_call},
    {Py_tp_methods, region_methods},
    {Py_tp_doc, (void *)"Region(code, func, fglobals, info): a compiled compute region."},
    {0, NULL},
};

PyType_Spec pyext_region_spec = {
    "pyacc._pyacc.Region", sizeof(rg_region), 0, Py_TPFLAGS_DEFAULT, region_slots,
};
