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

/* A value of several kinds computes in a type that holds them all
 * (fe_t_unify): a float64 where it may be a NumPy float32 or a Python
 * float.  Where the result's kind is float32, NumPy rounds the operands to
 * float32 and computes there: + - * / are done that way too, and taken
 * for that kind (exact: a double holds a float32 operation's every
 * rounding, then rounds once). */
static LLVMValueRef arg_float32(lower *lw, const fe_node *n, int i)
{
    fe_val a = fe_arg(lw->f, n, i);
    LLVMValueRef v = fe_convert(lw, fe_node_val(lw, a), lw->f->nodes[a].type, n->type);
    return LLVMBuildFPTrunc(lw->B, v, lw->f32, "");
}

LLVMValueRef fe_kind_float32_binop(lower *lw, fe_node *n, LLVMValueRef r)
{
    fe_func *f = lw->f;
    fe_val v = (fe_val)(n - f->nodes);
    int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
    if (!r || fe_kinds_in(f, v) < 2 || fe_t_dtype(n->type) != FE_DT_FLOAT64 ||
        (op != FE_NB_ADD && op != FE_NB_SUBTRACT && op != FE_NB_MULTIPLY && op != FE_NB_TRUE_DIVIDE))
        return r;
    int k32 = fe_kind_of_type(f, fe_t_np(f->types, FE_DT_FLOAT32));
    if (k32 < 0 || !(f->kset[v] >> k32 & 1))
        return r;
    fe_lower_kind(lw, v);
    LLVMValueRef kind = lw->kindval ? lw->kindval[v] : NULL;
    if (!kind)
        return r;
    LLVMBuilderRef B = lw->B;
    LLVMValueRef a = arg_float32(lw, n, 0), b = arg_float32(lw, n, 1);
    LLVMValueRef r32 = op == FE_NB_ADD        ? LLVMBuildFAdd(B, a, b, "")
                       : op == FE_NB_SUBTRACT ? LLVMBuildFSub(B, a, b, "")
                       : op == FE_NB_MULTIPLY ? LLVMBuildFMul(B, a, b, "")
                                              : LLVMBuildFDiv(B, a, b, "");
    LLVMValueRef is32 = LLVMBuildICmp(B, LLVMIntEQ, kind, LLVMConstInt(LLVMTypeOf(kind), (unsigned long long)k32, 0), "");
    return LLVMBuildSelect(B, is32, LLVMBuildFPExt(B, r32, LLVMTypeOf(r), ""), r, "");
}
