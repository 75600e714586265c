/* scratch.c - memory compiled code borrows for the length of a region:
 * per-thread partial results of reductions and private copies of arrays
 * being reduced.  Cache-line aligned, so that threads writing neighbouring
 * partials do not share a line. */
#include "rt.h"

#include <stdlib.h>

void *pyacc_rt_scratch(int64_t bytes)
{
    void *p = NULL;
    size_t n = bytes > 0 ? ((size_t)bytes + 63) & ~(size_t)63 : 64;
    if (posix_memalign(&p, 64, n) != 0)
        return NULL;
    return p;
}

void pyacc_rt_scratch_free(void *p) { free(p); }
