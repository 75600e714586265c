/* launch.c - how a compute region's parallel loop starts: on every thread
 * of the pool, on the calling thread alone (if(false), self), or as a given
 * number of gangs (num_gangs), each running a contiguous share of the
 * iterations. */
#include "rt.h"

typedef struct gangs {
    rt_body_fn body;
    void *ctx;
    int64_t n, ngangs;
} gangs;

/* Runs gangs [gb, ge) on thread tid: gang g covers its near-equal share. */
static void run_gangs(void *p, int64_t gb, int64_t ge, int32_t tid)
{
    const gangs *g = p;
    for (int64_t k = gb; k < ge; k++) {
        int64_t lo = g->n * k / g->ngangs, hi = g->n * (k + 1) / g->ngangs;
        if (hi > lo)
            g->body(g->ctx, lo, hi, tid);
    }
}

void pyacc_rt_launch(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int64_t max_threads,
                     int64_t flags, int64_t slots, const uint8_t *kinds, int64_t shape, rt_body_fn fast,
                     int64_t fast_n, int64_t fast_min_parallel, int64_t work)
{
    (void)kinds; /* the host reads ctx where it is */
    (void)shape; /* a GPU's: the host's gangs are max_threads */
    if (n <= 0)
        return;
    if (fast && work >= 0 && work <= RT_UNPOLLED_WORK && fast_n > 0 &&
        (fast_n == n || fast_n >= (int64_t)RT_UNPOLLED_ROWS * pyacc_rt_num_threads())) {
        body = fast;
        n = fast_n;
        min_parallel = fast_min_parallel;
    }
    int32_t tids = slots > INT32_MAX ? INT32_MAX : slots < 1 ? 1 : (int32_t)slots;
    if (max_threads == 1 || max_threads < 0) { /* one gang, or the local thread (if(false), self) */
        body(ctx, 0, n, 0);
        return;
    }
    if (max_threads <= 0) {
        if (flags & (RT_LAUNCH_BALANCE | RT_LAUNCH_PIECES))
            rt_parallel_for_balanced(body, ctx, n, min_parallel, tids, (flags & RT_LAUNCH_PIECES) != 0);
        else
            rt_parallel_for_limited(body, ctx, n, min_parallel, tids);
        return;
    }
    /* num_gangs(g): g shares of the iterations, spread over the pool; a
     * thread may run several, each body call combining into its own slot */
    gangs g = {body, ctx, n, max_threads < n ? max_threads : n};
    rt_parallel_for_limited(run_gangs, &g, g.ngangs, 2, tids);
}

void pyacc_rt_lane_loop(rt_body_fn body, void *ctx, int64_t n, const uint8_t *kinds)
{
    (void)kinds; /* a GPU's: its block's threads take the iterations */
    if (n > 0)
        body(ctx, 0, n, 0);
}
