/* lower.c - a typed region to an LLVM module.
 *
 * The entry `i32 sym(ptr slots, ptr err)` unpacks the parameters from their
 * slots into one alloca per variable (LLVM promotes them to registers) and
 * walks the blocks.  A `for` loop whose directive makes it parallel is
 * outlined: its body becomes `void sym.loopN(ptr ctx, i64 begin, i64 end,
 * i32 tid)` running iterations [begin, end), and the entry calls the marker
 * `pyacc.parallel_loop(body, ctx, n, min_parallel)`, which jit/ maps onto a
 * target (the host thread pool, or a GPU grid).  Variables the body only
 * reads travel by value in ctx; those it assigns and the code after the loop
 * reads come back from the chunk that ran the last iteration.
 */
#include "lower.h"

#include "rt.h"

#include <llvm-c/Analysis.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- plumbing */

LLVMBasicBlockRef fe_bb_of(lower *lw, int k)
{
    lfn *fn = lw->fn;
    if (!fn->bb[k]) {
        char name[24];
        snprintf(name, sizeof name, "b%d", k);
        fn->bb[k] = LLVMAppendBasicBlockInContext(lw->C, fn->fn, name);
    }
    return fn->bb[k];
}

/* An alloca in the current function's entry block, where mem2reg finds it. */
LLVMValueRef fe_entry_alloca(lower *lw, LLVMTypeRef t, const char *name)
{
    LLVMBuilderRef ab = LLVMCreateBuilderInContext(lw->C);
    LLVMValueRef first = LLVMGetFirstInstruction(lw->fn->entry);
    if (first)
        LLVMPositionBuilderBefore(ab, first);
    else
        LLVMPositionBuilderAtEnd(ab, lw->fn->entry);
    LLVMValueRef a = LLVMBuildAlloca(ab, t, name);
    LLVMDisposeBuilder(ab);
    return a;
}

LLVMValueRef fe_var_slot(lower *lw, int var)
{
    lfn *fn = lw->fn;
    if (!fn->slot[var]) {
        const fe_type *t = fn->held[var] ? fn->held[var] : lw->f->vars[var].type;
        fn->slot[var] = fe_entry_alloca(lw, fe_lty(lw, t), lw->f->vars[var].name);
    }
    return fn->slot[var];
}

LLVMValueRef fe_var_load(lower *lw, int var)
{
    const fe_type *t = lw->f->vars[var].type, *held = lw->fn->held[var];
    LLVMValueRef x = LLVMBuildLoad2(lw->B, fe_lty(lw, held ? held : t), fe_var_slot(lw, var), "");
    return held ? fe_convert(lw, x, held, t) : x;
}

void fe_var_store(lower *lw, int var, LLVMValueRef v)
{
    const fe_type *held = lw->fn->held[var];
    if (held) /* exact: the slot is only given values of the held kind */
        v = fe_convert(lw, v, lw->f->vars[var].type, held);
    LLVMBuildStore(lw->B, v, fe_var_slot(lw, var));
}

LLVMValueRef fe_node_val(lower *lw, fe_val v) { return lw->val[v]; }

/* When `failed`, records the error and goes to `fail` (NULL: on, past the
 * check). */
static void check_to(lower *lw, LLVMValueRef failed, int kind, fe_loc loc, LLVMValueRef info0,
                     LLVMValueRef info1, LLVMBasicBlockRef fail)
{
    if (LLVMIsAConstantInt(failed) && LLVMConstIntGetZExtValue(failed) == 0)
        return;
    lfn *fn = lw->fn;
    LLVMBasicBlockRef raise = LLVMAppendBasicBlockInContext(lw->C, fn->fn, "raise");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(lw->C, fn->fn, "ok");
    LLVMValueRef args[2] = {failed, LLVMConstInt(lw->i1, 0, 0)};
    LLVMValueRef expect = fe_intrinsic(lw, "llvm.expect", lw->i1, args, 2);
    LLVMBuildCondBr(lw->B, expect, raise, ok);
    LLVMPositionBuilderAtEnd(lw->B, raise);
    LLVMTypeRef ptys[8] = {lw->ptr, lw->i32, lw->i32, lw->i32, lw->i32, lw->i32, lw->i64, lw->i64};
    LLVMTypeRef fty = LLVMFunctionType(lw->i32, ptys, 8, 0);
    LLVMValueRef rt = LLVMGetNamedFunction(lw->M, "pyacc_rt_error");
    if (!rt) {
        rt = LLVMAddFunction(lw->M, "pyacc_rt_error", fty);
        /* cold: keeps the error paths out of the way of the hot loop */
        LLVMAddAttributeAtIndex(rt, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(lw->C, LLVMGetEnumAttributeKindForName("cold", 4), 0));
    }
    LLVMValueRef cargs[8] = {fn->err,
                             LLVMConstInt(lw->i32, (unsigned long long)kind, 0),
                             LLVMConstInt(lw->i32, (unsigned long long)lw->file, 0),
                             LLVMConstInt(lw->i32, (unsigned long long)loc.line, 0),
                             LLVMConstInt(lw->i32, (unsigned long long)loc.col, 1),
                             LLVMConstInt(lw->i32, (unsigned long long)loc.end_col, 1),
                             LLVMBuildSExtOrBitCast(lw->B, info0, lw->i64, ""),
                             LLVMBuildSExtOrBitCast(lw->B, info1, lw->i64, "")};
    LLVMBuildCall2(lw->B, fty, rt, cargs, 8, "");
    LLVMBuildBr(lw->B, fail ? fail : ok);
    LLVMPositionBuilderAtEnd(lw->B, ok);
}

void fe_check(lower *lw, LLVMValueRef failed, int kind, fe_loc loc, LLVMValueRef info0,
              LLVMValueRef info1)
{
    check_to(lw, failed, kind, loc, info0, info1, lw->fn->fail);
}

/* Records the error when `failed`, and goes on either way. */
static void check_reported(lower *lw, LLVMValueRef failed, int kind, fe_loc loc, LLVMValueRef info0,
                              LLVMValueRef info1)
{
    check_to(lw, failed, kind, loc, info0, info1, NULL);
}

void fe_check_deferred(lower *lw, LLVMValueRef failed, int kind, fe_loc loc, LLVMValueRef info0,
                       LLVMValueRef info1)
{
    lfn *fn = lw->fn;
    const int cap = (int)(sizeof fn->deferred / sizeof fn->deferred[0]);
    if (fn->par_loop < 0 || fn->ndeferred == cap || !LLVMIsAConstant(info0) || !LLVMIsAConstant(info1)) {
        fe_check(lw, failed, kind, loc, info0, info1);
        return;
    }
    if (LLVMIsAConstantInt(failed) && LLVMConstIntGetZExtValue(failed) == 0)
        return;
    struct fe_deferred *d = &fn->deferred[fn->ndeferred++];
    d->flag = fe_entry_alloca(lw, lw->i1, "failed");
    d->kind = kind;
    d->file = lw->file;
    d->loc = loc;
    d->info0 = info0;
    d->info1 = info1;
    LLVMValueRef was = LLVMBuildLoad2(lw->B, lw->i1, d->flag, "");
    LLVMBuildStore(lw->B, LLVMBuildOr(lw->B, was, failed, ""), d->flag);
}

void fe_report_deferred(lower *lw)
{
    lfn *fn = lw->fn;
    for (int i = 0; i < fn->ndeferred; i++) {
        const struct fe_deferred *d = &fn->deferred[i];
        int saved = lw->file;
        lw->file = d->file;
        check_reported(lw, LLVMBuildLoad2(lw->B, lw->i1, d->flag, ""), d->kind, d->loc, d->info0, d->info1);
        lw->file = saved;
    }
}

/* Where an rt_error keeps the count as the region started. */
#define ERR_SIGINTS_OFFSET ((int64_t)offsetof(rt_error, sigints))

/* pyacc.sigints() (the count) and pyacc.interrupted(err) (whether it moved
 * since the region started), made on first use.  Internal, so that a GPU's
 * module can give pyacc.sigints and pyacc.interrupted bodies of its own
 * (0 and false: the count lives in host memory, and a kernel cannot stop
 * early), and every poll folds away there (jit/gpu.c). */
static LLVMValueRef sigints_global(lower *lw)
{
    LLVMValueRef g = LLVMGetNamedGlobal(lw->M, "pyacc_rt_sigints");
    return g ? g : LLVMAddGlobal(lw->M, lw->i32, "pyacc_rt_sigints");
}

static LLVMValueRef load_count(lower *lw, LLVMBuilderRef b)
{
    /* atomic, so that a loop re-reads it: a signal handler writes it */
    LLVMValueRef v = LLVMBuildLoad2(b, lw->i32, sigints_global(lw), "sigints");
    LLVMSetOrdering(v, LLVMAtomicOrderingMonotonic);
    LLVMSetAlignment(v, 4);
    return v;
}

static LLVMValueRef poll_fn(lower *lw, const char *name, LLVMTypeRef fty, int interrupted)
{
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, name);
    if (fn)
        return fn;
    fn = LLVMAddFunction(lw->M, name, fty);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    fe_add_fn_attr(lw, fn, LLVMAttributeFunctionIndex, "alwaysinline");
    fe_add_fn_attr(lw, fn, LLVMAttributeFunctionIndex, "nounwind");
    LLVMBuilderRef b = LLVMCreateBuilderInContext(lw->C);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(lw->C, fn, "entry"));
    LLVMValueRef now = load_count(lw, b);
    if (interrupted) {
        LLVMValueRef off = fe_const_i64(lw, ERR_SIGINTS_OFFSET);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(b, lw->i8, LLVMGetParam(fn, 0), &off, 1, "");
        LLVMValueRef then = LLVMBuildLoad2(b, lw->i32, at, "since");
        LLVMBuildRet(b, LLVMBuildICmp(b, LLVMIntNE, now, then, ""));
    } else {
        LLVMBuildRet(b, now);
    }
    LLVMDisposeBuilder(b);
    return fn;
}

void fe_poll(lower *lw, fe_loc loc)
{
    LLVMTypeRef fty = LLVMFunctionType(lw->i1, &lw->ptr, 1, 0);
    LLVMValueRef fn = poll_fn(lw, "pyacc.interrupted", fty, 1);
    LLVMValueRef err = lw->fn->err;
    LLVMValueRef hit = LLVMBuildCall2(lw->B, fty, fn, &err, 1, "");
    fe_check(lw, hit, RT_ERR_INTERRUPT, loc, fe_const_i64(lw, 0), fe_const_i64(lw, 0));
}

LLVMValueRef fe_strip_end(lower *lw, LLVMValueRef k, LLVMValueRef end)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef left = LLVMBuildSub(B, end, k, "");
    LLVMValueRef full = LLVMBuildICmp(B, LLVMIntSGT, left, fe_const_i64(lw, FE_POLL_STRIP), "");
    full = LLVMBuildAnd(B, full, LLVMBuildNot(B, fe_on_gpu(lw), ""), "");
    return LLVMBuildSelect(B, full, LLVMBuildAdd(B, k, fe_const_i64(lw, FE_POLL_STRIP), ""), end, "");
}

void fe_poll_start(lower *lw, LLVMBuilderRef b)
{
    if (!LLVMGetNamedFunction(lw->M, "pyacc.interrupted"))
        return; /* nothing polls */
    LLVMTypeRef fty = LLVMFunctionType(lw->i32, NULL, 0, 0);
    LLVMValueRef now = LLVMBuildCall2(b, fty, poll_fn(lw, "pyacc.sigints", fty, 0), NULL, 0, "");
    LLVMValueRef off = fe_const_i64(lw, ERR_SIGINTS_OFFSET);
    LLVMBuildStore(b, now, LLVMBuildInBoundsGEP2(b, lw->i8, lw->fn->err, &off, 1, ""));
}

const fe_node *fe_terminator(lower *lw, int k)
{
    const fe_block *b = &lw->f->blocks[k];
    return &lw->f->nodes[b->nodes[b->nnodes - 1]];
}

static int loop_iter_var(lower *lw, int li) { return fe_terminator(lw, lw->loops.loop[li].header)->var; }

LLVMValueRef fe_iteration_index(lower *lw, int li)
{
    if (lw->fn->par_loop == li)
        return LLVMBuildLoad2(lw->B, lw->i64, lw->fn->k, "k");
    /* a sequential loop: ITERNEXT has already advanced k past this one */
    int var = loop_iter_var(lw, li);
    const fe_type *t = lw->f->vars[var].type;
    LLVMValueRef it = LLVMBuildLoad2(lw->B, fe_lty(lw, t), fe_var_slot(lw, var), "");
    LLVMValueRef k = LLVMBuildExtractValue(lw->B, it, t->kind == FE_T_RANGEITER ? 3 : 1, "");
    return LLVMBuildSub(lw->B, k, fe_const_i64(lw, 1), "");
}

int fe_in_body(const fe_loop *lp, int k) { return k != lp->header && lp->in_loop[k]; }

static int par_body_of(lower *lw, int k)
{
    for (int li = 0; li < lw->loops.n; li++)
        if (lw->par_of_loop[li] && fe_in_body(&lw->loops.loop[li], k))
            return li;
    return -1;
}

static int par_header_of(lower *lw, int k)
{
    for (int li = 0; li < lw->loops.n; li++)
        if (lw->par_of_loop[li] && lw->loops.loop[li].header == k)
            return li;
    return -1;
}

static LLVMBasicBlockRef target(lower *lw, int k)
{
    lfn *fn = lw->fn;
    if (fn->par_loop >= 0 && k == lw->loops.loop[fn->par_loop].header)
        return fn->latch;
    return fe_bb_of(lw, k);
}

/* Whether loop li is one whose back edges poll for Ctrl-C: a while loop
 * (its trip count unknown) or one holding other loops (a poll per
 * iteration is nothing beside theirs).  An innermost `for` stays free of
 * them, vectorisable; a parallel loop's own polls are in its body's strips
 * (parallel.c). */
static int polls(lower *lw, int li)
{
    if (!lw->loops.loop[li].is_for)
        return 1;
    if (lw->unpolled)
        return 0; /* the chunk polls between iterations, each short */
    for (int c = 0; c < lw->loops.n; c++)
        if (lw->loops.loop[c].parent == li)
            return 1;
    return 0;
}

/* The loop whose header is block k, or -1. */
static int loop_at(lower *lw, int k)
{
    for (int l = 0; l < lw->loops.n; l++)
        if (lw->loops.loop[l].header == k)
            return l;
    return -1;
}

/* Whether loop li's header does nothing but read before its FORITER. */
static int header_reads(lower *lw, int li)
{
    const fe_block *h = &lw->f->blocks[lw->loops.loop[li].header];
    for (int i = 0; i + 1 < h->nnodes; i++) {
        int op = lw->f->nodes[h->nodes[i]].op;
        if (op != IR_LOADVAR && op != IR_CONST && op != IR_NULL)
            return 0;
    }
    return 1;
}

/* Whether loop li runs in strips, polling between them: an innermost for
 * loop inside another loop, other than a parallel loop (parallel.c lowers
 * its header, and strips its body), whose header only reads before its FORITER (a strip's
 * start goes back to it, and must not run anything twice). */
static int strips(lower *lw, int li)
{
    if (li < 0 || lw->unpolled || lw->par_of_loop[li] || lw->loops.loop[li].parent < 0 || polls(lw, li))
        return 0;
    return header_reads(lw, li);
}

/* Where loop li's strips start: the loop's entry, so that each strip's
 * loop is a loop of its own inside the loop of strips (LLVM vectorises
 * the inner one). */
static LLVMBasicBlockRef strip_head(lower *lw, int li)
{
    lfn *fn = lw->fn;
    if (!fn->strip_head[li]) {
        fn->strip_head[li] = LLVMAppendBasicBlockInContext(lw->C, fn->fn, "strip");
        /* an end left from an earlier run of the loop, or none yet, only
         * moves the first poll: the iterator's own end bounds each strip */
        fn->strip_end[li] = fe_entry_alloca(lw, lw->i64, "strip.end");
        LLVMBuilderRef eb = LLVMCreateBuilderInContext(lw->C);
        LLVMPositionBuilderAtEnd(eb, fn->entry);
        LLVMBuildStore(eb, fe_const_i64(lw, 0), fn->strip_end[li]);
        LLVMDisposeBuilder(eb);
    }
    return fn->strip_head[li];
}

/* The nearest loop around li that is not `seq` (-1 at none); *depth: how
 * many loops up it is. */
static int spread_parent(lower *lw, int li, int *depth)
{
    int a = lw->loops.loop[li].parent;
    *depth = 1;
    while (a >= 0 && !lw->par_of_loop[a]) {
        const fe_loopspec *s = lw->loops.loop[a].spec;
        if (s && s->par != FE_PAR_SEQ)
            break;
        a = lw->loops.loop[a].parent;
        (*depth)++;
    }
    return a;
}

/* The block an edge from block `from` to block `to` branches to: to's, or
 * on a back edge of a polling loop, a block that polls first. */
static LLVMBasicBlockRef edge(lower *lw, int from, int to)
{
    LLVMBasicBlockRef t = target(lw, to);
    int li = loop_at(lw, to);
    if (li < 0 || li == lw->fn->par_loop)
        return t;
    if (!lw->loops.loop[li].in_loop[from]) {
        int in = lw->fn->par_loop;
        int depth;
        if (in >= 0 && ((lw->lane_of_loop[li] == FE_LANES_BLOCK && lw->par_of_loop[in]) ||
                        (lw->lane_of_loop[li] == FE_LANES_ROW && spread_parent(lw, li, &depth) == in))) {
            /* a lane loop in a parallel loop's body, or a row's in a
             * worker loop's: fe_lower_blocks fills its entry in once the
             * body is lowered */
            if (!lw->fn->lane_head[li])
                lw->fn->lane_head[li] = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "lanes");
            return lw->fn->lane_head[li];
        }
        return strips(lw, li) ? strip_head(lw, li) : t;
    }
    if (!polls(lw, li))
        return t;
    LLVMBasicBlockRef here = LLVMGetInsertBlock(lw->B);
    LLVMBasicBlockRef poll = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "poll");
    LLVMPositionBuilderAtEnd(lw->B, poll);
    /* reported at the loop's own line: the for, or the while's test */
    const fe_node *at = fe_terminator(lw, lw->loops.loop[li].is_for ? to : from);
    fe_poll(lw, at->loc);
    LLVMBuildBr(lw->B, t);
    LLVMPositionBuilderAtEnd(lw->B, here);
    return poll;
}

lfn *fe_lfn_new(lower *lw, LLVMValueRef fnv, int par_loop)
{
    lfn *fn = calloc(1, sizeof *fn);
    if (!fn)
        return NULL;
    fn->bb = calloc((size_t)lw->f->nblocks + 1, sizeof *fn->bb);
    fn->slot = calloc((size_t)lw->f->nvars + 1, sizeof *fn->slot);
    fn->held = calloc((size_t)lw->f->nvars + 1, sizeof *fn->held);
    fn->strip_end = calloc((size_t)lw->loops.n + 1, sizeof *fn->strip_end);
    fn->strip_head = calloc((size_t)lw->loops.n + 1, sizeof *fn->strip_head);
    fn->lane_head = calloc((size_t)lw->loops.n + 1, sizeof *fn->lane_head);
    fn->own_copy = calloc((size_t)lw->f->nvars + 1, sizeof *fn->own_copy);
    if (!fn->bb || !fn->slot || !fn->held || !fn->strip_end || !fn->strip_head || !fn->lane_head || !fn->own_copy) {
        free(fn->bb);
        free(fn->slot);
        free(fn->held);
        free(fn->strip_end);
        free(fn->strip_head);
        free(fn->lane_head);
        free(fn->own_copy);
        free(fn);
        return NULL;
    }
    fn->fn = fnv;
    fn->par_loop = par_loop;
    fn->entry = LLVMAppendBasicBlockInContext(lw->C, fnv, "entry");
    fn->fail = LLVMAppendBasicBlockInContext(lw->C, fnv, "fail");
    return fn;
}

void fe_lfn_free(lfn *fn)
{
    if (fn) {
        free(fn->bb);
        free(fn->slot);
        free(fn->held);
        free(fn->strip_end);
        free(fn->strip_head);
        free(fn->lane_head);
        free(fn->own_copy);
        free(fn);
    }
}

void fe_add_fn_attr(lower *lw, LLVMValueRef fn, unsigned idx, const char *name)
{
    unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(lw->C, kind, 0));
}

/* ----------------------------------------------------------- the blocks */


/* Lowers the nodes of block k into the current function, terminator too. */
static fe_status lower_block(lower *lw, int k)
{
    fe_func *f = lw->f;
    fe_block *blk = &f->blocks[k];
    LLVMPositionBuilderAtEnd(lw->B, fe_bb_of(lw, k));
    for (int i = 0; i < blk->nnodes; i++) {
        fe_node *n = &f->nodes[blk->nodes[i]];
        switch (n->op) {
        case IR_BR: {
            LLVMValueRef br = LLVMBuildBr(lw->B, edge(lw, k, blk->succ[0]));
            int li = loop_at(lw, blk->succ[0]);
            if (li >= 0 && lw->loops.loop[li].in_loop[k] && fe_unpolled_jam(lw, li))
                fe_unpolled_mark_jam(lw, br);
            break;
        }
        case IR_CBR: {
            LLVMBasicBlockRef yes = edge(lw, k, blk->succ[0]), no = edge(lw, k, blk->succ[1]);
            LLVMBuildCondBr(lw->B, lw->val[fe_arg(f, n, 0)], yes, no);
            break;
        }
        case IR_FORITER: {
            const fe_type *t = f->vars[n->var].type;
            LLVMValueRef it = LLVMBuildLoad2(lw->B, fe_lty(lw, t), fe_var_slot(lw, n->var), "");
            int li = loop_at(lw, k);
            LLVMBasicBlockRef yes = edge(lw, k, blk->succ[0]), no = edge(lw, k, blk->succ[1]);
            if (!strips(lw, li)) {
                LLVMBuildCondBr(lw->B, fe_iter_more(lw, it, t), yes, no);
                break;
            }
            /* Ctrl-C: the iterations run in strips of FE_POLL_STRIP,
             * polling between them, so that a strip's loop keeps one exit
             * and vectorises.  Here: on while the strip lasts. */
            LLVMBuilderRef B = lw->B;
            lfn *fn = lw->fn;
            LLVMBasicBlockRef head = strip_head(lw, li), here = LLVMGetInsertBlock(B);
            int kf = t->kind == FE_T_RANGEITER ? 3 : 1;
            LLVMValueRef two[2] = {LLVMBuildLoad2(B, lw->i64, fn->strip_end[li], ""), fe_iter_count(lw, it, t)};
            LLVMValueRef lim = fe_intrinsic(lw, "llvm.smin", lw->i64, two, 2);
            /* a GPU has no polls: one strip, the loop as it was */
            lim = LLVMBuildSelect(B, fe_on_gpu(lw), two[1], lim, "");
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, LLVMBuildExtractValue(B, it, kf, "k"), lim, ""), yes,
                            head);
            /* the strip's start: done, or poll and mark the strip's end */
            LLVMPositionBuilderAtEnd(B, head);
            LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(lw->C, fn->fn, "strip.next");
            it = LLVMBuildLoad2(B, fe_lty(lw, t), fe_var_slot(lw, n->var), "");
            LLVMValueRef kv = LLVMBuildExtractValue(B, it, kf, "k"), count = fe_iter_count(lw, it, t);
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, kv, count, ""), next, no);
            LLVMPositionBuilderAtEnd(B, next);
            /* none before the first strip: the loop around polls already,
             * and a short loop pays no more than the strip's end */
            LLVMBasicBlockRef poll = LLVMAppendBasicBlockInContext(lw->C, fn->fn, "strip.poll");
            LLVMBasicBlockRef mark = LLVMAppendBasicBlockInContext(lw->C, fn->fn, "strip.mark");
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, kv, fe_const_i64(lw, 0), ""), mark, poll);
            LLVMPositionBuilderAtEnd(B, poll);
            fe_poll(lw, n->loc);
            LLVMBuildBr(B, mark);
            LLVMPositionBuilderAtEnd(B, mark);
            LLVMBuildStore(B, fe_strip_end(lw, kv, count), fn->strip_end[li]);
            LLVMBuildBr(B, here);
            break;
        }
        case IR_RET: {
            if (lw->fn->par_loop >= 0)
                return fe_error_set(lw->err, FE_ERR_UNSUPPORTED, n->loc, "return inside a parallel loop");
            if (f->is_routine) {
                const fe_type *rt = f->ret_type;
                if (rt && rt->kind != FE_T_NONE) {
                    fe_val rv = fe_arg(f, n, 0);
                    LLVMValueRef v = fe_convert(lw, lw->val[rv], f->nodes[rv].type, rt);
                    LLVMBuildStore(lw->B, v, LLVMGetParam(lw->fn->fn, 1));
                }
                LLVMBuildRet(lw->B, LLVMConstInt(lw->i32, 0, 0));
                break;
            }
            const fe_type *t = f->nodes[fe_arg(f, n, 0)].type;
            LLVMValueRef v = lw->val[fe_arg(f, n, 0)];
            LLVMValueRef slots = LLVMGetParam(lw->fn->fn, 0);
            /* which results are bound: a caller's variable the region left
             * unassigned stays unassigned */
            const fe_node *tup = &f->nodes[fe_arg(f, n, 0)];
            LLVMValueRef mask = fe_const_i64(lw, 0);
            for (int o = 0; o < lw->r->nouts && o < 63; o++) {
                const fe_node *l = tup->op == IR_TUPLE ? &f->nodes[fe_arg(f, tup, o)] : NULL;
                LLVMValueRef b = LLVMConstInt(lw->i1, 1, 0);
                if (l && l->op == IR_LOADVAR && l->aux == FE_LOAD_OUT && f->vars[l->var].flag >= 0) {
                    int flag = f->vars[l->var].flag;
                    b = LLVMBuildLoad2(lw->B, lw->i1, fe_var_slot(lw, flag), "");
                }
                mask = LLVMBuildOr(lw->B, mask,
                                   LLVMBuildShl(lw->B, LLVMBuildZExt(lw->B, b, lw->i64, ""), fe_const_i64(lw, o), ""), "");
            }
            LLVMValueRef midx = fe_const_i64(lw, f->code->nargs + lw->r->nouts);
            LLVMBuildStore(lw->B, mask, LLVMBuildInBoundsGEP2(lw->B, lw->i64, slots, &midx, 1, ""));
            /* and which kind each result holds, after the mask */
            for (int o = 0; o < lw->r->nouts && tup->op == IR_TUPLE; o++) {
                LLVMValueRef kidx = fe_const_i64(lw, f->code->nargs + 2 * lw->r->nouts + 1 + o);
                LLVMValueRef kv = LLVMBuildZExt(lw->B, fe_kind_value(lw, fe_arg(f, tup, o)), lw->i64, "");
                LLVMBuildStore(lw->B, kv, LLVMBuildInBoundsGEP2(lw->B, lw->i64, slots, &kidx, 1, ""));
            }
            for (int o = 0; o < lw->r->nouts; o++) {
                const fe_type *it = t->items[o];
                if (it->kind == FE_T_NONE)
                    continue; /* never bound: nothing to store */
                if (it->kind == FE_T_TUPLE) { /* into the cells the slot points to */
                    LLVMValueRef idx = fe_const_i64(lw, f->code->nargs + o);
                    LLVMValueRef cells = LLVMBuildLoad2(lw->B, lw->ptr,
                                                        LLVMBuildInBoundsGEP2(lw->B, lw->i64, slots, &idx, 1, ""), "");
                    LLVMValueRef tv = LLVMBuildExtractValue(lw->B, v, (unsigned)o, "");
                    for (int k = 0; k < it->nitems; k++) {
                        const fe_type *kt = it->items[k];
                        const fe_type *st = fe_t_is_floatlike(kt) ? fe_t_simple(f->types, FE_T_FLOAT)
                                                                  : fe_t_simple(f->types, FE_T_INT);
                        LLVMValueRef x = fe_convert(lw, LLVMBuildExtractValue(lw->B, tv, (unsigned)k, ""), kt, st);
                        LLVMValueRef ki = fe_const_i64(lw, k);
                        LLVMBuildStore(lw->B, x, LLVMBuildInBoundsGEP2(lw->B, lw->i64, cells, &ki, 1, ""));
                    }
                    continue;
                }
                LLVMValueRef x = LLVMBuildExtractValue(lw->B, v, (unsigned)o, "");
                const fe_type *st = fe_t_is_floatlike(it) ? fe_t_simple(f->types, FE_T_FLOAT)
                                                          : fe_t_simple(f->types, FE_T_INT);
                x = fe_convert(lw, x, it, st); /* unsigned ints zero-extend */
                LLVMValueRef idx = fe_const_i64(lw, f->code->nargs + o);
                LLVMBuildStore(lw->B, x, LLVMBuildInBoundsGEP2(lw->B, lw->i64, slots, &idx, 1, ""));
            }
            LLVMBuildRet(lw->B, LLVMConstInt(lw->i32, 0, 0));
            break;
        }
        default: {
            LLVMValueRef v = fe_lower_node(lw, n);
            if (!v)
                return lw->err->status ? lw->err->status
                                       : fe_error_set(lw->err, FE_ERR_INTERNAL, n->loc, "lowering failed");
            lw->val[blk->nodes[i]] = v;
            fe_lower_kind(lw, blk->nodes[i]);
        }
        }
    }
    return FE_OK;
}

/* Lowers every reachable block that belongs in the current function. */
fe_status fe_lower_blocks(lower *lw)
{
    lfn *fn = lw->fn;
    for (int k = 0; k < lw->f->nblocks; k++) {
        if (!lw->f->blocks[k].reachable)
            continue;
        fe_status st;
        if (fn->par_loop < 0) {
            if (par_body_of(lw, k) >= 0)
                continue;
            int li = par_header_of(lw, k);
            st = li >= 0 ? fe_lower_parallel(lw, li) : lower_block(lw, k);
        } else {
            if (!fe_in_body(&lw->loops.loop[fn->par_loop], k))
                continue;
            st = lower_block(lw, k);
        }
        if (st != FE_OK)
            return st;
    }
    /* the lane loops entered, each also as it runs elsewhere */
    for (int li = 0; li < lw->loops.n; li++) {
        if (!fn->lane_head[li])
            continue;
        const fe_loop *lp = &lw->loops.loop[li];
        LLVMBasicBlockRef host = strips(lw, li) ? strip_head(lw, li) : target(lw, lp->header);
        fe_status st = fe_lower_lanes(lw, li, fn->lane_head[li], host, edge(lw, lp->header, lp->exit));
        if (st != FE_OK)
            return st;
    }
    return FE_OK;
}

/* ------------------------------------------------------------ the entry */

/* A parameter of several kinds starts as the kind it was called with. */
static void param_tag(lower *lw, int var, const fe_type *called_with)
{
    int tag = lw->f->vars[var].tag;
    if (tag < 0)
        return;
    int k = fe_kind_of_type(lw->f, called_with);
    LLVMBuildStore(lw->B, LLVMConstInt(lw->i8, (unsigned long long)(k < 0 ? 0 : k), 0), fe_var_slot(lw, tag));
}

static void load_params(lower *lw, LLVMValueRef slots)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    for (int p = 0; p < f->code->nargs; p++) {
        const fe_type *vt = f->vars[p].type;
        if (!vt)
            continue;
        /* The slot holds the value as called (an int for `s = 5`), which the
         * variable's type may widen (a float, once the region stores one):
         * read as called, then converted. */
        const fe_type *at = fe_t_from_arg(f->types, &lw->r->argtypes[p], p);
        const fe_type *t = fe_t_is_number(vt) && at && fe_t_is_number(at) ? at : vt;
        LLVMValueRef idx = fe_const_i64(lw, p);
        LLVMValueRef sp = LLVMBuildInBoundsGEP2(B, lw->i64, slots, &idx, 1, "");
        LLVMValueRef v;
        switch (t->kind) {
        case FE_T_BOOL:
        case FE_T_INT:
            v = LLVMBuildLoad2(B, lw->i64, sp, f->vars[p].name);
            if (t->kind == FE_T_BOOL)
                v = LLVMBuildICmp(B, LLVMIntNE, v, fe_const_i64(lw, 0), "");
            break;
        case FE_T_FLOAT:
            v = LLVMBuildLoad2(B, lw->f64, sp, f->vars[p].name);
            break;
        case FE_T_NP:
            if (fe_dtype_is_float(t->dtype)) {
                v = LLVMBuildLoad2(B, lw->f64, sp, f->vars[p].name);
                if (t->dtype == FE_DT_FLOAT32)
                    v = LLVMBuildFPTrunc(B, v, lw->f32, "");
            } else {
                v = LLVMBuildLoad2(B, lw->i64, sp, f->vars[p].name);
                v = t->dtype == FE_DT_BOOL ? LLVMBuildICmp(B, LLVMIntNE, v, fe_const_i64(lw, 0), "")
                                           : LLVMBuildTrunc(B, v, fe_lty(lw, t), "");
            }
            break;
        case FE_T_ARRAY:
        case FE_T_LIST: {
            LLVMValueRef desc = LLVMBuildLoad2(B, lw->ptr, sp, f->vars[p].name);
            int nd = t->kind == FE_T_LIST ? 1 : t->ndim;
            fe_dtype dt = t->kind == FE_T_LIST ? fe_t_dtype(t->elem) : t->dtype;
            int64_t itemsize = fe_dtype_bits(dt) / 8;
            v = LLVMGetUndef(fe_lty(lw, t));
            v = LLVMBuildInsertValue(B, v, LLVMBuildLoad2(B, lw->ptr, desc, "data"), 0, "");
            LLVMValueRef sh = LLVMGetUndef(LLVMArrayType2(lw->i64, (uint64_t)nd)), st = sh;
            for (int d = 0; d < nd; d++) {
                LLVMValueRef o1 = fe_const_i64(lw, (int64_t)(offsetof(fe_arraydesc, shape) + 8 * (size_t)d));
                LLVMValueRef o2 = fe_const_i64(lw, (int64_t)(offsetof(fe_arraydesc, strides) + 8 * (size_t)d));
                LLVMValueRef dim = LLVMBuildLoad2(B, lw->i64, LLVMBuildInBoundsGEP2(B, lw->i8, desc, &o1, 1, ""), "");
                LLVMValueRef str = LLVMBuildLoad2(B, lw->i64, LLVMBuildInBoundsGEP2(B, lw->i8, desc, &o2, 1, ""), "");
                sh = LLVMBuildInsertValue(B, sh, dim, (unsigned)d, "");
                /* strides arrive in bytes, multiples of the item size */
                st = LLVMBuildInsertValue(B, st, LLVMBuildExactSDiv(B, str, fe_const_i64(lw, itemsize), ""),
                                          (unsigned)d, "");
            }
            v = LLVMBuildInsertValue(B, v, sh, 1, "");
            v = LLVMBuildInsertValue(B, v, st, 2, "");
            break;
        }
        case FE_T_LISTOUT: {
            LLVMValueRef desc = LLVMBuildLoad2(B, lw->ptr, sp, f->vars[p].name);
            LLVMValueRef o1 = fe_const_i64(lw, offsetof(fe_arraydesc, shape));
            LLVMValueRef cntp = LLVMBuildInBoundsGEP2(B, lw->i8, desc, &o1, 1, "");
            v = LLVMGetUndef(fe_lty(lw, t));
            v = LLVMBuildInsertValue(B, v, LLVMBuildLoad2(B, lw->ptr, desc, "data"), 0, "");
            v = LLVMBuildInsertValue(B, v, LLVMBuildLoad2(B, lw->i64, cntp, "cap"), 1, "");
            v = LLVMBuildInsertValue(B, v, desc, 2, "");
            LLVMBuildStore(B, fe_const_i64(lw, 0), cntp); /* nothing appended yet */
            break;
        }
        default:
            continue;
        }
        if (t != vt)
            v = fe_convert(lw, v, t, vt);
        LLVMBuildStore(B, v, fe_var_slot(lw, p));
        param_tag(lw, p, at);
    }
}

/* Which loop each copyout list's appends belong to; each append must run
 * once per iteration of an outermost for loop. */
static fe_status place_appends(lower *lw)
{
    fe_func *f = lw->f;
    for (int p = 0; p < f->code->nargs; p++)
        lw->listout_loop[p] = -1;
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        if (n->op != IR_CALL || !f->blocks[n->block].reachable)
            continue;
        const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
        if (!ct || ct->kind != FE_T_METHOD || ct->id != FE_BI_LIST_APPEND)
            continue;
        int p = ct->seq->id;
        int li = lw->loops.innermost[n->block];
        if (li < 0 || !lw->loops.loop[li].is_for || lw->loops.loop[li].parent >= 0 ||
            !fe_once_per_iteration(f, &lw->loops, li, n->block) || lw->listout_loop[p] >= 0)
            return fe_error_set(lw->err, FE_ERR_UNSUPPORTED, n->loc,
                                "an append to a copyout list must run exactly once in every "
                                "iteration of the region's loop");
        lw->listout_loop[p] = li;
    }
    return FE_OK;
}

/* Appends a line to the diagnostics PYACC_DEBUG prints. */
void fe_note(lower *lw, const char *fmt, ...)
{
    if (lw->unpolled)
        return; /* said when the body was lowered the first time */
    char line[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = lw->notes ? strlen(lw->notes) : 0, add = strlen(line);
    char *n = realloc(lw->notes, old + add + 2);
    if (!n)
        return;
    memcpy(n + old, line, add);
    n[old + add] = '\n';
    n[old + add + 1] = 0;
    lw->notes = n;
}

static void decide_parallel(lower *lw)
{
    for (int li = 0; li < lw->loops.n; li++) {
        const fe_loop *lp = &lw->loops.loop[li];
        if (!lp->is_for || !lp->spec)
            continue;
        int line = fe_terminator(lw, lp->header)->loc.line;
        if (lp->spec->par == FE_PAR_AUTO) {
            /* kernels and `loop auto`: parallel only when proven independent */
            char why[300];
            int nested = 0;
            for (int a = lp->parent; a >= 0; a = lw->loops.loop[a].parent)
                nested |= lw->par_of_loop[a];
            if (nested)
                continue;
            if (fe_loop_independent(lw, li, why, sizeof why)) {
                lw->par_of_loop[li] = 1;
                fe_note(lw, "line %d: loop runs in parallel (its iterations are independent)", line);
            } else {
                fe_note(lw, "line %d: loop runs in order: %s", line, why);
            }
            continue;
        }
        if (lp->spec->par != FE_PAR_INDEPENDENT)
            continue;
        int nested = 0;
        for (int a = lp->parent; a >= 0; a = lw->loops.loop[a].parent)
            nested |= lw->par_of_loop[a] || (lw->loops.loop[a].spec != NULL);
        /* the outermost parallel loop is spread over threads; loops inside
         * it run in each thread, vectorised where LLVM can */
        if (!nested) {
            lw->par_of_loop[li] = 1;
            fe_note(lw, "line %d: loop runs in parallel (independent by its directive)", line);
        }
    }
}

/* Which loops spread over a GPU block's threads (lane loops): a `loop`
 * in a parallel loop's body, independent and not gang, with at most `seq`
 * loops between the two, where the parallel loop has no worker or vector
 * clause of its own (it takes the block's threads then) and the loop is
 * not one of its collapsed ones.  The parallel loop's iterations go to
 * blocks then, NVIDIA's mapping of gang and vector.  Inside a `loop
 * worker` lane loop, or a parallel loop with `worker` and no `vector`,
 * an independent vector (or unlabelled) loop, again with at most `seq`
 * loops between, spreads over the threads of the row (threadIdx.y)
 * running the worker's iteration: OpenACC's worker and vector as
 * NVIDIA's compilers map them.  Other loops nested in a lane
 * loop run in each thread.  A header doing more than reads is left
 * alone: the lane path does not run it. */
static void decide_lanes(lower *lw)
{
    if (lw->f->is_routine)
        return;
    for (int pass = FE_LANES_BLOCK; pass <= FE_LANES_ROW; pass++)
        for (int li = 0; li < lw->loops.n; li++) {
            const fe_loop *lp = &lw->loops.loop[li];
            if (!lp->is_for || !lp->spec || lw->par_of_loop[li] || lp->spec->par != FE_PAR_INDEPENDENT ||
                (lp->spec->levels & FE_LEVEL_GANG) || lw->lane_of_loop[li])
                continue;
            int depth, a = spread_parent(lw, li, &depth);
            if (a < 0)
                continue;
            const fe_loopspec *ps = lw->loops.loop[a].spec;
            if (pass == FE_LANES_BLOCK) {
                if (!lw->par_of_loop[a] || !ps || (ps->levels & (FE_LEVEL_WORKER | FE_LEVEL_VECTOR)) ||
                    depth < ps->collapse)
                    continue;
            } else if ((lw->lane_of_loop[a] != FE_LANES_BLOCK && !lw->par_of_loop[a]) || !ps ||
                       (ps->levels & FE_LEVEL_VECTOR) || !(ps->levels & FE_LEVEL_WORKER) ||
                       (lp->spec->levels & FE_LEVEL_WORKER) || depth < ps->collapse) {
                continue;
            }
            if (header_reads(lw, li))
                lw->lane_of_loop[li] = (int)pass;
        }
}

/* The per-function tables of the lowering (the loops are found already). */
static fe_status alloc_tables(lower *lw)
{
    fe_func *f = lw->f;
    int nargs = f->code->nargs;
    lw->val = calloc((size_t)f->nnodes + 1, sizeof *lw->val);
    lw->kindval = calloc((size_t)f->nnodes + 1, sizeof *lw->kindval);
    if (!lw->kindval)
        return FE_ERR_NOMEM;
    for (int k = 0; k < FE_NFACTS; k++) {
        lw->fact[k] = calloc((size_t)f->nvars + 1, 1);
        lw->fact_iter[k] = calloc((size_t)f->nvars + 1, 1);
        if (!lw->fact[k] || !lw->fact_iter[k])
            return FE_ERR_NOMEM;
    }
    lw->lower_bound = malloc(((size_t)f->nvars + 1) * sizeof *lw->lower_bound);
    if (!lw->lower_bound)
        return FE_ERR_NOMEM;
    for (int v = 0; v <= f->nvars; v++)
        lw->lower_bound[v] = INT64_MIN;
    lw->listout_loop = calloc((size_t)nargs + 1, sizeof *lw->listout_loop);
    lw->par_of_loop = calloc((size_t)lw->loops.n + 1, sizeof *lw->par_of_loop);
    lw->lane_of_loop = calloc((size_t)lw->loops.n + 1, sizeof *lw->lane_of_loop);
    if (!lw->val || !lw->listout_loop || !lw->par_of_loop || !lw->lane_of_loop)
        return FE_ERR_NOMEM;
    for (int p = 0; p < nargs; p++)
        lw->listout_loop[p] = -1;
    return fe_alias_init(lw);
}

static void free_tables(lower *lw)
{
    free(lw->val);
    free(lw->kindval);
    lw->kindval = NULL;
    for (int k = 0; k < FE_NFACTS; k++) {
        free(lw->fact[k]);
        free(lw->fact_iter[k]);
        lw->fact[k] = lw->fact_iter[k] = NULL;
    }
    free(lw->lower_bound);
    lw->lower_bound = NULL;
    free(lw->listout_loop);
    free(lw->par_of_loop);
    free(lw->lane_of_loop);
    fe_alias_free(lw);
    fe_loops_free(&lw->loops);
}

LLVMValueRef fe_routine_fn(lower *lw, fe_instance *x, LLVMTypeRef *fty_out)
{
    fe_func *g = x->func;
    LLVMTypeRef ptys[18] = {lw->ptr, lw->ptr};
    for (int i = 0; i < x->nargs; i++)
        ptys[2 + i] = fe_lty(lw, x->args[i]);
    LLVMTypeRef fty = LLVMFunctionType(lw->i32, ptys, (unsigned)(2 + x->nargs), 0);
    *fty_out = fty;
    if (x->llvm_fn)
        return x->llvm_fn;
    /* a lowering of its own, sharing the module, the builder and the types */
    lower sub = *lw;
    sub.f = g;
    sub.r = &x->region;
    sub.in_body = lw->in_body || (lw->fn && lw->fn->par_loop >= 0);
    sub.fn = NULL;
    /* tables of its own: none of the caller's may be freed with it */
    sub.val = NULL;
    sub.kindval = NULL;
    sub.listout_loop = sub.par_of_loop = sub.lane_of_loop = NULL;
    memset(sub.fact, 0, sizeof sub.fact);
    memset(sub.fact_iter, 0, sizeof sub.fact_iter);
    memset(&sub.loops, 0, sizeof sub.loops);
    sub.atomic_role = NULL; /* a called function has no directives of its own */
    sub.atomic_of = NULL;
    sub.atomic = NULL;
    sub.atomic_var = NULL;
    sub.alias_scope = sub.alias_others = NULL;
    sub.unpolled = 0; /* its loops poll as ever: the estimate does not see them */
    fe_status st = fe_find_loops(g, &sub.loops, lw->err);
    if (st == FE_OK && alloc_tables(&sub) != FE_OK)
        st = fe_error_set(lw->err, FE_ERR_NOMEM, x->region.loc, "out of memory");
    if (st != FE_OK) {
        free_tables(&sub);
        return NULL;
    }
    fe_compute_nonneg(&sub);
    int idx = 0;
    while (g->inst->v[idx] != x)
        idx++;
    sub.file = 1 + idx;
    char name[300];
    snprintf(name, sizeof name, "%s.fn%d.%s", lw->r->symbol ? lw->r->symbol : "pyacc", idx,
             g->code->qualname ? g->code->qualname : "f");
    LLVMValueRef fnv = LLVMAddFunction(lw->M, name, fty);
    LLVMSetLinkage(fnv, LLVMInternalLinkage);
    fe_add_fn_attr(lw, fnv, LLVMAttributeFunctionIndex, "nounwind");
    fe_add_fn_attr(lw, fnv, LLVMAttributeFunctionIndex, "alwaysinline");
    x->llvm_fn = fnv;
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(lw->B);
    lfn *fn = fe_lfn_new(&sub, fnv, -1);
    if (!fn) {
        free_tables(&sub);
        fe_error_set(lw->err, FE_ERR_NOMEM, x->region.loc, "out of memory");
        return NULL;
    }
    sub.fn = fn;
    fn->err = LLVMGetParam(fnv, 0);
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(lw->C, fnv, "start");
    LLVMPositionBuilderAtEnd(lw->B, start);
    for (int v = 0; v < g->nvars; v++)
        if (g->vars[v].is_param && g->vars[v].type) {
            LLVMValueRef pv = LLVMGetParam(fnv, (unsigned)(2 + g->vars[v].param));
            LLVMBuildStore(lw->B, fe_convert(&sub, pv, x->args[g->vars[v].param], g->vars[v].type),
                           fe_var_slot(&sub, v));
            param_tag(&sub, v, x->args[g->vars[v].param]);
        }
    LLVMBuildBr(lw->B, fe_bb_of(&sub, 0));
    st = fe_lower_blocks(&sub);
    if (st == FE_OK) {
        LLVMPositionBuilderAtEnd(lw->B, fn->fail);
        LLVMBuildRet(lw->B, LLVMBuildLoad2(lw->B, lw->i32, fn->err, "kind"));
        LLVMPositionBuilderAtEnd(lw->B, fn->entry);
        LLVMBuildBr(lw->B, start);
    }
    lw->nparallel += sub.nparallel;
    lw->host_elements |= sub.host_elements;
    fe_lfn_free(fn);
    free_tables(&sub);
    if (saved)
        LLVMPositionBuilderAtEnd(lw->B, saved);
    return st == FE_OK ? fnv : NULL;
}

static fe_status lower_entry(lower *lw)
{
    LLVMTypeRef ptys[2] = {lw->ptr, lw->ptr};
    LLVMValueRef fnv = LLVMAddFunction(lw->M, lw->r->symbol, LLVMFunctionType(lw->i32, ptys, 2, 0));
    fe_add_fn_attr(lw, fnv, LLVMAttributeFunctionIndex, "nounwind");
    lfn *fn = fe_lfn_new(lw, fnv, -1);
    if (!fn)
        return fe_error_set(lw->err, FE_ERR_NOMEM, lw->r->loc, "out of memory");
    lw->fn = fn;
    fn->err = LLVMGetParam(fnv, 1);
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(lw->C, fnv, "start");
    LLVMPositionBuilderAtEnd(lw->B, start);
    load_params(lw, LLVMGetParam(fnv, 0));
    LLVMBuildBr(lw->B, fe_bb_of(lw, 0));
    fe_status st = fe_lower_blocks(lw);
    if (st == FE_OK) {
        LLVMPositionBuilderAtEnd(lw->B, fn->fail);
        LLVMBuildRet(lw->B, LLVMBuildLoad2(lw->B, lw->i32, fn->err, "kind"));
        LLVMPositionBuilderAtEnd(lw->B, fn->entry);
        fe_poll_start(lw, lw->B);
        LLVMBuildBr(lw->B, start);
    }
    lw->fn = NULL;
    fe_lfn_free(fn);
    return st;
}

fe_status fe_lower_region(const fe_region *r, void *llvm_ctx, fe_result *res, fe_error *err)
{
    memset(res, 0, sizeof *res);
    memset(err, 0, sizeof *err);
    fe_func f = {0};
    lower lw = {.f = &f, .r = r, .err = err, .C = (LLVMContextRef)llvm_ctx};
    fe_status st = fe_build(r, &f, err);
    if (st == FE_OK)
        st = fe_track_unbound(&f, err);
    if (st == FE_OK)
        st = fe_infer(&f, err);
    if (st == FE_OK)
        st = fe_infer_kinds(&f, err);
    if (st == FE_OK)
        st = fe_find_loops(&f, &lw.loops, err);
    if (st != FE_OK)
        goto out;
    int nargs = r->code->nargs;
    res->written = calloc((size_t)nargs + 1, 1);
    res->outtypes = calloc((size_t)r->nouts + 1, sizeof *res->outtypes);
    res->listout_types = calloc((size_t)r->nlistouts + 1, sizeof *res->listout_types);
    if (alloc_tables(&lw) != FE_OK || !res->written || !res->outtypes || !res->listout_types) {
        st = fe_error_set(err, FE_ERR_NOMEM, r->loc, "out of memory");
        goto out;
    }
    if ((st = place_appends(&lw)) != FE_OK || (st = fe_plan_atomics(&lw)) != FE_OK)
        goto out;
    decide_parallel(&lw); /* after the atomics: atomic updates do not make loops dependent */
    decide_lanes(&lw);
    fe_compute_nonneg(&lw);

    LLVMContextRef C = lw.C;
    lw.M = LLVMModuleCreateWithNameInContext(r->symbol, C);
    lw.B = LLVMCreateBuilderInContext(C);
    lw.i1 = LLVMInt1TypeInContext(C);
    lw.i8 = LLVMInt8TypeInContext(C);
    lw.i16 = LLVMInt16TypeInContext(C);
    lw.i32 = LLVMInt32TypeInContext(C);
    lw.i64 = LLVMInt64TypeInContext(C);
    lw.f32 = LLVMFloatTypeInContext(C);
    lw.f64 = LLVMDoubleTypeInContext(C);
    lw.ptr = LLVMPointerTypeInContext(C, 0);
    lw.voidt = LLVMVoidTypeInContext(C);
    st = lower_entry(&lw);
    LLVMDisposeBuilder(lw.B);
    if (st == FE_OK) {
        char *msg = NULL;
        if (LLVMVerifyModule(lw.M, LLVMReturnStatusAction, &msg)) {
            st = fe_error_set(err, FE_ERR_INTERNAL, r->loc, "generated invalid LLVM IR: %.400s", msg ? msg : "");
        }
        LLVMDisposeMessage(msg);
    }
    if (st != FE_OK) {
        LLVMDisposeModule(lw.M);
        goto out;
    }
    res->module = lw.M;
    res->nparallel = lw.nparallel;
    res->host_elements = lw.host_elements;
    res->notes = lw.notes;
    lw.notes = NULL;
    /* the files errors may point into: the region's, then each callee's */
    res->nfiles = 1 + (f.inst ? f.inst->n : 0);
    res->files = calloc((size_t)res->nfiles, sizeof *res->files);
    for (int i = 0; res->files && i < res->nfiles; i++) {
        const char *name = i == 0 ? r->code->filename : f.inst->v[i - 1]->region.code->filename;
        res->files[i] = strdup(name ? name : "");
    }
    fe_mark_written(&f, res->written);
    /* what the dispatcher needs to box the results */
    const fe_node *ret = NULL;
    for (int v = 0; v < f.nnodes; v++)
        if (f.nodes[v].op == IR_RET && f.blocks[f.nodes[v].block].reachable)
            ret = &f.nodes[v];
    res->outitems = calloc((size_t)r->nouts * FE_MAX_OUT_ITEMS + 1, sizeof *res->outitems);
    for (int o = 0; ret && o < r->nouts; o++) {
        const fe_type *it = f.nodes[fe_arg(&f, ret, 0)].type->items[o];
        if (it->kind == FE_T_TUPLE && res->outitems) {
            res->outtypes[o].kind = FE_ARG_TUPLE;
            res->outtypes[o].ndim = (uint8_t)it->nitems;
            for (int k = 0; k < it->nitems; k++)
                fe_t_to_arg(it->items[k], &res->outitems[o * FE_MAX_OUT_ITEMS + k]);
        } else {
            fe_t_to_arg(it, &res->outtypes[o]);
        }
    }
    res->nkinds = f.nkinds;
    for (int k = 0; k < f.nkinds; k++)
        fe_t_to_arg(f.kinds[k], &res->kinds[k]);
    for (int i = 0; i < r->nlistouts; i++) {
        const fe_type *et = f.listout_elem ? f.listout_elem[r->listouts[i].param] : NULL;
        if (et)
            fe_t_to_arg(et, &res->listout_types[i]);
        else
            res->listout_types[i].kind = FE_ARG_NONE;
    }
out:
    free(lw.notes);
    free_tables(&lw);
    fe_atomics_free(&lw);
    fe_func_free(&f);
    if (st != FE_OK)
        fe_result_free(res);
    return st;
}

void fe_result_free(fe_result *res)
{
    free(res->outitems);
    for (int i = 0; res->files && i < res->nfiles; i++)
        free(res->files[i]);
    free(res->files);
    free(res->outtypes);
    free(res->listout_types);
    free(res->written);
    free(res->notes);
    memset(res, 0, sizeof *res);
}
