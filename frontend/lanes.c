/* lanes.c - a lane loop (a `loop vector` or `loop worker` inside a
 * parallel loop's body) outlined like a parallel loop's body, so that a
 * GPU spreads its iterations over the threads of the gang's block (or of
 * the worker's row): `pyacc.lane_loop(body, ctx, n, kinds)`, which
 * jit/gpu_lanes.c lowers.  Elsewhere, and where its variables cannot be
 * handed over so, the loop runs as any sequential loop. */
#include "parallel.h"

#include <stdlib.h>

/* Why lane loop li cannot hand its variables over as a GPU block's
 * threads take them, or NULL: its ctx is read by every thread, while the
 * partial results, lists and private arrays of a parallel loop live in
 * memory only the gang's own thread may reach. */
static const char *lanes_refused(lower *lw, int li, plan *p)
{
    fe_func *f = lw->f;
    if (p->n[P_ARED])
        return "it reduces an array";
    for (int a = 0; a < f->code->nargs; a++)
        if (lw->listout_loop[a] == li)
            return "it appends to a list";
    for (int k = P_SHARED; k <= P_FIRSTLAST; k++)
        for (int i = 0; i < p->n[k]; i++) {
            const fe_type *t = f->vars[p->vars[k][i]].type;
            if (!fe_par_plain(t) && t->kind != FE_T_ARRAY)
                return "it shares a value that is neither a number nor an array";
        }
    for (int i = 0; i < p->n[P_RED]; i++) {
        int b = fe_par_scalar_bytes(f->vars[p->vars[P_RED][i]].type);
        if (b < 1 || b > 8)
            return "it reduces a value wider than 8 bytes";
    }
    return NULL;
}

/* Forgets the kinds computed beside loop li's nodes: they are lowered again,
 * in another place or function, where those are not reachable. */
static void forget_kinds(lower *lw, int li)
{
    const fe_loop *lp = &lw->loops.loop[li];
    for (int v = 0; v < lw->f->nnodes; v++)
        if (lp->in_loop[lw->f->nodes[v].block])
            lw->kindval[v] = NULL;
}

fe_status fe_lower_lanes(lower *lw, int li, LLVMBasicBlockRef head, LLVMBasicBlockRef host, LLVMBasicBlockRef out)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    const fe_loop *lp = &lw->loops.loop[li];
    const fe_node *fi = fe_terminator(lw, lp->header);
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(B);
    LLVMPositionBuilderAtEnd(B, head);
    fe_error before = *lw->err;
    plan p;
    fe_status st = fe_par_make_plan(lw, li, &p, 1);
    const char *why = st == FE_OK ? lanes_refused(lw, li, &p) : lw->err->msg;
    if (st == FE_ERR_NOMEM) {
        fe_par_free_plan(&p);
        return st;
    }
    if (why) {
        /* the loop as it runs elsewhere; what the plan found (a carried
         * value, say) is no error of a loop run in each thread */
        fe_note(lw, "line %d: loop runs in each GPU thread, not across the %s's: %s", fi->loc.line,
                lw->lane_of_loop[li] == FE_LANES_ROW ? "row" : "block", why);
        *lw->err = before;
        fe_par_free_plan(&p);
        LLVMBuildBr(B, host);
        LLVMPositionBuilderAtEnd(B, saved);
        return FE_OK;
    }
    LLVMBasicBlockRef gpu = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "lanes.gpu");
    LLVMBuildCondBr(B, fe_on_gpu(lw), gpu, host);
    LLVMPositionBuilderAtEnd(B, gpu);
    const fe_type *itt = f->vars[fi->var].type;
    LLVMValueRef it = LLVMBuildLoad2(B, fe_lty(lw, itt), fe_var_slot(lw, fi->var), "");
    LLVMValueRef n = fe_iter_count(lw, it, itt);
    LLVMValueRef col_counts[FE_MAX_COLLAPSE];
    forget_kinds(lw, li);
    if (p.ncol)
        fe_collapse_counts(lw, p.col_loop, p.ncol, col_counts, &n, NULL);
    /* one slot per reduction: the block's threads combine theirs before
     * the gang's thread takes the result (jit/gpu.c) */
    LLVMValueRef ctx = fe_entry_alloca(lw, p.ctxty, "lctx"), one = fe_const_i64(lw, 1);
    fe_par_fill_ctx(lw, &p, ctx, n, one, col_counts, NULL);
    LLVMValueRef *partials = calloc((size_t)p.n[P_RED] + 1, sizeof *partials);
    if (!partials) {
        fe_par_free_plan(&p);
        return fe_error_set(lw->err, FE_ERR_NOMEM, fi->loc, "out of memory");
    }
    for (int i = 0; i < p.n[P_RED]; i++) {
        int v = p.vars[P_RED][i];
        partials[i] = fe_entry_alloca(lw, fe_lty(lw, f->vars[v].type), "lane.partial");
        LLVMBuildStore(B, fe_red_identity(lw, p.ops[P_RED][i], f->vars[v].type), partials[i]);
        LLVMBuildStore(B, partials[i], fe_par_ctx_field(lw, &p, ctx, p.field0[P_RED] + i));
    }
    LLVMValueRef body = NULL;
    forget_kinds(lw, li);
    st = fe_par_build_body(lw, li, &p, &body);
    if (st == FE_OK) {
        LLVMTypeRef ptys[4] = {lw->ptr, lw->ptr, lw->i64, lw->ptr};
        LLVMTypeRef fty = LLVMFunctionType(lw->voidt, ptys, 4, 0);
        const char *mname = lw->lane_of_loop[li] == FE_LANES_ROW ? "pyacc.row_loop" : "pyacc.lane_loop";
        LLVMValueRef marker = LLVMGetNamedFunction(lw->M, mname);
        if (!marker)
            marker = LLVMAddFunction(lw->M, mname, fty);
        LLVMValueRef args[4] = {body, ctx, n, fe_par_ctx_kinds(lw, &p, LLVMGetValueName2(body, &(size_t){0}))};
        LLVMBuildCall2(B, fty, marker, args, 4, "");
        fe_par_joined(lw, NULL, 0);
        fe_par_take_back(lw, &p, ctx, n, partials, one);
        LLVMBuildBr(B, out);
        fe_note(lw, "line %d: on a GPU, loop runs across the threads of %s", fi->loc.line,
                lw->lane_of_loop[li] == FE_LANES_ROW ? "each worker's row" : "each gang's block");
    }
    free(partials);
    fe_par_free_plan(&p);
    LLVMPositionBuilderAtEnd(B, saved);
    return st;
}
