/* unpolled.c - a parallel loop's body without Ctrl-C polls inside its
 * iterations, for calls where an iteration's work is known to be short.
 *
 * On the host a long-running region must notice Ctrl-C, so the loops
 * inside a parallel loop's body poll: one holding loops on its back edge,
 * an innermost one between strips of FE_POLL_STRIP iterations (lower.c).
 * Both cost more than their few instructions.  A strip is a loop around
 * the loop, and a poll is a second way out of the loop holding it.  Either
 * stops LLVM's unroll-and-jam, which runs several iterations of an outer
 * loop side by side through the inner one.  That is what turns
 * `t += a[i, p] * b[p, j]` from one chain of dependent adds, each waiting
 * for the last, into several independent ones.
 *
 * When every loop inside the body walks a range computable before the loop
 * starts (bounds the loop never assigns), the entry computes a bound on
 * an iteration's inner work, the product of those loops' trip counts (each
 * plus one).  Beside the body it makes a second one lowered without those
 * polls, and without collapse: its iterations are the outer loop's, each a
 * whole row of a collapsed nest, so that every inner loop keeps the same
 * trip count from one outer iteration to the next (unroll-and-jam needs
 * that).  The marker carries both, and the runtime (launch.c) runs the
 * second when the bound is at most RT_UNPOLLED_WORK, and a collapsed nest
 * has rows enough for the threads.  The chunk still polls between its
 * iterations, so Ctrl-C waits for one short iteration at most.
 * In it, a loop whose one inner loop is innermost asks for unroll-and-jam
 * (llvm.loop.unroll_and_jam.count), which jit/host.c turns on.
 */
#include "lower.h"

#include <llvm-c/DebugInfo.h>
#include <string.h>

#define JAM_COUNT 4

static int inside(lower *lw, int li, int outer)
{
    for (int a = lw->loops.loop[li].parent; a >= 0; a = lw->loops.loop[a].parent)
        if (a == outer)
            return 1;
    return 0;
}

/* Int expression v, read in the entry before loop `outer` runs: emitted
 * when emit, else only checked; NULL when it is not one of: int
 * constants, int variables the loop never assigns, the shape items of
 * arrays it never assigns, and +, -, * and unary - of those.  Nothing here
 * can raise: whatever the body would have raised it still raises. */
static LLVMValueRef int_value(lower *lw, const fe_loop *outer, fe_val v, int emit, int depth)
{
    fe_func *f = lw->f;
    const fe_node *n = &f->nodes[v];
    LLVMBuilderRef B = lw->B;
    const fe_type *ti = fe_t_simple(f->types, FE_T_INT);
    LLVMValueRef dummy = fe_const_i64(lw, 0);
    if (depth > 16)
        return NULL;
    switch (n->op) {
    case IR_CONST:
        if (n->c.kind != FE_CONST_INT)
            return NULL;
        return fe_const_i64(lw, n->c.i);
    case IR_LOADVAR: {
        const fe_var *var = &f->vars[n->var];
        if (!var->type || !fe_t_is_intlike(var->type) || var->tag >= 0 || fe_written_in(f, outer, n->var))
            return NULL;
        if (!emit)
            return dummy;
        LLVMValueRef x = LLVMBuildLoad2(B, fe_lty(lw, var->type), fe_var_slot(lw, n->var), "");
        return fe_convert(lw, x, var->type, ti);
    }
    case IR_ITEM: /* n, m = a.shape */
    case IR_SUBSCR: {
        /* an item of an array's shape: a.shape[d] */
        const fe_node *t = &f->nodes[fe_arg(f, n, 0)];
        int64_t d;
        if (n->op == IR_ITEM) {
            d = n->sub;
        } else {
            const fe_node *ix = &f->nodes[fe_arg(f, n, 1)];
            if (ix->op != IR_CONST || ix->c.kind != FE_CONST_INT)
                return NULL;
            d = ix->c.i;
        }
        if (t->op != IR_ATTR || strcmp(f->code->names[t->var], "shape") != 0)
            return NULL;
        const fe_node *a = &f->nodes[fe_arg(f, t, 0)];
        const fe_type *at = a->type;
        if (a->op != IR_LOADVAR || !at || at->kind != FE_T_ARRAY || f->vars[a->var].tag >= 0 ||
            fe_written_in(f, outer, a->var))
            return NULL;
        if (d < 0)
            d += at->ndim;
        if (d < 0 || d >= at->ndim)
            return NULL;
        if (!emit)
            return dummy;
        LLVMValueRef arr = LLVMBuildLoad2(B, fe_lty(lw, at), fe_var_slot(lw, a->var), "");
        LLVMValueRef shape = LLVMBuildExtractValue(B, arr, 1, "");
        return LLVMBuildExtractValue(B, shape, (unsigned)d, "");
    }
    case IR_UNOP: {
        if (n->sub != FE_UN_NEG && n->sub != FE_UN_POS)
            return NULL;
        LLVMValueRef x = int_value(lw, outer, fe_arg(f, n, 0), emit, depth + 1);
        return !x || !emit || n->sub == FE_UN_POS ? x : LLVMBuildNeg(B, x, "");
    }
    case IR_BINOP: {
        int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
        if (op != FE_NB_ADD && op != FE_NB_SUBTRACT && op != FE_NB_MULTIPLY)
            return NULL;
        LLVMValueRef x = int_value(lw, outer, fe_arg(f, n, 0), emit, depth + 1);
        LLVMValueRef y = x ? int_value(lw, outer, fe_arg(f, n, 1), emit, depth + 1) : NULL;
        if (!y || !emit)
            return y;
        /* wrapping: a bound past 2^63 is no loop anyone waits for */
        return op == FE_NB_ADD ? LLVMBuildAdd(B, x, y, "") : op == FE_NB_SUBTRACT ? LLVMBuildSub(B, x, y, "")
                                                                                   : LLVMBuildMul(B, x, y, "");
    }
    default: return NULL;
    }
}

/* The range(...) call loop li's iterator is made from (facts.c), when it
 * is one whose count this file computes; else FE_NOVAL. */
static fe_val range_call(lower *lw, int li)
{
    fe_func *f = lw->f;
    const fe_loop *lp = &lw->loops.loop[li];
    if (!lp->is_for)
        return FE_NOVAL;
    int itvar = fe_terminator(lw, lp->header)->var;
    if (!f->vars[itvar].type || f->vars[itvar].type->kind != FE_T_RANGEITER)
        return FE_NOVAL;
    fe_val c = fe_range_of(lw, itvar);
    if (c == FE_NOVAL)
        return FE_NOVAL;
    const fe_node *call = &f->nodes[c];
    int na = call->nargs - 1;
    if (na < 1 || na > 3)
        return FE_NOVAL;
    if (na == 3) { /* a constant step, not 0 (a 0 step raises where the loop starts) */
        const fe_node *st = &f->nodes[fe_arg(f, call, 3)];
        if (st->op != IR_CONST || st->c.kind != FE_CONST_INT || st->c.i == 0)
            return FE_NOVAL;
    }
    return c;
}

/* Loop li's trip count, emitted (or, with !emit, whether it can be). */
static LLVMValueRef trip_count(lower *lw, int outer, int li, int emit)
{
    fe_func *f = lw->f;
    const fe_loop *ol = &lw->loops.loop[outer];
    fe_val c = range_call(lw, li);
    if (c == FE_NOVAL)
        return NULL;
    const fe_node *call = &f->nodes[c];
    int na = call->nargs - 1;
    LLVMValueRef start = na == 1 ? fe_const_i64(lw, 0) : int_value(lw, ol, fe_arg(f, call, 1), emit, 0);
    LLVMValueRef stop = start ? int_value(lw, ol, fe_arg(f, call, na == 1 ? 1 : 2), emit, 0) : NULL;
    if (!stop || !emit)
        return stop;
    LLVMBuilderRef B = lw->B;
    int64_t step = na == 3 ? f->nodes[fe_arg(f, call, 3)].c.i : 1;
    LLVMValueRef span = step > 0 ? LLVMBuildSub(B, stop, start, "") : LLVMBuildSub(B, start, stop, "");
    uint64_t mag = step > 0 ? (uint64_t)step : 0 - (uint64_t)step;
    LLVMValueRef up = LLVMBuildAdd(B, span, fe_const_i64(lw, (int64_t)(mag - 1)), "");
    LLVMValueRef cnt = LLVMBuildSDiv(B, up, fe_const_i64(lw, (int64_t)mag), "");
    LLVMValueRef none = LLVMBuildICmp(B, LLVMIntSLE, span, fe_const_i64(lw, 0), "");
    return LLVMBuildSelect(B, none, fe_const_i64(lw, 0), cnt, "trip");
}

int fe_unpolled_wanted(lower *lw, int li)
{
    fe_func *f = lw->f;
    if (f->is_routine)
        return 0;
    const fe_loop *lp = &lw->loops.loop[li];
    int holder = 0;
    for (int c = 0; c < lw->loops.n; c++) {
        if (!inside(lw, c, li))
            continue;
        holder |= lw->loops.loop[c].parent != li;
        if (lw->lane_of_loop[c] || lw->par_of_loop[c] || !trip_count(lw, li, c, 0))
            return 0;
    }
    /* loops in loops inside an iteration: polls on the outer ones' back
     * edges, and a nest to jam.  Loops directly inside lose only their
     * strips, which is not worth a second body's compile (O3 of a region
     * takes about 40% longer with it). */
    if (!holder)
        return 0;
    for (int a = 0; a < f->code->nargs; a++)
        if (lw->listout_loop[a] == li)
            return 0;
    /* an atomic directive's lowering keeps state per statement: lowered once */
    for (int v = 0; lw->atomic_role && v < f->nnodes; v++)
        if (lw->atomic_role[v] && fe_in_body(lp, f->nodes[v].block))
            return 0;
    return 1;
}

LLVMValueRef fe_unpolled_work(lower *lw, int li)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef work = fe_const_i64(lw, 1), over = LLVMConstInt(lw->i1, 0, 0);
    for (int c = 0; c < lw->loops.n; c++) {
        if (!inside(lw, c, li))
            continue;
        /* + 1: a loop of no iterations still costs its siblings' */
        LLVMValueRef cnt = LLVMBuildAdd(B, trip_count(lw, li, c, 1), fe_const_i64(lw, 1), "");
        cnt = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, cnt, fe_const_i64(lw, 1), ""), fe_const_i64(lw, 1),
                              cnt, "");
        LLVMValueRef two[2] = {work, cnt};
        LLVMValueRef prod = fe_intrinsic(lw, "llvm.umul.with.overflow", lw->i64, two, 2);
        work = LLVMBuildExtractValue(B, prod, 0, "");
        over = LLVMBuildOr(B, over, LLVMBuildExtractValue(B, prod, 1, ""), "");
    }
    over = LLVMBuildOr(B, over, LLVMBuildICmp(B, LLVMIntSLT, work, fe_const_i64(lw, 0), ""), "");
    return LLVMBuildSelect(B, over, fe_const_i64(lw, INT64_MAX), work, "work");
}

int fe_unpolled_jam(lower *lw, int li)
{
    if (!lw->unpolled || !lw->loops.loop[li].is_for)
        return 0;
    int child = -1, n = 0;
    for (int c = 0; c < lw->loops.n; c++)
        if (lw->loops.loop[c].parent == li)
            child = c, n++;
    if (n != 1)
        return 0;
    for (int c = 0; c < lw->loops.n; c++)
        if (lw->loops.loop[c].parent == child)
            return 0;
    return 1;
}

void fe_unpolled_mark_jam(lower *lw, LLVMValueRef back_edge)
{
    LLVMContextRef C = lw->C;
    LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(C, "llvm.loop.unroll_and_jam.count", 30),
                              LLVMValueAsMetadata(LLVMConstInt(lw->i32, JAM_COUNT, 0))};
    LLVMMetadataRef count = LLVMMDNodeInContext2(C, ops, 2);
    LLVMMetadataRef self = LLVMTemporaryMDNode(C, NULL, 0);
    LLVMMetadataRef loop_ops[2] = {self, count};
    LLVMMetadataRef loop = LLVMMDNodeInContext2(C, loop_ops, 2);
    LLVMMetadataReplaceAllUsesWith(self, loop);
    LLVMSetMetadata(back_edge, LLVMGetMDKindIDInContext(C, "llvm.loop", 9), LLVMMetadataAsValue(C, loop));
}
