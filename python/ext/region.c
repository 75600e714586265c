/* region.c - pyacc._pyacc.Region: one compute region and its dispatcher.
 *
 * A Region holds the plain-C description of the region's code object (made
 * once), and a table of compiled entries keyed on the call's argument types
 * (four bytes an argument, compared as bytes).  A call classifies its
 * arguments, finds or compiles the entry, releases the GIL and runs it; a
 * region or signature the compiler cannot handle runs its Python function
 * instead, after one warning.
 */
#include "region.h"
#include "cache.h"

#include <structmember.h>

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void symbol_release(const char *name)
{
    for (int i = 0; i < nlive; i++)
        if (strcmp(live_symbols[i], name) == 0) {
            memcpy(live_symbols[i], live_symbols[--nlive], 64);
            return;
        }
}

static void free_entry(rg_entry *e)
{
    if (e->handle && pyext.host)
        jit_host_remove(pyext.host, e->handle);
    if (e->symbol[0])
        symbol_release(e->symbol);
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

static void region_dealloc(PyObject *self)
{
    rg_region *r = (rg_region *)self;
    if (r->weakreflist)
        PyObject_ClearWeakRefs(self);
    for (int i = 0; i < r->nentries; i++) {
        free_entry(r->entries[i]);
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
    Py_XDECREF(r->fglobals);
    Py_XDECREF(r->ptx);
    PyTypeObject *tp = Py_TYPE(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
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

/* Stores a new entry's payload under key; a failure costs a warning. */
void pyext_region_store(rg_region *r, const rg_entry *e, const char *key, const jit_compiled *out, const char *gt)
{
    jit_cache *c = pyext_cache();
    if (!c || !out->object)
        return;
    pyext_payload p = {
        .nargs = r->pc.code.nargs, .nouts = r->nouts, .nlistouts = r->nlistouts, .nkinds = e->nkinds,
        .nfiles = e->nfiles, .sig = e->sig, .outtypes = e->outtypes, .listout_types = e->listout_types,
        .written = e->written, .kinds = e->kinds, .outitems = e->outitems, .files = e->files,
        .notes = e->notes, .symbol = e->symbol, .object = out->object, .object_size = out->object_size,
        .bitcode = out->bitcode, .bitcode_size = out->bitcode_size,
        .ptx = e->gcode ? e->gcode->ptx : NULL, .nkernels = e->gcode ? e->gcode->nkernels : 0,
        .kernels = e->gcode ? e->gcode->kernels : NULL,
    };
    size_t size;
    void *data = pyext_payload_pack(&p, &size);
    if (!data)
        return;
    jit_cache_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.key, sizeof m.key, "%s", key);
    snprintf(m.qualname, sizeof m.qualname, "%s", r->qualname);
    snprintf(m.file, sizeof m.file, "%s", r->filename);
    m.line = r->loc.line;
    PyObject *sigs = pyext_region_signature(r, e->sig);
    const char *ss = sigs ? PyUnicode_AsUTF8AndSize(sigs, NULL) : NULL;
    snprintf(m.signature, sizeof m.signature, "%s", ss ? ss : "?");
    Py_XDECREF(sigs);
    PyErr_Clear();
    jit_host *h = pyext_host();
    snprintf(m.target, sizeof m.target, "%s %s%s%s", h ? jit_host_triple(h) : "?", h ? jit_host_cpu(h) : "?",
             gt ? " " : "", gt ? gt : "");
    m.compile_ms = e->compile_ms;
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
 * saving it to the disk cache under key (NULL: not cached). */
static rg_entry *compile_fresh(rg_region *r, const fe_argtype *sig, const char *key, const char *symbol, double t0,
                               rt_device *gpu)
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
    jit_compiled out;
    jit_options opt = {.keep_object = key != NULL};
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
        fe_result_free(&res);
        return NULL;
    }
    e->fn = (rg_fn)out.entry;
    e->gpu = gpu;
    e->gcode = gcode;
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
        pyext_region_store(r, e, key, &out, gpu ? gt : NULL);
    }
    free(out.object);
    free(out.bitcode);
    debug_notes(r, sig, e);
    r->compiles++;
    r->compile_ms += e->compile_ms;
    return e;
}

/* Compiles the region for sig, holding the compile lock: from the disk
 * cache when it has the entry, else from scratch (and into the cache).
 * Returns the new entry (maybe a fallback one) or NULL with an exception
 * set. */
static rg_entry *compile_entry_locked(rg_region *r, const fe_argtype *sig, rt_device *gpu)
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
    rg_entry *e = compile_fresh(r, sig, cached ? key : NULL, symbol, t0, gpu);
    jit_cache_unlock(lock);
    return e;
}

static rg_entry *find_entry(rg_region *r, const fe_argtype *sig, rt_device *gpu)
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
static rg_entry *compile_entry(rg_region *r, const fe_argtype *sig, rt_device *gpu)
{
    pyext_compile_lock();
    rg_entry *e = find_entry(r, sig, gpu);
    if (!e)
        e = compile_entry_locked(r, sig, gpu);
    pyext_compile_unlock();
    return e;
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
            snprintf(msg, sizeof msg, "%s", a == 1 ? "math range error"
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

static PyObject *region_call(PyObject *self, PyObject *args, PyObject *kw)
{
    rg_region *r = (rg_region *)self;
    if (kw && PyDict_Size(kw)) {
        PyErr_SetString(PyExc_TypeError, "pyacc regions take no keyword arguments");
        return NULL;
    }
    fe_argtype sig[RG_MAXARGS];
    int64_t slots[RG_MAXARGS + 3 * 64];
    pyext_arg a[RG_MAXARGS]; /* classify_all clears the ones it uses */
    int n = classify_all(r, args, sig, slots, a);
    if (n < 0)
        return NULL;
    rt_device *gpu = r->device == RG_DEVICE_HOST ? NULL : pyext_gpu_device(r->device);
    rg_entry *e = find_entry(r, sig, gpu);
    if (e && e->gcode && e->gcode->infos[0].generation != gpu->generation) {
        /* the GPU was shut down (acc_shutdown) and started again: its
         * kernels went with it; load them again (from the disk cache) */
        pyext_compile_lock();
        if (!e->stale) {
            jit_host_remove(pyext_host(), e->handle);
            e->handle = NULL;
            if (e->symbol[0])
                symbol_release(e->symbol);
            e->symbol[0] = 0;
            pyext_gpu_code_free(e->gcode);
            e->gcode = NULL;
            e->stale = 1;
        }
        pyext_compile_unlock();
        e = find_entry(r, sig, gpu);
    }
    if (e)
        r->memory_hits++;
    else if (!(e = compile_entry(r, sig, gpu))) {
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
    /* a host run while the arrays may be on the GPU: their copies agree */
    int synced = gpu && !e->gcode;
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
    if (e->gcode && e->gcode->kernels[0].serial) { /* the whole region on one GPU thread */
        int nslots = n + 3 * r->nouts + 2;
        Py_BEGIN_ALLOW_THREADS
        rc = pyext_gpu_serial(e->gcode, sig, a, n, nslots, slots, &err);
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
    rg_entry *e = find_entry(r, sig, NULL);
    if (!e && !(e = compile_entry(r, sig, NULL)))
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
        PyObject *t = s ? Py_BuildValue("(Nisdsdsd)", s, !e->fallback, "total_ms", e->compile_ms, "opt_ms",
                                        e->opt_ms, "codegen_ms", e->codegen_ms)
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
    PyObject *out = PyDict_New();
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
     "[(signature, compiled, 'total_ms', ms, 'opt_ms', ms, 'codegen_ms', ms)]"},
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
