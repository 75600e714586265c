/* reduce.c - a reduction operator (the nine of OpenACC's reduction
 * clause) as the frontend needs it: which types it takes, its identity
 * and how two partial results combine, as LLVM values, and the statement
 * that updates an array by it (for messages).  parallel.c plans and
 * lowers the loops that use them.
 */
#include "lower.h"

#include <stdio.h>

/* The update statement of array a that reduction op takes, for messages. */
const char *fe_red_update_form(fe_red_op op, const char *a, char *buf, size_t n)
{
    switch (op) {
    case FE_RED_MAX:
    case FE_RED_MIN: snprintf(buf, n, "%s[k] = %s(%s[k], e)", a, fe_red_op_name(op), a); break;
    case FE_RED_AND: snprintf(buf, n, "%s[k] = %s[k] and e", a, a); break;
    case FE_RED_OR: snprintf(buf, n, "%s[k] = %s[k] or e", a, a); break;
    default: snprintf(buf, n, "%s[k] %s= e", a, fe_red_op_name(op)); break;
    }
    return buf;
}

static int is_bool(const fe_type *t) { return t->kind == FE_T_BOOL || (t->kind == FE_T_NP && t->dtype == FE_DT_BOOL); }

/* Python's `and` and `or` give one of their operands, not True or False:
 * an int or float reduced by && or || has no answer iterations in
 * parallel can give (`ok = 5; ok = ok or e` keeps 5), a bool has. */
fe_status fe_red_logic_of_bools(lower *lw, fe_red_op op, const fe_var *var, fe_loc at)
{
    if (op != FE_RED_AND && op != FE_RED_OR)
        return FE_OK;
    const fe_type *t = var->type->kind == FE_T_ARRAY ? fe_t_np(lw->f->types, var->type->dtype) : var->type;
    if (is_bool(t))
        return FE_OK;
    return fe_error_set(lw->err, FE_ERR_UNSUPPORTED, at,
                        "reduction(%s:%s) of %s: Python's `%s` gives one of its operands, not True or False, "
                        "so only bools (a bool array) reduce by %s in parallel",
                        fe_red_op_name(op), var->name,
                        var->type->kind == FE_T_ARRAY ? "an array that is not bool" : "a value that is not a bool",
                        op == FE_RED_AND ? "and" : "or", fe_red_op_name(op));
}

/* Whether reduction op applies to numbers of type t. */
int fe_red_fits(fe_red_op op, const fe_type *t)
{
    if (!fe_t_is_number(t))
        return 0;
    if (op == FE_RED_BITAND || op == FE_RED_BITOR || op == FE_RED_BITXOR)
        return fe_t_is_intlike(t);
    return 1;
}

/* The identity of op in type t: 0 for + | ^ ||, 1 for * &&, all ones for
 * &, the lowest value for max and the highest for min.  A float sum starts
 * at -0.0, the one number x + y leaves x for every x (0.0 turns -0.0 into
 * 0.0), which also lets LLVM drop the addition. */
LLVMValueRef fe_red_identity(lower *lw, fe_red_op op, const fe_type *t)
{
    LLVMTypeRef lt = fe_lty(lw, t);
    fe_dtype d = fe_t_dtype(t);
    int isf = fe_dtype_is_float(d);
    switch (op) {
    case FE_RED_ADD:
        return isf ? LLVMConstReal(lt, -0.0) : LLVMConstNull(lt);
    case FE_RED_MUL:
        return isf ? LLVMConstReal(lt, 1.0) : LLVMConstInt(lt, 1, 0);
    case FE_RED_AND:
        return isf ? LLVMConstReal(lt, 1.0) : LLVMConstInt(lt, 1, 0);
    case FE_RED_BITAND:
        return LLVMConstAllOnes(lt);
    case FE_RED_MAX:
    case FE_RED_MIN: {
        int hi = op == FE_RED_MIN;
        if (isf)
            return LLVMConstReal(lt, hi ? __builtin_inf() : -__builtin_inf());
        if (d == FE_DT_BOOL)
            return LLVMConstInt(lt, (unsigned long long)hi, 0);
        int bits = fe_dtype_bits(d);
        if (fe_dtype_is_signed(d)) {
            unsigned long long mn = 1ULL << (bits - 1);
            return LLVMConstInt(lt, hi ? mn - 1 : mn, 0);
        }
        return hi ? LLVMConstAllOnes(lt) : LLVMConstInt(lt, 0, 0);
    }
    default:
        return LLVMConstNull(lt);
    }
}

/* a op b in type t; max and min as Python's (the first of equals). */
LLVMValueRef fe_red_combine(lower *lw, fe_red_op op, const fe_type *t, LLVMValueRef a, LLVMValueRef b)
{
    LLVMBuilderRef B = lw->B;
    fe_dtype d = fe_t_dtype(t);
    int isf = fe_dtype_is_float(d), sgn = fe_dtype_is_signed(d);
    switch (op) {
    case FE_RED_ADD:
        return isf ? LLVMBuildFAdd(B, a, b, "") : d == FE_DT_BOOL ? LLVMBuildOr(B, a, b, "") : LLVMBuildAdd(B, a, b, "");
    case FE_RED_MUL:
        return isf ? LLVMBuildFMul(B, a, b, "") : d == FE_DT_BOOL ? LLVMBuildAnd(B, a, b, "") : LLVMBuildMul(B, a, b, "");
    case FE_RED_MAX:
    case FE_RED_MIN: {
        int mx = op == FE_RED_MAX;
        LLVMValueRef better = isf ? LLVMBuildFCmp(B, mx ? LLVMRealOGT : LLVMRealOLT, b, a, "")
                                  : LLVMBuildICmp(B, mx ? (sgn ? LLVMIntSGT : LLVMIntUGT) : (sgn ? LLVMIntSLT : LLVMIntULT),
                                                  b, a, "");
        return LLVMBuildSelect(B, better, b, a, "");
    }
    case FE_RED_BITAND: return LLVMBuildAnd(B, a, b, "");
    case FE_RED_BITOR: return LLVMBuildOr(B, a, b, "");
    case FE_RED_BITXOR: return LLVMBuildXor(B, a, b, "");
    case FE_RED_AND:
    case FE_RED_OR: {
        LLVMValueRef ta = fe_truth(lw, a, t), tb = fe_truth(lw, b, t);
        LLVMValueRef r = op == FE_RED_AND ? LLVMBuildAnd(B, ta, tb, "") : LLVMBuildOr(B, ta, tb, "");
        return fe_convert(lw, r, fe_t_simple(lw->f->types, FE_T_BOOL), t);
    }
    default:
        return a;
    }
}

/* Values already looked at by updates(), with what it found: a phi's
 * cycle is walked once (a value still being walked counts as not found),
 * and a shared operand (one load converted for each kind's operation) tells
 * each user what it told the first. */
typedef struct seen_set {
    LLVMValueRef v[64];
    uint8_t found[64];
    int n;
} seen_set;

/* Whether v is slot's value as loaded, or op's operation (+: fadd, fsub;
 * *: fmul) on it, or a phi of such values (a value of several kinds is
 * computed once per kind, then joined), or such a value converted between
 * float widths (a private copy held narrower); each operation on the way
 * is marked reassociable. */
static int updates(LLVMValueRef v, LLVMValueRef slot, fe_red_op op, seen_set *seen)
{
    if (!LLVMIsAInstruction(v))
        return 0;
    if (LLVMIsALoadInst(v))
        return LLVMGetOperand(v, 0) == slot;
    for (int k = 0; k < seen->n; k++)
        if (seen->v[k] == v)
            return seen->found[k];
    if (seen->n == (int)(sizeof seen->v / sizeof seen->v[0]))
        return 0;
    int at = seen->n++;
    seen->v[at] = v;
    seen->found[at] = 0;
    int found = 0;
    if (LLVMIsAPHINode(v)) {
        for (unsigned k = 0; k < LLVMCountIncoming(v); k++)
            found |= updates(LLVMGetIncomingValue(v, k), slot, op, seen);
    } else {
        LLVMOpcode oc = LLVMGetInstructionOpcode(v);
        if (oc == LLVMFPExt || oc == LLVMFPTrunc) {
            found = updates(LLVMGetOperand(v, 0), slot, op, seen);
        } else if (op == FE_RED_ADD ? oc == LLVMFAdd || oc == LLVMFSub : oc == LLVMFMul) {
            found = updates(LLVMGetOperand(v, 0), slot, op, seen);
            found |= updates(LLVMGetOperand(v, 1), slot, op, seen);
            if (found && LLVMCanValueUseFastMathFlags(v))
                LLVMSetFastMathFlags(v, LLVMGetFastMathFlags(v) | LLVMFastMathAllowReassoc);
        }
    }
    seen->found[at] = (uint8_t)found;
    return found;
}

void fe_red_reassociate(LLVMValueRef fn, LLVMValueRef slot, fe_red_op op, const fe_type *t)
{
    int fp = t->kind == FE_T_FLOAT ||
             (t->kind == FE_T_NP && (t->dtype == FE_DT_FLOAT32 || t->dtype == FE_DT_FLOAT64));
    if (!fp || (op != FE_RED_ADD && op != FE_RED_MUL))
        return;
    for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(fn); b; b = LLVMGetNextBasicBlock(b))
        for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i))
            if (LLVMIsAStoreInst(i) && LLVMGetOperand(i, 1) == slot) {
                seen_set seen = {.n = 0};
                updates(LLVMGetOperand(i, 0), slot, op, &seen);
            }
}

/* Whether block b of parallel loop li's body lies in a lane loop inside
 * it, which is outlined again and handed its variables through memory. */
static int in_lane_loop(const lower *lw, int li, int b)
{
    for (int l = lw->loops.innermost[b]; l >= 0 && l != li; l = lw->loops.loop[l].parent)
        if (lw->lane_of_loop[l])
            return 1;
    return 0;
}

/* The one kind (an index into f->kinds) every update of reduction variable
 * v in parallel loop li's body stores, or -1: when updates may store
 * different kinds, or an atomic construct or a lane loop (outlined again,
 * and handed the variable through memory) touches it. */
int fe_red_update_kind(lower *lw, int li, int v)
{
    fe_func *f = lw->f;
    if (f->vars[v].tag < 0 || !f->kset || (lw->atomic_var && lw->atomic_var[v]))
        return -1;
    const uint8_t *in = lw->loops.loop[li].in_loop;
    int kind = -1;
    for (int i = 0; i < f->nnodes; i++) {
        const fe_node *n = &f->nodes[i];
        if ((n->op != IR_LOADVAR && n->op != IR_STOREVAR) || n->var != v || !in[n->block])
            continue;
        if ((lw->atomic_role && lw->atomic_role[i]) || in_lane_loop(lw, li, n->block))
            return -1;
        if (n->op == IR_LOADVAR)
            continue;
        fe_val a = fe_arg(f, n, 0);
        uint16_t ks = f->kset[a];
        int k = ks ? (__builtin_popcount(ks) == 1 ? __builtin_ctz(ks) : -2) : fe_kind_of_type(f, f->nodes[a].type);
        if (k < 0 || (kind >= 0 && k != kind))
            return -1;
        kind = k;
    }
    return kind;
}

/* A variable of several kinds is held in a type that holds them all: a
 * float64 for a Python float that may become a NumPy float32 (NumPy 2 makes
 * `s = 0.0; s += x[i]` float32 after the first update over a float32 array).
 * A thread's private copy of such a sum then goes float32 -> float64 ->
 * float32 at each update, and its loop is a chain the vectoriser cannot
 * widen.  Yet the copy only ever holds values of one kind: the identity,
 * which float32 holds exactly, and what the updates store, when every
 * update's value has that one kind.  Held in that kind's type, the same
 * values are in the slot, converted exactly on each load, and the loop is
 * a float32 chain.  Not for max and min, whose result is one of their
 * operands, of either kind. */
const fe_type *fe_red_private_type(lower *lw, int v, fe_red_op op, int kind)
{
    fe_func *f = lw->f;
    const fe_type *t = f->vars[v].type;
    int f64 = t->kind == FE_T_FLOAT || (t->kind == FE_T_NP && t->dtype == FE_DT_FLOAT64);
    if ((op != FE_RED_ADD && op != FE_RED_MUL) || !f64 || kind < 0 || f->kinds[kind]->kind != FE_T_NP ||
        f->kinds[kind]->dtype != FE_DT_FLOAT32)
        return NULL;
    return f->kinds[kind];
}
