/* carry.c - a value a loop's iteration computes again from what the
 * previous iteration computed at its end, carried over instead.
 *
 * Mandelbrot's `while zr * zr + zi * zi < 4.0: zr, zi = zr * zr - zi * zi
 * + cr, ...` squares zr and zi for the test, then squares the same values
 * again in the next iteration's body.  LLVM's GVN does not take a value
 * across a loop's back edge (a partial redundancy it leaves alone, for the
 * registers a carried value holds), so each iteration pays two
 * multiplications too many: a fifth of the loop on a GPU, whose double
 * precision units the loop keeps busy.  Python's semantics forbid the
 * other way out, contracting a * b + c into one rounding (FMA).
 *
 * Here, after the optimisation pipeline: in a loop whose header H has two
 * predecessors, the entry E and a latch L that a chain of single
 * predecessors leads back to H (so every block of the chain runs in every
 * iteration that goes round), an arithmetic instruction I of the chain
 * whose operands are H's phis or constants is the same operation as some
 * J of the chain on the phis' values from L.  Then I becomes a phi of H:
 * from L, J; from E, I on the phis' values from E (computed at E's end;
 * constant operands fold).  The same operation of the same operands: the
 * same bits, so nothing a program sees changes. */
#include "carry.h"

#include <stdint.h>
#include <stdlib.h>

#define CHAIN_MAX 64

static int is_arith(LLVMOpcode op)
{
    switch (op) {
    case LLVMFAdd:
    case LLVMFSub:
    case LLVMFMul:
    case LLVMFDiv:
    case LLVMAdd:
    case LLVMSub:
    case LLVMMul: return 1;
    default: return 0;
    }
}

static int commutes(LLVMOpcode op) { return op == LLVMFAdd || op == LLVMFMul || op == LLVMAdd || op == LLVMMul; }

/* Whether a and b are the same operation (their flags aside: merge). */
static int same_kind(LLVMValueRef a, LLVMValueRef b)
{
    return LLVMGetInstructionOpcode(a) == LLVMGetInstructionOpcode(b) && LLVMTypeOf(a) == LLVMTypeOf(b);
}

/* j, which stands for i from now on, keeps only the flags both have:
 * with fewer of them an instruction is defined (not poison) in more
 * cases, never fewer, so both uses stay right.  The first iteration's
 * value (init) gets the same. */
static void merge_flags(LLVMValueRef i, LLVMValueRef j, LLVMValueRef init)
{
    if (LLVMCanValueUseFastMathFlags(i)) {
        LLVMFastMathFlags f = LLVMGetFastMathFlags(i) & LLVMGetFastMathFlags(j);
        LLVMSetFastMathFlags(j, f);
        if (LLVMIsAInstruction(init))
            LLVMSetFastMathFlags(init, f);
        return;
    }
    int nsw = LLVMGetNSW(i) && LLVMGetNSW(j), nuw = LLVMGetNUW(i) && LLVMGetNUW(j);
    LLVMSetNSW(j, nsw);
    LLVMSetNUW(j, nuw);
    if (LLVMIsAInstruction(init)) {
        LLVMSetNSW(init, nsw);
        LLVMSetNUW(init, nuw);
    }
}

/* A function's blocks with their predecessors (the first two, and how
 * many), found by address. */
typedef struct cfg {
    int n;
    LLVMBasicBlockRef *block; /* in the function's order */
    struct ref {
        LLVMBasicBlockRef b;
        int at;
    } *sorted;                /* by address */
    int *npred;
    LLVMBasicBlockRef (*pred)[2];
} cfg;

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct ref *)a)->b, y = (uintptr_t)((const struct ref *)b)->b;
    return x < y ? -1 : x > y;
}

static int index_of(const cfg *g, LLVMBasicBlockRef b)
{
    struct ref key = {b, 0};
    const struct ref *r = bsearch(&key, g->sorted, (size_t)g->n, sizeof key, by_address);
    return r ? r->at : -1;
}

static void cfg_free(cfg *g)
{
    free(g->block);
    free(g->sorted);
    free(g->npred);
    free(g->pred);
}

/* 0, or -1 out of memory. */
static int cfg_make(cfg *g, LLVMValueRef fn)
{
    g->n = (int)LLVMCountBasicBlocks(fn);
    g->block = malloc(((size_t)g->n + 1) * sizeof *g->block);
    g->sorted = malloc(((size_t)g->n + 1) * sizeof *g->sorted);
    g->npred = calloc((size_t)g->n + 1, sizeof *g->npred);
    g->pred = malloc(((size_t)g->n + 1) * sizeof *g->pred);
    if (!g->block || !g->sorted || !g->npred || !g->pred) {
        cfg_free(g);
        return -1;
    }
    int k = 0;
    for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(fn); b && k < g->n; b = LLVMGetNextBasicBlock(b), k++) {
        g->block[k] = b;
        g->sorted[k] = (struct ref){b, k};
    }
    g->n = k;
    qsort(g->sorted, (size_t)g->n, sizeof *g->sorted, by_address);
    for (k = 0; k < g->n; k++) {
        LLVMValueRef t = LLVMGetBasicBlockTerminator(g->block[k]);
        unsigned ns = t ? LLVMGetNumSuccessors(t) : 0;
        for (unsigned s = 0; s < ns; s++) {
            LLVMBasicBlockRef succ = LLVMGetSuccessor(t, s);
            int dup = 0; /* two edges from one block: one predecessor */
            for (unsigned r = 0; r < s; r++)
                dup |= LLVMGetSuccessor(t, r) == succ;
            int at = dup ? -1 : index_of(g, succ);
            if (at < 0)
                continue;
            if (g->npred[at] < 2)
                g->pred[at][g->npred[at]] = g->block[k];
            g->npred[at]++;
        }
    }
    return 0;
}

/* The blocks from latch l back to header h along single predecessors,
 * h included; 0 when that does not reach h. */
static int chain(const cfg *g, LLVMBasicBlockRef h, LLVMBasicBlockRef l, LLVMBasicBlockRef *out)
{
    int n = 0;
    LLVMBasicBlockRef b = l;
    while (n < CHAIN_MAX) {
        out[n++] = b;
        if (b == h)
            return n;
        int at = index_of(g, b);
        if (at < 0 || g->npred[at] != 1)
            return 0;
        b = g->pred[at][0];
    }
    return 0;
}

/* Operand v of an instruction of the loop, as the edge from pred takes it:
 * a phi of h its value from pred, a constant itself; NULL for anything
 * else. */
static LLVMValueRef along(LLVMValueRef v, LLVMBasicBlockRef h, LLVMBasicBlockRef pred)
{
    if (LLVMIsAConstant(v))
        return v;
    if (!LLVMIsAPHINode(v) || LLVMGetInstructionParent(v) != h)
        return NULL;
    unsigned n = LLVMCountIncoming(v);
    for (unsigned i = 0; i < n; i++)
        if (LLVMGetIncomingBlock(v, i) == pred)
            return LLVMGetIncomingValue(v, i);
    return NULL;
}

/* J of the chain computing what i computes with operands a, b. */
static LLVMValueRef find_same(LLVMBasicBlockRef *blocks, int nb, LLVMValueRef i, LLVMValueRef a, LLVMValueRef b)
{
    int comm = commutes(LLVMGetInstructionOpcode(i));
    for (int k = 0; k < nb; k++)
        for (LLVMValueRef j = LLVMGetFirstInstruction(blocks[k]); j; j = LLVMGetNextInstruction(j)) {
            if (j == i || !same_kind(i, j))
                continue;
            LLVMValueRef x = LLVMGetOperand(j, 0), y = LLVMGetOperand(j, 1);
            if ((x == a && y == b) || (comm && x == b && y == a))
                return j;
        }
    return NULL;
}

static int header(const cfg *g, int at, LLVMBuilderRef B)
{
    LLVMBasicBlockRef h = g->block[at];
    LLVMValueRef first = LLVMGetFirstInstruction(h);
    /* two predecessors, an edge from each (a block branching to h twice
     * would need a phi entry for each edge) */
    if (!first || !LLVMIsAPHINode(first) || g->npred[at] != 2 || LLVMCountIncoming(first) != 2)
        return 0;
    LLVMBasicBlockRef *p = g->pred[at], blocks[CHAIN_MAX];
    int n0 = chain(g, h, p[0], blocks), latch = 0, nb = n0;
    if (!n0) {
        nb = chain(g, h, p[1], blocks);
        latch = 1;
    } else {
        LLVMBasicBlockRef other[CHAIN_MAX];
        if (chain(g, h, p[1], other)) /* both lead back: no entry to start from */
            return 0;
    }
    if (!nb)
        return 0;
    LLVMBasicBlockRef l = p[latch], e = p[1 - latch];
    int done = 0;
    for (int k = nb - 1; k >= 0; k--) { /* from h on */
        for (LLVMValueRef i = LLVMGetFirstInstruction(blocks[k]), next; i; i = next) {
            next = LLVMGetNextInstruction(i);
            if (!is_arith(LLVMGetInstructionOpcode(i)))
                continue;
            LLVMValueRef a = LLVMGetOperand(i, 0), b = LLVMGetOperand(i, 1);
            if (!LLVMIsAPHINode(a) && !LLVMIsAPHINode(b))
                continue;
            LLVMValueRef la = along(a, h, l), lb = along(b, h, l), ea = along(a, h, e), eb = along(b, h, e);
            if (!la || !lb || !ea || !eb)
                continue;
            LLVMValueRef j = find_same(blocks, nb, i, la, lb);
            if (!j)
                continue;
            /* the first iteration's value, at the entry's end */
            LLVMPositionBuilderBefore(B, LLVMGetBasicBlockTerminator(e));
            LLVMValueRef init = LLVMBuildBinOp(B, LLVMGetInstructionOpcode(i), ea, eb, "");
            merge_flags(i, j, init);
            LLVMPositionBuilderBefore(B, first);
            LLVMValueRef phi = LLVMBuildPhi(B, LLVMTypeOf(i), "carried");
            LLVMValueRef vals[2] = {init, j};
            LLVMBasicBlockRef from[2] = {e, l};
            LLVMAddIncoming(phi, vals, from, 2);
            LLVMReplaceAllUsesWith(i, phi);
            LLVMInstructionEraseFromParent(i);
            first = phi;
            done++;
        }
    }
    return done;
}

int jit_carry_values(LLVMModuleRef m)
{
    int n = 0;
    LLVMBuilderRef B = LLVMCreateBuilderInContext(LLVMGetModuleContext(m));
    for (LLVMValueRef fn = LLVMGetFirstFunction(m); fn; fn = LLVMGetNextFunction(fn)) {
        cfg g;
        if (LLVMIsDeclaration(fn) || cfg_make(&g, fn))
            continue; /* out of memory: the code stays as it is, still right */
        for (int at = 0; at < g.n; at++)
            n += header(&g, at, B);
        cfg_free(&g);
    }
    LLVMDisposeBuilder(B);
    return n;
}
