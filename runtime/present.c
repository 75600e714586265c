/* present.c - the OpenACC data environment: the "present table" section of
 * rt.h.
 *
 * Owns each device's present table (entries keyed by host range, with
 * their device address, structured and dynamic reference counts), the
 * attach counts of pointers inside present data, the blocks acc_malloc
 * handed out, and every data clause and data routine built on them:
 * structured enter/exit (data and compute constructs), enter/exit data,
 * update, map/unmap, is_present, deviceptr/hostptr, acc_malloc/acc_free and
 * acc_memcpy_*.  Device memory is reached only through the device's back
 * end (rt_backend), and async copies only through queues.c, so the same
 * code serves the host (shared memory: nothing moves) and a discrete GPU.
 *
 * Representation.  Entries never overlap, so a table is an array sorted by
 * host address and a lookup is a binary search: acc_is_present and the
 * per-item work of a compute region's data clauses stay at tens of
 * nanoseconds for the handful to thousands of entries programs make.
 * Inserting shifts the tail, which is cheap at those sizes.  Nothing
 * outside this file holds a pointer into the array: a construct's exit finds
 * its entries again by address, and a table epoch (moved on by shutdown)
 * tells it when they are gone.
 *
 * Locking: one mutex per table, taken by every call; copies to and from a
 * discrete device happen under it (lock order: devices, then a table, then
 * the queues), which serialises data movement on one device.
 */
#include "rt.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_MAPPED 1u /* made by acc_map_data: kept until acc_unmap_data, never freed */

/* rt_data_item.done bits: what an enter did, so that the exit (or the
 * rollback of a failed batch) undoes exactly that. */
#define DONE_SREF 1u
#define DONE_DREF 2u
#define DONE_ATTACH 4u

typedef struct entry {
    uintptr_t host, dev;
    size_t bytes;
    int64_t sref, dref;
    uint32_t flags;
} entry;

typedef struct attach_rec {
    uintptr_t slot; /* host address of the pointer */
    int64_t count;
} attach_rec;

typedef struct block {
    uintptr_t dev;
    size_t bytes;
} block;

struct rt_table {
    pthread_mutex_t mu;
    entry *e;
    size_t n, cap;
    attach_rec *a;
    size_t na, capa;
    block *b;
    size_t nb, capb;
    uint64_t epoch;
    struct rt_table *next; /* every table, for fork */
};

static pthread_mutex_t tables_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rt_table *tables;

struct rt_table *rt_table_new(void)
{
    struct rt_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->epoch = 1;
    pthread_mutex_lock(&tables_mu);
    t->next = tables;
    tables = t;
    pthread_mutex_unlock(&tables_mu);
    return t;
}

/* Called by device.c's fork handlers, inside the device lock (the lock
 * order): 0 before fork, 1 in the parent after, 2 in the child. */
void rt_present_atfork(int phase)
{
    if (phase == 0) {
        pthread_mutex_lock(&tables_mu);
        for (struct rt_table *t = tables; t; t = t->next)
            pthread_mutex_lock(&t->mu);
        return;
    }
    for (struct rt_table *t = tables; t; t = t->next) {
        if (phase == 1)
            pthread_mutex_unlock(&t->mu);
        else
            pthread_mutex_init(&t->mu, NULL);
    }
    if (phase == 1)
        pthread_mutex_unlock(&tables_mu);
    else
        pthread_mutex_init(&tables_mu, NULL);
}

const char *rt_clause_name(int32_t clause)
{
    static const char *const names[RT_CLAUSE_COUNT_] = {
        "copy",    "copyin", "copyout", "create", "no_create", "present",
        "deviceptr", "attach", "detach", "delete", "update self", "update device"};
    return clause >= 0 && clause < RT_CLAUSE_COUNT_ ? names[clause] : "an unknown clause";
}

/* Grows *arr (of *cap elements of size sz) to hold one more. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 1;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, c * sz);
    if (!p)
        return 0;
    *arr = p;
    *cap = c;
    return 1;
}

/* ---------------------------------------------------------------- lookup */

enum { FOUND, ABSENT, PARTIAL };

/* Where [h, h+bytes) stands (bytes 0 counts as 1): inside entry *idx,
 * absent, or overlapping entry *idx without lying inside it. */
static int find(const struct rt_table *t, uintptr_t h, size_t bytes, size_t *idx)
{
    size_t len = bytes ? bytes : 1;
    size_t lo = 0, hi = t->n;
    while (lo < hi) { /* first entry starting after h */
        size_t mid = lo + (hi - lo) / 2;
        if (t->e[mid].host <= h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        const entry *e = &t->e[lo - 1];
        if (h - e->host < e->bytes) {
            *idx = lo - 1;
            return h - e->host + len <= e->bytes ? FOUND : PARTIAL;
        }
    }
    if (lo < t->n && t->e[lo].host - h < len) {
        *idx = lo;
        return PARTIAL;
    }
    *idx = lo; /* where an entry for h would go */
    return ABSENT;
}

static size_t attach_find(const struct rt_table *t, uintptr_t slot, int *found)
{
    size_t lo = 0, hi = t->na;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->a[mid].slot < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < t->na && t->a[lo].slot == slot;
    return lo;
}

static int32_t fail_absent(const rt_device *d, uintptr_t h, size_t bytes)
{
    return rt_fail(RT_ACC_NOT_PRESENT, "%zu bytes at %#lx are not present on the %s device",
                   bytes, (unsigned long)h, d->be->name);
}

static int32_t fail_partial(const rt_device *d, const struct rt_table *t, size_t i, uintptr_t h,
                            size_t bytes)
{
    const entry *e = &t->e[i];
    return rt_fail(RT_ACC_PARTIAL,
                   "%zu bytes at %#lx are partially present on the %s device: they overlap "
                   "the %zu bytes at %#lx there without lying inside them",
                   bytes, (unsigned long)h, d->be->name, e->bytes, (unsigned long)e->host);
}

static int32_t check_range(const rt_data_item *it)
{
    if (it->clause < 0 || it->clause >= RT_CLAUSE_COUNT_)
        return rt_fail(RT_ACC_INVALID, "%d is not a data clause", (int)it->clause);
    if (!it->host && (it->bytes || it->clause == RT_CLAUSE_ATTACH ||
                      it->clause == RT_CLAUSE_DETACH))
        return rt_fail(RT_ACC_INVALID, "%s of a null host address", rt_clause_name(it->clause));
    if ((uintptr_t)it->host + it->bytes < (uintptr_t)it->host)
        return rt_fail(RT_ACC_INVALID, "%zu bytes at %p run past the end of memory", it->bytes,
                       it->host);
    return RT_ACC_OK;
}

/* ------------------------------------------------- device memory, copies */

typedef struct free_ctx {
    rt_device *d;
    uintptr_t dptr;
} free_ctx;

static int32_t free_task(void *ctx)
{
    free_ctx *c = ctx;
    return c->d->be->free(c->d->dev, c->dptr);
}

static int is_sync(int32_t queue)
{
    int32_t q;
    return rt_queue_resolve(queue, &q) != RT_ACC_OK || q == RT_ASYNC_SYNC;
}

/* Frees device memory, after the work queued on `queue` so far when async
 * (a copy-out of it may still be in flight). */
static void release_dev(rt_device *d, uintptr_t dptr, int32_t queue)
{
    if (!is_sync(queue)) {
        free_ctx *c = malloc(sizeof *c);
        if (c) {
            c->d = d;
            c->dptr = dptr;
            if (rt_queue_submit(queue, free_task, c, free) == RT_ACC_OK)
                return;
        }
        /* No memory for a task: freeing now (a copy-out may still read the
         * block) is the lesser harm than waiting under the table lock for
         * tasks that may want that lock. */
    }
    d->be->free(d->dev, dptr);
}

/* Copies between an entry's host and device copies; nothing when they are
 * the same memory (the host device). */
static int32_t copy_in(rt_device *d, uintptr_t dev, uintptr_t host, size_t bytes, int32_t queue)
{
    return dev == host ? RT_ACC_OK : rt_queue_copy(d, queue, 0, dev, host, bytes);
}

static int32_t copy_out(rt_device *d, uintptr_t host, uintptr_t dev, size_t bytes, int32_t queue)
{
    return dev == host ? RT_ACC_OK : rt_queue_copy(d, queue, 1, host, dev, bytes);
}

/* -------------------------------------------------------------- attaching */

/* Points the device copy of the pointer at slot (inside entry e) at the
 * device copy of its target (attach) or back at the host value (detach).
 * A target that is not present keeps its host value, as a null one does. */
static int32_t write_dev_pointer(rt_device *d, struct rt_table *t, const entry *e,
                                 uintptr_t slot, int attach)
{
    uintptr_t devslot = e->dev + (slot - e->host);
    if (devslot == slot)
        return RT_ACC_OK; /* shared memory: the pointer is already right */
    uintptr_t value;
    memcpy(&value, (const void *)slot, sizeof value);
    if (attach && value) {
        size_t i;
        if (find(t, value, 1, &i) == FOUND)
            value = t->e[i].dev + (value - t->e[i].host);
    }
    /* Synchronous: the value lives on this stack. */
    return d->be->copy_in(d->dev, devslot, &value, sizeof value, NULL);
}

static int32_t attach_slot(rt_device *d, struct rt_table *t, uintptr_t slot)
{
    size_t i;
    int r = find(t, slot, sizeof(void *), &i);
    if (r == ABSENT)
        return rt_fail(RT_ACC_NOT_PRESENT,
                       "the pointer at %#lx is not present on the %s device (attach needs the "
                       "memory holding the pointer present)",
                       (unsigned long)slot, d->be->name);
    if (r == PARTIAL)
        return fail_partial(d, t, i, slot, sizeof(void *));
    int found;
    size_t k = attach_find(t, slot, &found);
    if (!found) {
        if (!grow((void **)&t->a, &t->capa, t->na, sizeof *t->a))
            return rt_fail(RT_ACC_NO_MEMORY, "out of memory for an attach count");
        memmove(&t->a[k + 1], &t->a[k], (t->na - k) * sizeof *t->a);
        t->a[k] = (attach_rec){slot, 0};
        t->na++;
    }
    if (t->a[k].count++ == 0) {
        int32_t st = write_dev_pointer(d, t, &t->e[i], slot, 1);
        if (st) {
            memmove(&t->a[k], &t->a[k + 1], (t->na - k - 1) * sizeof *t->a);
            t->na--;
            return st;
        }
    }
    return RT_ACC_OK;
}

/* Lowers the attach count of the pointer at slot (to zero with finalize);
 * at zero the device pointer gets its host value back.  No count: no-op. */
static int32_t detach_slot(rt_device *d, struct rt_table *t, uintptr_t slot, int finalize)
{
    int found;
    size_t k = attach_find(t, slot, &found);
    if (!found)
        return RT_ACC_OK;
    if (!finalize && --t->a[k].count > 0)
        return RT_ACC_OK;
    memmove(&t->a[k], &t->a[k + 1], (t->na - k - 1) * sizeof *t->a);
    t->na--;
    size_t i;
    if (find(t, slot, sizeof(void *), &i) == FOUND)
        return write_dev_pointer(d, t, &t->e[i], slot, 0);
    return RT_ACC_OK;
}

/* ------------------------------------------------------- entries */

/* Makes an entry for [h, h+bytes) at index i (from find), with device
 * memory, copying the host data in when copyin. */
static int32_t create_entry(rt_device *d, struct rt_table *t, size_t i, uintptr_t h, size_t bytes,
                            int copyin, int32_t queue)
{
    if (!grow((void **)&t->e, &t->cap, t->n, sizeof *t->e))
        return rt_fail(RT_ACC_NO_MEMORY, "out of memory for a present-table entry");
    uintptr_t dev = h;
    if (!d->be->shared_memory) {
        int32_t st = d->be->alloc(d->dev, bytes, &dev);
        if (st)
            return st;
        if (copyin && (st = copy_in(d, dev, h, bytes, queue)) != RT_ACC_OK) {
            d->be->free(d->dev, dev);
            return st;
        }
    }
    memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof *t->e);
    t->e[i] = (entry){.host = h, .dev = dev, .bytes = bytes};
    t->n++;
    return RT_ACC_OK;
}

/* Removes entry i: its attach counts go, and its device memory is freed
 * (after `queue`'s work) unless the user owns it (acc_map_data). */
static void remove_entry(rt_device *d, struct rt_table *t, size_t i, int32_t queue)
{
    entry e = t->e[i];
    int found;
    size_t lo = attach_find(t, e.host, &found), hi = lo;
    while (hi < t->na && t->a[hi].slot - e.host < e.bytes)
        hi++;
    if (hi > lo) { /* (t->a may still be NULL) */
        memmove(&t->a[lo], &t->a[hi], (t->na - hi) * sizeof *t->a);
        t->na -= hi - lo;
    }
    memmove(&t->e[i], &t->e[i + 1], (t->n - i - 1) * sizeof *t->e);
    t->n--;
    if (!(e.flags & ENTRY_MAPPED) && e.dev != e.host)
        release_dev(d, e.dev, queue);
}

/* If nothing holds entry i any more, copies [h, h+bytes) out when asked
 * and removes it.  Returns the copy's status. */
static int32_t maybe_remove(rt_device *d, struct rt_table *t, size_t i, uintptr_t h, size_t bytes,
                            int copyout, int32_t queue)
{
    entry *e = &t->e[i];
    if (e->sref > 0 || e->dref > 0 || (e->flags & ENTRY_MAPPED))
        return RT_ACC_OK;
    int32_t st = RT_ACC_OK;
    if (copyout)
        st = copy_out(d, h, e->dev + (h - e->host), bytes, queue);
    remove_entry(d, t, i, queue);
    return st;
}

/* --------------------------------------------------- enter and exit */

/* What one item of an enter does; it->done records it. */
static int32_t enter_item(rt_device *d, struct rt_table *t, rt_data_item *it, int32_t queue,
                          int dynamic)
{
    uintptr_t h = (uintptr_t)it->host;
    it->done = 0;
    it->dev = h;
    int32_t st = check_range(it);
    if (st)
        return st;
    if (it->clause == RT_CLAUSE_DEVICEPTR)
        return RT_ACC_OK;
    if (it->clause == RT_CLAUSE_ATTACH) {
        if ((st = attach_slot(d, t, h)) == RT_ACC_OK)
            it->done = DONE_ATTACH;
        return st;
    }
    if (!it->bytes) /* a zero-length section: no action (OpenACC 2.7, 2.7.1) */
        return RT_ACC_OK;
    size_t i;
    int r = find(t, h, it->bytes, &i);
    if (r == PARTIAL)
        return fail_partial(d, t, i, h, it->bytes);
    switch (it->clause) {
    case RT_CLAUSE_NO_CREATE:
        if (r == ABSENT)
            return RT_ACC_OK;
        break;
    case RT_CLAUSE_PRESENT:
        if (r == ABSENT)
            return fail_absent(d, h, it->bytes);
        break;
    default: /* copy, copyin, copyout, create: act only when absent */
        if (r == ABSENT) {
            int in = it->clause == RT_CLAUSE_COPY || it->clause == RT_CLAUSE_COPYIN;
            if ((st = create_entry(d, t, i, h, it->bytes, in, queue)) != RT_ACC_OK)
                return st;
        }
    }
    entry *e = &t->e[i];
    if (dynamic) {
        e->dref++;
        it->done = DONE_DREF;
    } else {
        e->sref++;
        it->done = DONE_SREF;
    }
    it->dev = e->dev + (h - e->host);
    return RT_ACC_OK;
}

/* Undoes an enter_item: the structured exit, and the rollback of a batch
 * (copyout 0).  Data whose counts reach zero is copied out (copy/copyout
 * clauses) and removed. */
static int32_t exit_item(rt_device *d, struct rt_table *t, rt_data_item *it, int32_t queue,
                         int copyout)
{
    uintptr_t h = (uintptr_t)it->host;
    if (it->done & DONE_ATTACH)
        return detach_slot(d, t, h, 0);
    if (!(it->done & (DONE_SREF | DONE_DREF)))
        return RT_ACC_OK;
    size_t i;
    if (find(t, h, it->bytes, &i) != FOUND)
        return RT_ACC_OK; /* gone already (acc_unmap_data of mapped data) */
    entry *e = &t->e[i];
    if ((it->done & DONE_SREF) && e->sref > 0)
        e->sref--;
    if ((it->done & DONE_DREF) && e->dref > 0)
        e->dref--;
    copyout = copyout && (it->clause == RT_CLAUSE_COPY || it->clause == RT_CLAUSE_COPYOUT);
    return maybe_remove(d, t, i, h, it->bytes, copyout, queue);
}

static int allowed(int32_t clause, unsigned mask)
{
    return clause >= 0 && clause < 32 && (mask >> clause & 1u);
}

static int32_t fail_clause(int32_t clause, const char *where)
{
    return rt_fail(RT_ACC_INVALID, "%s is not allowed on %s", rt_clause_name(clause), where);
}

/* Checks the queue number and locks d's table: NULL (nothing locked), with
 * *st set, when the number is bad. */
static struct rt_table *lock_for(rt_device *d, int32_t queue, int32_t *st)
{
    int32_t q;
    if ((*st = rt_queue_resolve(queue, &q)) != RT_ACC_OK)
        return NULL;
    pthread_mutex_lock(&d->table->mu);
    return d->table;
}

/* Marks the calling thread's fault as item k's; returns st. */
static int32_t tag_item(int32_t st, int32_t k)
{
    rt_fault f;
    rt_fault_take(&f);
    f.item = k;
    rt_fault_put(&f);
    return st;
}

/* Checks an item of an exit data or update before anything acts: a clause
 * the construct takes, a valid range, and data present (absent allowed
 * when absent_ok) and not partially present.  *r gets where it stands. */
static int32_t check_item(const rt_device *d, const struct rt_table *t, const rt_data_item *it,
                          unsigned mask, const char *where, int absent_ok, int *r)
{
    size_t i;
    int32_t st;
    *r = ABSENT;
    if (!allowed(it->clause, mask))
        return fail_clause(it->clause, where);
    if ((st = check_range(it)) != RT_ACC_OK)
        return st;
    if (it->clause == RT_CLAUSE_DETACH || !it->bytes)
        return RT_ACC_OK; /* a pointer without a count, or nothing at all: no action */
    *r = find(t, (uintptr_t)it->host, it->bytes, &i);
    if (*r == PARTIAL)
        return fail_partial(d, t, i, (uintptr_t)it->host, it->bytes);
    if (*r == ABSENT && !absent_ok)
        return fail_absent(d, (uintptr_t)it->host, it->bytes);
    return RT_ACC_OK;
}

/* check_item on every item, tagging the first failure with its index. */
static int32_t check_items(const rt_device *d, const struct rt_table *t, const rt_data_item *items,
                           int32_t n, unsigned mask, const char *where, int absent_ok)
{
    for (int32_t k = 0; k < n; k++) {
        int r;
        int32_t st = check_item(d, t, &items[k], mask, where, absent_ok, &r);
        if (st)
            return tag_item(st, k);
    }
    return RT_ACC_OK;
}

/* The status of a failed item k, with the fault naming it, after undoing
 * items k-1 .. 0. */
static int32_t rollback(rt_device *d, struct rt_table *t, rt_data_item *items, int32_t k,
                        int32_t queue)
{
    rt_fault f;
    rt_fault_take(&f);
    int32_t st = f.status;
    for (int32_t j = k; j-- > 0;)
        exit_item(d, t, &items[j], queue, 0);
    rt_fault_put(&f);
    return tag_item(st, k);
}

static int32_t enter_batch(rt_device *d, rt_data_item *items, int32_t n, int32_t queue,
                           uint64_t *epoch, int dynamic)
{
    int32_t st;
    struct rt_table *t = lock_for(d, queue, &st);
    if (!t)
        return st;
    unsigned mask = dynamic ? RT_CLAUSES_ENTER : RT_CLAUSES_STRUCTURED;
    if (epoch)
        *epoch = t->epoch;
    for (int32_t k = 0; k < n; k++) {
        st = allowed(items[k].clause, mask)
                 ? enter_item(d, t, &items[k], queue, dynamic)
                 : fail_clause(items[k].clause, dynamic ? "enter data" : "a data construct");
        if (st) {
            st = rollback(d, t, items, k, queue);
            break;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return st;
}

int32_t rt_data_enter(rt_device *d, rt_data_item *items, int32_t n, int32_t queue, uint64_t *epoch)
{
    return enter_batch(d, items, n, queue, epoch, 0);
}

int32_t rt_data_enter_dynamic(rt_device *d, rt_data_item *items, int32_t n, int32_t queue)
{
    return enter_batch(d, items, n, queue, NULL, 1);
}

int32_t rt_data_exit(rt_device *d, rt_data_item *items, int32_t n, int32_t queue, uint64_t epoch)
{
    struct rt_table *t = d->table;
    int32_t first = RT_ACC_OK;
    rt_fault kept; /* set with first (zeroing its 400 bytes showed in a launch's profile) */
    pthread_mutex_lock(&t->mu);
    if (epoch == t->epoch) {
        /* Detach first, so that data copied out carries host pointers. */
        for (int pass = 0; pass < 2; pass++)
            for (int32_t k = n; k-- > 0;) {
                if (((items[k].done & DONE_ATTACH) != 0) != (pass == 0))
                    continue;
                int32_t st = exit_item(d, t, &items[k], queue, 1);
                items[k].done = 0;
                if (st && !first) {
                    first = st;
                    rt_fault_take(&kept);
                    kept.item = k;
                }
            }
    }
    pthread_mutex_unlock(&t->mu);
    if (first)
        rt_fault_put(&kept);
    return first;
}

int32_t rt_data_exit_dynamic(rt_device *d, rt_data_item *items, int32_t n, int32_t queue,
                             int32_t finalize)
{
    int32_t st;
    struct rt_table *t = lock_for(d, queue, &st);
    if (!t)
        return st;
    /* Check everything first: what an exit does (a copy-out, a free)
     * cannot be undone, so a batch that fails must fail before acting. */
    st = check_items(d, t, items, n, RT_CLAUSES_EXIT, "exit data", 1);
    rt_fault kept = {.item = -1};
    for (int32_t k = 0; k < n && !st; k++) {
        rt_data_item *it = &items[k];
        uintptr_t h = (uintptr_t)it->host;
        int32_t s = RT_ACC_OK;
        size_t i;
        it->done = 0;
        it->dev = 0;
        if (it->clause == RT_CLAUSE_DETACH) {
            s = detach_slot(d, t, h, finalize);
        } else if (it->bytes && find(t, h, it->bytes, &i) == FOUND) {
            entry *e = &t->e[i];
            it->dev = e->dev + (h - e->host);
            if (finalize)
                e->dref = 0;
            else if (e->dref > 0)
                e->dref--;
            else
                continue; /* held by structured constructs only: theirs to end */
            s = maybe_remove(d, t, i, h, it->bytes, it->clause == RT_CLAUSE_COPYOUT, queue);
        } /* absent: no action (OpenACC 2.6 on) */
        if (s && !kept.status) {
            rt_fault_take(&kept);
            kept.item = k;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (kept.status) {
        st = kept.status;
        rt_fault_put(&kept);
    }
    return st;
}

int32_t rt_data_update(rt_device *d, rt_data_item *items, int32_t n, int32_t queue,
                       int32_t if_present)
{
    int32_t st;
    struct rt_table *t = lock_for(d, queue, &st);
    if (!t)
        return st;
    st = check_items(d, t, items, n, RT_CLAUSES_UPDATE, "update", if_present);
    for (int32_t k = 0; k < n && !st; k++) {
        rt_data_item *it = &items[k];
        uintptr_t h = (uintptr_t)it->host;
        size_t i;
        it->dev = 0;
        if (!it->bytes || find(t, h, it->bytes, &i) != FOUND)
            continue;
        uintptr_t dev = t->e[i].dev + (h - t->e[i].host);
        it->dev = dev;
        st = it->clause == RT_CLAUSE_UPDATE_DEVICE ? copy_in(d, dev, h, it->bytes, queue)
                                                   : copy_out(d, h, dev, it->bytes, queue);
        if (st)
            tag_item(st, k);
    }
    pthread_mutex_unlock(&t->mu);
    return st;
}

/* ---------------------------------------------------------- queries */

int32_t rt_is_present(rt_device *d, const void *host, size_t bytes)
{
    struct rt_table *t = d->table;
    size_t i;
    pthread_mutex_lock(&t->mu);
    int r = host ? find(t, (uintptr_t)host, bytes, &i) : ABSENT;
    pthread_mutex_unlock(&t->mu);
    return r == FOUND;
}

uintptr_t rt_deviceptr(rt_device *d, const void *host)
{
    struct rt_table *t = d->table;
    uintptr_t h = (uintptr_t)host, dev = 0;
    size_t i;
    pthread_mutex_lock(&t->mu);
    if (host && find(t, h, 1, &i) == FOUND)
        dev = t->e[i].dev + (h - t->e[i].host);
    pthread_mutex_unlock(&t->mu);
    return dev;
}

const void *rt_hostptr(rt_device *d, uintptr_t dptr)
{
    struct rt_table *t = d->table;
    uintptr_t h = 0;
    pthread_mutex_lock(&t->mu);
    /* A scan: entries are sorted by host address, and acc_hostptr is rare. */
    for (size_t i = 0; i < t->n && dptr; i++)
        if (dptr - t->e[i].dev < t->e[i].bytes) {
            h = t->e[i].host + (dptr - t->e[i].dev);
            break;
        }
    pthread_mutex_unlock(&t->mu);
    return (const void *)h;
}

int32_t rt_present_counts(rt_device *d, const void *host, int64_t *structured, int64_t *dynamic,
                          int64_t *attach_count)
{
    struct rt_table *t = d->table;
    size_t i;
    int found;
    pthread_mutex_lock(&t->mu);
    int r = find(t, (uintptr_t)host, 1, &i);
    *structured = r == FOUND ? t->e[i].sref : -1;
    *dynamic = r == FOUND ? t->e[i].dref : -1;
    size_t k = attach_find(t, (uintptr_t)host, &found);
    *attach_count = found ? t->a[k].count : 0;
    pthread_mutex_unlock(&t->mu);
    return r == FOUND;
}

int64_t rt_present_size(rt_device *d)
{
    pthread_mutex_lock(&d->table->mu);
    int64_t n = (int64_t)d->table->n;
    pthread_mutex_unlock(&d->table->mu);
    return n;
}

/* ------------------------------------------------------ map and unmap */

int32_t rt_map_data(rt_device *d, const void *host, uintptr_t dptr, size_t bytes)
{
    if (!host || !dptr || !bytes || (uintptr_t)host + bytes < (uintptr_t)host)
        return rt_fail(RT_ACC_INVALID, "acc_map_data needs a host address, a device address and "
                                       "a length, not %p, %#lx, %zu",
                       host, (unsigned long)dptr, bytes);
    struct rt_table *t = d->table;
    uintptr_t h = (uintptr_t)host;
    size_t i;
    int32_t st = RT_ACC_OK;
    pthread_mutex_lock(&t->mu);
    int r = find(t, h, bytes, &i);
    if (r != ABSENT)
        st = rt_fail(RT_ACC_MAPPED,
                     "%zu bytes at %#lx are already %spresent on the %s device: acc_map_data "
                     "maps only absent data",
                     bytes, (unsigned long)h, r == PARTIAL ? "partially " : "", d->be->name);
    else if (!grow((void **)&t->e, &t->cap, t->n, sizeof *t->e))
        st = rt_fail(RT_ACC_NO_MEMORY, "out of memory for a present-table entry");
    else {
        memmove(&t->e[i + 1], &t->e[i], (t->n - i) * sizeof *t->e);
        t->e[i] = (entry){.host = h, .dev = dptr, .bytes = bytes, .flags = ENTRY_MAPPED};
        t->n++;
    }
    pthread_mutex_unlock(&t->mu);
    return st;
}

int32_t rt_unmap_data(rt_device *d, const void *host)
{
    struct rt_table *t = d->table;
    uintptr_t h = (uintptr_t)host;
    size_t i;
    int32_t st = RT_ACC_OK;
    pthread_mutex_lock(&t->mu);
    if (!host || find(t, h, 1, &i) != FOUND || t->e[i].host != h ||
        !(t->e[i].flags & ENTRY_MAPPED))
        st = rt_fail(RT_ACC_NOT_MAPPED, "%#lx is not the start of data acc_map_data mapped",
                     (unsigned long)h);
    else if (t->e[i].sref > 0)
        st = rt_fail(RT_ACC_INVALID,
                     "acc_unmap_data: the data at %#lx is in use by a data construct",
                     (unsigned long)h);
    else
        remove_entry(d, t, i, RT_ASYNC_SYNC);
    pthread_mutex_unlock(&t->mu);
    return st;
}

/* ------------------------------------------- acc_malloc and acc_memcpy */

static size_t block_find(const struct rt_table *t, uintptr_t dptr)
{
    size_t lo = 0, hi = t->nb;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->b[mid].dev <= dptr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo; /* first block after dptr */
}

int32_t rt_acc_malloc(rt_device *d, size_t bytes, uintptr_t *dptr)
{
    *dptr = 0;
    if (!bytes)
        return RT_ACC_OK;
    uintptr_t p;
    int32_t st = d->be->alloc(d->dev, bytes, &p);
    if (st)
        return st;
    struct rt_table *t = d->table;
    pthread_mutex_lock(&t->mu);
    if (!grow((void **)&t->b, &t->capb, t->nb, sizeof *t->b)) {
        st = rt_fail(RT_ACC_NO_MEMORY, "out of memory recording an allocation");
    } else {
        size_t k = block_find(t, p);
        memmove(&t->b[k + 1], &t->b[k], (t->nb - k) * sizeof *t->b);
        t->b[k] = (block){p, bytes};
        t->nb++;
    }
    pthread_mutex_unlock(&t->mu);
    if (st)
        d->be->free(d->dev, p);
    else
        *dptr = p;
    return st;
}

int32_t rt_acc_free(rt_device *d, uintptr_t dptr)
{
    if (!dptr)
        return RT_ACC_OK;
    struct rt_table *t = d->table;
    int32_t st = RT_ACC_OK;
    pthread_mutex_lock(&t->mu);
    size_t k = block_find(t, dptr);
    if (k == 0 || t->b[k - 1].dev != dptr) {
        st = rt_fail(RT_ACC_INVALID, "acc_free: %#lx is not an address acc_malloc returned",
                     (unsigned long)dptr);
    } else {
        memmove(&t->b[k - 1], &t->b[k], (t->nb - k) * sizeof *t->b);
        t->nb--;
    }
    pthread_mutex_unlock(&t->mu);
    return st ? st : d->be->free(d->dev, dptr);
}

/* Whether [dptr, dptr+bytes) is device memory: inside an acc_malloc block
 * or a present entry's device copy.  Under the table lock. */
static int dev_range_ok(const struct rt_table *t, uintptr_t dptr, size_t bytes)
{
    if (!dptr || dptr + bytes < dptr)
        return 0;
    size_t k = block_find(t, dptr);
    if (k > 0 && dptr - t->b[k - 1].dev <= t->b[k - 1].bytes &&
        bytes <= t->b[k - 1].bytes - (dptr - t->b[k - 1].dev))
        return 1;
    for (size_t i = 0; i < t->n; i++)
        if (dptr - t->e[i].dev <= t->e[i].bytes &&
            bytes <= t->e[i].bytes - (dptr - t->e[i].dev))
            return 1;
    return 0;
}

static int32_t check_dev(rt_device *d, const char *what, uintptr_t dptr, size_t bytes)
{
    struct rt_table *t = d->table;
    pthread_mutex_lock(&t->mu);
    int ok = dev_range_ok(t, dptr, bytes);
    pthread_mutex_unlock(&t->mu);
    if (ok)
        return RT_ACC_OK;
    return rt_fail(RT_ACC_INVALID,
                   "%s: %zu bytes at device address %#lx are not device memory of the %s "
                   "device (neither from acc_malloc nor a present copy)",
                   what, bytes, (unsigned long)dptr, d->be->name);
}

int32_t rt_memcpy_to_device(rt_device *d, uintptr_t dst, const void *src, size_t bytes,
                            int32_t queue)
{
    if (!bytes)
        return RT_ACC_OK;
    if (!src)
        return rt_fail(RT_ACC_INVALID, "acc_memcpy_to_device from a null host address");
    int32_t st = check_dev(d, "acc_memcpy_to_device", dst, bytes);
    return st ? st : rt_queue_copy(d, queue, 0, dst, (uintptr_t)src, bytes);
}

int32_t rt_memcpy_from_device(rt_device *d, void *dst, uintptr_t src, size_t bytes, int32_t queue)
{
    if (!bytes)
        return RT_ACC_OK;
    if (!dst)
        return rt_fail(RT_ACC_INVALID, "acc_memcpy_from_device to a null host address");
    int32_t st = check_dev(d, "acc_memcpy_from_device", src, bytes);
    return st ? st : rt_queue_copy(d, queue, 1, (uintptr_t)dst, src, bytes);
}

int32_t rt_memcpy_device(rt_device *d, uintptr_t dst, uintptr_t src, size_t bytes, int32_t queue)
{
    if (!bytes)
        return RT_ACC_OK;
    int32_t st = check_dev(d, "acc_memcpy_device", dst, bytes);
    if (!st)
        st = check_dev(d, "acc_memcpy_device", src, bytes);
    return st ? st : rt_queue_copy(d, queue, 2, dst, src, bytes);
}

/* ---------------------------------------------------------- shutdown */

void rt_table_clear(rt_device *d)
{
    struct rt_table *t = d->table;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n; i++)
        if (!(t->e[i].flags & ENTRY_MAPPED) && t->e[i].dev != t->e[i].host)
            d->be->free(d->dev, t->e[i].dev);
    for (size_t k = 0; k < t->nb; k++)
        d->be->free(d->dev, t->b[k].dev);
    t->n = t->na = t->nb = 0;
    t->epoch++; /* constructs entered before now find nothing to undo */
    pthread_mutex_unlock(&t->mu);
}
