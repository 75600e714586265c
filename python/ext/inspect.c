/* inspect.c - the code of a region's compiled entries, made again on
 * demand: optimised LLVM IR, host assembly, PTX. */
#include "region.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* inspect(kind) -> {signature: text}, kind "llvm" or "asm": the optimised
 * IR or the assembly of every compiled signature, made again on demand so
 * that ordinary compiles never pay for printing. */
static PyObject *inspect_locked(rg_region *r, const char *kind)
{
    jit_host *host = pyext_host();
    if (!host)
        return NULL;
    PyObject *out = PyDict_New();
    for (int i = 0; out && i < r->nentries; i++) {
        rg_entry *e = r->entries[i];
        if (e->fallback)
            continue;
        jit_ctx *ctx = NULL;
        fe_result res;
        fe_error err;
        char symbol[96];
        snprintf(symbol, sizeof symbol, "pyacc_region_inspect_%lld", ++pyext_symbol_counter);
        fe_status st = pyext_region_lower(r, e->sig, symbol, &ctx, &res, &err);
        if (st != FE_OK) {
            jit_ctx_free(ctx);
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_RuntimeError, "pyacc: recompiling for inspection failed: %s", err.msg);
            Py_DECREF(out);
            return NULL;
        }
        jit_options opt = {.keep_ir = kind[0] == 'l', .keep_asm = kind[0] == 'a'};
        jit_compiled c;
        char jerr[512];
        int rc = jit_host_inspect(host, res.module, &opt, &c, jerr, sizeof jerr);
        jit_ctx_free(ctx);
        fe_result_free(&res);
        if (rc) {
            PyErr_Format(PyExc_RuntimeError, "pyacc: %s", jerr);
            Py_DECREF(out);
            return NULL;
        }
        const char *text = opt.keep_ir ? c.ir : c.asm_text;
        PyObject *key = pyext_region_signature(r, e->sig);
        PyObject *val = PyUnicode_FromString(text ? text : "");
        free(c.ir);
        free(c.asm_text);
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

PyObject *pyext_region_inspect(PyObject *self, PyObject *args)
{
    const char *kind;
    if (!PyArg_ParseTuple(args, "s", &kind))
        return NULL;
    if (strcmp(kind, "ptx") == 0) { /* kept when it was made: it costs nothing to keep */
        rg_region *r = (rg_region *)self;
        return r->ptx ? PyDict_Copy(r->ptx) : PyDict_New();
    }
    pyext_compile_lock(); /* it compiles again, and walks the entries without the GIL */
    PyObject *out = inspect_locked((rg_region *)self, kind);
    pyext_compile_unlock();
    return out;
}

