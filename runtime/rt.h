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
    RT_ERR_NOMEM          /* MemoryError: info[0] the bytes asked for */
} rt_error_kind;

typedef struct rt_error {
    int32_t kind; /* rt_error_kind; written last, with a compare-and-swap */
    int32_t line;
    int32_t col;
    int32_t end_col;
    int32_t file; /* which source file: 0 the region's, k a called function's */
    int32_t pad_;
    int64_t info[2];
} rt_error;

/* Records an error unless one is already recorded (the first one wins under
 * concurrent chunks).  Returns kind.  Called by compiled code. */
int32_t pyacc_rt_error(rt_error *err, int32_t kind, int32_t file, int32_t line, int32_t col,
                       int32_t end_col, int64_t info0, int64_t info1);

/* ------------------------------------------------------------- scratch */

/* Memory for the length of a region (reduction partials, private copies of
 * arrays being reduced): 64-byte aligned; NULL when out of memory. */
void *pyacc_rt_scratch(int64_t bytes);
void pyacc_rt_scratch_free(void *p);

/* ---------------------------------------------------------- arithmetic */

/* Python's int / int: the double nearest the exact quotient (b != 0). */
double pyacc_rt_int_truediv(int64_t a, int64_t b);

#endif
