/* rt.h - the public interface of pyacc's runtime.
 *
 * What compiled regions and the extension call at run time: the host
 * thread pool and its parallel loops, error reporting out of compiled code,
 * (later) reductions, atomics, the CUDA driver, the present table and the
 * acc_* routines.  The runtime knows neither bytecode nor LLVM.  Every
 * symbol carries the prefix rt_ (pyacc_rt_ for those compiled code calls,
 * so they cannot clash with anything else in the process).
 */
#ifndef PYACC_RT_H
#define PYACC_RT_H

#include <stdbool.h>
#include <stdint.h>

/* --------------------------------------------------------------- the pool
 *
 * A parallel loop is a body run over [0, n) split into contiguous chunks,
 * one per thread, the calling thread taking part as thread 0.  The body is
 * an ordinary C function: compiled regions outline their loop bodies into
 * functions of this shape.
 */
typedef void (*rt_body_fn)(void *ctx, int64_t begin, int64_t end, int32_t tid);

/* Runs body(ctx, b, e, tid) over chunks covering [0, n) exactly once, on up
 * to pyacc_rt_num_threads() threads, and returns when all are done (the
 * chunks' writes are then visible to the caller).  Static schedule: at most
 * min(n, threads) contiguous chunks of near-equal length, chunk k run as tid
 * k, tid 0 on the calling thread; tid is below the thread count in force
 * when the loop starts (pyacc_rt_num_threads(), unless another thread calls
 * rt_set_num_threads meanwhile), unique among the loop's chunks, and a
 * worker keeps its tid from loop to loop.  n <= 0 calls nothing.  Loops
 * shorter than min_parallel run on the calling thread alone (one chunk, tid
 * 0); so does a call made from inside a running loop body (nested
 * parallelism runs serially).  Safe to call from several threads at once
 * (they take turns on the pool).  The body must return (no longjmp out). */
void pyacc_rt_parallel_for(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel);

/* As pyacc_rt_parallel_for, with tids below max_tids (fewer chunks when
 * there are more threads): for bodies indexing per-thread slots counted
 * before the loop, which a concurrent rt_set_num_threads must not outgrow. */
void rt_parallel_for_limited(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int32_t max_tids);

/* Pieces per chunk under the balanced schedule. */
#define RT_PIECES 8

/* As rt_parallel_for_limited, but the balanced schedule: each thread starts
 * on its own contiguous chunk, taken in RT_PIECES pieces, and a thread that
 * finishes early takes pieces of the chunks still running.  The body is then
 * called several times per thread, for pieces in no fixed order.  Its tid
 * argument is the running thread's (below max_tids), or with piece_tids the
 * piece's own index, chunk * RT_PIECES + piece (below max_tids too): the
 * same pieces whichever thread runs them, so per-piece partial results
 * combined in index order come out the same on every run. */
void rt_parallel_for_balanced(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int32_t max_tids,
                              bool piece_tids);

/* The number of threads a parallel loop uses: PYACC_NUM_THREADS if set,
 * else the CPUs this process may run on. */
int32_t pyacc_rt_num_threads(void);

/* Changes the thread count for later loops (1 disables threading; n < 1
 * counts as 1).  Returns the count now in force.  From inside a loop body it
 * only takes effect for the loops after the running one. */
int32_t rt_set_num_threads(int32_t n);

/* Stops and joins the workers; the pool restarts on the next loop.  Called
 * at interpreter exit; a no-op from inside a loop body.  Fork needs no call:
 * a pthread_atfork handler gives the child a fresh, un-started pool and the
 * parent keeps its workers. */
void rt_pool_shutdown(void);

/* ------------------------------------------------------------- errors
 *
 * Compiled code reports a Python exception by filling an rt_error and
 * returning its kind; the extension raises the matching exception with the
 * user's line.  In a parallel loop the first error wins (rt_error_set). */
typedef enum rt_error_kind {
    RT_OK = 0,
    RT_ERR_ZERO_DIVISION, /* ZeroDivisionError: info[0] = 0 int, 1 float, 2 modulo */
    RT_ERR_INDEX,         /* IndexError: info[0] index, info[1] length */
    RT_ERR_VALUE,         /* ValueError: info[0], info[1] detail */
    RT_ERR_OVERFLOW,      /* OverflowError */
    RT_ERR_LIST_LENGTH,   /* a copyout list section does not match the appends:
                             info[0] section length, info[1] iterations */
    RT_ERR_UNBOUND,       /* UnboundLocalError: info[0] the local's index */
    RT_ERR_NOMEM,         /* MemoryError: info[0] the bytes asked for */
    RT_ERR_DEVICE,        /* the GPU failed: the runtime's fault (rt_fault_last) says how */
    RT_ERR_INTERRUPT      /* a SIGINT (Ctrl-C) arrived while the region ran: KeyboardInterrupt */
} rt_error_kind;

typedef struct rt_error {
    int32_t kind; /* rt_error_kind; written last, with a compare-and-swap */
    int32_t line;
    int32_t col;
    int32_t end_col;
    int32_t file; /* which source file: 0 the region's, k a called function's */
    int32_t sigints; /* pyacc_rt_sigints as the region started: its entry function writes it, Ctrl-C polls compare */
    int64_t info[2];
} rt_error;

/* Records an error unless one is already recorded (the first one wins under
 * concurrent chunks).  Returns kind.  Called by compiled code. */
int32_t pyacc_rt_error(rt_error *err, int32_t kind, int32_t file, int32_t line, int32_t col,
                       int32_t end_col, int64_t info0, int64_t info1);

/* ------------------------------------------------------------ interrupts
 *
 * How many SIGINTs have arrived since the process started (interrupt.c):
 * compiled code reads it when a function starts and polls it in long
 * loops, recording RT_ERR_INTERRUPT when it changed. */
extern _Atomic int32_t pyacc_rt_sigints;

/* Places the SIGINT handler that counts into pyacc_rt_sigints in front of
 * the one in force, if that is a handler function (Python's); once.
 * 0, or -1 with errno set. */
int rt_interrupt_install(void);

/* --------------------------------------------------------------- launch */

/* A compute region's parallel loop: max_threads 0 uses the pool, -1 (if(false),
 * self) or 1 runs on the calling thread, g > 1 makes g gangs (num_gangs).
 * The body's tids stay below slots.  flags: RT_LAUNCH_BALANCE lets the pool
 * balance uneven work; RT_LAUNCH_PIECES also makes tid the piece's index
 * (slots then counts RT_PIECES per thread).  shape is for GPU launches
 * (below); the host's threads are its gangs, its vectors SIMD lanes the
 * compiler chose. */
enum { RT_LAUNCH_BALANCE = 1, RT_LAUNCH_PIECES = 2 };
/* fast, when not NULL: the same loop with no Ctrl-C polls inside its
 * iterations, over fast_n iterations (the outer loop's, where body walks a
 * collapsed nest), each doing at most `work` inner iterations
 * (frontend/unpolled.c).  It runs instead when work is at most
 * RT_UNPOLLED_WORK, so that Ctrl-C, noticed between iterations, waits for
 * one short iteration at most, and a collapsed nest has rows enough to keep
 * RT_UNPOLLED_ROWS per thread. */
#define RT_UNPOLLED_WORK ((int64_t)1 << 22)
#define RT_UNPOLLED_ROWS 4
void pyacc_rt_launch(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int64_t max_threads,
                     int64_t flags, int64_t slots, const uint8_t *kinds, int64_t shape, rt_body_fn fast,
                     int64_t fast_n, int64_t fast_min_parallel, int64_t work);
/* A lane loop inside a parallel loop's body (the marker pyacc.lane_loop):
 * a GPU spreads it over the gang's block; on the host, where the compiled
 * code takes it only when it is not optimised away, it runs in order on
 * the calling thread, its one partial-result slot being slot 0. */
void pyacc_rt_lane_loop(rt_body_fn body, void *ctx, int64_t n, const uint8_t *kinds);

/* A GPU launch's shape as the caller computed it from num_gangs,
 * num_workers and vector_length (and a kernels loop's gang(num:),
 * worker(num:), vector(length:)), those of device_type(nvidia) included:
 * gangs in the low 32 bits, workers and the vector length in the next 12
 * each; 0 leaves one to the runtime, which derives it from the trip count
 * (pyacc.regions.gpu_shape packs it). */
#define RT_SHAPE_GANGS(s) ((int64_t)((uint64_t)(s) & 0xffffffffu))
#define RT_SHAPE_WORKERS(s) ((int64_t)(((uint64_t)(s) >> 32) & 0xfffu))
#define RT_SHAPE_VECTOR(s) ((int64_t)(((uint64_t)(s) >> 44) & 0xfffu))

/* What each field of a parallel loop's ctx is (the launch's `kinds`, a byte
 * a field): for targets that must move ctx to other memory.  The low bits
 * of ARRAY, PARTIALS, CELL, ARED and LISTOUT give the element's size in
 * bytes. */
enum {
    RT_CTX_PLAIN = 0x00,       /* bytes, copied as they are */
    RT_CTX_ERR = 0x01,         /* rt_error *: where the loop reports */
    RT_CTX_ARRAY = 0x20,       /* an array value: data pointer, [ndim] shape, [ndim] strides (elements) */
    RT_CTX_PARTIALS = 0x40,    /* a pointer to `slots` partial results */
    RT_CTX_CELL = 0x60,        /* a pointer to one scalar the iterations share (atomics) */
    RT_CTX_ARED = 0x80,        /* the host's private copies of an array being reduced: on a GPU the
                                  threads update the array itself with atomics and never use them */
    RT_CTX_LISTOUT = 0xa0,     /* a list appended to: data pointer, capacity (items), the host's description */
    RT_CTX_UNSUPPORTED = 0xff, /* holds pointers no target but the host can follow */
    RT_CTX_SIZE_MASK = 0x1f
};
/* The second kind byte of PARTIALS and ARED: the reduction's operator (low
 * four bits: 1 + 2 * 3 max 4 min 5 & 6 | 7 ^ 8 && 9 ||) and its numbers
 * (high); of PLAIN, RT_CTX_LAST for a last value the host reads back after
 * the loop, RT_CTX_ANY for one (a byte: a reduction's kind) that any thread
 * whose copy changed writes back (each the same value), else 0.  A third byte a field follows the second ones: for
 * ARED, the field of the array itself (an ARRAY field), or 0xff; else 0. */
enum { RT_CTX_NUM_INT = 0, RT_CTX_NUM_UINT = 1, RT_CTX_NUM_FLOAT = 2, RT_CTX_NUM_BOOL = 3 };
enum { RT_CTX_LAST = 1, RT_CTX_ANY = 2 };



/* ------------------------------------------------------------- scratch */

/* Memory for the length of a region (reduction partials, private copies of
 * arrays being reduced): 64-byte aligned; NULL when out of memory. */
void *pyacc_rt_scratch(int64_t bytes);
void pyacc_rt_scratch_free(void *p);

/* ---------------------------------------------------------- arithmetic */

/* Python's int / int: the double nearest the exact quotient (b != 0). */
double pyacc_rt_int_truediv(int64_t a, int64_t b);

/* The double nearest q * 2**place, where sticky says whether anything
 * was left below q's last bit (pymath.c): to nearest, ties to even, at
 * 53 bits or at the subnormals' place 2**-1074, and an infinity past the
 * largest double.  q carries at least two bits more than the double
 * keeps (q >= 2**55, or below the subnormal place). */
double rt_nearest_double(uint64_t q, int sticky, int place);

/* Python's round(x, ndigits) of a float (round.c): an infinity from a
 * finite x is CPython's OverflowError, for the caller to raise. */
double pyacc_rt_round_digits(double x, int64_t ndigits);

/* =================================================================
 * The OpenACC device, data environment and async queues (device.c,
 * present.c, queues.c).  The acc_* routines of OpenACC 2.7 are built on
 * these; the extension (python/ext/acc.c) is their Python face.  Nothing
 * here prints or exits: a failing call returns a nonzero rt_acc_status and
 * leaves a description in the calling thread's fault (rt_fault_last).
 * ================================================================= */

#include <stddef.h>

/* ----------------------------------------------------- acc: faults */

typedef enum rt_acc_status {
    RT_ACC_OK = 0,
    RT_ACC_NOT_PRESENT,   /* data a clause or routine needs is not present */
    RT_ACC_PARTIAL,       /* a range overlaps a present range without lying inside it */
    RT_ACC_MAPPED,        /* acc_map_data of data already present */
    RT_ACC_NOT_MAPPED,    /* acc_unmap_data of data acc_map_data did not map */
    RT_ACC_INVALID,       /* a bad argument: device type or number, queue, address */
    RT_ACC_NO_MEMORY,     /* host or device memory exhausted */
    RT_ACC_DEVICE,        /* the back end failed */
    RT_ACC_TASK,          /* an async task failed (see rt_fault.detail) */
    RT_ACC_STATUS_COUNT_
} rt_acc_status;

/* A failure, as the thread that observes it sees it.  `detail` is an
 * optional payload owned by the fault (freed with free_detail): a failing
 * task of the extension puts the Python exception there so that the wait
 * that observes the failure can raise it unchanged. */
typedef struct rt_fault {
    int32_t status;               /* rt_acc_status; RT_ACC_OK when none */
    int32_t item;                 /* the failing item of a batch call, else -1 */
    char msg[384];
    void *detail;
    void (*free_detail)(void *detail);
} rt_fault;

/* Records a failure in the calling thread's fault (replacing, and freeing
 * the detail of, any earlier one) and returns status.  printf format. */
int32_t rt_fail(int32_t status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As rt_fail, with a payload the fault then owns. */
int32_t rt_fail_detail(int32_t status, void *detail, void (*free_detail)(void *), const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

/* The calling thread's last fault (status RT_ACC_OK when none); valid until
 * the thread's next rt_* call. */
const rt_fault *rt_fault_last(void);

/* Moves the calling thread's fault into *out (the caller then owns its
 * detail: rt_fault_clear frees it) and clears the thread's. */
void rt_fault_take(rt_fault *out);

/* Moves *f into the calling thread's fault; *f is left empty. */
void rt_fault_put(rt_fault *f);

/* Frees f's detail and empties it. */
void rt_fault_clear(rt_fault *f);

/* ---------------------------------------- acc: devices and back ends */

/* acc_device_t.  The values are those of NVIDIA's openacc.h. */
typedef enum rt_device_type {
    RT_DEVICE_NONE = 0,
    RT_DEVICE_DEFAULT = 1,
    RT_DEVICE_HOST = 2,
    RT_DEVICE_NOT_HOST = 3,
    RT_DEVICE_NVIDIA = 4,
    RT_DEVICE_TYPE_COUNT_
} rt_device_type;

/* acc_device_property_t (the values of GCC's openacc.h). */
typedef enum rt_property {
    RT_PROPERTY_MEMORY = 1,
    RT_PROPERTY_FREE_MEMORY = 2,
    RT_PROPERTY_NAME = 0x10001,
    RT_PROPERTY_VENDOR = 0x10002,
    RT_PROPERTY_DRIVER = 0x10003
} rt_property;

/* How a kind of device is driven.  The host device is one implementation
 * (device.c); the NVIDIA one (the CUDA driver, opened with dlopen) plugs in
 * with rt_device_register and nothing above this interface changes.  Every
 * hook returns an rt_acc_status (0 = success) after rt_fail on failure.
 * `dev` is what init made for one device.  Device addresses are uintptr_t.
 * Streams are optional (NULL hooks): a back end with streams gets each
 * async queue's copies on its own in-order stream; without them, async
 * copies run as tasks of the queue (queues.c).  A copy with stream NULL is
 * synchronous. */
typedef struct rt_backend {
    const char *name;             /* "host", "nvidia" */
    int32_t type;                 /* the rt_device_type it serves */
    int32_t shared_memory;        /* device addresses are host addresses: clauses move nothing */
    int32_t (*num_devices)(void); /* 0 when unusable (no driver, no GPU); never fails */
    int32_t (*init)(int32_t num, void **dev);
    void (*fini)(void *dev);
    int32_t (*alloc)(void *dev, size_t bytes, uintptr_t *dptr);
    int32_t (*free)(void *dev, uintptr_t dptr);
    int32_t (*copy_in)(void *dev, uintptr_t dst, const void *src, size_t bytes, void *stream);
    int32_t (*copy_out)(void *dev, void *dst, uintptr_t src, size_t bytes, void *stream);
    int32_t (*copy_device)(void *dev, uintptr_t dst, uintptr_t src, size_t bytes, void *stream);
    /* A numeric property in *value or a text one in *text (static storage
     * or owned by the back end until fini); works without init. */
    int32_t (*property)(int32_t num, int32_t prop, size_t *value, const char **text);
    int32_t (*stream_create)(void *dev, void **stream);
    void (*stream_destroy)(void *dev, void *stream);
    int32_t (*stream_sync)(void *dev, void *stream);
    int32_t (*stream_done)(void *dev, void *stream); /* 1 idle, 0 busy, < 0 -status */
} rt_backend;

/* One device of one kind: what the present table and the queues act on.
 * Devices are made on first use and live as long as the process (shutdown
 * empties them), so a pointer to one stays valid. */
typedef struct rt_device {
    const rt_backend *be;
    int32_t type;                 /* RT_DEVICE_HOST or RT_DEVICE_NVIDIA */
    int32_t num;
    void *dev;                    /* be->init's state; valid while `ready` */
    int32_t ready;                /* initialised (acc_init, or first use) */
    uint64_t generation;          /* counts initialisations: what was made for an earlier one is gone */
    struct rt_table *table;       /* present.c: the present table */
} rt_device;

/* Plugs in the back end for be->type (RT_DEVICE_NVIDIA; the host's is
 * built in), replacing any earlier one; be must outlive the process.
 * Devices of that type already made are shut down first. */
int32_t rt_device_register(const rt_backend *be);

/* ------------------------------------------------- the NVIDIA device
 *
 * cuda.c: the CUDA Driver API back end (libcuda.so.1 opened with dlopen on
 * first use; without it, or a GPU, the NVIDIA device has no devices).
 * rt_cuda_register plugs it in.  For compiled regions: the device's
 * compute capability and multiprocessor count, PTX modules loaded with the
 * driver's JIT (its error log in the fault and in log), and kernel
 * launches (grid x block threads, on a stream or, with NULL, waited for).
 * `dev` is an rt_device's dev. */
int32_t rt_cuda_register(void);
int32_t rt_cuda_target(void *dev, int32_t *cc_major, int32_t *cc_minor, int32_t *sms);
int32_t rt_cuda_load(void *dev, const char *ptx, void **module, char *log, size_t loglen);
void rt_cuda_unload(void *dev, void *module);
/* The kernel `name` of module, and the most threads a block of it may have. */
int32_t rt_cuda_function(void *dev, void *module, const char *name, void **fn, int32_t *max_block);
/* Page-locked host memory the GPU reads and writes directly (*dptr its
 * address there): results of a launch need no copy back. */
int32_t rt_cuda_host_alloc(void *dev, size_t bytes, void **host, uintptr_t *dptr);
void rt_cuda_host_free(void *dev, void *host);

/* Whether p is memory the GPU's kernels can use in place (device or
 * managed memory: an array of CuPy, PyTorch, Numba's CUDA target). */
int rt_cuda_is_device(void *dev, uintptr_t p);
/* A kernel's launch graph (NULL: none), which its waited launches go
 * through: the calling thread's cost of a launch falls from cuLaunchKernel's
 * to a graph relaunch's.  live: the context it was made in still is. */
typedef struct rt_cuda_graph rt_cuda_graph;
rt_cuda_graph *rt_cuda_graph_new(void);
void rt_cuda_graph_free(void *dev, rt_cuda_graph *g, int live);
/* Launches so far through rt_cuda_launch: through a graph, plainly; and
 * the graph launches that updated their node (new parameters or grid). */
void rt_cuda_launch_counts(uint64_t *graphed, uint64_t *plain, uint64_t *updates);
/* Launches fn, its nparams parameters at params, sizes[i] bytes each,
 * and waits for it where stream is NULL. */
int32_t rt_cuda_launch(void *dev, void *fn, rt_cuda_graph *graph, uint32_t grid, uint32_t bx, uint32_t by,
                       uint32_t shared, void *stream, void **params, const uint32_t *sizes, int nparams);
/* How many blocks of bx threads of fn fit on one multiprocessor at once. */
int32_t rt_cuda_occupancy(void *dev, void *fn, uint32_t bx, int32_t *blocks);
/* A cooperative launch: all grid blocks resident at once (grid-wide
 * barriers), or an error. */
int32_t rt_cuda_launch_cooperative(void *dev, void *fn, uint32_t grid, uint32_t bx, void *stream, void **params);

/* staging.c: page-locked chunks through which asynchronous copies go, so
 * that they return at once and keep their stream's order (a pool per GPU;
 * alloc and release make and free page-locked memory).  rt_stage_take
 * gives a free chunk or NULL when RT_STAGE_MAX are in use; rt_stage_done,
 * the host function a stream runs after the chunk's copy, moves a copy
 * back's bytes to dst and frees the chunk. */
#define RT_STAGE_BYTES ((size_t)1 << 20)
#define RT_STAGE_MAX 64
typedef struct rt_stage_pool rt_stage_pool;
typedef struct rt_stage {
    void *host;           /* RT_STAGE_BYTES of page-locked memory */
    void *dst;            /* a copy back: where its bytes go, else NULL */
    size_t bytes;
    rt_stage_pool *pool;
    struct rt_stage *next;
} rt_stage;
typedef int32_t (*rt_stage_alloc_fn)(void *dev, size_t bytes, void **host);
typedef void (*rt_stage_free_fn)(void *dev, void *host);
rt_stage_pool *rt_stage_pool_new(void *dev, rt_stage_alloc_fn alloc, rt_stage_free_fn release);
rt_stage *rt_stage_take(rt_stage_pool *p);
void rt_stage_give(rt_stage *s);
void rt_stage_done(void *arg);
void rt_stage_pool_free(rt_stage_pool *p); /* once the device is idle */

/* -------------------------------------------------- loops on a GPU
 *
 * gpu.c: one kernel of a compiled region (what jit/gpu.c made of a
 * parallel loop, loaded on device `dev`) and the launch that compiled host
 * code calls in place of the host's parallel loop: it copies ctx to the
 * GPU with the GPU's addresses in place of the host's (arrays through the
 * present table, as an implicit copy when absent), runs the kernel, and
 * brings back the error record, the partial results (combined, into
 * partial slot 0) and the shared cells.  A failure of the GPU itself is
 * reported through the error record as RT_ERR_DEVICE, the runtime's fault
 * saying what went wrong. */
typedef struct rt_gpu_kernel {
    rt_device *dev;
    uint64_t generation;      /* dev->generation when the kernel was loaded: a shutdown changes it */
    void *fn;                 /* the kernel (a CUfunction) */
    int32_t nfields;
    int32_t sms;              /* the GPU's multiprocessors */
    int32_t max_block;        /* the most threads a block may have: 32 to 1024, a multiple of 32 */
    int32_t line;             /* where device failures are reported */
    int64_t ctx_size;
    const uint8_t *kinds;     /* nfields kind bytes, then nfields second bytes (not the third) */
    const int64_t *offsets;   /* each field's byte offset in ctx */
    const int32_t *ndims;     /* an array field's dimensions */
    int32_t lanes;            /* the body has lane loops: a block per gang, its threads the gang's lanes */
    int32_t rows;             /* jit.h's JIT_GPU_ROWS_*: the block in rows of workers (jit/gpu_lanes.c), or 0 */
    int32_t grid;             /* the entry on the grid (rt_gpu_serial): jit.h's JIT_GPU_GRID kernel */
    int32_t private_field;    /* 1 + the ARRAY field a block sums in its shared memory when it fits, or 0 */
    int32_t work_parts;       /* grid: partial results a block leaves in the work area */
    int64_t work_fixed;       /* grid: the work area's bytes before them */
    rt_cuda_graph *graph;     /* its waited launches' graph (rt_cuda_launch), or NULL */
} rt_gpu_kernel;

/* The launch's arguments after k are the host launch's (pyacc_rt_launch):
 * max_threads < 0 (if(false), self) runs the body on the calling thread
 * instead; shape (RT_SHAPE_*) gives the grid's blocks (gangs) and a
 * block's threads: vector length x workers, the vector length rounded up
 * to whole warps as NVIDIA's compilers do, the block cut to what the
 * kernel can launch.  What shape leaves open comes from the trip count.
 * walk: the iterations the kernel walks, n or more (a space the frontend
 * padded so that warps start at aligned indices: frontend/align.c); the
 * kernel hands it to the body in ctx. */
void pyacc_rt_gpu_loop(const rt_gpu_kernel *k, rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel,
                       int64_t max_threads, int64_t flags, int64_t slots, const uint8_t *kinds, int64_t shape,
                       int64_t walk);

/* The grid (blocks) and block (x lanes by y workers) of the process's
 * latest parallel-loop launch on a GPU, all 0 before one: for tests and
 * diagnostics. */
void rt_gpu_last_launch(uint32_t *grid, uint32_t *bx, uint32_t *by);

/* Frees the device scratch and page-locked result blocks kept between
 * launches on device d (its context still up): at its shutdown, and at
 * exit, so that nothing of pyacc's is left allocated. */
void rt_gpu_release_spares(rt_device *d);
/* At exit: rt_gpu_release_spares for every device that is up. */
void rt_device_atexit(void);

/* A region whose entry runs on the GPU: by one thread (k a serial
 * kernel of a region with no parallel loop), or (k->grid) by the first
 * thread of a grid that stays resident, the whole grid running its
 * parallel loops (a cooperative launch sized by the kernel's occupancy,
 * with a zeroed work area; shape, the region's num_gangs, num_workers and
 * vector_length as RT_SHAPE_* packs them, or 0, sets how many blocks run
 * the loops, at most as many as stay resident, and their threads, at most
 * the kernel's bound).  slots as the host entry takes them; arg_bytes[i]
 * > 0 marks an array argument (its element size, ndims[i] its
 * dimensions) whose description (the frontend's fe_arraydesc: data,
 * RT_SERIAL_NDIM shapes, as many strides in bytes) slots[i] points to.
 * The results come back into slots[nargs, nslots); a result o whose bit
 * is set in cell_outs (a tuple) is written through the pointer in
 * slots[nargs + o], to cell_bytes of host memory: the GPU gets cell_bytes
 * of its own there, copied back after.  Returns the entry's status (an
 * rt_error kind, err filled), RT_ERR_DEVICE when the GPU failed. */
#define RT_SERIAL_NDIM 4
int32_t rt_gpu_serial(const rt_gpu_kernel *k, int64_t *slots, int32_t nargs, int32_t nslots, const int32_t *arg_bytes,
                      const int32_t *ndims, uint64_t cell_outs, int32_t cell_bytes, int64_t shape, rt_error *err);

/* The current device, initialised: made on the first call from
 * ACC_DEVICE_TYPE and ACC_DEVICE_NUM (read then, once), or from
 * rt_device_set_type / rt_device_set_num.  NULL (with a fault) only when the
 * back end cannot initialise. */
rt_device *rt_device_current(void);

/* The device of `type` that a switch to it would use, initialised; NULL
 * when that type has none (no warning, the current device unchanged). */
rt_device *rt_device_of(int32_t type);

/* acc_get_num_devices: 1 for the host; devices of an installed back end. */
int32_t rt_device_count(int32_t type);

/* acc_set_device_type.  A type with no device (nvidia without a GPU) falls
 * back to the host, leaving a warning for rt_device_warning; RT_ACC_INVALID
 * for acc_device_none or an unknown type. */
int32_t rt_device_set_type(int32_t type);

/* acc_get_device_type: the current device's type (never none/default). */
int32_t rt_device_get_type(void);

/* acc_set_device_num: num of `type` (default/not_host: the current
 * type) becomes current; RT_ACC_INVALID when out of range. */
int32_t rt_device_set_num(int32_t num, int32_t type);

/* acc_get_device_num for `type` (the number a switch to it would use). */
int32_t rt_device_get_num(int32_t type);

/* acc_init: makes `type` current (with the same fallback) and initialises it. */
int32_t rt_device_init(int32_t type);

/* acc_shutdown: waits for every queue, then empties the present tables of
 * the devices of `type` (stale data-construct tokens then do nothing),
 * frees what acc_malloc gave, and releases the devices.  The next use
 * initialises them again. */
int32_t rt_device_shutdown(int32_t type);

/* acc_get_property / acc_get_property_string of device num of `type`. */
int32_t rt_device_property(int32_t num, int32_t type, int32_t prop, size_t *value,
                           const char **text);

/* A warning the device layer left (a fallback to the host), copied into
 * buf once: 1 if there was one, else 0.  Cheap when there is none. */
int32_t rt_device_warning(char *buf, size_t size);

/* acc_on_device for code running on the host: true for host and none. */
int32_t pyacc_rt_on_device(int32_t type);

/* ------------------------------------------ acc: the present table
 *
 * Entries are keyed by a host address range [host, host+bytes) and hold a
 * device address (the host address on a shared-memory device), a
 * structured and a dynamic reference count, and the attach counts of
 * pointers inside.  A range inside an entry is present; a range that
 * overlaps one otherwise is RT_ACC_PARTIAL.  Data is copied out and the
 * entry removed only when both counts reach zero.  One mutex guards each
 * device's table: every call below is thread-safe.
 *
 * A batch call takes an array of items, acts on them in order and is
 * all-or-nothing: when one fails (its index in rt_fault.item), what the
 * items before it did is undone. */

typedef enum rt_clause {
    RT_CLAUSE_COPY,
    RT_CLAUSE_COPYIN,
    RT_CLAUSE_COPYOUT,
    RT_CLAUSE_CREATE,
    RT_CLAUSE_NO_CREATE,
    RT_CLAUSE_PRESENT,
    RT_CLAUSE_DEVICEPTR,
    RT_CLAUSE_ATTACH,          /* host: the address of a pointer (bytes ignored) */
    RT_CLAUSE_DETACH,
    RT_CLAUSE_DELETE,
    RT_CLAUSE_UPDATE_SELF,     /* update self(...) / host(...) */
    RT_CLAUSE_UPDATE_DEVICE,
    RT_CLAUSE_COUNT_
} rt_clause;

/* The spelling of a clause, for messages ("copyin"). */
const char *rt_clause_name(int32_t clause);

/* The clauses each kind of construct takes, as bit sets of rt_clause. */
#define RT_CLAUSE_BIT(c) (1u << (c))
#define RT_CLAUSES_STRUCTURED                                                                  \
    (RT_CLAUSE_BIT(RT_CLAUSE_COPY) | RT_CLAUSE_BIT(RT_CLAUSE_COPYIN) |                          \
     RT_CLAUSE_BIT(RT_CLAUSE_COPYOUT) | RT_CLAUSE_BIT(RT_CLAUSE_CREATE) |                       \
     RT_CLAUSE_BIT(RT_CLAUSE_NO_CREATE) | RT_CLAUSE_BIT(RT_CLAUSE_PRESENT) |                    \
     RT_CLAUSE_BIT(RT_CLAUSE_DEVICEPTR) | RT_CLAUSE_BIT(RT_CLAUSE_ATTACH))
#define RT_CLAUSES_ENTER                                                                       \
    (RT_CLAUSE_BIT(RT_CLAUSE_COPYIN) | RT_CLAUSE_BIT(RT_CLAUSE_CREATE) |                        \
     RT_CLAUSE_BIT(RT_CLAUSE_ATTACH))
#define RT_CLAUSES_EXIT                                                                        \
    (RT_CLAUSE_BIT(RT_CLAUSE_COPYOUT) | RT_CLAUSE_BIT(RT_CLAUSE_DELETE) |                       \
     RT_CLAUSE_BIT(RT_CLAUSE_DETACH))
#define RT_CLAUSES_UPDATE                                                                      \
    (RT_CLAUSE_BIT(RT_CLAUSE_UPDATE_SELF) | RT_CLAUSE_BIT(RT_CLAUSE_UPDATE_DEVICE))

typedef struct rt_data_item {
    const void *host;          /* in: the host address */
    size_t bytes;              /* in: the length; 0 does nothing */
    int32_t clause;            /* in: rt_clause */
    uint32_t done;             /* out: what the enter did (the exit undoes it) */
    uintptr_t dev;             /* out: the device address (host for absent no_create, deviceptr) */
} rt_data_item;

/* The structured part of a data or compute construct (data, parallel,
 * kernels, serial, declare): copy, copyin, copyout, create, no_create,
 * present, deviceptr, attach.  *epoch receives what rt_data_exit needs.
 * Data movement of a copy-in goes on `queue` (an async number, or
 * RT_ASYNC_SYNC); reference counts change at once. */
int32_t rt_data_enter(rt_device *d, rt_data_item *items, int32_t n, int32_t queue,
                      uint64_t *epoch);

/* The end of that construct: undoes what rt_data_enter did to the same
 * items, in reverse order (detaches first), copying out copy/copyout data
 * whose counts reach zero.  Items of an older epoch (the device was shut
 * down meanwhile) are left alone.  Fails only when the back end does. */
int32_t rt_data_exit(rt_device *d, rt_data_item *items, int32_t n, int32_t queue, uint64_t epoch);

/* enter data / acc_copyin / acc_create / acc_attach: copyin, create,
 * attach with dynamic counts. */
int32_t rt_data_enter_dynamic(rt_device *d, rt_data_item *items, int32_t n, int32_t queue);

/* exit data / acc_copyout / acc_delete / acc_detach (and _finalize):
 * copyout, delete, detach.  Absent data is no error (OpenACC 2.6 on);
 * partially present data is. */
int32_t rt_data_exit_dynamic(rt_device *d, rt_data_item *items, int32_t n, int32_t queue,
                             int32_t finalize);

/* update self/device (items RT_CLAUSE_UPDATE_*): copies each range between
 * host and device.  Absent data is RT_ACC_NOT_PRESENT unless if_present. */
int32_t rt_data_update(rt_device *d, rt_data_item *items, int32_t n, int32_t queue,
                       int32_t if_present);

/* acc_is_present: 1 when [host, host+bytes) lies inside one entry (bytes
 * 0: host inside one), else 0. */
int32_t rt_is_present(rt_device *d, const void *host, size_t bytes);

/* acc_deviceptr: the device address of host (0 when not present). */
uintptr_t rt_deviceptr(rt_device *d, const void *host);

/* acc_hostptr: the host address of device address dptr (0 when none). */
const void *rt_hostptr(rt_device *d, uintptr_t dptr);

/* acc_map_data / acc_unmap_data. */
int32_t rt_map_data(rt_device *d, const void *host, uintptr_t dptr, size_t bytes);
int32_t rt_unmap_data(rt_device *d, const void *host);

/* acc_malloc (bytes 0 gives 0) and acc_free (0 is no error; an address
 * acc_malloc did not return is RT_ACC_INVALID). */
int32_t rt_acc_malloc(rt_device *d, size_t bytes, uintptr_t *dptr);
int32_t rt_acc_free(rt_device *d, uintptr_t dptr);

/* acc_memcpy_to_device / _from_device / _device.  Device ranges must lie
 * inside an acc_malloc block or a present entry's device copy. */
int32_t rt_memcpy_to_device(rt_device *d, uintptr_t dst, const void *src, size_t bytes,
                            int32_t queue);
int32_t rt_memcpy_from_device(rt_device *d, void *dst, uintptr_t src, size_t bytes,
                              int32_t queue);
int32_t rt_memcpy_device(rt_device *d, uintptr_t dst, uintptr_t src, size_t bytes, int32_t queue);

/* For tests and diagnostics: the counts of the entry holding host (-1 when
 * absent); *attach_count the attach count of the pointer at host. */
int32_t rt_present_counts(rt_device *d, const void *host, int64_t *structured, int64_t *dynamic,
                          int64_t *attach_count);

/* The number of entries in d's table. */
int64_t rt_present_size(rt_device *d);

/* Used by device.c: a table, and emptying one (freeing device copies). */
struct rt_table *rt_table_new(void);
void rt_table_clear(rt_device *d);

/* Fork handlers of the tables and the queues, called by device.c's in the
 * lock order (devices, tables, queues): phase 0 before fork, 1 in the
 * parent after it, 2 in the child. */
void rt_present_atfork(int phase);
void rt_queue_atfork(int phase);

/* -------------------------------------------------- acc: async queues
 *
 * A queue is an ordered list of tasks run one after another by a worker
 * thread of its own, started when the queue gets work and gone after a
 * short idle spell, so async work overlaps with the caller and queues
 * overlap with each other; a program that never uses async starts no
 * thread.  A task that fails keeps its fault in the queue, the queue's
 * later tasks are skipped (their ctx still freed) until a wait reports it;
 * each fault is reported once. */

#define RT_ASYNC_NOVAL (-1) /* acc_async_noval: the default async queue */
#define RT_ASYNC_SYNC (-2)  /* acc_async_sync: synchronous */

/* A task: returns 0, or an rt_acc_status after rt_fail. */
typedef int32_t (*rt_task_fn)(void *ctx);

/* Queues fn(ctx) on `queue` (a number >= 0, RT_ASYNC_NOVAL) and returns
 * at once; free_ctx(ctx) (if not NULL) runs after it, or instead of it when
 * it is skipped.  RT_ASYNC_SYNC runs it now on the calling thread and
 * returns its status.  RT_ACC_INVALID for other negative numbers (then
 * free_ctx has run). */
int32_t rt_queue_submit(int32_t queue, rt_task_fn fn, void *ctx, void (*free_ctx)(void *));

/* An async copy in the order of `queue` (kind: the clause-free direction,
 * 0 host to device, 1 device to host, 2 device to device); synchronous
 * for RT_ASYNC_SYNC. */
int32_t rt_queue_copy(rt_device *d, int32_t queue, int32_t kind, uintptr_t dst, uintptr_t src,
                      size_t bytes);

/* Called from a task of an async queue: that queue's stream on device d
 * (made if need be), so that GPU work of different queues overlaps; NULL
 * elsewhere, or when the queue's stream is another device's. */
void *rt_queue_stream(rt_device *d);

/* The queue an async argument names: RT_ASYNC_NOVAL resolves to the
 * default async queue (which is RT_ASYNC_NOVAL's own queue until
 * acc_set_default_async changes it).  RT_ACC_INVALID for numbers < -2. */
int32_t rt_queue_resolve(int32_t async, int32_t *queue);

/* acc_async_test / acc_async_test_all: 1 when all work is done (a kept
 * fault is left for a wait), else 0; negative -RT_ACC_INVALID for a bad
 * number. */
int32_t rt_queue_test(int32_t queue);
int32_t rt_queue_test_all(void);

/* acc_wait / acc_wait_all: block until done, then report (and forget) a
 * kept fault.  Waiting on a queue from its own task is RT_ACC_INVALID. */
int32_t rt_queue_wait(int32_t queue);
int32_t rt_queue_wait_all(void);
/* Whether any async queue has been made (else a wait for all has nothing to do). */
int rt_queue_any(void);

/* acc_wait_async / acc_wait_all_async: `on` waits for the work now queued
 * on `queue` (every other queue) before running what follows; at once when
 * `on` is RT_ASYNC_SYNC. */
int32_t rt_queue_wait_async(int32_t queue, int32_t on);
int32_t rt_queue_wait_all_async(int32_t on);

/* acc_get_default_async / acc_set_default_async (RT_ASYNC_NOVAL restores
 * the initial default). */
int32_t rt_queue_get_default(void);
int32_t rt_queue_set_default(int32_t async);

/* Worker threads alive now (tests check that unused async costs none). */
int32_t rt_queue_workers(void);

/* Waits for every queue and lets the workers exit (at interpreter exit, and
 * in acc_shutdown).  Returns the first kept fault's status. */
int32_t rt_queue_shutdown(void);

#endif
