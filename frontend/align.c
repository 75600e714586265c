/* align.c - a GPU loop's iterations laid out so that warps start at
 * aligned index values (parallel.c).
 *
 * A GPU kernel runs iteration k of a parallel loop on thread k (jit/gpu.c),
 * so a warp takes 32 neighbouring iterations.  Where the innermost index
 * starts at lb, a warp's first thread is at index lb + 32 w: for a stencil
 * over range(1, m - 1), each of a warp's accesses a[i, j] touches one
 * 128-byte line more than it needs (on an H100, Jacobi's L1 took 3% more
 * sectors than CuPy's, whose grid covers the border columns); and a
 * collapsed row of a count that is not a multiple of 32 starts mid-warp.
 * (A plain loop is one row.)
 *
 * So on a GPU the walk is over a padded space: the innermost index runs
 * from lb rounded down to a multiple of 32 (`pad` = lb mod 32 threads in
 * front of each row), each row padded at its end to `row`, a multiple of
 * 32, so that each row starts a warp; a thread whose index falls in the
 * padding runs nothing.  The last row has no padding at its end: the
 * padded space's last point is the loop's last iteration, which hands the
 * last values over as it does in the loop's own space.  That costs at most
 * 62 idle threads a row, taken only where they are at most an eighth of
 * the iterations (a row of at least a few hundred), and only for a range
 * of step 1 (another step has no such alignment to gain).
 *
 * The host keeps the loop's own space: its pieces are walked as the nest
 * (collapse.c) and vectorised, which padding would only get in the way of.
 * The ctx holds both: its trip count (the host's), and the GPU's space,
 * pad, row and the row's magic divisor (fe_divide_magic), computed by the
 * entry.  On a GPU (pyacc.on_gpu) the body takes its iterations from the
 * padded space when the count it is walked over (the ctx's, which the
 * kernel sets to its own, jit/gpu.c) is the padded space's; a kernel that
 * walks the loop's own count (a block a gang, rows, jit/gpu.c's split
 * decides) gets the loop's own mapping, and where the space is not padded
 * the two mappings agree.  A kernel of a thread an iteration always walks
 * the padded space, and tells the body so: there the test, and the loop's
 * own mapping, fold away.  The third kind byte of the trip count's field
 * names the padded space's field, for the launch. */
#include "lower.h"

/* Whether parallel loop li, whose innermost iterator is variable var,
 * gets a padded space: var walks a range by step 1, and no lane loop is
 * in its body (then a GPU runs an iteration a block or a row, where
 * alignment gains nothing; jit/gpu.c walks the loop's own space then). */
int fe_align_wanted(lower *lw, int li, int var)
{
    const fe_type *t = lw->f->vars[var].type;
    int64_t step;
    if (!t || t->kind != FE_T_RANGEITER || !fe_const_range_step(lw, var, &step) || step != 1)
        return 0;
    for (int c = 0; c < lw->loops.n; c++) {
        if (!lw->lane_of_loop || !lw->lane_of_loop[c])
            continue;
        for (int up = lw->loops.loop[c].parent; up >= 0; up = lw->loops.loop[up].parent)
            if (up == li)
                return 0;
    }
    return 1;
}

/* In the entry: the GPU's space for n iterations, rows of `inner` (n
 * itself for a plain loop) whose innermost index starts at lb, into
 * out[FE_ALIGN_SPACE...] (FE_ALIGN_FIELDS values; where padding does not
 * pay, the loop's own space: n, no pad, rows of `inner`). */
void fe_align_space(lower *lw, LLVMValueRef lb, LLVMValueRef inner, LLVMValueRef n, LLVMValueRef *out)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef zero = fe_const_i64(lw, 0), one = fe_const_i64(lw, 1), mask = fe_const_i64(lw, FE_ALIGN_WARP - 1);
    /* lb mod 32, as lb & 31 gives it for negative lb too */
    LLVMValueRef pad = LLVMBuildAnd(B, lb, mask, "pad");
    LLVMValueRef row = LLVMBuildAnd(B, LLVMBuildAdd(B, LLVMBuildAdd(B, pad, inner, ""), mask, ""),
                                    LLVMBuildNot(B, mask, ""), "row");
    LLVMValueRef any = LLVMBuildICmp(B, LLVMIntSGT, n, zero, "");
    LLVMValueRef rows = LLVMBuildSDiv(B, n, LLVMBuildSelect(B, any, inner, one, ""), "rows");
    LLVMValueRef rows1 = LLVMBuildSub(B, rows, one, "");
    LLVMValueRef padded = LLVMBuildAdd(B, LLVMBuildAdd(B, LLVMBuildMul(B, rows1, row, ""), pad, ""), inner, "");
    /* it pays: idle threads at most an eighth of the iterations, and the
     * space small enough that nothing above overflows and its flat
     * indices divide in 32 bits */
    LLVMValueRef idle = LLVMBuildSub(B, padded, n, "");
    LLVMValueRef pays = LLVMBuildICmp(B, LLVMIntSLE, LLVMBuildMul(B, idle, fe_const_i64(lw, 8), ""), n, "");
    LLVMValueRef small = LLVMBuildICmp(B, LLVMIntSLE, n, fe_const_i64(lw, (int64_t)1 << 31), "");
    LLVMValueRef use = LLVMBuildAnd(B, any, LLVMBuildAnd(B, pays, small, ""), "aligned");
    out[FE_ALIGN_SPACE] = LLVMBuildSelect(B, use, padded, n, "gpu.space");
    out[FE_ALIGN_PAD] = LLVMBuildSelect(B, use, pad, zero, "gpu.pad");
    out[FE_ALIGN_ROW] = LLVMBuildSelect(B, use, row, inner, "gpu.row");
    out[FE_ALIGN_MAGIC] = fe_divide_magic(lw, out[FE_ALIGN_ROW], out[FE_ALIGN_SPACE]);
}

/* In the body: whether it walks the padded space: on a GPU, walked over
 * the padded space's count. */
LLVMValueRef fe_align_on(lower *lw, LLVMValueRef walked, LLVMValueRef space)
{
    return LLVMBuildAnd(lw->B, fe_on_gpu(lw), LLVMBuildICmp(lw->B, LLVMIntEQ, walked, space, ""), "gpu.aligned");
}

/* In the body of a plain loop: the point b of the padded space (a GPU
 * runs one a call: jit_ir_run_iteration) as the loop's own iteration
 * [b - pad, b - pad + 1), where a->on: a loop of one iteration, as the
 * kernel's own; a point in the padding returns from the body at once. */
void fe_align_plain(lower *lw, const fe_align *a, LLVMValueRef *b, LLVMValueRef *e)
{
    LLVMBuilderRef B = lw->B;
    LLVMBasicBlockRef idle = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "aligned.idle");
    LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "aligned.go");
    LLVMValueRef k = LLVMBuildSub(B, *b, a->pad, "");
    LLVMValueRef in_pad = LLVMBuildICmp(B, LLVMIntSLT, k, fe_const_i64(lw, 0), "");
    LLVMBuildCondBr(B, LLVMBuildAnd(B, a->on, in_pad, ""), idle, go);
    LLVMPositionBuilderAtEnd(B, idle);
    LLVMBuildRetVoid(B);
    LLVMPositionBuilderAtEnd(B, go);
    *e = LLVMBuildSelect(B, a->on, LLVMBuildAdd(B, k, fe_const_i64(lw, 1), ""), *e, "");
    *b = LLVMBuildSelect(B, a->on, k, *b, "");
}

/* In the body of a collapsed nest: the piece [ends[0], ends[1]] as
 * multi-indices (fe_unflatten).  Where a->on, ends[0] is a point of the
 * padded space (a GPU runs one a call: jit_ir_run_iteration), whose
 * innermost index is taken back by the pad; a point in the padding
 * returns from the body at once.  idx as fe_unflatten's. */
void fe_align_unflatten(lower *lw, const fe_align *a, LLVMValueRef *ends, const LLVMValueRef *counts,
                        const LLVMValueRef *magic, int ncol, LLVMValueRef idx[2][FE_MAX_COLLAPSE + 1])
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef fn = lw->fn->fn;
    LLVMBasicBlockRef gpu = LLVMAppendBasicBlockInContext(lw->C, fn, "aligned");
    LLVMBasicBlockRef own = LLVMAppendBasicBlockInContext(lw->C, fn, "unaligned");
    LLVMBasicBlockRef idle = LLVMAppendBasicBlockInContext(lw->C, fn, "aligned.idle");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, fn, "aligned.join");
    LLVMBuildCondBr(B, a->on, gpu, own);
    /* the loop's own space */
    LLVMPositionBuilderAtEnd(B, own);
    LLVMValueRef io[2][FE_MAX_COLLAPSE + 1];
    fe_unflatten(lw, ends, counts, magic, ncol, io);
    LLVMBasicBlockRef own_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);
    /* the padded one: rows of a->row, one point */
    LLVMPositionBuilderAtEnd(B, gpu);
    LLVMValueRef pc[FE_MAX_COLLAPSE], pm[FE_MAX_COLLAPSE];
    for (int m = 0; m < ncol; m++)
        pc[m] = counts[m], pm[m] = magic[m];
    pc[ncol - 1] = a->row;
    pm[ncol - 1] = a->magic;
    LLVMValueRef point[2] = {ends[0], ends[0]}, ig[2][FE_MAX_COLLAPSE + 1];
    fe_unflatten(lw, point, pc, pm, ncol, ig);
    LLVMValueRef q = LLVMBuildSub(B, ig[0][ncol], a->pad, "");
    ig[0][ncol] = ig[1][ncol] = q;
    LLVMBasicBlockRef gpu_end = LLVMGetInsertBlock(B);
    /* below the pad, or past the row's count (unsigned: both at once) */
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntUGE, q, counts[ncol - 1], ""), idle, join);
    LLVMPositionBuilderAtEnd(B, idle);
    LLVMBuildRetVoid(B);
    LLVMPositionBuilderAtEnd(B, join);
    LLVMBasicBlockRef from[2] = {own_end, gpu_end};
    for (int k = 0; k < 2; k++)
        for (int m = 0; m <= ncol; m++) {
            LLVMValueRef phi = LLVMBuildPhi(B, lw->i64, "");
            LLVMValueRef v[2] = {io[k][m], ig[k][m]};
            LLVMAddIncoming(phi, v, from, 2);
            idx[k][m] = phi;
        }
}
