/* queues.c - OpenACC async queues: the "async queues" section of rt.h.
 *
 * Owns the queues (async numbers >= 0, and the default queue that
 * acc_async_noval names), their worker threads, the default async number,
 * waits and tests, the faults tasks leave, and the ordering of a back end's
 * stream operations with host tasks on the same queue.
 *
 * Design.  A queue is a FIFO of tasks (a C function and its context) and
 * two counters, tasks submitted and tasks completed; a wait snapshots the
 * first and sleeps until the second reaches it, so a wait covers exactly
 * the work queued before it, whatever is queued meanwhile.  One worker
 * thread serves a queue while it has work and lingers LINGER_MS after, so
 * that a loop of async regions does not pay a thread start per region, and
 * then exits: an idle program holds no threads, and one that never uses
 * async never starts one (no queue exists, and every wait returns after one
 * atomic load).  Queues overlap with each other and with the caller, as
 * OpenACC intends for the host device too.
 *
 * A back end with streams (a GPU) gets each queue's copies on a stream of
 * its own; host tasks on the queue sync the stream before they run, and a
 * copy issued while host tasks are pending is itself queued as a task, so
 * the queue's order holds across both kinds of work.
 *
 * Queues are never freed (a program names a handful of async numbers), so
 * the list of queues can be walked without a lock once its head is read.
 */
#include "rt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long an idle worker waits for more work before it exits.  Starting a
 * thread costs tens of microseconds; an async region every few
 * milliseconds then keeps one worker. */
#define LINGER_MS 100

typedef struct task {
    rt_task_fn fn;
    void *ctx;
    void (*free_ctx)(void *);
    struct task *next;
} task;

typedef struct queue {
    int32_t id;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the worker waits here for tasks */
    pthread_cond_t done; /* waiters wait here for completions */
    task *head, *tail;
    uint64_t submitted, completed;
    int worker;          /* a worker thread serves the queue */
    int faulted;         /* `fault` holds a failure no wait has reported */
    rt_fault fault;
    rt_device *sdev;     /* the device `stream` belongs to */
    void *stream;
    struct queue *next;
} queue;

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_cv = PTHREAD_COND_INITIALIZER; /* a worker exited */
static _Atomic(queue *) queues;
static atomic_int workers;
static atomic_int draining;
static atomic_int default_async = RT_ASYNC_NOVAL;
static _Thread_local queue *tl_queue; /* the queue whose task this thread runs */

void rt_queue_atfork(int phase)
{
    if (phase == 0) {
        pthread_mutex_lock(&reg_mu);
    } else if (phase == 1) {
        pthread_mutex_unlock(&reg_mu);
    } else {
        /* The child has none of the workers: its queues start afresh (the
         * old ones, and the work they held, stay behind unfreed). */
        pthread_mutex_init(&reg_mu, NULL);
        pthread_cond_init(&reg_cv, NULL);
        atomic_store(&queues, NULL);
        atomic_store(&workers, 0);
        atomic_store(&draining, 0);
        tl_queue = NULL;
    }
}

int32_t rt_queue_resolve(int32_t async, int32_t *queue)
{
    if (async == RT_ASYNC_NOVAL)
        *queue = atomic_load_explicit(&default_async, memory_order_relaxed);
    else if (async >= 0 || async == RT_ASYNC_SYNC)
        *queue = async;
    else
        return rt_fail(RT_ACC_INVALID,
                       "%d is not an async queue (a number >= 0, acc_async_noval or "
                       "acc_async_sync)",
                       (int)async);
    return RT_ACC_OK;
}

int32_t rt_queue_get_default(void) { return atomic_load(&default_async); }

int32_t rt_queue_set_default(int32_t async)
{
    if (async < RT_ASYNC_SYNC)
        return rt_fail(RT_ACC_INVALID, "acc_set_default_async: %d is not an async queue",
                       (int)async);
    atomic_store(&default_async, async);
    return RT_ACC_OK;
}

int32_t rt_queue_workers(void) { return atomic_load(&workers); }

/* The queue with this (resolved) id; made when `create`.  NULL when absent,
 * or (with a fault) out of memory. */
static queue *get_queue(int32_t id, int create)
{
    queue *q = atomic_load_explicit(&queues, memory_order_acquire);
    for (; q; q = q->next)
        if (q->id == id)
            return q;
    if (!create)
        return NULL;
    pthread_mutex_lock(&reg_mu);
    for (q = atomic_load(&queues); q; q = q->next) /* made meanwhile? */
        if (q->id == id)
            break;
    if (!q && (q = calloc(1, sizeof *q)) != NULL) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_mutex_init(&q->mu, NULL);
        pthread_cond_init(&q->work, &ca);
        pthread_cond_init(&q->done, NULL);
        pthread_condattr_destroy(&ca);
        q->id = id;
        q->fault.item = -1;
        q->next = atomic_load(&queues);
        atomic_store_explicit(&queues, q, memory_order_release);
    }
    pthread_mutex_unlock(&reg_mu);
    if (!q)
        rt_fail(RT_ACC_NO_MEMORY, "out of memory making async queue %d", (int)id);
    return q;
}

static void *worker_main(void *arg)
{
    queue *q = arg;
    tl_queue = q;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (!q->head) {
            struct timespec dl;
            clock_gettime(CLOCK_MONOTONIC, &dl);
            dl.tv_nsec += (long)LINGER_MS * 1000000L;
            dl.tv_sec += dl.tv_nsec / 1000000000L;
            dl.tv_nsec %= 1000000000L;
            while (!q->head && !atomic_load(&draining))
                if (pthread_cond_timedwait(&q->work, &q->mu, &dl) == ETIMEDOUT)
                    break;
            if (!q->head)
                break;
        }
        task *t = q->head;
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        int skip = q->faulted;
        void *stream = q->stream;
        rt_device *sdev = q->sdev;
        pthread_mutex_unlock(&q->mu);

        int32_t st = RT_ACC_OK;
        if (!skip) {
            if (stream)
                st = sdev->be->stream_sync(sdev->dev, stream);
            if (!st)
                st = t->fn(t->ctx);
        }
        if (t->free_ctx)
            t->free_ctx(t->ctx);
        free(t);
        rt_fault f = {.item = -1};
        if (st) {
            rt_fault_take(&f);
            if (!f.status) { /* a task that failed without saying why */
                f.status = st;
                snprintf(f.msg, sizeof f.msg, "a task on async queue %d failed (status %d)",
                         (int)q->id, (int)st);
            }
        }

        pthread_mutex_lock(&q->mu);
        if (st && !q->faulted) {
            q->fault = f;
            q->faulted = 1;
            f.detail = NULL; /* the queue owns it now */
        }
        q->completed++;
        pthread_cond_broadcast(&q->done);
        if (f.detail) { /* a second failure: dropped, outside the lock (see rt_fault_clear) */
            pthread_mutex_unlock(&q->mu);
            rt_fault_clear(&f);
            pthread_mutex_lock(&q->mu);
        }
    }
    q->worker = 0;
    pthread_mutex_unlock(&q->mu);
    pthread_mutex_lock(&reg_mu);
    atomic_fetch_sub(&workers, 1);
    pthread_cond_broadcast(&reg_cv);
    pthread_mutex_unlock(&reg_mu);
    return NULL;
}

/* Appends t to q (q->mu held) and makes sure a worker serves q.  On
 * failure t is not queued (the caller frees it). */
static int32_t enqueue_locked(queue *q, task *t)
{
    t->next = NULL;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
    q->submitted++;
    if (q->worker) {
        pthread_cond_signal(&q->work);
        return RT_ACC_OK;
    }
    /* Without a worker the queue was empty, so t is its only task. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Signals stay with the threads that expect them (Python's main one). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    atomic_fetch_add(&workers, 1);
    pthread_t th;
    int e = pthread_create(&th, &attr, worker_main, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (e) {
        atomic_fetch_sub(&workers, 1);
        q->head = q->tail = NULL;
        q->submitted--;
        return rt_fail(RT_ACC_NO_MEMORY, "cannot start a worker thread for async queue %d: %s",
                       (int)q->id, strerror(e));
    }
    q->worker = 1;
    return RT_ACC_OK;
}

/* rt_queue_submit for a resolved id. */
static int32_t submit_id(int32_t id, rt_task_fn fn, void *ctx, void (*free_ctx)(void *))
{
    if (id == RT_ASYNC_SYNC) {
        int32_t st = fn(ctx);
        if (free_ctx) {
            rt_fault f;
            rt_fault_take(&f); /* free_ctx may call into the runtime */
            free_ctx(ctx);
            rt_fault_put(&f);
        }
        return st;
    }
    queue *q = get_queue(id, 1);
    task *t = q ? malloc(sizeof *t) : NULL;
    int32_t st = !q ? RT_ACC_NO_MEMORY
                 : !t ? rt_fail(RT_ACC_NO_MEMORY, "out of memory queueing a task")
                      : RT_ACC_OK;
    if (!st) {
        *t = (task){fn, ctx, free_ctx, NULL};
        pthread_mutex_lock(&q->mu);
        st = enqueue_locked(q, t);
        pthread_mutex_unlock(&q->mu);
        if (!st)
            return RT_ACC_OK;
        free(t);
    }
    if (free_ctx)
        free_ctx(ctx);
    return st;
}

int32_t rt_queue_submit(int32_t async, rt_task_fn fn, void *ctx, void (*free_ctx)(void *))
{
    int32_t id;
    int32_t st = rt_queue_resolve(async, &id);
    if (st) {
        if (free_ctx)
            free_ctx(ctx);
        return st;
    }
    return submit_id(id, fn, ctx, free_ctx);
}

/* ------------------------------------------------------------- copies */

typedef struct copy_ctx {
    rt_device *d;
    int32_t kind;
    uintptr_t dst, src;
    size_t bytes;
    void *stream;
} copy_ctx;

static int32_t do_copy(rt_device *d, int32_t kind, uintptr_t dst, uintptr_t src, size_t bytes,
                       void *stream)
{
    const rt_backend *be = d->be;
    switch (kind) {
    case 0:
        return be->copy_in(d->dev, dst, (const void *)src, bytes, stream);
    case 1:
        return be->copy_out(d->dev, (void *)dst, src, bytes, stream);
    case 2:
        return be->copy_device(d->dev, dst, src, bytes, stream);
    default:
        return rt_fail(RT_ACC_INVALID, "%d is not a copy direction", (int)kind);
    }
}

static int32_t copy_task(void *ctx)
{
    copy_ctx *c = ctx;
    return do_copy(c->d, c->kind, c->dst, c->src, c->bytes, c->stream);
}

void *rt_queue_stream(rt_device *d)
{
    queue *q = tl_queue;
    if (!q || !d->be->stream_create)
        return NULL;
    pthread_mutex_lock(&q->mu);
    if (!q->stream) {
        if (d->be->stream_create(d->dev, &q->stream) == RT_ACC_OK) {
            q->sdev = d;
        } else { /* the caller then works synchronously: a question, not a failure */
            rt_fault f;
            rt_fault_take(&f);
            rt_fault_clear(&f);
        }
    }
    void *s = q->stream && q->sdev == d ? q->stream : NULL;
    pthread_mutex_unlock(&q->mu);
    return s;
}

int32_t rt_queue_copy(rt_device *d, int32_t async, int32_t kind, uintptr_t dst, uintptr_t src,
                      size_t bytes)
{
    int32_t id;
    int32_t st = rt_queue_resolve(async, &id);
    if (st)
        return st;
    if (id == RT_ASYNC_SYNC)
        return do_copy(d, kind, dst, src, bytes, NULL);
    copy_ctx *c = malloc(sizeof *c);
    if (!c)
        return rt_fail(RT_ACC_NO_MEMORY, "out of memory queueing a copy");
    *c = (copy_ctx){d, kind, dst, src, bytes, NULL};
    if (!d->be->stream_create) /* no streams: the queue's worker copies */
        return submit_id(id, copy_task, c, free);

    queue *q = get_queue(id, 1);
    if (!q) {
        free(c);
        return RT_ACC_NO_MEMORY;
    }
    pthread_mutex_lock(&q->mu);
    if (q->stream && q->sdev != d) { /* the queue moves to another device */
        q->sdev->be->stream_sync(q->sdev->dev, q->stream);
        q->sdev->be->stream_destroy(q->sdev->dev, q->stream);
        q->stream = NULL;
    }
    if (!q->stream && (st = d->be->stream_create(d->dev, &q->stream)) == RT_ACC_OK)
        q->sdev = d;
    if (!st) {
        c->stream = q->stream;
        if (q->submitted != q->completed) { /* after the host tasks pending */
            task *t = malloc(sizeof *t);
            if (!t) {
                st = rt_fail(RT_ACC_NO_MEMORY, "out of memory queueing a copy");
            } else {
                *t = (task){copy_task, c, free, NULL};
                if ((st = enqueue_locked(q, t)) == RT_ACC_OK)
                    c = NULL; /* the task owns it */
                else
                    free(t);
            }
        } else {
            st = do_copy(d, kind, dst, src, bytes, q->stream);
        }
    }
    pthread_mutex_unlock(&q->mu);
    free(c);
    return st;
}

/* ------------------------------------------------------- waits and tests */

/* Blocks until the work queued on q before the call is done (stream
 * included).  With take_fault, moves a kept fault to the calling thread
 * and returns its status. */
static int32_t wait_queue(queue *q, int take_fault)
{
    pthread_mutex_lock(&q->mu);
    uint64_t target = q->submitted;
    while (q->completed < target)
        pthread_cond_wait(&q->done, &q->mu);
    void *stream = q->stream;
    rt_device *sdev = q->sdev;
    rt_fault f = {.item = -1};
    if (take_fault && q->faulted) {
        f = q->fault;
        q->fault = (rt_fault){.item = -1};
        q->faulted = 0;
    }
    pthread_mutex_unlock(&q->mu);
    int32_t st = stream ? sdev->be->stream_sync(sdev->dev, stream) : RT_ACC_OK;
    if (f.status) {
        st = f.status;
        rt_fault_put(&f);
    }
    return st;
}

int32_t rt_queue_wait(int32_t async)
{
    int32_t id;
    int32_t st = rt_queue_resolve(async, &id);
    if (st || id == RT_ASYNC_SYNC)
        return st;
    if (tl_queue && tl_queue->id == id)
        return rt_fail(RT_ACC_INVALID, "a task of async queue %d waits for its own queue",
                       (int)id);
    queue *q = get_queue(id, 0);
    return q ? wait_queue(q, 1) : RT_ACC_OK;
}

int rt_queue_any(void)
{
    return atomic_load_explicit(&queues, memory_order_acquire) != NULL;
}

int32_t rt_queue_wait_all(void)
{
    queue *head = atomic_load_explicit(&queues, memory_order_acquire);
    if (!head)
        return RT_ACC_OK;
    for (queue *q = head; q; q = q->next)
        if (q != tl_queue) /* a task cannot wait for itself */
            wait_queue(q, 0);
    /* One fault per call: the rest stay for later waits. */
    for (queue *q = head; q; q = q->next) {
        pthread_mutex_lock(&q->mu);
        int faulted = q->faulted;
        rt_fault f = q->fault;
        if (faulted) {
            q->fault = (rt_fault){.item = -1};
            q->faulted = 0;
        }
        pthread_mutex_unlock(&q->mu);
        if (faulted) {
            int32_t st = f.status;
            rt_fault_put(&f);
            return st;
        }
    }
    return RT_ACC_OK;
}

static int queue_idle(queue *q)
{
    pthread_mutex_lock(&q->mu);
    int idle = q->completed == q->submitted;
    void *stream = q->stream;
    rt_device *sdev = q->sdev;
    pthread_mutex_unlock(&q->mu);
    if (idle && stream && sdev->be->stream_done)
        idle = sdev->be->stream_done(sdev->dev, stream);
    return idle;
}

int32_t rt_queue_test(int32_t async)
{
    int32_t id;
    if (rt_queue_resolve(async, &id))
        return -RT_ACC_INVALID;
    queue *q = id == RT_ASYNC_SYNC ? NULL : get_queue(id, 0);
    return q ? queue_idle(q) : 1;
}

int32_t rt_queue_test_all(void)
{
    for (queue *q = atomic_load_explicit(&queues, memory_order_acquire); q; q = q->next) {
        int idle = queue_idle(q);
        if (idle != 1)
            return idle;
    }
    return 1;
}

typedef struct waitfor_ctx {
    queue *q;
    uint64_t target;
} waitfor_ctx;

static int32_t waitfor_task(void *ctx)
{
    waitfor_ctx *w = ctx;
    queue *q = w->q;
    pthread_mutex_lock(&q->mu);
    while (q->completed < w->target)
        pthread_cond_wait(&q->done, &q->mu);
    void *stream = q->stream;
    rt_device *sdev = q->sdev;
    pthread_mutex_unlock(&q->mu);
    return stream ? sdev->be->stream_sync(sdev->dev, stream) : RT_ACC_OK;
}

/* Makes queue `on` (resolved, async) wait for the work now on q. */
static int32_t wait_on(queue *q, int32_t on)
{
    pthread_mutex_lock(&q->mu);
    uint64_t target = q->submitted;
    int idle = q->completed >= target && !q->stream;
    pthread_mutex_unlock(&q->mu);
    if (idle)
        return RT_ACC_OK;
    waitfor_ctx *w = malloc(sizeof *w);
    if (!w)
        return rt_fail(RT_ACC_NO_MEMORY, "out of memory queueing a wait");
    *w = (waitfor_ctx){q, target};
    return submit_id(on, waitfor_task, w, free);
}

int32_t rt_queue_wait_async(int32_t async, int32_t on_async)
{
    int32_t id, on;
    int32_t st = rt_queue_resolve(async, &id);
    if (!st)
        st = rt_queue_resolve(on_async, &on);
    if (st)
        return st;
    if (on == RT_ASYNC_SYNC)
        return rt_queue_wait(async);
    if (id == on || id == RT_ASYNC_SYNC) /* a queue runs in order anyway */
        return RT_ACC_OK;
    queue *q = get_queue(id, 0);
    return q ? wait_on(q, on) : RT_ACC_OK;
}

int32_t rt_queue_wait_all_async(int32_t on_async)
{
    int32_t on;
    int32_t st = rt_queue_resolve(on_async, &on);
    if (st)
        return st;
    if (on == RT_ASYNC_SYNC)
        return rt_queue_wait_all();
    for (queue *q = atomic_load_explicit(&queues, memory_order_acquire); q && !st; q = q->next)
        if (q->id != on)
            st = wait_on(q, on);
    return st;
}

int32_t rt_queue_shutdown(void)
{
    queue *head = atomic_load_explicit(&queues, memory_order_acquire);
    if (!head)
        return RT_ACC_OK;
    atomic_store(&draining, 1); /* idle workers exit at once */
    int32_t st = rt_queue_wait_all();
    rt_fault kept = {.item = -1};
    if (st)
        rt_fault_take(&kept);
    for (queue *q = head; q; q = q->next) {
        pthread_mutex_lock(&q->mu);
        pthread_cond_broadcast(&q->work);
        pthread_mutex_unlock(&q->mu);
    }
    pthread_mutex_lock(&reg_mu);
    while (atomic_load(&workers) > (tl_queue ? 1 : 0))
        pthread_cond_wait(&reg_cv, &reg_mu);
    pthread_mutex_unlock(&reg_mu);
    for (queue *q = head; q; q = q->next) {
        pthread_mutex_lock(&q->mu);
        if (q->stream) {
            q->sdev->be->stream_destroy(q->sdev->dev, q->stream);
            q->stream = NULL;
            q->sdev = NULL;
        }
        pthread_mutex_unlock(&q->mu);
    }
    atomic_store(&draining, 0);
    if (st)
        rt_fault_put(&kept);
    return st;
}
