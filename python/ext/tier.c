/* tier.c - tiered compilation of host regions.
 *
 * O3 with the vectorisers costs 20 to 35 ms for even a small region, most
 * of it LLVM's fixed costs per function, while the quick code (jit/host.c:
 * a few passes and the fast instruction selector) takes 4 to 6.  A
 * region's first call on little data gets the quick code and runs at
 * once; a background thread makes the O3 code from the same lowered module
 * and the entry switches to it when it is ready, so that later calls run
 * it (a call running meanwhile finishes on the quick code, which computes
 * the same results: both come from one lowering).  Only O3 code goes to
 * the disk cache: a later process loads it and never compiles.  A failed
 * O3 compile leaves the quick code in place, costing speed, not a result.
 *
 * "Little data": the largest extent of the call's array arguments (any
 * dimension) and ints (loop bounds), raised to the region's loop depth,
 * at most QUICK_WORK.  A first call on big data waits for O3, whose
 * compile is then small beside the run.
 *
 * PYACC_TIER: auto (the default) as above; optimised: always O3 before the
 * first call; quick: the quick code only, never replaced (to test it, or
 * where compile time is all that counts).
 *
 * The background thread takes no Python lock.  It writes an entry only
 * under `mu`, which the entry's owner takes to detach it before freeing it
 * (pyext_tier_detach); the entry's function pointer is atomic, read by
 * calls without the lock.  pyacc's exit hook (and a cache reset) waits for
 * the queue, so that what was compiled reaches the disk cache; a forked
 * child, which has no such thread, drops the queue and keeps its quick
 * code. */
#include "tier.h"

#include "cache.h"
#include "region.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define QUICK_WORK 65536.0

struct pyext_tier_job {
    struct pyext_tier_job *next;
    rg_entry *entry;         /* NULL once detached */
    void *source;
    size_t source_size;
    char symbol[96];
    char label[200];         /* the region's, for messages */
    jit_cache *cache;        /* where the O3 code is saved, or NULL */
    jit_cache_meta meta;
    void *payload;
    size_t payload_size;
    int lock;                /* the cache's lock on the key (jit_cache_lock), held till saved, or -1 */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER; /* a job queued, or stop */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* pending fell */
static pyext_tier_job *head, *tail;
static int pending;         /* queued or compiling */
static int busy;            /* the thread is compiling (outside mu) */
static int running, stopping;
static pthread_t worker;
static long long done_count, failed_count;
static double o3_total_ms;
static char last_error[512];
static char unreported[700]; /* the latest failure not yet warned about */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

int pyext_tier_mode(void)
{
    const char *v = getenv("PYACC_TIER");
    if (!v || !*v || !strcasecmp(v, "auto"))
        return PYEXT_TIER_AUTO;
    if (!strcasecmp(v, "quick") || !strcmp(v, "0"))
        return PYEXT_TIER_QUICK;
    return PYEXT_TIER_OPTIMISED; /* "optimised", "O3", anything else: the safe default of old */
}

int pyext_tier_quick(int64_t extent, int loop_depth)
{
    if (extent == INT64_MAX) /* compile() ahead of a call (`pyacc warmup`): what is cached */
        return 0;
    int mode = pyext_tier_mode();
    if (mode != PYEXT_TIER_AUTO)
        return mode == PYEXT_TIER_QUICK;
    double work = 1;
    for (int d = 0; d < loop_depth && work <= QUICK_WORK; d++)
        work *= (double)(extent > 1 ? extent : 1);
    return work <= QUICK_WORK;
}

/* Records a failure of j (mu held), for tier_info and one warning. */
static void failed(const pyext_tier_job *j, const char *what, const char *why)
{
    snprintf(last_error, sizeof last_error, "%.100s: %.400s", what, why);
    snprintf(unreported, sizeof unreported, "pyacc: %.190s: %.100s in the background failed (%.380s)", j->label,
             what, why);
}

static void job_free(pyext_tier_job *j)
{
    jit_cache_unlock(j->lock); /* other processes waiting for the key load it now */
    free(j->source);
    free(j->payload);
    free(j);
}

/* Saves the O3 code o of job j to its cache: j's payload with the object
 * code and optimised bitcode put in. */
static void store(pyext_tier_job *j, const jit_compiled *o, double o3_ms)
{
    pyext_payload p;
    char err[1024] = "";
    if (pyext_payload_unpack_codeless(j->payload, j->payload_size, &p) < 0) {
        pthread_mutex_lock(&mu);
        failed(j, "saving its optimised code to the disk cache", "the payload does not read back");
        pthread_mutex_unlock(&mu);
        return;
    }
    p.object = o->object;
    p.object_size = o->object_size;
    p.bitcode = o->bitcode;
    p.bitcode_size = o->bitcode_size;
    size_t size;
    void *data = pyext_payload_pack(&p, &size);
    pyext_payload_free(&p);
    j->meta.compile_ms += o3_ms;
    if (!data || jit_cache_put(j->cache, &j->meta, data, size, err, sizeof err)) {
        pthread_mutex_lock(&mu);
        failed(j, "saving its optimised code to the disk cache", data ? err : "out of memory");
        pthread_mutex_unlock(&mu);
    }
    free(data);
}

/* One job: O3 code made and added to the JIT, then the entry switched to
 * it (or, detached meanwhile, the code freed), then the cache written. */
static void run_job(pyext_tier_job *j)
{
    jit_host *h = pyext.host;
    jit_compiled o, added;
    char err[512];
    int rc = jit_host_build_object(h, j->source, j->source_size, j->cache != NULL, &o, err, sizeof err);
    if (!rc && jit_host_add_object(h, o.object, o.object_size, j->symbol, &added, err, sizeof err)) {
        free(o.object);
        free(o.bitcode);
        rc = -1;
    }
    double o3_ms = rc ? 0 : o.opt_ms + o.codegen_ms + added.codegen_ms;
    void *orphan = NULL;
    pthread_mutex_lock(&mu);
    if (rc) {
        failed_count++;
        failed(j, "making its optimised code", err);
        if (j->entry)
            j->entry->tier_job = NULL;
    } else {
        done_count++;
        o3_total_ms += o3_ms;
        rg_entry *e = j->entry;
        if (e) {
            e->handle = added.handle;
            e->o3_ms = o3_ms;
            e->quick = 0;
            e->tier_job = NULL;
            atomic_store_explicit(&e->fn, (rg_fn)added.entry, memory_order_release);
        } else {
            orphan = added.handle;
        }
    }
    pthread_mutex_unlock(&mu);
    if (orphan)
        jit_host_remove(h, orphan);
    if (!rc) {
        if (j->cache && j->payload)
            store(j, &o, o3_ms);
        free(o.object);
        free(o.bitcode);
    }
}

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!head && !stopping)
            pthread_cond_wait(&work_cv, &mu);
        if (!head)
            break;
        pyext_tier_job *j = head;
        if (!(head = j->next))
            tail = NULL;
        busy = 1;
        pthread_mutex_unlock(&mu);
        run_job(j);
        job_free(j);
        pthread_mutex_lock(&mu);
        busy = 0;
        pending--;
        pthread_cond_broadcast(&done_cv);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* A forked child has no background thread: the jobs it inherits are
 * dropped (their entries keep the quick code) and the lock made anew.  A
 * fork waits for the compile in flight, if any: forked in the middle of
 * it, the child would inherit the JIT's and LLVM's locks held by a thread
 * it does not have.  The thread then waits for mu, outside LLVM. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&mu);
    while (busy)
        pthread_cond_wait(&done_cv, &mu);
}
static void atfork_parent(void) { pthread_mutex_unlock(&mu); }

static void atfork_child(void)
{
    pthread_mutex_init(&mu, NULL);
    pthread_cond_init(&work_cv, NULL);
    pthread_cond_init(&done_cv, NULL);
    for (pyext_tier_job *j = head, *next; j; j = next) {
        next = j->next;
        if (j->entry)
            j->entry->tier_job = NULL;
        if (j->lock >= 0) /* closed, not unlocked: the lock is the parent's too */
            close(j->lock);
        j->lock = -1;
        job_free(j);
    }
    head = tail = NULL;
    pending = busy = 0;
    running = stopping = 0;
}

static void atfork_install(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

int pyext_tier_submit(rg_entry *e, const char *label, void *source, size_t source_size, const char *symbol,
                      jit_cache *c, const jit_cache_meta *meta, void *payload, size_t payload_size, int lock)
{
    pthread_once(&atfork_once, atfork_install);
    pyext_tier_job *j = calloc(1, sizeof *j);
    if (!j) {
        free(source);
        free(payload);
        jit_cache_unlock(lock);
        return -1;
    }
    j->lock = lock;
    j->entry = e;
    j->source = source;
    j->source_size = source_size;
    snprintf(j->symbol, sizeof j->symbol, "%s", symbol);
    snprintf(j->label, sizeof j->label, "%s", label);
    if (c && payload) {
        j->cache = c;
        j->meta = *meta;
        j->payload = payload;
        j->payload_size = payload_size;
    } else {
        free(payload);
    }
    pthread_mutex_lock(&mu);
    if (!running) {
        stopping = 0;
        if (pthread_create(&worker, NULL, worker_main, NULL)) {
            pthread_mutex_unlock(&mu);
            job_free(j);
            return -1;
        }
        running = 1;
    }
    e->tier_job = j;
    e->quick = 1;
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    pending++;
    pthread_cond_signal(&work_cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

void pyext_tier_detach(rg_entry *e)
{
    pthread_mutex_lock(&mu);
    if (e->tier_job)
        e->tier_job->entry = NULL;
    e->tier_job = NULL;
    pthread_mutex_unlock(&mu);
}

void pyext_tier_read(const rg_entry *e, int *quick, double *o3_ms)
{
    pthread_mutex_lock(&mu);
    *quick = e->quick;
    *o3_ms = e->o3_ms;
    pthread_mutex_unlock(&mu);
}

void pyext_tier_report(void)
{
    char msg[sizeof unreported];
    pthread_mutex_lock(&mu);
    memcpy(msg, unreported, sizeof msg);
    unreported[0] = 0;
    pthread_mutex_unlock(&mu);
    if (msg[0])
        pyext_cache_warn("%s", msg);
}

void pyext_tier_wait(void)
{
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&mu);
    while (pending > 0)
        pthread_cond_wait(&done_cv, &mu);
    pthread_mutex_unlock(&mu);
    Py_END_ALLOW_THREADS
    pyext_tier_report();
}

void pyext_tier_stop(void)
{
    pyext_tier_wait();
    pthread_mutex_lock(&mu);
    int join = running;
    stopping = 1;
    running = 0;
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&mu);
    if (join) {
        Py_BEGIN_ALLOW_THREADS
        pthread_join(worker, NULL);
        Py_END_ALLOW_THREADS
    }
}

static PyObject *tier_wait(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    pyext_tier_wait();
    Py_RETURN_NONE;
}

static PyObject *tier_info(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    static const char *const names[] = {[PYEXT_TIER_AUTO] = "auto", [PYEXT_TIER_OPTIMISED] = "optimised",
                                         [PYEXT_TIER_QUICK] = "quick"};
    pthread_mutex_lock(&mu);
    PyObject *r = Py_BuildValue("{s:s,s:i,s:L,s:L,s:d,s:s}", "mode", names[pyext_tier_mode()], "pending", pending,
                                "optimised", done_count, "failed", failed_count, "o3_ms", o3_total_ms,
                                "last_error", last_error);
    pthread_mutex_unlock(&mu);
    return r;
}

PyMethodDef pyext_tier_methods[] = {
    {"tier_wait", tier_wait, METH_NOARGS,
     "tier_wait(): waits until the regions' O3 code being made in the background is in place"},
    {"tier_info", tier_info, METH_NOARGS,
     "tier_info() -> {mode, pending, optimised, failed, o3_ms, last_error} of tiered compilation"},
    {NULL, NULL, 0, NULL},
};
