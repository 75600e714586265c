/* gpu.c - a compiled region's parallel loop launched on a GPU: the "loops
 * on a GPU" section of rt.h.
 *
 * The host code jit/gpu.c made calls pyacc_rt_gpu_loop where the host's
 * parallel loop was.  Its ctx holds host addresses; the kernel needs the
 * GPU's.  One launch:
 *   1. makes a copy of ctx with device addresses in place of host ones,
 *      passed by value in the kernel's parameters (no copy of its own):
 *      arrays found in the present table (data clauses of enclosing
 *      constructs put them there), the ones absent copied in for the launch
 *      (OpenACC's implicit copy), arrays already in GPU memory (CuPy, ...)
 *      as they are;
 *   2. points the error record, each reduction's block results and the
 *      last iteration's values at a block of page-locked host memory the
 *      GPU writes directly, so nothing is copied back but shared cells
 *      (atomics), which live in device memory;
 *   3. runs the kernel over the grid (a grid-stride loop, so the grid is
 *      capped at a few blocks per multiprocessor, or num_gangs blocks), on
 *      the stream of the async queue whose task calls it, else waited for;
 *   4. hands the results to their host owners: the first error, the last
 *      values (plain fields of ctx), the block results folded into partial
 *      slot 0 (the host entry combines the slots as after a host loop);
 *   5. copies the implicitly copied arrays back and lets them go.
 * A failure of the device is reported through the region's error record
 * (RT_ERR_DEVICE) with the fault left on the calling thread, and nothing
 * stays allocated.
 */
#include "rt.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ERR_BYTES 64
#define MAX_FIELDS 128 /* jit.h's JIT_GPU_MAX_FIELDS */
#define BLOCKS_PER_SM 8
#define BLOCKS_PER_SM_UNEVEN 32
#define BLOCKS_PER_SM_LANES 32
#define GRID_THREADS 256       /* a block of a grid running a region's entry */
#define GRID_BLOCKS_PER_SM 4   /* jit/gpu_grid.c's bound; fewer blocks meet at a barrier sooner */
#define LANES_DEFAULT 128 /* a gang's threads when its body has lane loops: NVIDIA's default vector length */
#define ROWS_THREADS 256 /* a gang's threads when workers hold vector loops (rows), unless told */
#define ROWS_MAX 15       /* jit.h's JIT_GPU_MAX_ROWS: a row meets at named barrier 1 + threadIdx.y */
#define ROWS_ITERATIONS 2 /* jit.h's JIT_GPU_ROWS_ITERATIONS: rows take a worker loop's iterations */

/* grid | bx << 32 | by << 48 of the latest launch */
static _Atomic uint64_t last_launch;

void rt_gpu_last_launch(uint32_t *grid, uint32_t *bx, uint32_t *by)
{
    uint64_t v = atomic_load_explicit(&last_launch, memory_order_relaxed);
    *grid = (uint32_t)v;
    *bx = (uint32_t)(v >> 32) & 0xffff;
    *by = (uint32_t)(v >> 48);
}

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* ----------------------------------------------------------- combining */

/* *acc = *acc op *v for partial results of `bytes` bytes whose number
 * type and operator aux gives (rt.h: RT_CTX_NUM_* << 4 | op); as the
 * frontend combines them on the host. */
#define FOLD(T)                                                                                                    \
    do {                                                                                                           \
        T a, b;                                                                                                    \
        memcpy(&a, acc, sizeof a);                                                                                 \
        memcpy(&b, v, sizeof b);                                                                                   \
        switch (op) {                                                                                              \
        case 1: a = (T)(a + b); break;                                                                             \
        case 2: a = (T)(a * b); break;                                                                             \
        case 3: a = b > a ? b : a; break;                                                                          \
        case 4: a = b < a ? b : a; break;                                                                          \
        case 8: a = (T)(a != 0 && b != 0); break;                                                                  \
        case 9: a = (T)(a != 0 || b != 0); break;                                                                  \
        default: break;                                                                                            \
        }                                                                                                          \
        memcpy(acc, &a, sizeof a);                                                                                 \
    } while (0)

#define FOLD_BITS(T)                                                                                               \
    do {                                                                                                           \
        T a, b;                                                                                                    \
        memcpy(&a, acc, sizeof a);                                                                                 \
        memcpy(&b, v, sizeof b);                                                                                   \
        if (op == 5)                                                                                               \
            a &= b;                                                                                                \
        else if (op == 6)                                                                                          \
            a |= b;                                                                                                \
        else if (op == 7)                                                                                          \
            a ^= b;                                                                                                \
        memcpy(acc, &a, sizeof a);                                                                                 \
    } while (0)

static void fold(uint8_t aux, int bytes, void *acc, const void *v)
{
    int op = aux & 0x0f, num = aux >> 4;
    if (num == RT_CTX_NUM_BOOL) {
        uint8_t a = *(uint8_t *)acc & 1, b = *(const uint8_t *)v & 1;
        static const int as_or[10] = {0, 1, 0, 1, 0, 0, 1, 0, 0, 1};
        *(uint8_t *)acc = op == 7 ? a ^ b : as_or[op] ? a | b : a & b;
        return;
    }
    int bits = op >= 5 && op <= 7;
    if (num == RT_CTX_NUM_FLOAT) {
        if (bytes == 4)
            FOLD(float);
        else
            FOLD(double);
        return;
    }
    /* integers wrap as the device's do (two's complement) */
    if (num == RT_CTX_NUM_UINT || op == 1 || op == 2) {
        switch (bytes) {
        case 1: if (bits) FOLD_BITS(uint8_t); else FOLD(uint8_t); break;
        case 2: if (bits) FOLD_BITS(uint16_t); else FOLD(uint16_t); break;
        case 4: if (bits) FOLD_BITS(uint32_t); else FOLD(uint32_t); break;
        default: if (bits) FOLD_BITS(uint64_t); else FOLD(uint64_t); break;
        }
        return;
    }
    switch (bytes) {
    case 1: if (bits) FOLD_BITS(int8_t); else FOLD(int8_t); break;
    case 2: if (bits) FOLD_BITS(int16_t); else FOLD(int16_t); break;
    case 4: if (bits) FOLD_BITS(int32_t); else FOLD(int32_t); break;
    default: if (bits) FOLD_BITS(int64_t); else FOLD(int64_t); break;
    }
}

/* ------------------------------------------------------ device scratch */

/* Blocks of device memory kept between launches (a region's launches come
 * in loops, allocating costs microseconds and freeing waits for the whole
 * GPU): each taken whole by one launch at a time, a few of them so that
 * launches from several async queues at once do not free each other's. */
#define SPARES 8
static pthread_mutex_t spare_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    rt_device *d;
    uint64_t generation; /* the device's initialisation it belongs to */
    uintptr_t ptr;
    size_t bytes;
} spare[SPARES];

static int32_t scratch_take(rt_device *d, size_t bytes, uintptr_t *ptr)
{
    pthread_mutex_lock(&spare_mu);
    for (int i = 0; i < SPARES; i++)
        if (spare[i].ptr && spare[i].d == d && spare[i].generation == d->generation && spare[i].bytes >= bytes) {
            *ptr = spare[i].ptr;
            spare[i].ptr = 0;
            pthread_mutex_unlock(&spare_mu);
            return RT_ACC_OK;
        }
    pthread_mutex_unlock(&spare_mu);
    size_t want = bytes < 4096 ? 4096 : bytes;
    return d->be->alloc(d->dev, want, ptr) ? rt_fault_last()->status : RT_ACC_OK;
}

static void scratch_give(rt_device *d, uintptr_t ptr, size_t bytes)
{
    size_t have = bytes < 4096 ? 4096 : bytes;
    pthread_mutex_lock(&spare_mu);
    int slot = -1;
    for (int i = 0; i < SPARES && slot < 0; i++) /* an empty slot, or one from before a shutdown */
        if (!spare[i].ptr || (spare[i].d == d && spare[i].generation != d->generation))
            slot = i;
    if (slot >= 0) {
        spare[slot].d = d;
        spare[slot].generation = d->generation;
        spare[slot].ptr = ptr;
        spare[slot].bytes = have;
        pthread_mutex_unlock(&spare_mu);
        return;
    }
    pthread_mutex_unlock(&spare_mu);
    d->be->free(d->dev, ptr);
}

/* ------------------------------------------------------------- arrays */

/* The bytes [lo, hi) an array field's elements span (hi == lo when it
 * has none). */
static void array_span(const char *field, int ndim, int es, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t data;
    memcpy(&data, field, sizeof data);
    int64_t below = 0, above = 0;
    for (int i = 0; i < ndim; i++) {
        int64_t shape, stride;
        memcpy(&shape, field + 8 + 8 * i, 8);
        memcpy(&stride, field + 8 + 8 * (ndim + i), 8);
        if (shape <= 0) {
            *lo = *hi = data;
            return;
        }
        int64_t reach = (shape - 1) * stride * es;
        if (reach < 0)
            below += reach;
        else
            above += reach;
    }
    *lo = data + (uintptr_t)below;
    *hi = data + (uintptr_t)above + (uintptr_t)es;
}

/* --------------------------------------------------------------- launch */

/* ----------------------------------------------------- result blocks */

/* Page-locked host memory the GPU writes a launch's results to, kept
 * between launches (allocating it costs far more than a launch). */
static struct {
    rt_device *d;
    uint64_t generation;
    void *host;
    uintptr_t dev;
    size_t bytes;
} pinned[SPARES];

static int32_t pinned_take(rt_device *d, size_t bytes, void **host, uintptr_t *dev, size_t *have)
{
    pthread_mutex_lock(&spare_mu);
    for (int i = 0; i < SPARES; i++)
        if (pinned[i].host && pinned[i].d == d && pinned[i].generation == d->generation && pinned[i].bytes >= bytes) {
            *host = pinned[i].host;
            *dev = pinned[i].dev;
            *have = pinned[i].bytes;
            pinned[i].host = NULL;
            pthread_mutex_unlock(&spare_mu);
            return RT_ACC_OK;
        }
    pthread_mutex_unlock(&spare_mu);
    *have = bytes < 65536 ? 65536 : bytes;
    return rt_cuda_host_alloc(d->dev, *have, host, dev);
}

static void pinned_give(rt_device *d, void *host, uintptr_t dev, size_t bytes)
{
    pthread_mutex_lock(&spare_mu);
    for (int i = 0; i < SPARES; i++)
        if (!pinned[i].host || (pinned[i].d == d && pinned[i].generation != d->generation)) {
            pinned[i].d = d;
            pinned[i].generation = d->generation;
            pinned[i].host = host;
            pinned[i].dev = dev;
            pinned[i].bytes = bytes;
            pthread_mutex_unlock(&spare_mu);
            return;
        }
    pthread_mutex_unlock(&spare_mu);
    rt_cuda_host_free(d->dev, host);
}

void rt_gpu_release_spares(rt_device *d)
{
    pthread_mutex_lock(&spare_mu);
    for (int i = 0; i < SPARES; i++) {
        /* blocks of an earlier initialisation went with its context */
        if (spare[i].ptr && spare[i].d == d && spare[i].generation == d->generation)
            d->be->free(d->dev, spare[i].ptr);
        if (spare[i].d == d)
            spare[i].ptr = 0;
        if (pinned[i].host && pinned[i].d == d && pinned[i].generation == d->generation)
            rt_cuda_host_free(d->dev, pinned[i].host);
        if (pinned[i].d == d)
            pinned[i].host = NULL;
    }
    pthread_mutex_unlock(&spare_mu);
}

/* --------------------------------------------------------------- launch */

typedef struct launch {
    const rt_gpu_kernel *k;
    rt_device *d;
    char *pctx;                 /* ctx as the kernel gets it */
    char *res;                  /* the results block (page-locked) ... */
    uintptr_t res_dev;          /* ... and its address on the GPU */
    size_t res_bytes, res_have;
    size_t cell_bytes;
    uintptr_t dev;              /* device memory for the cells */
    uint32_t grid, bx, by;      /* blocks, and a block's threads: vector lanes x workers */
    int32_t nitems;
    uint64_t epoch;
    int entered;
    int64_t shape;              /* RT_SHAPE_* */
    /* From here on each entry is written before it is read, so a launch
     * leaves them uninitialised (launch_init): zeroing their 9 KB was a
     * sixth of a tiny kernel's call outside the driver (perf, with a
     * stand-in driver that does nothing). */
    char cells[MAX_FIELDS * 16 > 2048 ? 2048 : MAX_FIELDS * 16]; /* shared cells, staged */
    size_t at[MAX_FIELDS];      /* where a partials or cell field's data lies */
    rt_data_item items[MAX_FIELDS]; /* arrays copied for the launch */
} launch;

static void launch_init(launch *L, const rt_gpu_kernel *k, int64_t shape)
{
    memset(L, 0, offsetof(launch, cells));
    L->k = k;
    L->d = k->dev;
    L->shape = shape;
}

/* The device addresses dev[] of n arrays, each given by the bytes
 * [lo, hi) it spans and its data pointer: present ones in place, arrays in
 * GPU memory (CuPy, ...) as they are, the rest copied in for the launch
 * (OpenACC's implicit copy; arrays whose bytes overlap, views of one
 * array, go over as one range, their union).  Empty arrays get 0.  lo,
 * hi and data are only read (not const: gcc would then count their
 * unwritten tails as read). */
static int32_t map_arrays(launch *L, int n, uintptr_t *lo, uintptr_t *hi, uintptr_t *data, uintptr_t *dev)
{
    uintptr_t lo_of[MAX_FIELDS], hi_of[MAX_FIELDS];
    int item_of[MAX_FIELDS];
    int cnt = 0;
    for (int a = 0; a < n; a++) {
        item_of[a] = -1;
        dev[a] = 0;
        if (hi[a] == lo[a])
            continue;
        if (rt_is_present(L->d, (const void *)lo[a], hi[a] - lo[a])) {
            dev[a] = rt_deviceptr(L->d, (const void *)data[a]);
            continue;
        }
        if (rt_cuda_is_device(L->d->dev, lo[a])) {
            dev[a] = data[a];
            continue;
        }
        lo_of[cnt] = lo[a];
        hi_of[cnt] = hi[a];
        item_of[a] = cnt++;
    }
    /* merge ranges that overlap until none do (a handful of arrays) */
    int into[MAX_FIELDS], slot[MAX_FIELDS], merged = 1;
    for (int i = 0; i < cnt; i++)
        into[i] = i;
    while (merged) {
        merged = 0;
        for (int i = 0; i < cnt; i++)
            for (int j = i + 1; j < cnt; j++)
                if (into[i] == i && into[j] == j && lo_of[i] < hi_of[j] && lo_of[j] < hi_of[i]) {
                    lo_of[i] = lo_of[i] < lo_of[j] ? lo_of[i] : lo_of[j];
                    hi_of[i] = hi_of[i] > hi_of[j] ? hi_of[i] : hi_of[j];
                    into[j] = i;
                    merged = 1;
                }
    }
    L->nitems = 0;
    for (int i = 0; i < cnt; i++)
        if (into[i] == i) {
            slot[i] = L->nitems;
            L->items[L->nitems++] = (rt_data_item){
                .host = (const void *)lo_of[i], .bytes = hi_of[i] - lo_of[i], .clause = RT_CLAUSE_COPY};
        }
    if (!L->nitems)
        return RT_ACC_OK;
    int32_t st = rt_data_enter(L->d, L->items, L->nitems, RT_ASYNC_SYNC, &L->epoch);
    if (st)
        return st;
    L->entered = 1;
    for (int a = 0; a < n; a++)
        if (item_of[a] >= 0) {
            int root = item_of[a];
            while (into[root] != root)
                root = into[root];
            const rt_data_item *it = &L->items[slot[root]];
            dev[a] = it->dev + (data[a] - (uintptr_t)it->host);
        }
    return RT_ACC_OK;
}

/* The grid and block for n iterations.  What the program leaves open:
 * blocks of 256 threads (a multiple of the warp big enough to hide memory
 * latency with a few blocks a multiprocessor), fewer when that would leave
 * multiprocessors idle, and a block for every 256 iterations: a thread an
 * iteration, so that the GPU's block scheduler balances uneven iterations
 * (Mandelbrot's) over the multiprocessors as they free up, and a thread's
 * loads are not held up behind its previous iteration's stores (which
 * they may alias).  On the H100 that was 4-9% quicker than 32 blocks a
 * multiprocessor walking the rest (triad, Jacobi, matmul).  A loop with
 * reductions gets BLOCKS_PER_SM: each block leaves a partial result the
 * host folds; one whose array reduction sums in shared memory, or whose
 * rows take the iterations, BLOCKS_PER_SM_UNEVEN, each block's start
 * being dearer.  A body with lane loops
 * (jit/gpu_lanes.c) takes a block a gang: LANES_DEFAULT threads, and a
 * block an iteration up to BLOCKS_PER_SM_LANES a multiprocessor; one
 * whose workers hold vector loops takes rows of a warp (or vector_length
 * lanes), ROWS_THREADS in all (or num_workers rows), at most ROWS_MAX;
 * so does a worker loop whose vector loops run across its rows, a row an
 * iteration. */
static void lay_out(launch *L, int64_t n)
{
    const rt_gpu_kernel *k = L->k;
    int64_t sms = k->sms > 0 ? k->sms : 1, maxb = k->max_block >= 32 ? k->max_block : 32;
    int64_t vec = RT_SHAPE_VECTOR(L->shape), workers = RT_SHAPE_WORKERS(L->shape), gangs = RT_SHAPE_GANGS(L->shape);
    int64_t bx, by = workers > 0 ? workers : 1;
    if (vec > 0)
        bx = (vec + 31) / 32 * 32;
    else if (workers > 0)
        bx = 32; /* a warp a worker */
    else if (k->rows)
        bx = 32;
    else if (k->lanes)
        bx = LANES_DEFAULT;
    else {
        bx = 256;
        if (n < sms * bx) /* spread over the multiprocessors, a warp at least */
            bx = ((n + sms - 1) / sms + 31) / 32 * 32;
        if (bx < 32)
            bx = 32;
    }
    if (bx > maxb)
        bx = maxb;
    if (k->rows && workers <= 0) /* rows of the vector length (a warp), the block ROWS_THREADS */
        by = ROWS_THREADS / bx > 1 ? ROWS_THREADS / bx : 1;
    if (k->rows && by > ROWS_MAX)
        by = ROWS_MAX;
    if (bx * by > maxb)
        by = maxb / bx;
    int64_t threads = bx * by, blocks = (n + threads - 1) / threads, cap = INT32_MAX;
    if (k->rows || k->private_field)
        cap = sms * BLOCKS_PER_SM_UNEVEN;
    if (k->rows == ROWS_ITERATIONS) /* a row an iteration */
        blocks = (n + by - 1) / by;
    if (k->lanes) /* a block a gang: an iteration a block, the blocks walking the rest */
        blocks = n, cap = sms * BLOCKS_PER_SM_LANES;
    for (int f = 0; f < k->nfields; f++)
        if ((k->kinds[f] & 0xe0) == RT_CTX_PARTIALS)
            cap = sms * BLOCKS_PER_SM;
    if (gangs > 0) /* num_gangs: as many blocks (within CUDA's limit) */
        blocks = gangs < INT32_MAX ? gangs : INT32_MAX;
    else if (blocks > cap)
        blocks = cap;
    L->grid = (uint32_t)blocks;
    L->bx = (uint32_t)bx;
    L->by = (uint32_t)by;
}

/* Lays the blocks out and makes the kernel's ctx; arrays are looked up
 * (and absent ones copied in). */
static int32_t prepare(launch *L, const char *ctx, int64_t n)
{
    const rt_gpu_kernel *k = L->k;
    lay_out(L, n);
    size_t off = ERR_BYTES + round16((size_t)k->ctx_size);
    for (int f = 0; f < k->nfields; f++) {
        int es = k->kinds[f] & RT_CTX_SIZE_MASK;
        if ((k->kinds[f] & 0xe0) == RT_CTX_PARTIALS) {
            L->at[f] = off;
            off += round16((size_t)(1 + L->grid) * (size_t)es);
        } else if ((k->kinds[f] & 0xe0) == RT_CTX_CELL && k->kinds[f] != RT_CTX_UNSUPPORTED) {
            if (L->cell_bytes + 16 > sizeof L->cells)
                return rt_fail(RT_ACC_INVALID, "a GPU loop with more than %d shared cells", (int)(sizeof L->cells / 16));
            L->at[f] = L->cell_bytes;
            memset(L->cells + L->cell_bytes, 0, 16); /* its padding goes to the GPU too */
            L->cell_bytes += 16;
        }
    }
    L->res_bytes = off;
    L->pctx = malloc((size_t)k->ctx_size);
    if (!L->pctx)
        return rt_fail(RT_ACC_NO_MEMORY, "out of memory staging a GPU launch");
    char *dctx = L->pctx;
    memcpy(dctx, ctx, (size_t)k->ctx_size);
    int32_t st = pinned_take(L->d, off, (void **)&L->res, &L->res_dev, &L->res_have);
    if (st)
        return st;
    memset(L->res, 0, ERR_BYTES);
    memcpy(L->res + ERR_BYTES, ctx, (size_t)k->ctx_size);
    if (L->cell_bytes && (st = scratch_take(L->d, L->cell_bytes, &L->dev)))
        return st;
    /* arrays */
    uintptr_t lo[MAX_FIELDS], hi[MAX_FIELDS], data[MAX_FIELDS], dev[MAX_FIELDS]; /* [0, na) written, then read */
    int field[MAX_FIELDS], na = 0;
    for (int f = 0; f < k->nfields; f++) {
        int cls = k->kinds[f] & 0xe0, es = k->kinds[f] & RT_CTX_SIZE_MASK;
        if ((cls != RT_CTX_ARRAY && cls != RT_CTX_LISTOUT) || k->kinds[f] == RT_CTX_UNSUPPORTED)
            continue;
        memcpy(&data[na], ctx + k->offsets[f], sizeof data[na]);
        if (cls == RT_CTX_ARRAY) {
            array_span(ctx + k->offsets[f], k->ndims[f], es, &lo[na], &hi[na]);
        } else { /* the items the loop may append: its capacity's */
            int64_t cap;
            memcpy(&cap, ctx + k->offsets[f] + 8, sizeof cap);
            lo[na] = hi[na] = data[na];
            if (cap > 0)
                hi[na] += (uintptr_t)cap * (uintptr_t)es;
        }
        field[na++] = f;
    }
    if ((st = map_arrays(L, na, lo, hi, data, dev)))
        return st;
    for (int i = 0; i < na; i++)
        memcpy(dctx + k->offsets[field[i]], &dev[i], sizeof dev[i]);
    /* the rest: the error record, block results, cells */
    for (int f = 0; f < k->nfields; f++) {
        int es = k->kinds[f] & RT_CTX_SIZE_MASK;
        void *hp;
        memcpy(&hp, ctx + k->offsets[f], sizeof hp);
        uintptr_t dp;
        if (k->kinds[f] == RT_CTX_ERR) {
            dp = L->res_dev;
        } else if ((k->kinds[f] & 0xe0) == RT_CTX_PARTIALS) {
            dp = L->res_dev + L->at[f];
        } else if ((k->kinds[f] & 0xe0) == RT_CTX_CELL && k->kinds[f] != RT_CTX_UNSUPPORTED) {
            memcpy(L->cells + L->at[f], hp, (size_t)es);
            dp = L->dev + L->at[f];
        } else {
            continue;
        }
        memcpy(dctx + k->offsets[f], &dp, sizeof dp);
    }
    return RT_ACC_OK;
}

/* Hands what the kernel left back to its host owners. */
static void finish(launch *L, char *ctx, rt_error *herr)
{
    const rt_gpu_kernel *k = L->k;
    const rt_error *derr = (const rt_error *)L->res;
    if (derr->kind && herr && !herr->kind)
        *herr = *derr;
    const char *last = L->res + ERR_BYTES;
    for (int f = 0; f < k->nfields; f++) {
        int es = k->kinds[f] & RT_CTX_SIZE_MASK;
        int64_t end = f + 1 < k->nfields ? k->offsets[f + 1] : k->ctx_size;
        void *hp;
        memcpy(&hp, ctx + k->offsets[f], sizeof hp);
        if (k->kinds[f] == RT_CTX_PLAIN) {
            memcpy(ctx + k->offsets[f], last + k->offsets[f], (size_t)(end - k->offsets[f]));
        } else if ((k->kinds[f] & 0xe0) == RT_CTX_PARTIALS) {
            const char *parts = L->res + L->at[f];
            for (uint32_t b = 0; b < L->grid; b++)
                fold(k->kinds[k->nfields + f], es, hp, parts + (size_t)(1 + b) * (size_t)es);
        } else if ((k->kinds[f] & 0xe0) == RT_CTX_CELL && k->kinds[f] != RT_CTX_UNSUPPORTED) {
            memcpy(hp, L->cells + L->at[f], (size_t)es);
        }
    }
}

/* The bytes of shared memory a block of the kernel sums its array
 * reduction in (jit/gpu.c's private_begin decides alike): the span of the
 * array's elements, if its strides are not negative and it fits in
 * JIT_GPU_PRIVATE_MAX (32 KB); else 0. */
static uint32_t private_span(const launch *L)
{
    const rt_gpu_kernel *k = L->k;
    if (!k->private_field || k->lanes)
        return 0;
    int f = k->private_field - 1, nd = k->ndims[f];
    int64_t es = k->kinds[f] & RT_CTX_SIZE_MASK, span = 1;
    const char *a = L->pctx + k->offsets[f];
    for (int d = 0; d < nd; d++) {
        int64_t shape, stride;
        memcpy(&shape, a + 8 + 8 * d, 8);
        memcpy(&stride, a + 8 + 8 * (nd + d), 8);
        if (shape <= 0 || stride < 0 || (shape > 1 && stride > (1 << 15)))
            return 0;
        span += (shape - 1) * stride;
        if (span > (1 << 15))
            return 0;
    }
    return span * es <= 32768 ? (uint32_t)(span * es) : 0;
}

static int32_t run(launch *L, char *ctx, int64_t n, rt_error *herr)
{
    int32_t st = prepare(L, ctx, n);
    if (st)
        return st;
    rt_device *d = L->d;
    /* in an async queue's task: on its stream, so that queues overlap */
    void *stream = rt_queue_stream(d);
    if (L->cell_bytes && (st = d->be->copy_in(d->dev, L->dev, L->cells, L->cell_bytes, stream)))
        return st;
    uintptr_t last = L->res_dev + ERR_BYTES;
    void *params[3] = {L->pctx, &n, &last};
    const uint32_t sizes[3] = {(uint32_t)L->k->ctx_size, sizeof n, sizeof last};
    if ((st = rt_cuda_launch(d->dev, L->k->fn, L->k->graph, L->grid, L->bx, L->by, private_span(L), stream, params,
                             sizes, 3)))
        return st;
    atomic_store_explicit(&last_launch, L->grid | (uint64_t)L->bx << 32 | (uint64_t)L->by << 48,
                          memory_order_relaxed);
    if (stream && (st = d->be->stream_sync(d->dev, stream)))
        return st;
    if (L->cell_bytes && (st = d->be->copy_out(d->dev, L->cells, L->dev, L->cell_bytes, NULL)))
        return st;
    finish(L, ctx, herr);
    return RT_ACC_OK;
}

void pyacc_rt_gpu_loop(const rt_gpu_kernel *k, rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel,
                       int64_t max_threads, int64_t flags, int64_t slots, const uint8_t *kinds, int64_t shape,
                       int64_t walk)
{
    if (max_threads < 0) { /* the local thread (if(false), self), on the host's data */
        pyacc_rt_launch(body, ctx, n, min_parallel, 1, flags, slots, kinds, 0, NULL, 0, 0, -1);
        return;
    }
    rt_error *herr = NULL;
    for (int f = 0; f < k->nfields; f++)
        if (k->kinds[f] == RT_CTX_ERR)
            memcpy(&herr, (char *)ctx + k->offsets[f], sizeof herr);
    if (n <= 0)
        return;
    launch L;
    launch_init(&L, k, shape);
    int32_t st;
    if (!L.d->ready || L.d->generation != k->generation)
        st = rt_fail(RT_ACC_DEVICE, "the GPU this region was compiled for was shut down (acc_shutdown)");
    else if (k->nfields > MAX_FIELDS)
        st = rt_fail(RT_ACC_INVALID, "a GPU loop with %d shared values (at most %d)", (int)k->nfields, MAX_FIELDS);
    else
        st = run(&L, ctx, walk >= n ? walk : n, herr);
    rt_fault keep; /* taken wherever st is set (zeroing its 400 bytes showed in a launch's profile) */
    if (st) /* the exit below may overwrite the thread's fault */
        rt_fault_take(&keep);
    if (L.entered && rt_data_exit(L.d, L.items, L.nitems, RT_ASYNC_SYNC, L.epoch) && !st) {
        st = rt_fault_last()->status;
        rt_fault_take(&keep);
    }
    if (L.dev)
        scratch_give(L.d, L.dev, L.cell_bytes);
    if (L.res)
        pinned_give(L.d, L.res, L.res_dev, L.res_have);
    free(L.pctx);
    if (st) {
        rt_fault_put(&keep);
        if (herr)
            pyacc_rt_error(herr, RT_ERR_DEVICE, 0, k->line, 0, 0, st, 0);
    }
}

/* ------------------------------------------------------ serial regions */

/* An array argument's description, as the frontend passes it
 * (fe_arraydesc: strides in bytes). */
typedef struct serial_desc {
    uintptr_t data;
    int64_t shape[RT_SERIAL_NDIM];
    int64_t strides[RT_SERIAL_NDIM];
} serial_desc;

int32_t rt_gpu_serial(const rt_gpu_kernel *k, int64_t *slots, int32_t nargs, int32_t nslots, const int32_t *arg_bytes,
                      const int32_t *ndims, uint64_t cell_outs, int32_t cell_bytes, int64_t shape, rt_error *err)
{
    launch L;
    launch_init(&L, k, 0);
    int32_t st = RT_ACC_OK;
    size_t descs = ERR_BYTES + round16((size_t)nslots * 8);
    size_t cells = descs + round16((size_t)nargs * sizeof(serial_desc)); /* the tuples' cells */
    size_t cb = cell_bytes > 0 ? round16((size_t)cell_bytes) : 0;
    int nouts = 0;
    for (int o = 0; o < 64 && nargs + o < nslots; o++)
        nouts += (int)((cell_outs >> o) & 1);
    size_t bytes = cells + (size_t)nouts * cb;
    uintptr_t lo[MAX_FIELDS], hi[MAX_FIELDS], data[MAX_FIELDS], dev[MAX_FIELDS]; /* [0, na) written, then read */
    int arg[MAX_FIELDS], na = 0;
    if (!L.d->ready || L.d->generation != k->generation)
        st = rt_fail(RT_ACC_DEVICE, "the GPU this region was compiled for was shut down (acc_shutdown)");
    else if (nargs > MAX_FIELDS)
        st = rt_fail(RT_ACC_INVALID, "a GPU region with %d arguments (at most %d)", (int)nargs, MAX_FIELDS);
    else
        st = pinned_take(L.d, bytes, (void **)&L.res, &L.res_dev, &L.res_have);
    if (!st) {
        /* the block the GPU thread reads and writes: error, slots, descriptions */
        memset(L.res, 0, ERR_BYTES);
        int64_t *dslots = (int64_t *)(L.res + ERR_BYTES);
        serial_desc *dd = (serial_desc *)(L.res + descs);
        memcpy(dslots, slots, (size_t)nslots * 8);
        for (int o = 0, c = 0; o < 64 && nargs + o < nslots; o++)
            if ((cell_outs >> o) & 1)
                dslots[nargs + o] = (int64_t)(L.res_dev + cells + (size_t)c++ * cb);
        for (int i = 0; i < nargs; i++) {
            if (arg_bytes[i] <= 0)
                continue;
            const serial_desc *hd = (const serial_desc *)(uintptr_t)slots[i];
            dd[i] = *hd;
            dslots[i] = (int64_t)(L.res_dev + descs + (size_t)i * sizeof(serial_desc));
            int64_t below = 0, above = 0;
            int empty = 0;
            for (int d = 0; d < ndims[i]; d++) {
                if (hd->shape[d] <= 0)
                    empty = 1;
                int64_t reach = (hd->shape[d] - 1) * hd->strides[d];
                if (reach < 0)
                    below += reach;
                else
                    above += reach;
            }
            lo[na] = empty ? hd->data : hd->data + (uintptr_t)below;
            hi[na] = empty ? hd->data : hd->data + (uintptr_t)above + (uintptr_t)arg_bytes[i];
            data[na] = hd->data;
            arg[na++] = i;
        }
        st = map_arrays(&L, na, lo, hi, data, dev);
        for (int i = 0; i < na && !st; i++)
            dd[arg[i]].data = dev[i];
    }
    uintptr_t work = 0;
    size_t work_bytes = 0;
    if (!st) {
        void *stream = rt_queue_stream(L.d);
        uintptr_t ds = L.res_dev + ERR_BYTES, de = L.res_dev;
        void *params[3] = {&ds, &de, &work};
        const uint32_t sizes[3] = {sizeof ds, sizeof de, sizeof work};
        if (!k->grid) {
            st = rt_cuda_launch(L.d->dev, k->fn, k->graph, 1, 1, 1, 0, stream, params, sizes, 3);
        } else { /* as many blocks as stay resident together, up to GRID_BLOCKS_PER_SM a multiprocessor */
            uint32_t bx = k->max_block < GRID_THREADS ? (uint32_t)k->max_block : GRID_THREADS;
            int64_t gangs = RT_SHAPE_GANGS(shape), workers = RT_SHAPE_WORKERS(shape), vec = RT_SHAPE_VECTOR(shape);
            if (vec > 0 || workers > 0) { /* a gang's threads: vector_length (whole warps) by num_workers */
                int64_t t = (vec > 0 ? (vec + 31) / 32 * 32 : 32) * (workers > 0 ? workers : 1);
                bx = t < (int64_t)bx ? (uint32_t)t : bx;
            }
            int32_t per_sm = 0;
            st = rt_cuda_occupancy(L.d->dev, k->fn, bx, &per_sm);
            if (!st && per_sm < 1)
                st = rt_fail(RT_ACC_DEVICE, "a block of this region's kernel does not fit on a multiprocessor");
            uint32_t grid = (uint32_t)(per_sm < GRID_BLOCKS_PER_SM ? per_sm : GRID_BLOCKS_PER_SM) * (uint32_t)k->sms;
            if (gangs > 0 && gangs < (int64_t)grid) /* num_gangs: the blocks after the entry's */
                grid = (uint32_t)gangs + 1;
            grid = grid < 2 ? 2 : grid; /* block 0 runs the entry, the others its loops */
            work_bytes = (size_t)k->work_fixed + (size_t)grid * (size_t)k->work_parts * 8;
            static const char zeros[64];
            if (!st)
                st = scratch_take(L.d, work_bytes, &work);
            if (!st && L.d->be->copy_in(L.d->dev, work, zeros, sizeof zeros, stream)) {
                st = rt_fault_last()->status;
                scratch_give(L.d, work, work_bytes);
                work = 0;
            }
            if (!st) {
                st = rt_cuda_launch_cooperative(L.d->dev, k->fn, grid, bx, stream, params);
                atomic_store_explicit(&last_launch, grid | (uint64_t)bx << 32 | (uint64_t)1 << 48,
                                      memory_order_relaxed);
            }
        }
        if (!st && stream)
            st = L.d->be->stream_sync(L.d->dev, stream);
    }
    if (work)
        scratch_give(L.d, work, work_bytes);
    if (!st) /* an appended list's count, which the entry keeps in its description's first extent */
        for (int i = 0; i < na; i++)
            ((serial_desc *)(uintptr_t)slots[arg[i]])->shape[0] = ((serial_desc *)(L.res + descs))[arg[i]].shape[0];
    if (!st) { /* the results, and the bound mask and kinds after them; tuples' cells to their own */
        int64_t host_cells[64];
        for (int o = 0; o < 64 && nargs + o < nslots; o++)
            host_cells[o] = slots[nargs + o];
        memcpy(slots + nargs, L.res + ERR_BYTES + (size_t)nargs * 8, (size_t)(nslots - nargs) * 8);
        for (int o = 0, c = 0; o < 64 && nargs + o < nslots; o++)
            if ((cell_outs >> o) & 1) {
                slots[nargs + o] = host_cells[o];
                memcpy((void *)(intptr_t)host_cells[o], L.res + cells + (size_t)c++ * cb, (size_t)cell_bytes);
            }
        const rt_error *derr = (const rt_error *)L.res;
        if (derr->kind && err && !err->kind)
            *err = *derr;
    }
    rt_fault keep; /* taken wherever st is set (zeroing its 400 bytes showed in a launch's profile) */
    if (st)
        rt_fault_take(&keep);
    if (L.entered && rt_data_exit(L.d, L.items, L.nitems, RT_ASYNC_SYNC, L.epoch) && !st) {
        st = rt_fault_last()->status;
        rt_fault_take(&keep);
    }
    if (L.res)
        pinned_give(L.d, L.res, L.res_dev, L.res_have);
    if (st) {
        rt_fault_put(&keep);
        if (err)
            pyacc_rt_error(err, RT_ERR_DEVICE, 0, k->line, 0, 0, st, 0);
        return RT_ERR_DEVICE;
    }
    return err ? err->kind : 0;
}
