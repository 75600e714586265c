/* lower_kinds.c - a value's run-time kind (kinds.c) as LLVM values: the
 * kind of a node's result computed beside it, from its operands' kinds
 * through a table of the result kinds Python and NumPy give. */
#include "lower.h"

#include <string.h>

LLVMValueRef fe_kind_value(lower *lw, fe_val v)
{
    if (lw->kindval && lw->kindval[v])
        return lw->kindval[v];
    fe_func *f = lw->f;
    int k = -1;
    if (f->kset && f->kset[v])
        k = __builtin_ctz(f->kset[v]);
    if (k < 0)
        k = fe_kind_of_type(f, f->nodes[v].type);
    return LLVMConstInt(lw->i8, (unsigned long long)(k < 0 ? 0 : k), 0);
}

/* The kind of result `want` of an operator whose operands have kinds ka
 * and kb: a chain of selects over the pairs that can occur. */
static LLVMValueRef kind_table(lower *lw, fe_node *n, LLVMValueRef ka, uint16_t sa, LLVMValueRef kb, uint16_t sb,
                               int binary)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
    LLVMValueRef r = NULL;
    for (int i = 0; i < f->nkinds; i++) {
        if (!(sa >> i & 1))
            continue;
        for (int j = 0; j < (binary ? f->nkinds : 1); j++) {
            if (binary && !(sb >> j & 1))
                continue;
            const fe_type *t;
            if (n->op == IR_BINOP)
                t = fe_binop_result(f->types, op, f->kinds[i], f->kinds[j]);
            else if (n->op == IR_UNOP)
                t = fe_unop_result(f->types, n->sub, f->kinds[i]);
            else if (n->op == IR_CMP)
                t = f->kinds[i]->kind == FE_T_NP || f->kinds[j]->kind == FE_T_NP ? fe_t_np(f->types, FE_DT_BOOL)
                                                                               : fe_t_simple(f->types, FE_T_BOOL);
            else /* abs */
                t = f->kinds[i]->kind == FE_T_BOOL ? fe_t_simple(f->types, FE_T_INT) : f->kinds[i];
            int k = fe_kind_of_type(f, t);
            LLVMValueRef kv = LLVMConstInt(lw->i8, (unsigned long long)(k < 0 ? 0 : k), 0);
            if (!r) {
                r = kv;
                continue;
            }
            LLVMValueRef hit = LLVMBuildICmp(B, LLVMIntEQ, ka, LLVMConstInt(lw->i8, (unsigned long long)i, 0), "");
            if (binary)
                hit = LLVMBuildAnd(B, hit, LLVMBuildICmp(B, LLVMIntEQ, kb, LLVMConstInt(lw->i8, (unsigned long long)j, 0), ""), "");
            r = LLVMBuildSelect(B, hit, kv, r, "");
        }
    }
    return r ? r : fe_kind_value(lw, (fe_val)(n - f->nodes));
}

static uint16_t set_of(const fe_func *f, fe_val v)
{
    if (f->kset && f->kset[v])
        return f->kset[v];
    int k = fe_kind_of_type((fe_func *)f, f->nodes[v].type);
    return k < 0 ? 0 : (uint16_t)(1u << k);
}

void fe_lower_kind(lower *lw, fe_val v)
{
    fe_func *f = lw->f;
    if (fe_kinds_in(f, v) < 2 || lw->kindval[v])
        return;
    fe_node *n = &f->nodes[v];
    LLVMValueRef k = NULL;
    switch (n->op) {
    case IR_LOADVAR:
        if (f->vars[n->var].tag >= 0)
            k = LLVMBuildLoad2(lw->B, lw->i8, fe_var_slot(lw, f->vars[n->var].tag), "kind");
        break;
    case IR_BINOP:
    case IR_CMP: {
        fe_val a = fe_arg(f, n, 0), b = fe_arg(f, n, 1);
        k = kind_table(lw, n, fe_kind_value(lw, a), set_of(f, a), fe_kind_value(lw, b), set_of(f, b), 1);
        break;
    }
    case IR_UNOP: {
        fe_val a = fe_arg(f, n, 0);
        k = kind_table(lw, n, fe_kind_value(lw, a), set_of(f, a), NULL, 0, 0);
        break;
    }
    case IR_CALL: {
        const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
        if (ct && ct->kind == FE_T_FUNC && ct->id == FE_BI_ABS) {
            fe_val a = fe_arg(f, n, n->aux ? 2 : 1);
            k = kind_table(lw, n, fe_kind_value(lw, a), set_of(f, a), NULL, 0, 0);
        }
        break; /* min and max set theirs while choosing */
    }
    default:
        break;
    }
    if (k)
        lw->kindval[v] = k;
}

/* ------------------------------------------------------------- dispatch */

/* A value of several kinds is held in a type that holds them all
 * (fe_t_unify): an int64 where it may be a Python bool or int or a NumPy
 * uint8, a float64 where it may be a NumPy float32 or a Python float.
 * Computing in that type gives the wrong answer wherever the kinds'
 * arithmetic differ: np.uint8(200) + np.uint8(100) wraps to 44, -True is
 * -1 and not 255 of a uint8, np.float32(0.25) rounds its operand to float32
 * first, a Python int that a NumPy int8 meets must fit it (NEP 50), x // 0
 * raises for Python ints and is 0 for NumPy's.  So an operation on such a
 * value is lowered once per pair of kinds its operands may have, each with
 * the operands as those kinds' own types, exactly as a node of those types
 * is; a switch on the kinds at run time runs the one that applies, and its
 * result, converted to the node's type (which holds every result kind),
 * is the node's value.  Only the pair that applies runs: its checks raise
 * what that pair raises, and no other pair divides by a zero it would
 * have refused.  A kind outside the sets, which inference rules out,
 * would take the first pair's.  x ** y keeps the one lowering: int **
 * int already tells its float and int results apart. */
LLVMValueRef fe_kind_dispatch(lower *lw, fe_node *n)
{
    fe_func *f = lw->f;
    int binary = n->op == IR_BINOP;
    int op = binary && n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
    fe_val a = fe_arg(f, n, 0), b = binary ? fe_arg(f, n, 1) : 0;
    if (!f->kset || (fe_kinds_in(f, a) < 2 && (!binary || fe_kinds_in(f, b) < 2)))
        return NULL;
    /* ** keeps the one lowering; `not` and unary + see only the value,
     * which every kind's holding of it tells alike */
    if ((binary && op == FE_NB_POWER) || (!binary && (n->sub == FE_UN_NOT || n->sub == FE_UN_POS)))
        return NULL;
    uint16_t sa = set_of(f, a), sb = binary ? set_of(f, b) : 1;
    const fe_type *rt[FE_MAX_KINDS][FE_MAX_KINDS] = {{0}};
    for (int i = 0; i < f->nkinds; i++)
        for (int j = 0; j < (binary ? f->nkinds : 1); j++) {
            if (!(sa >> i & 1) || !(sb >> j & 1))
                continue;
            rt[i][j] = binary ? fe_binop_result(f->types, op, f->kinds[i], f->kinds[j])
                              : fe_unop_result(f->types, n->sub, f->kinds[i]);
            if (!rt[i][j]) /* a pair inference did not type: keep the one lowering */
                return NULL;
        }
    LLVMBuilderRef B = lw->B;
    LLVMValueRef va = fe_node_val(lw, a), vb = binary ? fe_node_val(lw, b) : NULL;
    const fe_type *ta = f->nodes[a].type, *tb = binary ? f->nodes[b].type : NULL;
    LLVMValueRef key = LLVMBuildZExt(B, fe_kind_value(lw, a), lw->i32, "");
    if (binary)
        key = LLVMBuildOr(B, LLVMBuildShl(B, key, LLVMConstInt(lw->i32, 8, 0), ""),
                          LLVMBuildZExt(B, fe_kind_value(lw, b), lw->i32, ""), "");
    LLVMValueRef fn = lw->fn->fn;
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, fn, "kinds.join");
    LLVMValueRef sw = NULL;
    LLVMValueRef vals[FE_MAX_KINDS * FE_MAX_KINDS];
    LLVMBasicBlockRef from[FE_MAX_KINDS * FE_MAX_KINDS];
    int np = 0;
    for (int i = 0; i < f->nkinds; i++)
        for (int j = 0; j < (binary ? f->nkinds : 1); j++) {
            if (!rt[i][j])
                continue;
            LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(lw->C, fn, "kinds.pair");
            /* the first pair is also the default: a kind outside the sets,
             * which inference rules out, takes it, as kind_table gives it
             * that pair's result kind; and pairs that compute alike (a
             * Python float or a float32 met by a float32: both round to
             * float32 first) leave LLVM a switch whose arms it merges */
            if (!sw)
                sw = LLVMBuildSwitch(B, key, bb, 0);
            else
                LLVMAddCase(sw, LLVMConstInt(lw->i32, (unsigned long long)(binary ? i << 8 | j : i), 0), bb);
            LLVMPositionBuilderAtEnd(B, bb);
            fe_opnd x = {f->kinds[i], fe_convert(lw, va, ta, f->kinds[i])};
            LLVMValueRef r;
            if (binary) {
                fe_opnd y = {f->kinds[j], fe_convert(lw, vb, tb, f->kinds[j])};
                r = fe_binop_typed(lw, n, x, y, rt[i][j]);
            } else {
                r = fe_unop_typed(lw, n, x, rt[i][j]);
            }
            if (!r)
                return NULL;
            vals[np] = fe_convert(lw, r, rt[i][j], n->type);
            from[np++] = LLVMGetInsertBlock(B);
            LLVMBuildBr(B, join);
        }
    if (!np) { /* no pair to compute: the node's own types */
        LLVMDeleteBasicBlock(join);
        fe_opnd x = {ta, va}, y = {tb, vb};
        return binary ? fe_binop_typed(lw, n, x, y, n->type) : fe_unop_typed(lw, n, x, n->type);
    }
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef phi = LLVMBuildPhi(B, LLVMTypeOf(vals[0]), "");
    LLVMAddIncoming(phi, vals, from, (unsigned)np);
    return phi;
}
