/* lower_call.c - LLVM IR for a call in a region: the builtins (len, abs,
 * min, max, int, float, bool, round, range, enumerate, acc_on_device), a
 * copyout list's append, math and NumPy functions (mathfn.c), and plain
 * Python functions, each lowered as an instance of its own (lower.c).
 * lower_expr.c lowers every other expression, and the helpers used here.
 */
#include "lower.h"
#include "mathfn.h"

#include "rt.h"

#include <stddef.h>

LLVMValueRef fe_lower_call(lower *lw, fe_node *n)
{
    LLVMBuilderRef B = lw->B;
    fe_func *f = lw->f;
    const fe_type *ct = fe_arg_type(lw, n, 0);
    int first = (n->aux && ct->kind == FE_T_FUNC) ? 2 : 1;
    int na = n->nargs - first;
    if (ct->kind == FE_T_METHOD) { /* list.append on a copyout list */
        int param = ct->seq->id;
        int li = lw->listout_loop[param];
        LLVMValueRef lst = fe_arg_val(lw, n, 1);
        const fe_type *et = f->listout_elem[param];
        LLVMValueRef pos = fe_iteration_index(lw, li);
        LLVMValueRef cap = fe_extract(lw, lst, 1);
        int parallel = lw->fn->par_loop == li;
        if (!parallel)
            fe_check(lw, LLVMBuildICmp(B, LLVMIntSGE, pos, cap, ""), RT_ERR_LIST_LENGTH, n->loc, cap,
                     LLVMBuildAdd(B, pos, fe_const_i64(lw, 1), ""));
        LLVMValueRef v = fe_arg_as(lw, n, 2, et);
        fe_dtype dt = fe_t_dtype(et);
        LLVMValueRef p = LLVMBuildInBoundsGEP2(B, fe_mem_lty(lw, dt), fe_extract(lw, lst, 0), &pos, 1, "");
        fe_store_elem(lw, dt, p, v, FE_NOVAL);
        if (!parallel) {
            /* the count so far, so that an error later leaves the list as
             * Python would: holding the values appended before it */
            LLVMValueRef off = fe_const_i64(lw, offsetof(fe_arraydesc, shape));
            LLVMValueRef cntp = LLVMBuildInBoundsGEP2(B, lw->i8, fe_extract(lw, lst, 2), &off, 1, "");
            LLVMBuildStore(B, LLVMBuildAdd(B, pos, fe_const_i64(lw, 1), ""), cntp);
        }
        return LLVMGetUndef(lw->i8);
    }
    if (ct->kind == FE_T_PYFUNC) {
        fe_instance *x = f->inst->v[n->sub];
        LLVMTypeRef fty;
        LLVMValueRef fn = fe_routine_fn(lw, x, &fty);
        if (!fn)
            return NULL;
        const fe_type *rt = x->func->ret_type;
        LLVMValueRef ret = fe_entry_alloca(lw, rt && rt->kind != FE_T_NONE ? fe_lty(lw, rt) : lw->i8, "ret");
        LLVMValueRef args[18] = {lw->fn->err, ret};
        int slot[16];
        char why[200];
        if (fe_bind_args(f, n, first, x->region.code, slot, why, sizeof why) < 0) {
            fe_error_set(lw->err, FE_ERR_INTERNAL, n->loc, "%s", why);
            return NULL;
        }
        for (int i = 0; i < x->nargs; i++)
            args[2 + i] = slot[i] >= 0 ? fe_arg_val(lw, n, slot[i])
                                       : fe_const_val(lw, &x->region.code->defaults[-1 - slot[i]], x->args[i]);
        LLVMValueRef st = LLVMBuildCall2(B, fty, fn, args, (unsigned)(2 + x->nargs), "");
        /* the callee recorded its error: leave this function too */
        LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "returned");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, st, LLVMConstInt(lw->i32, 0, 0), ""), lw->fn->fail, ok);
        LLVMPositionBuilderAtEnd(B, ok);
        if (!rt || rt->kind == FE_T_NONE)
            return LLVMGetUndef(lw->i8);
        return LLVMBuildLoad2(B, fe_lty(lw, rt), ret, "");
    }
    switch ((fe_builtin)ct->id) {
    case FE_BI_RANGE: {
        LLVMValueRef start = fe_const_i64(lw, 0), stop, step = fe_const_i64(lw, 1);
        const fe_type *ti = fe_t_simple(f->types, FE_T_INT);
        if (na == 1) {
            stop = fe_arg_as(lw, n, first, ti);
        } else {
            start = fe_arg_as(lw, n, first, ti);
            stop = fe_arg_as(lw, n, first + 1, ti);
            if (na == 3) {
                step = fe_arg_as(lw, n, first + 2, ti);
                const fe_node *sn = &f->nodes[fe_arg(f, n, first + 2)];
                if (sn->op != IR_CONST)
                    fe_check(lw, LLVMBuildICmp(B, LLVMIntEQ, step, fe_const_i64(lw, 0), ""), RT_ERR_VALUE,
                             n->loc, fe_const_i64(lw, 4), fe_const_i64(lw, 0));
                else if (sn->c.i == 0)
                    fe_check(lw, LLVMConstInt(lw->i1, 1, 0), RT_ERR_VALUE, n->loc, fe_const_i64(lw, 4),
                             fe_const_i64(lw, 0));
            }
        }
        LLVMValueRef r = LLVMGetUndef(fe_lty(lw, n->type));
        r = LLVMBuildInsertValue(B, r, start, 0, "");
        r = LLVMBuildInsertValue(B, r, stop, 1, "");
        return LLVMBuildInsertValue(B, r, step, 2, "");
    }
    case FE_BI_LEN: {
        const fe_type *t = fe_arg_type(lw, n, first);
        LLVMValueRef v = fe_arg_val(lw, n, first);
        if (t->kind == FE_T_TUPLE)
            return fe_const_i64(lw, t->nitems);
        if (t->kind == FE_T_RANGE)
            return fe_range_count(lw, fe_extract(lw, v, 0), fe_extract(lw, v, 1), fe_extract(lw, v, 2));
        return fe_extract2(lw, v, 1, 0);
    }
    case FE_BI_MIN:
    case FE_BI_MAX: {
        /* Python keeps the first of equal values and compares with < / >,
         * so a NaN argument propagates only from the front */
        LLVMValueRef r = fe_arg_as(lw, n, first, n->type);
        int isf = fe_t_is_floatlike(n->type);
        /* a bool (an i1, whose true is -1 as a signed number) compares unsigned */
        int sgn = fe_dtype_is_signed(fe_t_dtype(n->type));
        /* Python returns the argument chosen, so its kind too */
        int track = fe_kinds_in(f, (fe_val)(n - f->nodes)) > 1;
        LLVMValueRef kind = track ? fe_kind_value(lw, fe_arg(f, n, first)) : NULL;
        for (int i = 1; i < na; i++) {
            LLVMValueRef b = fe_arg_as(lw, n, first + i, n->type);
            LLVMValueRef better;
            if (ct->id == FE_BI_MIN)
                better = isf ? LLVMBuildFCmp(B, LLVMRealOLT, b, r, "")
                             : LLVMBuildICmp(B, sgn ? LLVMIntSLT : LLVMIntULT, b, r, "");
            else
                better = isf ? LLVMBuildFCmp(B, LLVMRealOGT, b, r, "")
                             : LLVMBuildICmp(B, sgn ? LLVMIntSGT : LLVMIntUGT, b, r, "");
            r = LLVMBuildSelect(B, better, b, r, "");
            if (track)
                kind = LLVMBuildSelect(B, better, fe_kind_value(lw, fe_arg(f, n, first + i)), kind, "");
        }
        if (track)
            lw->kindval[n - f->nodes] = kind;
        return r;
    }
    case FE_BI_ABS: {
        LLVMValueRef x = fe_arg_as(lw, n, first, n->type);
        if (fe_t_is_floatlike(n->type))
            return fe_intrinsic(lw, "llvm.fabs", LLVMTypeOf(x), &x, 1);
        if (!fe_dtype_is_signed(fe_t_dtype(n->type)))
            return x;
        LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, x, LLVMConstNull(LLVMTypeOf(x)), "");
        return LLVMBuildSelect(B, neg, LLVMBuildNeg(B, x, ""), x, "");
    }
    case FE_BI_INT: {
        const fe_type *t = fe_arg_type(lw, n, first);
        if (fe_t_is_floatlike(t)) {
            LLVMValueRef x = fe_arg_val(lw, n, first);
            return fe_float_to_int(lw, fe_intrinsic(lw, "llvm.trunc", LLVMTypeOf(x), &x, 1), n->loc);
        }
        return fe_arg_as(lw, n, first, n->type);
    }
    case FE_BI_FLOAT: return fe_arg_as(lw, n, first, n->type);
    case FE_BI_BOOL: return fe_truth(lw, fe_arg_val(lw, n, first), fe_arg_type(lw, n, first));
    case FE_BI_ROUND: {
        const fe_type *t = fe_arg_type(lw, n, first);
        if (na == 2)
            return fe_math_round(lw, fe_arg_val(lw, n, first),
                                 fe_arg_as(lw, n, first + 1, fe_t_simple(f->types, FE_T_INT)), n->loc);
        if (!fe_t_is_floatlike(t))
            return fe_arg_as(lw, n, first, n->type);
        LLVMValueRef x = fe_arg_val(lw, n, first);
        return fe_float_to_int(lw, fe_intrinsic(lw, "llvm.roundeven", LLVMTypeOf(x), &x, 1), n->loc);
    }
    case FE_BI_ACC_ON_DEVICE: {
        /* a call of pyacc.on_device, whose body answers for the host
         * device (true for acc_device_host, and for acc_device_none as GCC's
         * libgomp answers); a GPU target gives the function its own body */
        LLVMValueRef d = fe_arg_as(lw, n, first, fe_t_simple(f->types, FE_T_INT));
        LLVMTypeRef fty = LLVMFunctionType(lw->i1, &lw->i64, 1, 0);
        LLVMValueRef fn = LLVMGetNamedFunction(lw->M, "pyacc.on_device");
        if (!fn) {
            fn = LLVMAddFunction(lw->M, "pyacc.on_device", fty);
            LLVMSetLinkage(fn, LLVMInternalLinkage);
            LLVMBuilderRef b = LLVMCreateBuilderInContext(lw->C);
            LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(lw->C, fn, "entry"));
            LLVMValueRef t = LLVMGetParam(fn, 0);
            LLVMBuildRet(b, LLVMBuildOr(b, LLVMBuildICmp(b, LLVMIntEQ, t, fe_const_i64(lw, 2), ""),
                                        LLVMBuildICmp(b, LLVMIntEQ, t, fe_const_i64(lw, 0), ""), ""));
            LLVMDisposeBuilder(b);
        }
        return LLVMBuildCall2(B, fty, fn, &d, 1, "");
    }
    case FE_BI_ENUMERATE: {
        LLVMValueRef it = LLVMGetUndef(fe_lty(lw, n->type));
        it = LLVMBuildInsertValue(B, it, fe_arg_val(lw, n, first), 0, "");
        it = LLVMBuildInsertValue(B, it, fe_const_i64(lw, 0), 1, "");
        LLVMValueRef start = na > 1 ? fe_arg_as(lw, n, first + 1, fe_t_simple(f->types, FE_T_INT)) : fe_const_i64(lw, 0);
        return LLVMBuildInsertValue(B, it, start, 2, "");
    }
    default: {
        return fe_math_lower(lw, n, (fe_builtin)ct->id, first, ct->layout == FE_FUNC_NUMPY);
    }
    }
}
