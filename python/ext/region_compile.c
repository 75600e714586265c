/* region_compile.c - a Region's compiled entries: lowering a signature,
 * compiling it for the host (and a GPU), loading it from and storing it
 * to the disk cache, the entry table, and the lock that keeps compiles one
 * at a time in the process.  region.c calls it for each call's signature.
 */
#include "region.h"
#include "cache.h"
#include "tier.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Entry symbols named after cache keys that are loaded now: ORC refuses a
 * second definition, so such a key is compiled again under a fresh name
 * instead of being loaded twice.  Touched with the GIL held. */
static char (*live_symbols)[64];
static int nlive, caplive;

int pyext_symbol_live(const char *name)
{
    for (int i = 0; i < nlive; i++)
        if (strcmp(live_symbols[i], name) == 0)
            return 1;
    return 0;
}

static void symbol_hold(const char *name)
{
    if (nlive == caplive) {
        int cap = caplive ? 2 * caplive : 16;
        void *v = PyMem_Realloc(live_symbols, (size_t)cap * sizeof *live_symbols);
        if (!v)
            return; /* then a later load of the same key fails and compiles: still right */
        live_symbols = v;
        caplive = cap;
    }
    snprintf(live_symbols[nlive++], 64, "%s", name);
}

void pyext_symbol_release(const char *name)
{
    for (int i = 0; i < nlive; i++)
        if (strcmp(live_symbols[i], name) == 0) {
            memcpy(live_symbols[i], live_symbols[--nlive], 64);
            return;
        }
}

void pyext_region_entry_free(rg_entry *e)
{
    pyext_tier_detach(e); /* before reading handle, which its O3 code may have just set */
    if (e->handle && pyext.host)
        jit_host_remove(pyext.host, e->handle);
    if (e->quick_handle && pyext.host)
        jit_host_remove(pyext.host, e->quick_handle);
    if (e->symbol[0])
        pyext_symbol_release(e->symbol);
    free(e->outtypes);
    free(e->outitems);
    free(e->notes);
    free(e->listout_types);
    free(e->written);
    for (int i = 0; e->files && i < e->nfiles; i++)
        free(e->files[i]);
    free(e->files);
    pyext_gpu_code_free(e->gcode);
}

/* ------------------------------------------------------------ compile */

double pyext_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Raises or warns for a region that cannot compile for this signature;
 * returns 0 when it should run in the interpreter instead. */
int pyext_region_report(rg_region *r, const fe_error *err)
{
    PyObject *res;
    if (err->status == FE_ERR_TYPE) {
        res = PyObject_CallFunction(pyext.type_error, "ssiii", err->msg, err->file[0] ? err->file : r->filename,
                                    err->loc.line, err->loc.col, err->loc.end_col);
        if (res) {
            PyErr_SetObject((PyObject *)Py_TYPE(res), res);
            Py_DECREF(res);
        }
        return -1;
    }
    if (err->status == FE_ERR_NOMEM) {
        PyErr_NoMemory();
        return -1;
    }
    /* the hook warns once per region, or raises under strict */
    res = PyObject_CallFunction(pyext.unsupported, "sssiiiii", r->label, err->msg,
                                err->file[0] ? err->file : r->filename,
                                err->loc.line ? err->loc.line : r->loc.line, err->loc.col, r->strict,
                                r->warned, err->status == FE_ERR_INTERNAL);
    if (!res)
        return -1;
    Py_DECREF(res);
    r->warned = 1;
    return 0;
}

static rg_entry *new_entry(rg_region *r, const fe_argtype *sig)
{
    if (r->nentries == r->capentries) {
        int cap = r->capentries ? 2 * r->capentries : 4;
        rg_entry **es = PyMem_Realloc(r->entries, (size_t)cap * sizeof *es);
        if (!es) {
            PyErr_NoMemory();
            return NULL;
        }
        r->entries = es;
        r->capentries = cap;
    }
    rg_entry *e = PyMem_Calloc(1, sizeof *e);
    if (!e) {
        PyErr_NoMemory();
        return NULL;
    }
    r->entries[r->nentries++] = e;
    memcpy(e->sig, sig, (size_t)r->pc.code.nargs * sizeof *sig);
    for (int i = 0; i < r->pc.code.nargs; i++)
        e->device_args |= sig[i].kind == FE_ARG_ARRAY && (sig[i].layout & FE_LAYOUT_DEVICE);
    return e;
}

/* Lowers the region for sig into a fresh context; on success *ctx and
 * res->module are the caller's. */
fe_status pyext_region_lower(rg_region *r, const fe_argtype *sig, const char *symbol, jit_ctx **ctx,
                           fe_result *res, fe_error *err)
{
    pyext_globals g;
    if (pyext_globals_resolve(&g, &r->pc, r->fglobals) < 0) {
        pyext_globals_clear(&g, &r->pc);
        return FE_ERR_INTERNAL;
    }
    fe_region reg = {
        .optable = pyext.optable,
        .code = &r->pc.code,
        .argtypes = sig,
        .construct = r->construct,
        .loc = r->loc,
        .nloops = r->nloops,
        .loops = r->loops,
        .nlistouts = r->nlistouts,
        .listouts = r->listouts,
        .nouts = r->nouts,
        .natomics = r->natomics,
        .atomics = r->atomics,
        .threads_param = r->threads_param,
        .shape_param = r->shape_param,
        .symbol = symbol,
        .boundscheck = r->boundscheck,
    };
    *ctx = jit_ctx_new();
    fe_status st;
    if (!*ctx) {
        st = fe_error_set(err, FE_ERR_NOMEM, r->loc, "out of memory");
    } else {
        Py_BEGIN_ALLOW_THREADS
        st = fe_lower_region(&reg, jit_ctx_llvm(*ctx), res, err);
        Py_END_ALLOW_THREADS
    }
    pyext_globals_clear(&g, &r->pc);
    return st;
}


/* Prints what PYACC_DEBUG asks for about a new entry: its notes. */
static void debug_notes(rg_region *r, const fe_argtype *sig, const rg_entry *e)
{
    if (!e->notes || !getenv("PYACC_DEBUG") || !*getenv("PYACC_DEBUG") || !strcmp(getenv("PYACC_DEBUG"), "0"))
        return;
    PyObject *sigs = pyext_region_signature(r, sig);
    const char *line = e->notes;
    while (sigs && *line) {
        const char *end = strchr(line, '\n');
        int len = end ? (int)(end - line) : (int)strlen(line);
        PyObject *text = PyUnicode_FromStringAndSize(line, len);
        if (text)
            PySys_FormatStderr("pyacc: %s %U: %U\n", r->filename, sigs, text);
        Py_XDECREF(text);
        line += len + (end != NULL);
    }
    Py_XDECREF(sigs);
    PyErr_Clear();
}

/* The cache key of the region for sig on this host (64 hex digits), from
 * pyacc.regions.entry_key: the region's code and pragmas, what its globals
 * and the functions it calls are now, sig, the target and the versions.
 * -1 (no exception left) when it cannot be made. */
/* The disk cache key of the entry for sig on the host, or with its loops
 * on the GPU that gt names (pyext_gpu_target); 0, or -1 (warned). */
int pyext_region_key(rg_region *r, const fe_argtype *sig, const char *gt, char *key)
{
    jit_host *h = pyext_host();
    if (!h || !pyext.entry_key) {
        PyErr_Clear();
        return -1;
    }
    PyObject *target = PyUnicode_FromFormat("%s %s %s%s%s", jit_host_triple(h), jit_host_cpu(h),
                                            jit_host_features(h), gt ? " " : "", gt ? gt : "");
    PyObject *sigb = PyBytes_FromStringAndSize((const char *)sig, (Py_ssize_t)r->pc.code.nargs * (Py_ssize_t)sizeof *sig);
    PyObject *res = target && sigb ? PyObject_CallFunction(pyext.entry_key, "sOOO", r->static_key, r->func, sigb, target)
                                   : NULL;
    Py_XDECREF(target);
    Py_XDECREF(sigb);
    const char *k = res ? PyUnicode_AsUTF8AndSize(res, NULL) : NULL;
    int ok = k && strlen(k) == 64;
    if (ok)
        memcpy(key, k, 65);
    if (!ok && PyErr_Occurred()) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyObject *vs = v ? PyObject_Str(v) : NULL;
        const char *msg = vs ? PyUnicode_AsUTF8AndSize(vs, NULL) : NULL;
        pyext_cache_warn("pyacc: %s is not cached: its key could not be made (%s)", r->label, msg ? msg : "?");
        Py_XDECREF(vs);
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
        PyErr_Clear();
    }
    Py_XDECREF(res);
    return ok ? 0 : -1;
}

static void *dup_mem(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

static rg_entry *load_entry(rg_region *r, const fe_argtype *sig, rt_device *gpu, const void *data, size_t size,
                            char *why, size_t whylen)
{
    pyext_payload p;
    if (pyext_payload_unpack(data, size, &p)) {
        snprintf(why, whylen, "its contents do not read back");
        return NULL;
    }
    int nargs = r->pc.code.nargs;
    if (p.nargs != nargs || p.nouts != r->nouts || p.nlistouts != r->nlistouts ||
        memcmp(p.sig, sig, (size_t)nargs * sizeof *sig) != 0) {
        pyext_payload_free(&p);
        snprintf(why, whylen, "it was made for another signature");
        return NULL;
    }
    if (!gpu != !(p.ptx && *p.ptx) && !(gpu && p.nkernels == 0)) {
        pyext_payload_free(&p);
        snprintf(why, whylen, "it was made for another target");
        return NULL;
    }
    pyext_gpu_code *gcode = NULL;
    jit_compiled out;
    char jerr[512];
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    if (p.nkernels)
        rc = pyext_gpu_load(gpu, p.ptx, p.kernels, p.nkernels, r->loc.line, &gcode, jerr, sizeof jerr);
    if (!rc)
        rc = jit_host_add_object(pyext_host(), p.object, p.object_size, p.symbol, &out, jerr, sizeof jerr);
    if (!rc && gcode && (rc = pyext_gpu_bind(gcode, pyext_host(), p.symbol, jerr, sizeof jerr)))
        jit_host_remove(pyext_host(), out.handle);
    Py_END_ALLOW_THREADS
    if (rc) {
        pyext_gpu_code_free(gcode);
        snprintf(why, whylen, "%s", jerr);
        pyext_payload_free(&p);
        return NULL;
    }
    rg_entry *e = gcode && pyext_region_keep_ptx(r, sig, gcode->ptx) < 0 ? NULL : new_entry(r, sig);
    if (!e) {
        pyext_gpu_code_free(gcode);
        jit_host_remove(pyext_host(), out.handle);
        pyext_payload_free(&p);
        PyErr_Clear();
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    e->fn = (rg_fn)out.entry;
    e->handle = out.handle;
    e->gpu = gpu;
    e->gcode = gcode;
    e->outtypes = dup_mem(p.outtypes, (size_t)p.nouts * sizeof(fe_argtype));
    e->listout_types = dup_mem(p.listout_types, (size_t)p.nlistouts * sizeof(fe_argtype));
    e->written = dup_mem(p.written, (size_t)nargs);
    e->outitems = dup_mem(p.outitems, (size_t)p.nouts * FE_MAX_OUT_ITEMS * sizeof(fe_argtype));
    memcpy(e->kinds, p.kinds, sizeof e->kinds);
    e->nkinds = p.nkinds;
    e->files = (char **)p.files; /* taken over */
    e->nfiles = p.nfiles;
    p.files = NULL;
    p.nfiles = 0;
    e->notes = (char *)p.notes;
    p.notes = NULL;
    snprintf(e->symbol, sizeof e->symbol, "%s", p.symbol);
    symbol_hold(e->symbol);
    pyext_payload_free(&p);
    e->codegen_ms = out.codegen_ms;
    return e;
}

/* A new entry's payload, with out's code, and its metadata *m for the
 * disk cache under key (NULL when out of memory). */
static void *region_payload(rg_region *r, const rg_entry *e, const char *key, const jit_compiled *out,
                            const char *gt, jit_cache_meta *m, size_t *size)
{
    pyext_payload p = {
        .nargs = r->pc.code.nargs, .nouts = r->nouts, .nlistouts = r->nlistouts, .nkinds = e->nkinds,
        .nfiles = e->nfiles, .sig = e->sig, .outtypes = e->outtypes, .listout_types = e->listout_types,
        .written = e->written, .kinds = e->kinds, .outitems = e->outitems, .files = e->files,
        .notes = e->notes, .symbol = e->symbol, .object = out->object, .object_size = out->object_size,
        .bitcode = out->bitcode, .bitcode_size = out->bitcode_size,
        .ptx = e->gcode ? e->gcode->ptx : NULL, .nkernels = e->gcode ? e->gcode->nkernels : 0,
        .kernels = e->gcode ? e->gcode->kernels : NULL,
    };
    void *data = pyext_payload_pack(&p, size);
    if (!data)
        return NULL;
    memset(m, 0, sizeof *m);
    snprintf(m->key, sizeof m->key, "%s", key);
    snprintf(m->qualname, sizeof m->qualname, "%s", r->qualname);
    snprintf(m->file, sizeof m->file, "%s", r->filename);
    m->line = r->loc.line;
    PyObject *sigs = pyext_region_signature(r, e->sig);
    const char *ss = sigs ? PyUnicode_AsUTF8AndSize(sigs, NULL) : NULL;
    snprintf(m->signature, sizeof m->signature, "%s", ss ? ss : "?");
    Py_XDECREF(sigs);
    PyErr_Clear();
    jit_host *h = pyext_host();
    snprintf(m->target, sizeof m->target, "%s %s%s%s", h ? jit_host_triple(h) : "?", h ? jit_host_cpu(h) : "?",
             gt ? " " : "", gt ? gt : "");
    m->compile_ms = e->compile_ms;
    return data;
}

/* Stores a new entry's payload under key; a failure costs a warning. */
void pyext_region_store(rg_region *r, const rg_entry *e, const char *key, const jit_compiled *out, const char *gt)
{
    jit_cache *c = pyext_cache();
    if (!c || !out->object)
        return;
    jit_cache_meta m;
    size_t size;
    void *data = region_payload(r, e, key, out, gt, &m, &size);
    if (!data)
        return;
    char err[1024];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = jit_cache_put(c, &m, data, size, err, sizeof err);
    Py_END_ALLOW_THREADS
    free(data);
    if (rc)
        pyext_cache_warn("pyacc: compiled code was not saved to the disk cache: %s", err);
}

/* Lowers and compiles the region for sig under the entry name symbol,
 * saving it to the disk cache under key (NULL: not cached); quick: the
 * quick code now, O3 in the background (tier.c; the host's only), which
 * then takes *lock (the cache's lock on key) and sets it to -1. */
static rg_entry *compile_fresh(rg_region *r, const fe_argtype *sig, const char *key, const char *symbol, double t0,
                               rt_device *gpu, int quick, int *lock)
{
    jit_host *host = pyext_host();
    jit_ctx *ctx = NULL;
    fe_result res;
    fe_error err;
    fe_status st = pyext_region_lower(r, sig, symbol, &ctx, &res, &err);
    if (st == FE_ERR_INTERNAL && PyErr_Occurred()) {
        jit_ctx_free(ctx);
        return NULL;
    }
    rg_entry *e = NULL;
    if (st != FE_OK) {
        jit_ctx_free(ctx);
        if (pyext_region_report(r, &err) < 0)
            return NULL;
        if ((e = new_entry(r, sig))) {
            e->fallback = 1;
            e->gpu = gpu;
        }
        return e;
    }
    pyext_gpu_code *gcode = NULL;
    int relower = 0;
    if (gpu && pyext_region_gpu_build(r, sig, host, &res, symbol, gpu, &gcode, &relower) < 0) {
        jit_ctx_free(ctx);
        fe_result_free(&res);
        return NULL;
    }
    if (relower) { /* host code from a fresh lowering */
        jit_ctx_free(ctx);
        fe_result_free(&res);
        if (pyext_region_lower(r, sig, symbol, &ctx, &res, &err) != FE_OK) {
            jit_ctx_free(ctx);
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_RuntimeError, "pyacc: %s: lowering again failed: %s", r->label, err.msg);
            return NULL;
        }
    }
    quick = quick && !gcode;
    jit_compiled out;
    jit_options opt = {.keep_object = key != NULL && !quick, .quick = quick, .keep_source = quick};
    char jerr[512];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = jit_host_add(host, ctx, res.module, symbol, &opt, &out, jerr, sizeof jerr);
    Py_END_ALLOW_THREADS
    jit_ctx_free(ctx);
    if (rc) {
        pyext_gpu_code_free(gcode);
        fe_result_free(&res);
        fe_error jit_err;
        fe_error_set(&jit_err, FE_ERR_INTERNAL, r->loc, "%s", jerr);
        if (pyext_region_report(r, &jit_err) < 0)
            return NULL;
        if ((e = new_entry(r, sig))) {
            e->fallback = 1;
            e->gpu = gpu;
        }
        return e;
    }
    char bwhy[300];
    if (gcode && pyext_gpu_bind(gcode, host, symbol, bwhy, sizeof bwhy)) {
        pyext_gpu_code_free(gcode);
        jit_host_remove(host, out.handle);
        free(out.object);
        free(out.bitcode);
        fe_result_free(&res);
        PyErr_Format(PyExc_RuntimeError, "pyacc: %s: %s", r->label, bwhy);
        return NULL;
    }
    if (!(e = new_entry(r, sig))) {
        pyext_gpu_code_free(gcode);
        jit_host_remove(host, out.handle);
        free(out.object);
        free(out.bitcode);
        free(out.source);
        fe_result_free(&res);
        return NULL;
    }
    e->fn = (rg_fn)out.entry;
    e->gpu = gpu;
    e->gcode = gcode;
    if (quick)
        e->quick_handle = out.handle;
    else
        e->handle = out.handle;
    e->outtypes = res.outtypes;
    e->listout_types = res.listout_types;
    e->written = res.written;
    e->files = res.files;
    e->nfiles = res.nfiles;
    memcpy(e->kinds, res.kinds, sizeof e->kinds);
    e->nkinds = res.nkinds;
    e->outitems = res.outitems;
    e->notes = res.notes;
    res.outitems = NULL;
    res.notes = NULL;
    res.files = NULL;
    res.nfiles = 0;
    res.outtypes = NULL;
    res.listout_types = NULL;
    res.written = NULL;
    fe_result_free(&res);
    e->compile_ms = pyext_now_ms() - t0;
    e->opt_ms = out.opt_ms;
    e->codegen_ms = out.codegen_ms;
    if (key) {
        snprintf(e->symbol, sizeof e->symbol, "%.63s", symbol);
        symbol_hold(e->symbol);
        char gt[64];
        if (gpu)
            pyext_gpu_target(gpu, gt, sizeof gt);
        if (!quick)
            pyext_region_store(r, e, key, &out, gpu ? gt : NULL);
    }
    if (quick && pyext_tier_mode() == PYEXT_TIER_QUICK) { /* the quick code for good */
        e->quick = 1;
        free(out.source);
        out.source = NULL;
    } else if (quick) { /* the O3 code, made in the background, replaces it (and is what is cached) */
        jit_cache *c = key ? pyext_cache() : NULL;
        jit_cache_meta m;
        size_t size = 0;
        void *data = c ? region_payload(r, e, key, &out, NULL, &m, &size) : NULL;
        int held = *lock;
        *lock = -1;
        if (pyext_tier_submit(e, r->label, out.source, out.source_size, symbol, data ? c : NULL, &m, data, size,
                              held))
            pyext_cache_warn("pyacc: %s: no memory for its optimised compile; its quick code stays", r->label);
        out.source = NULL;
    }
    free(out.object);
    free(out.bitcode);
    debug_notes(r, sig, e);
    r->compiles++;
    r->compile_ms += e->compile_ms;
    return e;
}

/* How deep r's loops nest (pyacc.regions.loop_depth), asked once, when it
 * first compiles: the names it calls are bound by then.  Unknown: as if
 * deep, so that O3 comes first. */
static int loop_depth(rg_region *r)
{
    if (r->loop_depth < 0) {
        PyObject *code = PyObject_GetAttrString(r->func, "__code__");
        PyObject *d = code ? PyObject_CallFunction(pyext.loop_depth, "OO", code, r->fglobals) : NULL;
        long v = d ? PyLong_AsLong(d) : -1;
        Py_XDECREF(code);
        Py_XDECREF(d);
        if (v < 0 || PyErr_Occurred()) {
            PyErr_Clear();
            v = 8;
        }
        r->loop_depth = (int)v;
    }
    return r->loop_depth;
}

/* Compiles the region for sig, holding the compile lock: from the disk
 * cache when it has the entry, else from scratch (and into the cache).
 * Returns the new entry (maybe a fallback one) or NULL with an exception
 * set. */
static rg_entry *compile_entry_locked(rg_region *r, const fe_argtype *sig, rt_device *gpu, int64_t extent)
{
    jit_host *host = pyext_host();
    if (!host)
        return NULL;
    double t0 = pyext_now_ms();
    char key[65] = "", symbol[96];
    char gt[64];
    if (gpu)
        pyext_gpu_target(gpu, gt, sizeof gt);
    int cached = r->use_cache && pyext_cache() && pyext_region_key(r, sig, gpu ? gt : NULL, key) == 0;
    if (cached) {
        snprintf(symbol, sizeof symbol, "pyacc_%.40s", key);
        if (pyext_symbol_live(symbol))
            cached = 0; /* loaded already (a twin region): a fresh name, no cache */
    }
    int lock = -1;
    if (cached) {
        void *data = NULL;
        size_t size = 0;
        char err[1024];
        int rc;
        jit_cache *c = pyext_cache();
        Py_BEGIN_ALLOW_THREADS
        rc = jit_cache_get(c, key, &data, &size, err, sizeof err);
        if (rc == 0) {
            /* a miss: compile it here unless another process is doing so
             * (then wait for it, and load what it made) */
            lock = jit_cache_lock(c, key);
            rc = jit_cache_get(c, key, &data, &size, err, sizeof err);
        }
        Py_END_ALLOW_THREADS
        if (rc < 0)
            pyext_cache_warn("pyacc: %s: %s; compiling it again", r->label, err);
        if (rc == 1) {
            rg_entry *e = load_entry(r, sig, gpu, data, size, err, sizeof err);
            free(data);
            if (e) {
                jit_cache_unlock(lock);
                e->compile_ms = pyext_now_ms() - t0;
                r->disk_hits++;
                debug_notes(r, sig, e);
                return e;
            }
            pyext_cache_warn("pyacc: %s: cache entry %.16s... was dropped: %s; compiling it again", r->label, key,
                             err);
            jit_cache_drop(c, key);
        }
    }
    if (!cached)
        snprintf(symbol, sizeof symbol, "pyacc_region_%lld", ++pyext_symbol_counter);
    int quick = !gpu && pyext_tier_quick(extent, loop_depth(r));
    rg_entry *e = compile_fresh(r, sig, cached ? key : NULL, symbol, t0, gpu, quick, &lock);
    jit_cache_unlock(lock);
    return e;
}

rg_entry *pyext_region_find(rg_region *r, const fe_argtype *sig, rt_device *gpu)
{
    size_t n = (size_t)r->pc.code.nargs * sizeof *sig;
    if (r->mru < r->nentries && r->entries[r->mru]->gpu == gpu && !r->entries[r->mru]->stale &&
        memcmp(r->entries[r->mru]->sig, sig, n) == 0)
        return r->entries[r->mru];
    for (int i = 0; i < r->nentries; i++)
        if (r->entries[i]->gpu == gpu && !r->entries[i]->stale && memcmp(r->entries[i]->sig, sig, n) == 0) {
            r->mru = i;
            return r->entries[i];
        }
    return NULL;
}

/* Compiles run one at a time in the process: they release the GIL while
 * LLVM works, and two threads meeting the same new signature must not both
 * add it.  Recursive, since a warning hook a compile calls could, in
 * principle, call a region that needs compiling too. */
static pthread_mutex_t compile_mutex;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void compile_mutex_init(void)
{
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&compile_mutex, &at);
    pthread_mutexattr_destroy(&at);
}

/* A child forked while another thread compiled gets the lock afresh: that
 * thread does not exist there. */
static void compile_mutex_first_init(void)
{
    compile_mutex_init();
    pthread_atfork(NULL, NULL, compile_mutex_init);
}

void pyext_compile_lock(void)
{
    pthread_once(&compile_once, compile_mutex_first_init);
    if (pthread_mutex_trylock(&compile_mutex) == 0)
        return;
    Py_BEGIN_ALLOW_THREADS /* wait without the GIL: the holder may need it */
    pthread_mutex_lock(&compile_mutex);
    Py_END_ALLOW_THREADS
}

void pyext_compile_unlock(void)
{
    pthread_mutex_unlock(&compile_mutex);
}

/* The entry for sig, compiled now unless another thread did it meanwhile;
 * NULL with an exception set. */
rg_entry *pyext_region_entry(rg_region *r, const fe_argtype *sig, rt_device *gpu, int64_t extent)
{
    pyext_compile_lock();
    rg_entry *e = pyext_region_find(r, sig, gpu);
    if (!e) {
        pyext_tier_report();
        e = compile_entry_locked(r, sig, gpu, extent);
    }
    pyext_compile_unlock();
    return e;
}
