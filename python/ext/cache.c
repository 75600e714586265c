/* cache.c - the extension's side of the disk cache (the store itself is
 * jit/cache.c): where it lives, how a compiled entry is serialised, the
 * warnings its faults give, and the functions behind `pyacc cache`.
 *
 * A payload is a little-endian record, read back with every length
 * checked against what is left, so a damaged one that slipped past the
 * store's checksum is still refused and not trusted:
 *   u32 format, u32 nargs, nouts, nlistouts, nkinds, nfiles
 *   sig[nargs], outtypes[nouts], listout_types[nlistouts] (4 bytes each),
 *   written[nargs], kinds[16], outitems[nouts * FE_MAX_OUT_ITEMS]
 *   nfiles strings, notes, symbol (u32 length + bytes each)
 *   u64 object size + object, u64 bitcode size + bitcode
 */
#include "cache.h"
#include "tier.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD_FORMAT 2

static jit_cache *the_cache;
static int cache_tried;
static PyObject *warned; /* set of messages already given */

void pyext_cache_warn(const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    PyObject *exc_t, *exc_v, *exc_tb;
    PyErr_Fetch(&exc_t, &exc_v, &exc_tb); /* a warning must not clobber an exception in flight */
    PyObject *m = PyUnicode_FromString(msg);
    if (!warned)
        warned = PySet_New(NULL);
    if (m && warned && PySet_Contains(warned, m) == 0 && PySet_Add(warned, m) == 0 && pyext.cache_warning) {
        PyObject *r = PyObject_CallFunctionObjArgs(pyext.cache_warning, m, NULL);
        Py_XDECREF(r);
    }
    Py_XDECREF(m);
    PyErr_Clear(); /* an error from the warning itself (-W error) is not the caller's */
    PyErr_Restore(exc_t, exc_v, exc_tb);
}

/* PYACC_CACHE_SIZE: bytes, with an optional K, M or G. */
static int64_t size_limit(void)
{
    const char *s = getenv("PYACC_CACHE_SIZE");
    if (!s || !*s)
        return (int64_t)1 << 30;
    char *end;
    double v = strtod(s, &end);
    double mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024.0, end++;
    else if (*end == 'm' || *end == 'M')
        mult = 1024.0 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mult = 1024.0 * 1024 * 1024, end++;
    if (*end == 'b' || *end == 'B')
        end++;
    if (end == s || *end || v <= 0) {
        pyext_cache_warn("PYACC_CACHE_SIZE=%s is not a size (bytes, or with K, M, G): using 1 GiB", s);
        return (int64_t)1 << 30;
    }
    return (int64_t)(v * mult);
}

static int cache_dir(char *buf, size_t n)
{
    const char *d = getenv("PYACC_CACHE_DIR");
    if (d)
        return *d ? (snprintf(buf, n, "%s", d), 0) : -1; /* set but empty: no disk cache */
    const char *x = getenv("XDG_CACHE_HOME");
    if (x && *x) {
        snprintf(buf, n, "%s/pyacc", x);
        return 0;
    }
    const char *home = getenv("HOME");
    if (!home || !*home)
        return -1;
    snprintf(buf, n, "%s/.cache/pyacc", home);
    return 0;
}

jit_cache *pyext_cache(void)
{
    if (cache_tried)
        return the_cache;
    cache_tried = 1;
    char dir[4096], err[1024];
    if (cache_dir(dir, sizeof dir))
        return NULL;
    the_cache = jit_cache_open(dir, size_limit(), err, sizeof err);
    if (!the_cache)
        pyext_cache_warn("pyacc: no disk cache (%s); compiled code lasts only as long as the process", err);
    else if (jit_cache_note(the_cache))
        pyext_cache_warn("pyacc: %s", jit_cache_note(the_cache));
    return the_cache;
}

/* ------------------------------------------------------------ payloads */

typedef struct wbuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *w, const void *src, size_t n)
{
    if (w->oom)
        return;
    if (w->n + n > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->n + n)
            cap *= 2;
        unsigned char *q = realloc(w->p, cap);
        if (!q) {
            w->oom = 1;
            return;
        }
        w->p = q;
        w->cap = cap;
    }
    if (n)
        memcpy(w->p + w->n, src, n);
    w->n += n;
}

static void put_u32(wbuf *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(wbuf *w, uint64_t v) { put(w, &v, 8); }
static void put_str(wbuf *w, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : 0;
    put_u32(w, n);
    put(w, s, n);
}

void *pyext_payload_pack(const pyext_payload *p, size_t *size)
{
    wbuf w = {0};
    put_u32(&w, PAYLOAD_FORMAT);
    put_u32(&w, (uint32_t)p->nargs);
    put_u32(&w, (uint32_t)p->nouts);
    put_u32(&w, (uint32_t)p->nlistouts);
    put_u32(&w, (uint32_t)p->nkinds);
    put_u32(&w, (uint32_t)p->nfiles);
    put(&w, p->sig, (size_t)p->nargs * sizeof *p->sig);
    put(&w, p->outtypes, (size_t)p->nouts * sizeof(fe_argtype));
    put(&w, p->listout_types, (size_t)p->nlistouts * sizeof(fe_argtype));
    put(&w, p->written, (size_t)p->nargs);
    put(&w, p->kinds, 16 * sizeof(fe_argtype));
    put(&w, p->outitems, (size_t)p->nouts * FE_MAX_OUT_ITEMS * sizeof(fe_argtype));
    for (int i = 0; i < p->nfiles; i++)
        put_str(&w, p->files[i]);
    put_str(&w, p->notes);
    put_str(&w, p->symbol);
    put_u64(&w, p->object_size);
    put(&w, p->object, p->object_size);
    put_u64(&w, p->bitcode_size);
    put(&w, p->bitcode, p->bitcode_size);
    put_str(&w, p->ptx);
    put_u32(&w, (uint32_t)p->nkernels);
    put_u32(&w, (uint32_t)sizeof(jit_gpu_kernel));
    put(&w, p->kernels, (size_t)p->nkernels * sizeof(jit_gpu_kernel));
    if (w.oom) {
        free(w.p);
        return NULL;
    }
    *size = w.n;
    return w.p;
}

typedef struct rbuf {
    const unsigned char *p;
    size_t n, at;
    int bad;
} rbuf;

static const void *take(rbuf *r, size_t n)
{
    if (r->bad || n > r->n - r->at) {
        r->bad = 1;
        return NULL;
    }
    const void *q = r->p + r->at;
    r->at += n;
    return q;
}

static uint32_t take_u32(rbuf *r)
{
    uint32_t v = 0;
    const void *q = take(r, 4);
    if (q)
        memcpy(&v, q, 4);
    return v;
}

static uint64_t take_u64(rbuf *r)
{
    uint64_t v = 0;
    const void *q = take(r, 8);
    if (q)
        memcpy(&v, q, 8);
    return v;
}

static char *take_str(rbuf *r)
{
    uint32_t n = take_u32(r);
    const char *q = take(r, n);
    if (!q)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = 1;
        return NULL;
    }
    memcpy(s, q, n);
    s[n] = 0;
    return s;
}

static int unpack(const void *data, size_t size, pyext_payload *p, int codeless);

int pyext_payload_unpack(const void *data, size_t size, pyext_payload *p) { return unpack(data, size, p, 0); }

int pyext_payload_unpack_codeless(const void *data, size_t size, pyext_payload *p)
{
    return unpack(data, size, p, 1);
}

static int unpack(const void *data, size_t size, pyext_payload *p, int codeless)
{
    memset(p, 0, sizeof *p);
    rbuf r = {data, size, 0, 0};
    if (take_u32(&r) != PAYLOAD_FORMAT)
        return -1;
    p->nargs = (int)take_u32(&r);
    p->nouts = (int)take_u32(&r);
    p->nlistouts = (int)take_u32(&r);
    p->nkinds = (int)take_u32(&r);
    p->nfiles = (int)take_u32(&r);
    if (r.bad || p->nargs < 0 || p->nargs > 4096 || p->nouts < 0 || p->nouts > 64 || p->nlistouts < 0 ||
        p->nlistouts > 4096 || p->nkinds < 0 || p->nkinds > 16 || p->nfiles < 0 || p->nfiles > 4096)
        return -1;
    p->sig = take(&r, (size_t)p->nargs * sizeof(fe_argtype));
    p->outtypes = take(&r, (size_t)p->nouts * sizeof(fe_argtype));
    p->listout_types = take(&r, (size_t)p->nlistouts * sizeof(fe_argtype));
    p->written = take(&r, (size_t)p->nargs);
    p->kinds = take(&r, 16 * sizeof(fe_argtype));
    p->outitems = take(&r, (size_t)p->nouts * FE_MAX_OUT_ITEMS * sizeof(fe_argtype));
    char **files = calloc((size_t)p->nfiles + 1, sizeof *files);
    if (!files)
        return -1;
    p->files = files;
    for (int i = 0; i < p->nfiles && !r.bad; i++)
        files[i] = take_str(&r);
    p->notes = take_str(&r);
    p->symbol = take_str(&r);
    p->object_size = take_u64(&r);
    p->object = take(&r, p->object_size);
    p->bitcode_size = take_u64(&r);
    p->bitcode = take(&r, p->bitcode_size);
    p->ptx = take_str(&r);
    p->nkernels = (int)take_u32(&r);
    if (take_u32(&r) != sizeof(jit_gpu_kernel) || p->nkernels < 0 || p->nkernels > JIT_GPU_MAX_KERNELS)
        r.bad = 1;
    else
        p->kernels = take(&r, (size_t)p->nkernels * sizeof(jit_gpu_kernel));
    /* the object must at least be an ELF file */
    if (r.bad || r.at != r.n || !p->symbol || !*p->symbol ||
        (codeless ? p->object_size != 0 : p->object_size < 64 || memcmp(p->object, "\x7f" "ELF", 4) != 0)) {
        pyext_payload_free(p);
        return -1;
    }
    return 0;
}

void pyext_payload_free(pyext_payload *p)
{
    for (int i = 0; p->files && i < p->nfiles; i++)
        free(p->files[i]);
    free((void *)p->files);
    free((void *)p->notes);
    free((void *)p->symbol);
    free((void *)p->ptx);
    p->files = NULL;
    p->notes = p->symbol = p->ptx = NULL;
}

/* ----------------------------------------------------- `pyacc cache` */

static jit_cache *cache_or_raise(void)
{
    jit_cache *c = pyext_cache();
    if (!c)
        PyErr_SetString(PyExc_RuntimeError, "pyacc: there is no disk cache (PYACC_CACHE_DIR is empty, or the "
                                            "directory cannot be used)");
    return c;
}

static PyObject *meta_dict(const jit_cache_meta *m)
{
    return Py_BuildValue("{sssssssisssssLsdsLsLsL}", "key", m->key, "qualname", m->qualname, "file", m->file,
                         "line", m->line, "signature", m->signature, "target", m->target, "size",
                         (long long)m->size, "compile_ms", m->compile_ms, "created", (long long)m->created,
                         "last_used", (long long)m->last_used, "hits", (long long)m->hits);
}

/* cache_info() -> {dir, read_only, limit} or None */
static PyObject *cache_info(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    jit_cache *c = pyext_cache();
    if (!c)
        Py_RETURN_NONE;
    return Py_BuildValue("{sssisL}", "dir", jit_cache_dir(c), "read_only", jit_cache_read_only(c), "limit",
                         (long long)size_limit());
}

/* cache_list(prefix='') -> [dict] */
static PyObject *cache_list(PyObject *self, PyObject *args)
{
    (void)self;
    const char *prefix = "";
    if (!PyArg_ParseTuple(args, "|s", &prefix))
        return NULL;
    jit_cache *c = cache_or_raise();
    if (!c)
        return NULL;
    jit_cache_meta *all;
    int n;
    char err[512];
    if (jit_cache_list(c, prefix, &all, &n, err, sizeof err)) {
        PyErr_Format(PyExc_RuntimeError, "pyacc: %s", err);
        return NULL;
    }
    PyObject *l = PyList_New(0);
    for (int i = 0; l && i < n; i++) {
        PyObject *d = meta_dict(&all[i]);
        if (!d || PyList_Append(l, d) < 0)
            Py_CLEAR(l);
        Py_XDECREF(d);
    }
    free(all);
    return l;
}

/* cache_clear(older_than_days=0) -> removed */
static PyObject *cache_clear(PyObject *self, PyObject *args)
{
    (void)self;
    double days = 0;
    if (!PyArg_ParseTuple(args, "|d", &days))
        return NULL;
    jit_cache *c = cache_or_raise();
    if (!c)
        return NULL;
    int removed;
    char err[512];
    if (jit_cache_clear(c, days, &removed, err, sizeof err)) {
        PyErr_Format(PyExc_RuntimeError, "pyacc: %s", err);
        return NULL;
    }
    return PyLong_FromLong(removed);
}

static int check_payload(const jit_cache_meta *m, const void *data, size_t size, void *arg, char *why,
                         size_t whylen)
{
    (void)m;
    (void)arg;
    pyext_payload p;
    if (pyext_payload_unpack(data, size, &p)) {
        snprintf(why, whylen, "its contents are not a compiled entry this pyacc can read");
        return -1;
    }
    pyext_payload_free(&p);
    return 0;
}

static void report_bad(const jit_cache_meta *m, const char *why, void *arg)
{
    PyObject *l = arg, *t = Py_BuildValue("(ss)", m->key, why);
    if (t)
        PyList_Append(l, t);
    Py_XDECREF(t);
}

/* cache_verify() -> (checked, [(key, why)]) */
static PyObject *cache_verify(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    jit_cache *c = cache_or_raise();
    if (!c)
        return NULL;
    PyObject *bad_list = PyList_New(0);
    if (!bad_list)
        return NULL;
    int checked, bad;
    char err[512];
    if (jit_cache_verify(c, check_payload, report_bad, bad_list, &checked, &bad, err, sizeof err)) {
        Py_DECREF(bad_list);
        PyErr_Format(PyExc_RuntimeError, "pyacc: %s", err);
        return NULL;
    }
    return Py_BuildValue("(iN)", checked, bad_list);
}

/* cache_show(key_prefix, what) -> (dict, text or None); what: "", "llvm", "asm" */
static PyObject *cache_show(PyObject *self, PyObject *args)
{
    (void)self;
    const char *prefix, *what = "";
    if (!PyArg_ParseTuple(args, "s|s", &prefix, &what))
        return NULL;
    jit_cache *c = cache_or_raise();
    if (!c)
        return NULL;
    jit_cache_meta *all;
    int n;
    char err[1024];
    if (!*prefix || jit_cache_list(c, prefix, &all, &n, err, sizeof err)) {
        PyErr_Format(PyExc_KeyError, "no cache entry %s", prefix);
        return NULL;
    }
    if (n != 1) {
        free(all);
        if (n)
            PyErr_Format(PyExc_KeyError, "%d cache entries start with %s: give more of the key", n, prefix);
        else
            PyErr_Format(PyExc_KeyError, "no cache entry starts with %s", prefix);
        return NULL;
    }
    PyObject *meta = meta_dict(&all[0]);
    char key[129];
    snprintf(key, sizeof key, "%s", all[0].key);
    free(all);
    if (!meta || !*what)
        return meta ? Py_BuildValue("(NO)", meta, Py_None) : NULL;
    void *data = NULL;
    size_t size = 0;
    int rc = jit_cache_read(c, key, &data, &size, err, sizeof err);
    pyext_payload p;
    if (rc != 1 || pyext_payload_unpack(data, size, &p)) {
        free(data);
        Py_DECREF(meta);
        PyErr_Format(PyExc_RuntimeError, "pyacc: cache entry %s cannot be read%s%s", key, rc < 0 ? ": " : "",
                     rc < 0 ? err : "");
        return NULL;
    }
    if (strcmp(what, "ptx") == 0) { /* a GPU entry's kernels, as stored */
        PyObject *res = p.ptx && *p.ptx ? Py_BuildValue("(Ns)", meta, p.ptx) : NULL;
        if (!res && !PyErr_Occurred()) {
            Py_DECREF(meta);
            PyErr_Format(PyExc_RuntimeError, "pyacc: cache entry %s holds no GPU code", key);
        }
        pyext_payload_free(&p);
        free(data);
        return res;
    }
    char *text = NULL;
    jit_host *h = pyext_host();
    if (h && p.bitcode_size)
        text = jit_bitcode_text(h, p.bitcode, p.bitcode_size, strcmp(what, "asm") == 0, err, sizeof err);
    pyext_payload_free(&p);
    free(data);
    if (!h) {
        Py_DECREF(meta);
        return NULL;
    }
    if (!text) {
        Py_DECREF(meta);
        PyErr_Format(PyExc_RuntimeError, "pyacc: %s", p.bitcode_size ? err : "the entry holds no bitcode");
        return NULL;
    }
    PyObject *res = Py_BuildValue("(Ns)", meta, text);
    free(text);
    return res;
}

/* cache_reset(): close the store, so that the next use opens it again
 * (PYACC_CACHE_DIR read anew); forget which warnings were given. */
static PyObject *cache_reset(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    pyext_tier_wait(); /* its compiles save to the store being closed */
    jit_cache_close(the_cache);
    the_cache = NULL;
    cache_tried = 0;
    Py_CLEAR(warned);
    Py_RETURN_NONE;
}

PyMethodDef pyext_cache_methods[] = {
    {"cache_info", cache_info, METH_NOARGS, "cache_info() -> {dir, read_only, limit} or None"},
    {"cache_list", cache_list, METH_VARARGS, "cache_list([key_prefix]) -> [entry]"},
    {"cache_clear", cache_clear, METH_VARARGS, "cache_clear([older_than_days]) -> entries removed"},
    {"cache_verify", cache_verify, METH_NOARGS, "cache_verify() -> (checked, [(key, why)])"},
    {"cache_show", cache_show, METH_VARARGS, "cache_show(key_prefix[, 'llvm'|'asm']) -> (entry, text)"},
    {"cache_reset", cache_reset, METH_NOARGS, "close the cache; the next use opens it again"},
    {NULL, NULL, 0, NULL},
};
