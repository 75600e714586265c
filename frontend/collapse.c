/* collapse.c - a collapse(n) nest as one iteration space (parallel.c).
 *
 * collapse(n) makes one iteration space of n tightly nested loops: its
 * n0 * n1 * ... points are what the pool splits, so a nest with fewer
 * outer iterations than cores still fills them.  A piece [b, e) of that
 * space is walked as the nest itself, from b's multi-index to e - 1's, so
 * the innermost loop stays a loop (and vectorised): the outer loop runs
 * over the piece's outer indices, and each inner loop's iterator, made as
 * the program makes it, is narrowed to start at b's index when every loop
 * outside it is at b's, and to end at e - 1's when they are at e - 1's.
 *
 * The inner trip counts must be known before the launch: the inner ranges
 * are computed once in the entry, which is only right when they do not
 * change over the nest (rectangular nests, as OpenACC requires), and their
 * loop variables must not be needed after it (an empty inner range makes
 * an empty space, where the nest would still have set them).  Nests that
 * do not qualify run with the outer loop alone spread over the threads. */
#include "lower.h"

#include <stdlib.h>
#include <string.h>

/* Whether node v, of block b, computes a value fixed over loop nest
 * `outer`: constants, globals, variables the nest never assigns, and pure
 * operations on them, all in block b. */
static int invariant_in(lower *lw, const fe_loop *outer, int b, fe_val v, int depth)
{
    fe_func *f = lw->f;
    const fe_node *n = &f->nodes[v];
    if (depth > 32 || n->block != b)
        return 0;
    switch (n->op) {
    case IR_CONST:
    case IR_NULL: /* the NULL a call of a global pushes */
    case IR_GLOBAL: return 1;
    case IR_LOADVAR: return !fe_written_in(f, outer, n->var);
    case IR_SUBSCR: /* of a tuple (a shape): an array's elements may change */
        if (!f->nodes[fe_arg(f, n, 0)].type || f->nodes[fe_arg(f, n, 0)].type->kind != FE_T_TUPLE)
            return 0;
        break;
    case IR_CALL: {
        const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
        if (!ct || ct->kind != FE_T_FUNC ||
            (ct->id != FE_BI_RANGE && ct->id != FE_BI_LEN && ct->id != FE_BI_MIN && ct->id != FE_BI_MAX &&
             ct->id != FE_BI_ABS && ct->id != FE_BI_INT))
            return 0;
        break;
    }
    case IR_ATTR:
    case IR_BINOP:
    case IR_UNOP:
    case IR_TUPLE: break;
    default: return 0;
    }
    for (int i = 0; i < n->nargs; i++)
        if (!invariant_in(lw, outer, b, fe_arg(f, n, i), depth + 1))
            return 0;
    return 1;
}

static int live_after(lower *lw, const fe_loop *lp, int var)
{
    const uint64_t *w = &lw->loops.live_in[(size_t)lp->exit * (size_t)lw->loops.nwords];
    return (int)((w[var / 64] >> (var % 64)) & 1);
}

/* The loops collapse(n) on loop li walks with it, outermost first, into
 * chain: n - 1 of them, or 0 when the nest does not qualify. */
int fe_collapse_chain(lower *lw, int li, int *chain)
{
    fe_func *f = lw->f;
    const fe_loop *l0 = &lw->loops.loop[li];
    int c = l0->spec ? l0->spec->collapse : 1;
    if (c < 2 || c - 1 > FE_MAX_COLLAPSE || lw->fn->par_loop >= 0)
        return 0;
    for (int a = 0; a < f->code->nargs; a++)
        if (lw->listout_loop[a] == li)
            return 0; /* appends number their elements by the outer index */
    int prev = li;
    for (int m = 1; m < c; m++) {
        const fe_loop *lp = &lw->loops.loop[prev];
        int child = -1, nchild = 0;
        for (int k = 0; k < lw->loops.n; k++)
            if (lw->loops.loop[k].parent == prev)
                child = k, nchild++;
        if (nchild != 1 || !lw->loops.loop[child].is_for)
            return 0;
        const fe_loop *ch = &lw->loops.loop[child];
        int itvar = fe_terminator(lw, ch->header)->var;
        if (!f->vars[itvar].type || f->vars[itvar].type->kind != FE_T_RANGEITER)
            return 0;
        /* prev's body: its element, then the child's range, then the child */
        const fe_block *bs = &f->blocks[lp->body_start];
        const fe_node *term = &f->nodes[bs->nodes[bs->nnodes - 1]];
        if (term->op != IR_BR || bs->succ[0] != ch->header)
            return 0;
        int made = 0;
        for (int i = 0; i + 1 < bs->nnodes; i++) {
            fe_val v = bs->nodes[i];
            const fe_node *n = &f->nodes[v];
            if (n->op == IR_ITERNEXT || n->op == IR_GETITER)
                continue; /* the element; the iterator, checked at its store */
            if (n->op == IR_STOREVAR) {
                const fe_node *a = &f->nodes[fe_arg(f, n, 0)];
                if (a->op == IR_ITERNEXT) {
                    if (live_after(lw, l0, n->var))
                        return 0;
                    continue;
                }
                if (n->var == itvar && a->op == IR_GETITER &&
                    invariant_in(lw, l0, lp->body_start, fe_arg(f, a, 0), 0)) {
                    made = 1;
                    continue;
                }
                return 0;
            }
            /* anything else: a value the range is made of (checked with
             * it), or a load the bytecode's stack carries on */
            if (n->op != IR_CONST && n->op != IR_NULL && n->op != IR_GLOBAL && !invariant_in(lw, l0, lp->body_start, v, 0) &&
                (n->op != IR_LOADVAR || n->aux == FE_LOAD_CHECKED))
                return 0;
        }
        /* and when the child is done, straight back to prev's header */
        const fe_block *ex = &f->blocks[ch->exit];
        const fe_node *back = &f->nodes[ex->nodes[ex->nnodes - 1]];
        if (!made || back->op != IR_BR || ex->succ[0] != lp->header)
            return 0;
        for (int i = 0; i + 1 < ex->nnodes; i++) { /* loads left by the bytecode's stack, at most */
            const fe_node *n = &f->nodes[ex->nodes[i]];
            if (n->op != IR_CONST && n->op != IR_NULL && (n->op != IR_LOADVAR || n->aux == FE_LOAD_CHECKED))
                return 0;
        }
        chain[m - 1] = child;
        prev = child;
    }
    /* the innermost loop's element too */
    const fe_block *bs = &f->blocks[lw->loops.loop[prev].body_start];
    for (int i = 0; i < bs->nnodes; i++) {
        const fe_node *n = &f->nodes[bs->nodes[i]];
        if (n->op == IR_STOREVAR && f->nodes[fe_arg(f, n, 0)].op == IR_ITERNEXT && live_after(lw, l0, n->var))
            return 0;
    }
    return c - 1;
}

/* Marks in `mark` the nodes of block b that value v is computed from. */
static void mark_deps(fe_func *f, int b, fe_val v, uint8_t *mark)
{
    const fe_node *n = &f->nodes[v];
    if (n->block != b || mark[v])
        return;
    mark[v] = 1;
    for (int i = 0; i < n->nargs; i++)
        mark_deps(f, b, fe_arg(f, n, i), mark);
}

/* In the entry: the trip counts of the collapsed inner loops, each computed
 * only when the loops outside it have iterations (as the nest would), and
 * the whole space's size; *total comes in as the outer loop's count.  With
 * start, the innermost range's first value (0 where the space is empty, or
 * the innermost iterator is not a range's), for align.c. */
void fe_collapse_counts(lower *lw, const int *col_loop, int ncol, LLVMValueRef *counts, LLVMValueRef *total,
                        LLVMValueRef *start)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    for (int m = 0; m < ncol; m++) {
        int parent = lw->loops.loop[col_loop[m]].parent;
        const fe_block *bs = &f->blocks[lw->loops.loop[parent].body_start];
        LLVMBasicBlockRef from = LLVMGetInsertBlock(B);
        LLVMBasicBlockRef eval = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "collapse.eval");
        LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "collapse.join");
        LLVMValueRef zero = fe_const_i64(lw, 0);
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSGT, *total, zero, ""), eval, join);
        LLVMPositionBuilderAtEnd(B, eval);
        /* the inner range as the nest makes it (collapse_chain checked that
         * it is all pure and fixed), less the element and the stores */
        int itvar = fe_terminator(lw, lw->loops.loop[col_loop[m]].header)->var;
        uint8_t *mark = calloc((size_t)f->nnodes + 1, 1);
        fe_val getiter = -1;
        for (int i = 0; mark && i + 1 < bs->nnodes; i++) {
            const fe_node *n = &f->nodes[bs->nodes[i]];
            if (n->op == IR_STOREVAR && n->var == itvar)
                mark_deps(f, lw->loops.loop[parent].body_start, getiter = fe_arg(f, n, 0), mark);
        }
        LLVMValueRef it = NULL;
        const fe_type *itt = NULL;
        for (int i = 0; mark && i + 1 < bs->nnodes; i++) {
            fe_val v = bs->nodes[i];
            fe_node *n = &f->nodes[v];
            if (!mark[v])
                continue;
            LLVMValueRef val = fe_lower_node(lw, n);
            lw->val[v] = val;
            fe_lower_kind(lw, v);
            if (v == getiter)
                it = val, itt = n->type;
        }
        free(mark);
        LLVMValueRef cnt = it ? fe_iter_count(lw, it, itt) : zero;
        LLVMValueRef first = it && itt->kind == FE_T_RANGEITER ? LLVMBuildExtractValue(B, it, 0, "") : zero;
        LLVMValueRef all = LLVMBuildNSWMul(B, *total, cnt, "");
        LLVMBasicBlockRef end = LLVMGetInsertBlock(B);
        LLVMBuildBr(B, join);
        LLVMPositionBuilderAtEnd(B, join);
        LLVMValueRef cphi = LLVMBuildPhi(B, lw->i64, "count");
        LLVMValueRef tphi = LLVMBuildPhi(B, lw->i64, "space");
        LLVMValueRef cv[2] = {cnt, zero}, tv[2] = {all, zero};
        LLVMBasicBlockRef bb[2] = {end, from};
        LLVMAddIncoming(cphi, cv, bb, 2);
        LLVMAddIncoming(tphi, tv, bb, 2);
        counts[m] = cphi;
        *total = tphi;
        if (start && m == ncol - 1) {
            LLVMValueRef sphi = LLVMBuildPhi(B, lw->i64, "inner.start");
            LLVMValueRef sv[2] = {first, zero};
            LLVMAddIncoming(sphi, sv, bb, 2);
            *start = sphi;
        }
    }
}

/* Division by an invariant integer as a multiplication (Granlund and
 * Montgomery's round-up method, for 32-bit numerators): with
 * l = ceil(log2 d), m = 2^32 (2^l - d) / d + 1 (below 2^32 for d < 2^32),
 * t = m x / 2^32, x / d = (t + (x - t) >> min(l, 1)) >> max(l - 1, 0) for
 * every x < 2^32.  A GPU divides 64-bit integers in a long sequence of
 * instructions (32-bit ones in a shorter one), once for each point of a
 * collapsed space: Jacobi's stencil spent a fifth of its instructions
 * there.  Packed: m, max(l - 1, 0) at bit 32, min(l, 1) at bit 40, and bit
 * 48 set (so that 0 says "divide"). */
LLVMValueRef fe_divide_magic(lower *lw, LLVMValueRef count, LLVMValueRef total)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef one = fe_const_i64(lw, 1), two32 = fe_const_i64(lw, (int64_t)1 << 32);
    /* a count of 0 makes an empty space: any divisor does */
    LLVMValueRef d = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, count, one, ""), one, count, "");
    LLVMValueRef dm1 = LLVMBuildSub(B, d, one, "");
    LLVMValueRef ctlz_args[2] = {dm1, LLVMConstInt(lw->i1, 0, 0)};
    LLVMValueRef l = LLVMBuildSub(B, fe_const_i64(lw, 64), fe_intrinsic(lw, "llvm.ctlz", lw->i64, ctlz_args, 2), "");
    LLVMValueRef dd = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntULT, d, two32, ""), d, one, ""); /* no overflow below */
    LLVMValueRef num = LLVMBuildShl(B, LLVMBuildSub(B, LLVMBuildShl(B, one, l, ""), dd, ""), fe_const_i64(lw, 32), "");
    LLVMValueRef m = LLVMBuildAdd(B, LLVMBuildUDiv(B, num, dd, ""), one, "");
    LLVMValueRef sh1 = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntUGT, l, one, ""), one, l, "");
    LLVMValueRef sh2 = LLVMBuildSub(B, l, sh1, "");
    LLVMValueRef packed = LLVMBuildOr(B, m, LLVMBuildShl(B, sh2, fe_const_i64(lw, 32), ""), "");
    packed = LLVMBuildOr(B, packed, LLVMBuildShl(B, sh1, fe_const_i64(lw, 40), ""), "");
    packed = LLVMBuildOr(B, packed, fe_const_i64(lw, (int64_t)1 << 48), "");
    /* every flat index below 2^32, and the divisor too */
    LLVMValueRef fits = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntULE, total, two32, ""),
                                     LLVMBuildICmp(B, LLVMIntULT, d, two32, ""), "");
    return LLVMBuildSelect(B, fits, packed, fe_const_i64(lw, 0), "magic");
}

/* x / d and x % d by magic number mg (fe_divide_magic), x below 2^32:
 * in 32-bit arithmetic, which a GPU does in one instruction where 64-bit
 * takes several. */
static void by_magic(lower *lw, LLVMValueRef x, LLVMValueRef d, LLVMValueRef mg, LLVMValueRef *q, LLVMValueRef *r)
{
    LLVMBuilderRef B = lw->B;
    LLVMTypeRef i32 = LLVMInt32TypeInContext(lw->C);
    LLVMValueRef x32 = LLVMBuildTrunc(B, x, i32, ""), m32 = LLVMBuildTrunc(B, mg, i32, "");
    LLVMValueRef wide = LLVMBuildMul(B, LLVMBuildZExt(B, x32, lw->i64, ""), LLVMBuildZExt(B, m32, lw->i64, ""), "");
    LLVMValueRef t = LLVMBuildTrunc(B, LLVMBuildLShr(B, wide, fe_const_i64(lw, 32), ""), i32, "");
    LLVMValueRef sh1 = LLVMBuildTrunc(B, LLVMBuildLShr(B, mg, fe_const_i64(lw, 40), ""), i32, "");
    LLVMValueRef sh2 = LLVMBuildTrunc(B, LLVMBuildLShr(B, mg, fe_const_i64(lw, 32), ""), i32, "");
    sh1 = LLVMBuildAnd(B, sh1, LLVMConstInt(i32, 1, 0), "");
    sh2 = LLVMBuildAnd(B, sh2, LLVMConstInt(i32, 31, 0), "");
    LLVMValueRef q32 = LLVMBuildLShr(B, LLVMBuildAdd(B, t, LLVMBuildLShr(B, LLVMBuildSub(B, x32, t, ""), sh1, ""), ""),
                                     sh2, "");
    LLVMValueRef r32 = LLVMBuildSub(B, x32, LLVMBuildMul(B, q32, LLVMBuildTrunc(B, d, i32, ""), ""), "");
    *q = LLVMBuildZExt(B, q32, lw->i64, "");
    *r = LLVMBuildZExt(B, r32, lw->i64, "");
}

/* Two flat indices (a piece's first and last) as multi-indices of the
 * nest, idx[k][0] outermost; by the magic numbers (fe_divide_magic) where
 * they are not 0, else dividing.  Both in one branch on the magic number:
 * where the piece is one point, the two are the same and compute once. */
void fe_unflatten(lower *lw, LLVMValueRef *flat, const LLVMValueRef *counts, const LLVMValueRef *magic, int ncol,
                  LLVMValueRef idx[2][FE_MAX_COLLAPSE + 1])
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMValueRef x[2] = {flat[0], flat[1]};
    for (int m = ncol; m >= 1; m--) {
        LLVMValueRef d = counts[m - 1], mg = magic[m - 1];
        LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(lw->C, fn, "unflatten.magic");
        LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(lw->C, fn, "unflatten.divide");
        LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, fn, "unflatten.join");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, mg, fe_const_i64(lw, 0), ""), fast, slow);
        LLVMValueRef qf[2], rf[2], qs[2], rs[2];
        LLVMPositionBuilderAtEnd(B, fast);
        for (int k = 0; k < 2; k++)
            by_magic(lw, x[k], d, mg, &qf[k], &rf[k]);
        LLVMBuildBr(B, join);
        LLVMPositionBuilderAtEnd(B, slow);
        for (int k = 0; k < 2; k++) {
            qs[k] = LLVMBuildSDiv(B, x[k], d, "");
            rs[k] = LLVMBuildSub(B, x[k], LLVMBuildMul(B, qs[k], d, ""), "");
        }
        LLVMBuildBr(B, join);
        LLVMPositionBuilderAtEnd(B, join);
        LLVMBasicBlockRef from[2] = {fast, slow};
        LLVMValueRef q[2], r[2];
        for (int k = 0; k < 2; k++) {
            q[k] = LLVMBuildPhi(B, lw->i64, "quotient");
            r[k] = LLVMBuildPhi(B, lw->i64, "remainder");
            LLVMValueRef qv[2] = {qf[k], qs[k]}, rv[2] = {rf[k], rs[k]};
            LLVMAddIncoming(q[k], qv, from, 2);
            LLVMAddIncoming(r[k], rv, from, 2);
        }
        for (int k = 0; k < 2; k++) {
            idx[k][m] = r[k];
            x[k] = q[k];
        }
    }
    idx[0][0] = x[0];
    idx[1][0] = x[1];
}

LLVMValueRef fe_collapse_iterator(lower *lw, int var, LLVMValueRef v)
{
    lfn *fn = lw->fn;
    int m = 0;
    for (int i = 0; i < fn->ncol; i++)
        if (fn->col_var[i] == var)
            m = i + 1;
    if (!m)
        return v;
    LLVMBuilderRef B = lw->B;
    LLVMValueRef first, last;
    if (m == 1) {
        LLVMValueRef k0 = LLVMBuildLoad2(B, lw->i64, fn->k, "");
        first = LLVMBuildICmp(B, LLVMIntEQ, k0, fn->col_lo[0], "");
        last = LLVMBuildICmp(B, LLVMIntEQ, k0, fn->col_hi[0], "");
    } else {
        /* where the loop outside is: its iterator has moved past it */
        int pv = fn->col_var[m - 2];
        const fe_type *pt = lw->f->vars[pv].type;
        LLVMValueRef pit = LLVMBuildLoad2(B, fe_lty(lw, pt), fe_var_slot(lw, pv), "");
        LLVMValueRef cur = LLVMBuildSub(B, LLVMBuildExtractValue(B, pit, 3, ""), fe_const_i64(lw, 1), "");
        first = LLVMBuildAnd(B, LLVMBuildLoad2(B, lw->i1, fn->col_first[m - 1], ""),
                             LLVMBuildICmp(B, LLVMIntEQ, cur, fn->col_lo[m - 1], ""), "");
        last = LLVMBuildAnd(B, LLVMBuildLoad2(B, lw->i1, fn->col_last[m - 1], ""),
                            LLVMBuildICmp(B, LLVMIntEQ, cur, fn->col_hi[m - 1], ""), "");
    }
    LLVMBuildStore(B, first, fn->col_first[m]);
    LLVMBuildStore(B, last, fn->col_last[m]);
    LLVMValueRef start = LLVMBuildSelect(B, first, fn->col_lo[m], fe_const_i64(lw, 0), "");
    LLVMValueRef count = LLVMBuildSelect(B, last, LLVMBuildAdd(B, fn->col_hi[m], fe_const_i64(lw, 1), ""),
                                         LLVMBuildExtractValue(B, v, 2, ""), "");
    v = LLVMBuildInsertValue(B, v, start, 3, "");
    return LLVMBuildInsertValue(B, v, count, 2, "");
}
