/* parallel.h - what parallel.c (a parallel loop outlined for the thread
 * pool) shares with lanes.c (a lane loop outlined for a GPU block's
 * threads): the plan of a loop's variables by role, and the pieces both
 * build from it. */
#ifndef PYACC_FE_PARALLEL_H
#define PYACC_FE_PARALLEL_H

#include "lower.h"

enum { P_SHARED, P_LAST, P_FIRSTLAST, P_RED, P_ARED, P_ATOMIC, P_NKINDS };

typedef struct plan {
    int *vars[P_NKINDS];
    fe_red_op *ops[P_NKINDS]; /* P_RED, P_ARED */
    int n[P_NKINDS];
    int field0[P_NKINDS];     /* ctx field of the first variable of each kind */
    int ncol;                 /* collapse(n): the n - 1 inner loops walked as one space */
    int col_loop[FE_MAX_COLLAPSE];
    int field_col;            /* ctx field of their trip counts */
    int field_space;          /* ctx field of the GPU's padded space (align.c: FE_ALIGN_*), or 0 */
    int nfields;
    LLVMTypeRef ctxty;
    uint8_t *ared_atomic;     /* per variable: one whose elements only atomic updates change, made a
                                 reduction on the host when small (each thread a private copy) */
    uint8_t *update_kind;     /* per reduction variable: 0 not yet asked, else 1 + fe_red_update_kind's
                                 answer (plan_update_kind) */
    uint8_t *any_kind;        /* per variable: 1 + k for the tag of a reduction variable whose updates
                                 all store kind k: it is k after the loop once any update ran, which
                                 the thread that ran the last iteration may not have (RT_CTX_ANY) */
} plan;

/* ctx: err, n, the number of partial slots, then the variables by kind */
enum { F_ERR, F_N, F_SLOTS, F_FIRST };

LLVMValueRef fe_par_ctx_field(lower *lw, plan *p, LLVMValueRef ctx, int field);
/* The plan of parallel loop li (a lane loop's: lanes), its variables by
 * role and ctx's fields; free_plan frees it, made or not. */
fe_status fe_par_make_plan(lower *lw, int li, plan *p, int lanes);
void fe_par_free_plan(plan *p);
/* Bytes a scalar of type t takes in memory, or 0 when t is not one;
 * whether a value of type t holds no pointer. */
int fe_par_scalar_bytes(const fe_type *t);
int fe_par_plain(const fe_type *t);
/* The constant ctx kind bytes a target reads to move ctx's fields. */
LLVMValueRef fe_par_ctx_kinds(lower *lw, plan *p, const char *name);
/* Loop li's body outlined: void (ptr ctx, i64 begin, i64 end, i32 tid). */
fe_status fe_par_build_body(lower *lw, int li, plan *p, LLVMValueRef *out_fn);
/* ctx filled before the loop; what comes back after it. */
void fe_par_fill_ctx(lower *lw, plan *p, LLVMValueRef ctx, LLVMValueRef n, LLVMValueRef nslots,
                     const LLVMValueRef *col_counts, const LLVMValueRef *space);
void fe_par_take_back(lower *lw, plan *p, LLVMValueRef ctx, LLVMValueRef n, LLVMValueRef *partials,
                      LLVMValueRef nslots);
/* Leaves for the function's failure exit when the loop recorded an error,
 * running `cleanup` (the scratch to free) first. */
void fe_par_joined(lower *lw, LLVMValueRef *cleanup, int ncleanup);

#endif
