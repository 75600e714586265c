/* loops.h - loop structure and variable roles, for parallel outlining.
 *
 * A loop is the natural loop of the backward edges into one block.  For a
 * `for` loop the header is the block ending in FORITER and the body is the
 * loop minus the header.  Liveness and definite assignment over variables
 * tell what a parallel loop's body must receive (shared), may keep to itself
 * (private), must hand back (lastprivate) or cannot run in parallel
 * (carried from one iteration to the next).
 */
#ifndef PYACC_FE_LOOPS_H
#define PYACC_FE_LOOPS_H

#include "ir.h"

typedef struct fe_loop {
    int header;       /* block index */
    int is_for;       /* header ends in FORITER */
    int body_start;   /* FORITER's body successor, or -1 */
    int exit;         /* FORITER's exit successor, or -1 */
    int parent;       /* enclosing loop, or -1 */
    uint8_t *in_loop; /* per block: in the loop, header included */
    const fe_loopspec *spec; /* the directive on this loop's line, or NULL */
} fe_loop;

typedef struct fe_loops {
    fe_loop *loop;
    int n;
    int *innermost;   /* per block: the innermost loop holding it, or -1 */
    int nwords;       /* words in a variable bitset */
    uint64_t *live_in; /* per block: variables live on entry */
} fe_loops;

/* Finds the loops of f (whose blocks are built) and global liveness. */
fe_status fe_find_loops(fe_func *f, fe_loops *L, fe_error *err);
void fe_loops_free(fe_loops *L);

typedef enum fe_varrole {
    FE_ROLE_UNUSED,
    FE_ROLE_SHARED,      /* read in the body, never written: copied in */
    FE_ROLE_PRIVATE,     /* written before read in every iteration, dead after */
    FE_ROLE_LASTPRIVATE, /* as private, but live after: the last iteration's value */
    FE_ROLE_CARRIED      /* read before written: a value crosses iterations */
} fe_varrole;

/* Roles of all variables for the body of for-loop `li` run as a parallel
 * loop; role[] has f->nvars entries.  The loop's own iterator counts as
 * shared.  FE_ERR_UNSUPPORTED when the loop cannot be outlined (a break, or
 * a lastprivate not assigned in every iteration). */
fe_status fe_loop_roles(fe_func *f, const fe_loops *L, int li, uint8_t *role, fe_error *err);

/* Whether block `blk` runs exactly once in every iteration of loop li: it
 * is in the loop's body, in no inner loop, and on every path from the body's
 * start to the back edge. */
int fe_once_per_iteration(fe_func *f, const fe_loops *L, int li, int blk);

#endif
