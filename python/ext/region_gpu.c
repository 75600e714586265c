/* region_gpu.c - a region compiled for a GPU: its PTX kept for
 * inspect_ptx, the split that makes the kernels and the host code
 * launching them (or the reason it stays on the host), and the entry made
 * without a GPU for the disk cache (compile(args, "nvidia"), pyacc warmup
 * --target nvidia). */
#include "region.h"

#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keeps the PTX made for sig; -1 with an exception set. */
int pyext_region_keep_ptx(rg_region *r, const fe_argtype *sig, const char *ptx)
{
    if (!r->ptx && !(r->ptx = PyDict_New()))
        return -1;
    PyObject *k = pyext_region_signature(r, sig), *v = PyUnicode_FromString(ptx);
    int rc = k && v ? PyDict_SetItem(r->ptx, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

int pyext_region_keep_notes(rg_region *r, const fe_argtype *sig, const char *notes)
{
    if (!r->gpu_notes && !(r->gpu_notes = PyDict_New()))
        return -1;
    PyObject *k = pyext_region_signature(r, sig), *v = PyUnicode_FromString(notes ? notes : "");
    int rc = k && v ? PyDict_SetItem(r->gpu_notes, k, v) : -1;
    Py_XDECREF(k);
    Py_XDECREF(v);
    return rc;
}

/* Why a region whose code outside its parallel loops touches arrays stays
 * on the host: that, then what kept its entry off the GPU. */
static void grid_why(char *why, size_t n)
{
    static const char lead[] = "code outside its parallel loops reads or writes array elements, and ";
    char jit[600 - sizeof lead];
    snprintf(jit, sizeof jit, "%s", why);
    snprintf(why, n, "%s%s", lead, jit);
}

/* The GPU build of res's module (pyext_gpu_build; gpu NULL: loaded
 * nowhere), or the reason it is not tried: 0, 1 refused, -1 failed, why
 * saying why. */
static int try_gpu(const rg_region *r, jit_host *host, const fe_result *res, const char *symbol, rt_device *gpu,
                   pyext_gpu_code **gcode, char **ptx, char *why, size_t n)
{
    /* code outside the parallel loops touching arrays: the entry on the GPU too */
    int serial = res->nparallel == 0, whole = serial || res->host_elements;
    if (serial && !pyext_gpu_serial_enabled()) {
        snprintf(why, n, "it has no parallel loop, and PYACC_GPU_SERIAL=0 keeps such regions off the GPU");
        return 1;
    }
    int g;
    Py_BEGIN_ALLOW_THREADS
    g = pyext_gpu_build(host, res->module, symbol, whole, gpu, r->loc.line, gcode, ptx, why, n);
    Py_END_ALLOW_THREADS
    if (g > 0 && !serial && whole)
        grid_why(why, n);
    return g;
}

/* Makes res's module host code launching its loops on gpu (*gcode), or,
 * when the region cannot run there, leaves it for the host after one
 * warning (*gcode NULL).  -1 with an exception set. */
int pyext_region_gpu_build(rg_region *r, const fe_argtype *sig, jit_host *host, fe_result *res, const char *symbol,
                     rt_device *gpu, pyext_gpu_code **gcode, int *relower)
{
    char why[600] = "";
    char *ptx = NULL;
    int g = try_gpu(r, host, res, symbol, gpu, gcode, &ptx, why, sizeof why);
    if (ptx && pyext_region_keep_ptx(r, sig, ptx) < 0) {
        free(ptx);
        pyext_gpu_code_free(*gcode);
        *gcode = NULL;
        return -1;
    }
    free(ptx);
    if (g == 0)
        return 0;
    *relower = g < 0; /* it failed after the split may have changed the module */
    PyObject *res_ = PyObject_CallFunction(pyext.gpu_refused, "sssii", r->label, why, r->filename, r->loc.line,
                                           g < 0);
    if (!res_)
        return -1;
    Py_DECREF(res_);
    return 0;
}

/* The entry for sig with its loops on a GPU, made without one
 * (compile(args, "nvidia")): the PTX (kept for inspect_ptx) and, for the
 * disk cache, the host code launching it, so that a process on a GPU
 * machine loads both and compiles nothing.  True when the region's loops
 * can run on a GPU. */
PyObject *pyext_region_compile_ptx(rg_region *r, const fe_argtype *sig)
{
    jit_host *host = pyext_host();
    if (!host)
        return NULL;
    double t0 = pyext_now_ms();
    char gt[64], key[65] = "", symbol[96];
    pyext_gpu_target(NULL, gt, sizeof gt);
    pyext_compile_lock();
    jit_cache *cache = r->use_cache ? pyext_cache() : NULL;
    int cached = cache && pyext_region_key(r, sig, gt, key) == 0;
    if (cached) { /* made before: only its PTX is wanted */
        void *data = NULL;
        size_t size = 0;
        char err[1024];
        pyext_payload p;
        int hit = jit_cache_get(cache, key, &data, &size, err, sizeof err) == 1 &&
                  pyext_payload_unpack(data, size, &p) == 0;
        PyObject *out = NULL;
        if (hit) {
            int ok = p.nkernels > 0;
            if (!ok || pyext_region_keep_ptx(r, sig, p.ptx) == 0)
                out = PyBool_FromLong(ok);
            pyext_payload_free(&p);
            r->disk_hits++;
        }
        free(data);
        if (hit) {
            pyext_compile_unlock();
            return out;
        }
        snprintf(symbol, sizeof symbol, "pyacc_%.40s", key);
        if (pyext_symbol_live(symbol))
            cached = 0;
    }
    if (!cached)
        snprintf(symbol, sizeof symbol, "pyacc_region_ptx_%lld", ++pyext_symbol_counter);
    jit_ctx *ctx = NULL;
    fe_result res;
    fe_error err;
    fe_status st = pyext_region_lower(r, sig, symbol, &ctx, &res, &err);
    PyObject *out = NULL;
    if (st != FE_OK) {
        if (!PyErr_Occurred())
            out = pyext_region_report(r, &err) < 0 ? NULL : Py_NewRef(Py_False);
        jit_ctx_free(ctx);
        pyext_compile_unlock();
        return out;
    }
    pyext_gpu_code *gcode = NULL;
    char *ptx = NULL, why[600] = "";
    int g = try_gpu(r, host, &res, symbol, NULL, &gcode, &ptx, why, sizeof why);
    /* as a build on a GPU would: one warning saying why it stays on the host */
    PyObject *warned = g > 0 ? PyObject_CallFunction(pyext.gpu_refused, "sssii", r->label, why, r->filename,
                                                     r->loc.line, 0)
                             : Py_NewRef(Py_None);
    if (!warned) {
        free(ptx);
        pyext_gpu_code_free(gcode);
        fe_result_free(&res);
        jit_ctx_free(ctx);
        pyext_compile_unlock();
        return NULL;
    }
    Py_DECREF(warned);
    int kept = (!ptx || pyext_region_keep_ptx(r, sig, ptx) == 0) && pyext_region_keep_notes(r, sig, res.notes) == 0;
    free(ptx);
    if (g == 0)
        r->compiles++;
    if (kept && g == 0 && cached) { /* the host part, for the cache */
        jit_compiled c;
        jit_options opt = {.keep_object = 1};
        char jerr[512];
        int rc;
        Py_BEGIN_ALLOW_THREADS
        rc = jit_host_add(host, ctx, res.module, symbol, &opt, &c, jerr, sizeof jerr);
        Py_END_ALLOW_THREADS
        if (rc == 0) {
            rg_entry e = {.gcode = gcode, .outtypes = res.outtypes, .listout_types = res.listout_types,
                          .written = res.written, .files = res.files, .nfiles = res.nfiles,
                          .nkinds = res.nkinds, .outitems = res.outitems, .notes = res.notes};
            memcpy(e.sig, sig, (size_t)r->pc.code.nargs * sizeof *sig);
            memcpy(e.kinds, res.kinds, sizeof e.kinds);
            snprintf(e.symbol, sizeof e.symbol, "%.63s", symbol);
            e.compile_ms = pyext_now_ms() - t0;
            pyext_region_store(r, &e, key, &c, gt);
            jit_host_remove(host, c.handle); /* nothing here runs it */
            free(c.object);
            free(c.bitcode);
        } else {
            pyext_cache_warn("pyacc: %s: the host part of its GPU code was not made: %s", r->label, jerr);
        }
    }
    pyext_gpu_code_free(gcode);
    fe_result_free(&res);
    jit_ctx_free(ctx);
    pyext_compile_unlock();
    if (!kept)
        return NULL;
    if (g < 0)
        return PyErr_Format(PyExc_RuntimeError, "pyacc: %s: %s", r->label, why);
    return PyBool_FromLong(g == 0);
}

