/* error.c - errors raised by compiled code (rt_error in rt.h). */
#include "rt.h"

#include <stdatomic.h>

int32_t pyacc_rt_error(rt_error *err, int32_t kind, int32_t file, int32_t line, int32_t col,
                       int32_t end_col, int64_t info0, int64_t info1)
{
    /* The first error wins when chunks of a parallel loop fail together: a
     * separate claim word keeps the fields of the winner together, and the
     * pool's join publishes them to the caller. */
    _Static_assert(sizeof(atomic_int) == sizeof(int32_t), "claim word size");
    atomic_int *claim = (atomic_int *)&err->kind;
    int expected = 0;
    if (!atomic_compare_exchange_strong_explicit(claim, &expected, -1, memory_order_relaxed,
                                                 memory_order_relaxed))
        return kind;
    err->file = file;
    err->line = line;
    err->col = col;
    err->end_col = end_col;
    err->info[0] = info0;
    err->info[1] = info1;
    atomic_store_explicit(claim, kind, memory_order_release);
    return kind;
}
