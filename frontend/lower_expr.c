/* lower_expr.c - LLVM IR for the values a region computes.
 *
 * Arithmetic keeps Python's meaning on Python scalars (floor division and
 * modulo of negatives, ZeroDivisionError) and NumPy's on NumPy scalars
 * (wrapping integers, IEEE results); fe_convert casts between them as NumPy
 * does.  Arrays are {data, shape[n], strides[n]} values with strides in
 * elements; C- and F-ordered arrays are indexed through their shape so that
 * LLVM sees unit stride in the innermost axis and vectorises.
 */
#include "lower.h"
#include "mathfn.h"

#include "rt.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* ----------------------------------------------------------------- types */

LLVMTypeRef fe_mem_lty(lower *lw, fe_dtype d)
{
    switch (d) {
    case FE_DT_BOOL:
    case FE_DT_INT8:
    case FE_DT_UINT8: return lw->i8;
    case FE_DT_INT16:
    case FE_DT_UINT16: return lw->i16;
    case FE_DT_INT32:
    case FE_DT_UINT32: return lw->i32;
    case FE_DT_INT64:
    case FE_DT_UINT64: return lw->i64;
    case FE_DT_FLOAT32: return lw->f32;
    default: return lw->f64;
    }
}

static LLVMTypeRef array_lty(lower *lw, int ndim)
{
    LLVMTypeRef dims = LLVMArrayType2(lw->i64, (uint64_t)ndim);
    LLVMTypeRef fields[3] = {lw->ptr, dims, dims};
    return LLVMStructTypeInContext(lw->C, fields, 3, 0);
}

/* The type a value of t has in registers. */
LLVMTypeRef fe_lty(lower *lw, const fe_type *t)
{
    switch (t->kind) {
    case FE_T_BOOL: return lw->i1;
    case FE_T_INT: return lw->i64;
    case FE_T_FLOAT: return lw->f64;
    case FE_T_NP: return t->dtype == FE_DT_BOOL ? lw->i1 : fe_mem_lty(lw, t->dtype);
    case FE_T_ARRAY: return array_lty(lw, t->ndim);
    case FE_T_LIST: return array_lty(lw, 1);
    case FE_T_LISTOUT: {
        LLVMTypeRef fields[3] = {lw->ptr, lw->i64, lw->ptr}; /* data, capacity, desc */
        return LLVMStructTypeInContext(lw->C, fields, 3, 0);
    }
    case FE_T_RANGE: {
        LLVMTypeRef fields[3] = {lw->i64, lw->i64, lw->i64}; /* start, stop, step */
        return LLVMStructTypeInContext(lw->C, fields, 3, 0);
    }
    case FE_T_RANGEITER: {
        LLVMTypeRef fields[4] = {lw->i64, lw->i64, lw->i64, lw->i64}; /* start, step, n, k */
        return LLVMStructTypeInContext(lw->C, fields, 4, 0);
    }
    case FE_T_SEQITER:
    case FE_T_ENUMITER: {
        /* sequence, k, and enumerate's start */
        LLVMTypeRef fields[3] = {fe_lty(lw, t->seq), lw->i64, lw->i64};
        return LLVMStructTypeInContext(lw->C, fields, 3, 0);
    }
    case FE_T_TUPLE: {
        LLVMTypeRef fields[FE_MAX_TUPLE];
        for (int i = 0; i < t->nitems && i < FE_MAX_TUPLE; i++)
            fields[i] = fe_lty(lw, t->items[i]);
        return LLVMStructTypeInContext(lw->C, fields, (unsigned)t->nitems, 0);
    }
    default: return lw->i8; /* None, modules, functions: no run-time value */
    }
}

LLVMValueRef fe_const_i64(lower *lw, int64_t v) { return LLVMConstInt(lw->i64, (unsigned long long)v, 1); }
static LLVMValueRef cf64(lower *lw, double v) { return LLVMConstReal(lw->f64, v); }

LLVMValueRef fe_intrinsic(lower *lw, const char *name, LLVMTypeRef overload, LLVMValueRef *args,
                          int nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMTypeRef tys[1] = {overload};
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(lw->M, id, tys, overload ? 1 : 0);
    LLVMTypeRef fty = LLVMIntrinsicGetType(lw->C, id, tys, overload ? 1 : 0);
    return LLVMBuildCall2(lw->B, fty, fn, args, (unsigned)nargs, "");
}

/* ----------------------------------------------------------- conversions */

static int is_bool(const fe_type *t)
{
    return t->kind == FE_T_BOOL || (t->kind == FE_T_NP && t->dtype == FE_DT_BOOL);
}

LLVMValueRef fe_truth(lower *lw, LLVMValueRef v, const fe_type *t)
{
    if (is_bool(t))
        return v;
    if (t->kind == FE_T_NONE)
        return LLVMConstInt(lw->i1, 0, 0);
    if (fe_t_is_floatlike(t))
        return LLVMBuildFCmp(lw->B, LLVMRealUNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
    return LLVMBuildICmp(lw->B, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
}

/* Casts a number as NumPy's astype (and Python's int()/float()) would. */
LLVMValueRef fe_convert(lower *lw, LLVMValueRef v, const fe_type *from, const fe_type *to)
{
    if (from == to)
        return v;
    fe_dtype fd = fe_t_dtype(from), td = fe_t_dtype(to);
    LLVMTypeRef tt = fe_lty(lw, to);
    if (td == FE_DT_BOOL)
        return fe_truth(lw, v, from);
    if (fd == FE_DT_BOOL)
        return fe_dtype_is_float(td) ? LLVMBuildUIToFP(lw->B, v, tt, "") : LLVMBuildZExt(lw->B, v, tt, "");
    int fi = fe_dtype_is_int(fd), ti = fe_dtype_is_int(td);
    if (fi && ti) {
        int fb = fe_dtype_bits(fd), tb = fe_dtype_bits(td);
        if (fb == tb)
            return v;
        if (fb > tb)
            return LLVMBuildTrunc(lw->B, v, tt, "");
        return fe_dtype_is_signed(fd) ? LLVMBuildSExt(lw->B, v, tt, "") : LLVMBuildZExt(lw->B, v, tt, "");
    }
    if (fi)
        return fe_dtype_is_signed(fd) ? LLVMBuildSIToFP(lw->B, v, tt, "") : LLVMBuildUIToFP(lw->B, v, tt, "");
    if (ti) {
        /* saturating: no poison for out-of-range values */
        LLVMTypeRef tys[2] = {tt, LLVMTypeOf(v)};
        const char *name = fe_dtype_is_signed(td) ? "llvm.fptosi.sat" : "llvm.fptoui.sat";
        unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
        LLVMValueRef fn = LLVMGetIntrinsicDeclaration(lw->M, id, tys, 2);
        LLVMTypeRef fty = LLVMIntrinsicGetType(lw->C, id, tys, 2);
        return LLVMBuildCall2(lw->B, fty, fn, &v, 1, "");
    }
    if (fe_dtype_bits(fd) < fe_dtype_bits(td))
        return LLVMBuildFPExt(lw->B, v, tt, "");
    if (fe_dtype_bits(fd) > fe_dtype_bits(td))
        return LLVMBuildFPTrunc(lw->B, v, tt, "");
    return v;
}

const fe_type *fe_arg_type(lower *lw, const fe_node *n, int i)
{
    return lw->f->nodes[fe_arg(lw->f, n, i)].type;
}

LLVMValueRef fe_arg_val(lower *lw, const fe_node *n, int i)
{
    return fe_node_val(lw, fe_arg(lw->f, n, i));
}

/* Argument i of n converted to type t. */
LLVMValueRef fe_arg_as(lower *lw, const fe_node *n, int i, const fe_type *t)
{
    return fe_convert(lw, fe_arg_val(lw, n, i), fe_arg_type(lw, n, i), t);
}

/* NumPy 2 (NEP 50): a Python int meeting a NumPy integer type it does not
 * fit is an OverflowError ("Python integer 300 out of bounds for int8"),
 * in arithmetic and when stored into an array.  v is the int64 value. */
static void check_weak_int_fits(lower *lw, LLVMValueRef v, fe_dtype d, fe_loc loc)
{
    if (!fe_dtype_is_int(d) || d == FE_DT_INT64)
        return;
    int bits = fe_dtype_bits(d);
    int64_t lo, hi;
    if (fe_dtype_is_signed(d)) {
        lo = -((int64_t)1 << (bits - 1));
        hi = ((int64_t)1 << (bits - 1)) - 1;
    } else {
        lo = 0;
        hi = bits == 64 ? INT64_MAX : ((int64_t)1 << bits) - 1;
    }
    LLVMValueRef out = LLVMBuildOr(lw->B, LLVMBuildICmp(lw->B, LLVMIntSLT, v, fe_const_i64(lw, lo), ""),
                                   LLVMBuildICmp(lw->B, LLVMIntSGT, v, fe_const_i64(lw, hi), ""), "");
    fe_check(lw, out, RT_ERR_OVERFLOW, loc, fe_const_i64(lw, 100 + (int64_t)d), v);
}

/* x's value as type t; a Python int checked to fit t's integer type (NEP 50). */
static LLVMValueRef opnd_as_checked(lower *lw, const fe_node *n, fe_opnd x, const fe_type *t)
{
    if (x.t->kind == FE_T_INT && t->kind == FE_T_NP)
        check_weak_int_fits(lw, x.v, t->dtype, n->loc);
    return fe_convert(lw, x.v, x.t, t);
}

/* ------------------------------------------------------------ arithmetic */

static LLVMValueRef zero_of(LLVMValueRef v) { return LLVMConstNull(LLVMTypeOf(v)); }

/* Python's floor division and modulo of integers (signed), as one pair. */
static void int_divmod(lower *lw, LLVMValueRef a, LLVMValueRef b, int is_signed, LLVMValueRef *q,
                       LLVMValueRef *r)
{
    LLVMBuilderRef B = lw->B;
    if (!is_signed) {
        *q = LLVMBuildUDiv(B, a, b, "");
        *r = LLVMBuildURem(B, a, b, "");
        return;
    }
    /* MIN // -1 overflows in hardware: divide by 1 and negate instead. */
    LLVMValueRef minus1 = LLVMConstAllOnes(LLVMTypeOf(b));
    LLVMValueRef is_m1 = LLVMBuildICmp(B, LLVMIntEQ, b, minus1, "");
    LLVMValueRef bb = LLVMBuildSelect(B, is_m1, LLVMConstInt(LLVMTypeOf(b), 1, 0), b, "");
    LLVMValueRef tq = LLVMBuildSDiv(B, a, bb, "");
    tq = LLVMBuildSelect(B, is_m1, LLVMBuildNeg(B, a, ""), tq, "");
    LLVMValueRef tr = LLVMBuildSRem(B, a, bb, "");
    tr = LLVMBuildSelect(B, is_m1, zero_of(a), tr, "");
    /* Round toward -inf: adjust when the remainder's sign differs from b's. */
    LLVMValueRef nz = LLVMBuildICmp(B, LLVMIntNE, tr, zero_of(tr), "");
    LLVMValueRef sx = LLVMBuildICmp(B, LLVMIntSLT, LLVMBuildXor(B, tr, b, ""), zero_of(tr), "");
    LLVMValueRef adj = LLVMBuildAnd(B, nz, sx, "");
    *q = LLVMBuildSub(B, tq, LLVMBuildZExt(B, adj, LLVMTypeOf(tq), ""), "");
    *r = LLVMBuildSelect(B, adj, LLVMBuildAdd(B, tr, b, ""), tr, "");
}

/* Python's float divmod (CPython's float_divmod, which NumPy's npy_divmod
 * follows too): the floor quotient and the modulo with the divisor's sign. */
static void float_divmod(lower *lw, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *q, LLVMValueRef *r)
{
    LLVMBuilderRef B = lw->B;
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef zero = LLVMConstReal(t, 0.0);
    LLVMValueRef mod = LLVMBuildFRem(B, a, b, "");
    LLVMValueRef div = LLVMBuildFDiv(B, LLVMBuildFSub(B, a, mod, ""), b, "");
    LLVMValueRef mod_nz = LLVMBuildFCmp(B, LLVMRealUNE, mod, zero, "");
    LLVMValueRef bneg = LLVMBuildFCmp(B, LLVMRealOLT, b, zero, "");
    LLVMValueRef mneg = LLVMBuildFCmp(B, LLVMRealOLT, mod, zero, "");
    LLVMValueRef fix = LLVMBuildAnd(B, mod_nz, LLVMBuildICmp(B, LLVMIntNE, bneg, mneg, ""), "");
    LLVMValueRef cs_args[2] = {zero, b};
    LLVMValueRef signed_zero = fe_intrinsic(lw, "llvm.copysign", t, cs_args, 2);
    mod = LLVMBuildSelect(B, fix, LLVMBuildFAdd(B, mod, b, ""), mod, "");
    mod = LLVMBuildSelect(B, mod_nz, mod, signed_zero, "");
    div = LLVMBuildSelect(B, fix, LLVMBuildFSub(B, div, LLVMConstReal(t, 1.0), ""), div, "");
    LLVMValueRef div_nz = LLVMBuildFCmp(B, LLVMRealUNE, div, zero, "");
    LLVMValueRef fl = fe_intrinsic(lw, "llvm.floor", t, &div, 1);
    LLVMValueRef up = LLVMBuildFCmp(B, LLVMRealOGT, LLVMBuildFSub(B, div, fl, ""), LLVMConstReal(t, 0.5), "");
    fl = LLVMBuildSelect(B, up, LLVMBuildFAdd(B, fl, LLVMConstReal(t, 1.0), ""), fl, "");
    LLVMValueRef cs2[2] = {zero, LLVMBuildFDiv(B, a, b, "")};
    LLVMValueRef zq = fe_intrinsic(lw, "llvm.copysign", t, cs2, 2);
    *q = LLVMBuildSelect(B, div_nz, fl, zq, "");
    *r = mod;
}

/* Python's int / int: doubles divide exactly-rounded while both ints fit
 * in 53 bits; beyond, the runtime divides exactly (a cold call, so the usual
 * case still vectorises).  fa, fb: the operands already as doubles. */
static LLVMValueRef int_true_divide(lower *lw, fe_val na, fe_val nb, LLVMValueRef a, LLVMValueRef b,
                                    LLVMValueRef fa, LLVMValueRef fb)
{
    LLVMBuilderRef B = lw->B;
    int small_a = fe_node_fact(lw, na, FE_FACT_SMALL), small_b = fe_node_fact(lw, nb, FE_FACT_SMALL);
    if (small_a && small_b)
        return LLVMBuildFDiv(B, fa, fb, "");
    LLVMValueRef lim = fe_const_i64(lw, (int64_t)1 << 53);
    LLVMValueRef absa[1] = {a}, absb[1] = {b};
    LLVMValueRef args_a[2] = {absa[0], LLVMConstInt(lw->i1, 0, 0)}, args_b[2] = {absb[0], LLVMConstInt(lw->i1, 0, 0)};
    LLVMValueRef ma = fe_intrinsic(lw, "llvm.abs", lw->i64, args_a, 2);
    LLVMValueRef mb = fe_intrinsic(lw, "llvm.abs", lw->i64, args_b, 2);
    /* abs(INT64_MIN) wraps negative: unsigned compare catches it */
    /* only what is not known small is tested: a loop-invariant test alone
     * lets LLVM move it out of the loop and vectorise both versions */
    LLVMValueRef big = small_a   ? LLVMBuildICmp(B, LLVMIntUGT, mb, lim, "")
                       : small_b ? LLVMBuildICmp(B, LLVMIntUGT, ma, lim, "")
                                 : LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntUGT, ma, lim, ""),
                                               LLVMBuildICmp(B, LLVMIntUGT, mb, lim, ""), "");
    LLVMValueRef fast = LLVMBuildFDiv(B, fa, fb, "");
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef here = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(lw->C, fn, "exact_div");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, fn, "divided");
    LLVMValueRef expect[2] = {big, LLVMConstInt(lw->i1, 0, 0)};
    LLVMBuildCondBr(B, fe_intrinsic(lw, "llvm.expect", lw->i1, expect, 2), slow, join);
    LLVMPositionBuilderAtEnd(B, slow);
    LLVMTypeRef ptys[2] = {lw->i64, lw->i64};
    LLVMTypeRef fty = LLVMFunctionType(lw->f64, ptys, 2, 0);
    LLVMValueRef rt = LLVMGetNamedFunction(lw->M, "pyacc_rt_int_truediv");
    if (!rt)
        rt = LLVMAddFunction(lw->M, "pyacc_rt_int_truediv", fty);
    LLVMValueRef cargs[2] = {a, b};
    LLVMValueRef exact = LLVMBuildCall2(B, fty, rt, cargs, 2, "");
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef phi = LLVMBuildPhi(B, lw->f64, "");
    LLVMValueRef vals[2] = {fast, exact};
    LLVMBasicBlockRef from[2] = {here, slow};
    LLVMAddIncoming(phi, vals, from, 2);
    return phi;
}

/* Python's int ** int where the result is held as a float: a negative
 * exponent gives a float (0 ** -1 raises), any other an int, computed
 * exactly and checked to fit the float exactly; the node's kind says which
 * of the two the value is. */
static LLVMValueRef int_power_any(lower *lw, fe_node *n, LLVMValueRef a, LLVMValueRef b)
{
    LLVMBuilderRef B = lw->B;
    fe_func *f = lw->f;
    LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, b, fe_const_i64(lw, 0), "");
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef as_float = LLVMAppendBasicBlockInContext(lw->C, fn, "pow.float");
    LLVMBasicBlockRef as_int = LLVMAppendBasicBlockInContext(lw->C, fn, "pow.int");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, fn, "pow.done");
    LLVMBuildCondBr(B, neg, as_float, as_int);

    LLVMPositionBuilderAtEnd(B, as_float);
    fe_check(lw, LLVMBuildICmp(B, LLVMIntEQ, a, fe_const_i64(lw, 0), ""), RT_ERR_ZERO_DIVISION, n->loc,
             fe_const_i64(lw, 5), fe_const_i64(lw, 0));
    LLVMValueRef pargs[2] = {LLVMBuildSIToFP(B, a, lw->f64, ""), LLVMBuildSIToFP(B, b, lw->f64, "")};
    LLVMValueRef fr = fe_intrinsic(lw, "llvm.pow", lw->f64, pargs, 2);
    LLVMBasicBlockRef float_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);

    LLVMPositionBuilderAtEnd(B, as_int);
    LLVMValueRef ir = fe_int_power(lw, a, b, 1, 1, n->loc);
    LLVMValueRef absargs[2] = {ir, LLVMConstInt(lw->i1, 0, 0)};
    LLVMValueRef mag = fe_intrinsic(lw, "llvm.abs", lw->i64, absargs, 2);
    fe_check(lw, LLVMBuildICmp(B, LLVMIntUGT, mag, fe_const_i64(lw, (int64_t)1 << 53), ""), RT_ERR_OVERFLOW,
             n->loc, fe_const_i64(lw, 2), ir);
    LLVMValueRef ifr = LLVMBuildSIToFP(B, ir, lw->f64, "");
    LLVMBasicBlockRef int_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);

    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef phi = LLVMBuildPhi(B, lw->f64, "");
    LLVMValueRef vals[2] = {fr, ifr};
    LLVMBasicBlockRef from[2] = {float_end, int_end};
    LLVMAddIncoming(phi, vals, from, 2);
    int kf = fe_kind_of_type(f, fe_t_simple(f->types, FE_T_FLOAT));
    int ki = fe_kind_of_type(f, fe_t_simple(f->types, FE_T_INT));
    if (kf >= 0 && ki >= 0)
        lw->kindval[n - f->nodes] = LLVMBuildSelect(B, neg, LLVMConstInt(lw->i8, (unsigned long long)kf, 0),
                                                    LLVMConstInt(lw->i8, (unsigned long long)ki, 0), "");
    return phi;
}

/* x ** n for a constant n >= 0, by repeated squaring, unrolled.  checked:
 * a Python int, which raises OverflowError rather than wrap past int64. */
static LLVMValueRef int_pow_const(lower *lw, LLVMValueRef x, int64_t n, int checked, fe_loc loc)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef result = LLVMConstInt(t, 1, 0), base = x, ovf = LLVMConstInt(lw->i1, 0, 0);
    int first = 1;
    while (n > 0) {
        if (n & 1) {
            if (first) {
                result = base; /* 1 * base */
            } else if (checked) {
                LLVMValueRef m[2] = {result, base};
                LLVMValueRef p = fe_intrinsic(lw, "llvm.smul.with.overflow", t, m, 2);
                result = LLVMBuildExtractValue(lw->B, p, 0, "");
                ovf = LLVMBuildOr(lw->B, ovf, LLVMBuildExtractValue(lw->B, p, 1, ""), "");
            } else {
                result = LLVMBuildMul(lw->B, result, base, "");
            }
            first = 0;
        }
        n >>= 1;
        if (n) {
            if (checked) {
                LLVMValueRef m[2] = {base, base};
                LLVMValueRef p = fe_intrinsic(lw, "llvm.smul.with.overflow", t, m, 2);
                base = LLVMBuildExtractValue(lw->B, p, 0, "");
                ovf = LLVMBuildOr(lw->B, ovf, LLVMBuildExtractValue(lw->B, p, 1, ""), "");
            } else {
                base = LLVMBuildMul(lw->B, base, base, "");
            }
        }
    }
    if (checked)
        fe_check(lw, ovf, RT_ERR_OVERFLOW, loc, fe_const_i64(lw, 0), fe_const_i64(lw, 0));
    return result;
}

LLVMValueRef fe_binop_typed(lower *lw, fe_node *n, fe_opnd x, fe_opnd y, const fe_type *tr)
{
    LLVMBuilderRef B = lw->B;
    fe_func *f = lw->f;
    int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
    const fe_type *ta = x.t, *tb = y.t;
    const fe_type *int_t = fe_t_simple(f->types, FE_T_INT);
    int weak = ta->kind != FE_T_NP && tb->kind != FE_T_NP;
    const fe_type *tc = tr; /* the type the operation computes in */
    LLVMValueRef a = opnd_as_checked(lw, n, x, tc), b = opnd_as_checked(lw, n, y, tc);
    fe_dtype dc = fe_t_dtype(tc);
    int isf = fe_dtype_is_float(dc), sgn = fe_dtype_is_signed(dc) || dc == FE_DT_BOOL;

    switch (op) {
    case FE_NB_ADD:
        if (dc == FE_DT_BOOL)
            return LLVMBuildOr(B, a, b, "");
        return isf ? LLVMBuildFAdd(B, a, b, "") : weak ? LLVMBuildNSWAdd(B, a, b, "") : LLVMBuildAdd(B, a, b, "");
    case FE_NB_SUBTRACT:
        return isf ? LLVMBuildFSub(B, a, b, "") : weak ? LLVMBuildNSWSub(B, a, b, "") : LLVMBuildSub(B, a, b, "");
    case FE_NB_MULTIPLY:
        if (dc == FE_DT_BOOL)
            return LLVMBuildAnd(B, a, b, "");
        return isf ? LLVMBuildFMul(B, a, b, "") : weak ? LLVMBuildNSWMul(B, a, b, "") : LLVMBuildMul(B, a, b, "");
    case FE_NB_TRUE_DIVIDE:
        if (weak)
            fe_check(lw, LLVMBuildFCmp(B, LLVMRealOEQ, b, zero_of(b), ""), RT_ERR_ZERO_DIVISION,
                     n->loc, fe_const_i64(lw, 1), fe_const_i64(lw, 0));
        if (weak && fe_t_is_intlike(ta) && fe_t_is_intlike(tb))
            return int_true_divide(lw, fe_arg(f, n, 0), fe_arg(f, n, 1), fe_convert(lw, x.v, ta, int_t),
                                   fe_convert(lw, y.v, tb, int_t), a, b);
        return LLVMBuildFDiv(B, a, b, "");
    case FE_NB_FLOOR_DIVIDE:
    case FE_NB_REMAINDER: {
        LLVMValueRef q, r;
        if (isf) {
            if (weak)
                fe_check(lw, LLVMBuildFCmp(B, LLVMRealOEQ, b, zero_of(b), ""), RT_ERR_ZERO_DIVISION,
                         n->loc, fe_const_i64(lw, op == FE_NB_REMAINDER ? 3 : 4), fe_const_i64(lw, 0));
            float_divmod(lw, a, b, &q, &r);
            if (!weak && op == FE_NB_FLOOR_DIVIDE) /* NumPy: x // 0.0 is x / 0.0 */
                q = LLVMBuildSelect(B, LLVMBuildFCmp(B, LLVMRealOEQ, b, zero_of(b), ""),
                                    LLVMBuildFDiv(B, a, b, ""), q, "");
            return op == FE_NB_FLOOR_DIVIDE ? q : r;
        }
        LLVMValueRef bz = LLVMBuildICmp(B, LLVMIntEQ, b, zero_of(b), "");
        if (weak) {
            fe_check(lw, bz, RT_ERR_ZERO_DIVISION, n->loc,
                     fe_const_i64(lw, op == FE_NB_REMAINDER ? 2 : 0), fe_const_i64(lw, 0));
            if (fe_t_is_intlike(ta) && fe_node_nonneg(lw, fe_arg(f, n, 0)) &&
                fe_node_nonneg(lw, fe_arg(f, n, 1)))
                return op == FE_NB_FLOOR_DIVIDE ? LLVMBuildSDiv(B, a, b, "") : LLVMBuildSRem(B, a, b, "");
            int_divmod(lw, a, b, 1, &q, &r);
            return op == FE_NB_FLOOR_DIVIDE ? q : r;
        }
        /* NumPy: x // 0 and x % 0 are 0 (with a warning NumPy prints) */
        LLVMValueRef one = LLVMConstInt(LLVMTypeOf(b), 1, 0);
        LLVMValueRef bs = LLVMBuildSelect(B, bz, one, b, "");
        int_divmod(lw, a, bs, sgn, &q, &r);
        LLVMValueRef res = op == FE_NB_FLOOR_DIVIDE ? q : r;
        return LLVMBuildSelect(B, bz, zero_of(res), res, "");
    }
    case FE_NB_POWER: {
        if (!isf) {
            const fe_node *e = &f->nodes[fe_arg(f, n, 1)];
            if (e->op == IR_CONST && e->c.kind == FE_CONST_INT && e->c.i >= 0)
                return int_pow_const(lw, a, e->c.i, weak, n->loc);
            return fe_int_power(lw, a, b, sgn, weak, n->loc);
        }
        if (weak && fe_t_is_intlike(ta) && fe_t_is_intlike(tb))
            return int_power_any(lw, n, fe_convert(lw, x.v, ta, int_t), fe_convert(lw, y.v, tb, int_t));
        if (weak) {
            /* 0.0 ** negative raises; a negative base with a fractional
             * exponent gives a complex number in Python */
            LLVMValueRef az = LLVMBuildFCmp(B, LLVMRealOEQ, a, zero_of(a), "");
            LLVMValueRef bn = LLVMBuildFCmp(B, LLVMRealOLT, b, zero_of(b), "");
            fe_check(lw, LLVMBuildAnd(B, az, bn, ""), RT_ERR_ZERO_DIVISION, n->loc,
                     fe_const_i64(lw, 5), fe_const_i64(lw, 0));
            LLVMValueRef an = LLVMBuildFCmp(B, LLVMRealOLT, a, zero_of(a), "");
            LLVMValueRef bfl = fe_intrinsic(lw, "llvm.floor", lw->f64, &b, 1);
            LLVMValueRef frac = LLVMBuildFCmp(B, LLVMRealONE, bfl, b, "");
            fe_check(lw, LLVMBuildAnd(B, an, frac, ""), RT_ERR_VALUE, n->loc, fe_const_i64(lw, 1),
                     fe_const_i64(lw, 0));
        }
        LLVMValueRef args[2] = {a, b};
        return fe_intrinsic(lw, "llvm.pow", LLVMTypeOf(a), args, 2);
    }
    case FE_NB_AND: return LLVMBuildAnd(B, a, b, "");
    case FE_NB_OR: return LLVMBuildOr(B, a, b, "");
    case FE_NB_XOR: return LLVMBuildXor(B, a, b, "");
    case FE_NB_LSHIFT:
    case FE_NB_RSHIFT: {
        LLVMTypeRef t = LLVMTypeOf(a);
        unsigned bits = LLVMGetIntTypeWidth(t);
        if (weak)
            fe_check(lw, LLVMBuildICmp(B, LLVMIntSLT, b, zero_of(b), ""), RT_ERR_VALUE, n->loc,
                     fe_const_i64(lw, 2), fe_const_i64(lw, 0));
        /* shifting by the width or more: Python and NumPy give 0 (or -1) */
        LLVMValueRef big = LLVMBuildICmp(B, LLVMIntUGE, b, LLVMConstInt(t, bits, 0), "");
        LLVMValueRef bs = LLVMBuildSelect(B, big, LLVMConstInt(t, bits - 1, 0), b, "");
        if (op == FE_NB_LSHIFT)
            return LLVMBuildSelect(B, big, zero_of(a), LLVMBuildShl(B, a, bs, ""), "");
        return sgn ? LLVMBuildAShr(B, a, bs, "")
                   : LLVMBuildSelect(B, big, zero_of(a), LLVMBuildLShr(B, a, bs, ""), "");
    }
    default:
        break;
    }
    fe_error_set(lw->err, FE_ERR_INTERNAL, n->loc, "binary operator %d not lowered", op);
    return NULL;
}


static LLVMValueRef lower_binop(lower *lw, fe_node *n)
{
    LLVMValueRef r = fe_kind_dispatch(lw, n); /* operands of several kinds: each pair as its own types */
    if (r || lw->err->status)
        return r;
    fe_opnd x = {fe_arg_type(lw, n, 0), fe_arg_val(lw, n, 0)}, y = {fe_arg_type(lw, n, 1), fe_arg_val(lw, n, 1)};
    return fe_binop_typed(lw, n, x, y, n->type);
}

LLVMValueRef fe_unop_typed(lower *lw, fe_node *n, fe_opnd x, const fe_type *tr)
{
    LLVMBuilderRef B = lw->B;
    const fe_type *ta = x.t;
    if (n->sub == FE_UN_NOT)
        return LLVMBuildNot(B, fe_truth(lw, x.v, ta), "");
    LLVMValueRef a = fe_convert(lw, x.v, ta, tr);
    switch (n->sub) {
    case FE_UN_POS: return a;
    case FE_UN_NEG:
        if (fe_t_is_floatlike(tr))
            return LLVMBuildFNeg(B, a, "");
        return ta->kind == FE_T_NP ? LLVMBuildNeg(B, a, "") : LLVMBuildNSWNeg(B, a, "");
    default: /* ~: on NumPy bools a logical not */
        return LLVMBuildNot(B, a, "");
    }
}

static LLVMValueRef lower_unop(lower *lw, fe_node *n)
{
    LLVMValueRef r = fe_kind_dispatch(lw, n);
    if (r || lw->err->status)
        return r;
    fe_opnd x = {fe_arg_type(lw, n, 0), fe_arg_val(lw, n, 0)};
    return fe_unop_typed(lw, n, x, n->type);
}

/* Python compares an int with a float exactly.  Rounding the int to the
 * nearest double keeps order, so the double comparison decides unless the
 * rounded int equals the float; then the float is a whole number and the
 * two compare as integers (2**63 itself being above every int64). */
static LLVMValueRef int_float_compare(lower *lw, int cmp, int int_first, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef B = lw->B;
    static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOEQ, LLVMRealUNE, LLVMRealOGT, LLVMRealOGE};
    static const LLVMIntPredicate ip[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntEQ, LLVMIntNE, LLVMIntSGT, LLVMIntSGE};
    LLVMValueRef i = int_first ? x : y, f = int_first ? y : x;
    LLVMValueRef g = LLVMBuildSIToFP(B, i, lw->f64, "");
    LLVMValueRef lhs = int_first ? g : f, rhs = int_first ? f : g;
    LLVMValueRef by_double = LLVMBuildFCmp(B, fp[cmp], lhs, rhs, "");
    LLVMValueRef tie = LLVMBuildFCmp(B, LLVMRealOEQ, g, f, "");
    LLVMValueRef top = LLVMBuildFCmp(B, LLVMRealOGE, f, LLVMConstReal(lw->f64, 9223372036854775808.0), "");
    LLVMValueRef fi = LLVMBuildFPToSI(B, LLVMBuildSelect(B, top, LLVMConstReal(lw->f64, 0.0), f, ""), lw->i64, "");
    LLVMValueRef by_int = LLVMBuildICmp(B, ip[cmp], int_first ? i : fi, int_first ? fi : i, "");
    /* f == 2**63: the int is below it */
    int int_below = cmp == 0 || cmp == 1 || cmp == 3; /* <, <=, != with the int first */
    if (!int_first)
        int_below = cmp == 4 || cmp == 5 || cmp == 3; /* the float first: >, >=, != */
    by_int = LLVMBuildSelect(B, top, LLVMConstInt(lw->i1, (unsigned long long)int_below, 0), by_int, "");
    return LLVMBuildSelect(B, tie, by_int, by_double, "");
}

static LLVMValueRef lower_cmp(lower *lw, fe_node *n)
{
    LLVMBuilderRef B = lw->B;
    const fe_type *ta = fe_arg_type(lw, n, 0), *tb = fe_arg_type(lw, n, 1);
    if (n->sub == FE_CMP_IS || n->sub == FE_CMP_ISNOT) {
        /* only `x is None` reaches here: true exactly when both are None */
        int same = (ta->kind == FE_T_NONE) == (tb->kind == FE_T_NONE) && ta->kind == FE_T_NONE;
        return LLVMConstInt(lw->i1, (unsigned long long)(n->sub == FE_CMP_IS ? same : !same), 0);
    }
    if ((ta->kind == FE_T_INT && tb->kind == FE_T_NP && fe_dtype_is_int(tb->dtype)) ||
        (tb->kind == FE_T_INT && ta->kind == FE_T_NP && fe_dtype_is_int(ta->dtype))) {
        /* NumPy 2 compares a Python int with a NumPy integer by value, even
         * one the NumPy type cannot hold: both widen to 128 bits */
        LLVMTypeRef i128 = LLVMInt128TypeInContext(lw->C);
        LLVMValueRef w[2];
        for (int i = 0; i < 2; i++) {
            const fe_type *t = i ? tb : ta;
            LLVMValueRef v = fe_arg_val(lw, n, i);
            w[i] = t->kind == FE_T_NP && !fe_dtype_is_signed(t->dtype) ? LLVMBuildZExt(B, v, i128, "")
                                                                      : LLVMBuildSExt(B, v, i128, "");
        }
        static const LLVMIntPredicate wp[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntEQ, LLVMIntNE, LLVMIntSGT, LLVMIntSGE};
        return LLVMBuildICmp(B, wp[n->sub], w[0], w[1], "");
    }
    if ((ta->kind == FE_T_INT && tb->kind == FE_T_FLOAT) || (ta->kind == FE_T_FLOAT && tb->kind == FE_T_INT))
        return int_float_compare(lw, n->sub, ta->kind == FE_T_INT, fe_arg_val(lw, n, 0), fe_arg_val(lw, n, 1));
    const fe_type *tc = fe_t_promote(lw->f->types, ta, tb);
    if (tc->kind == FE_T_BOOL || (tc->kind == FE_T_NP && tc->dtype == FE_DT_BOOL))
        tc = fe_t_simple(lw->f->types, FE_T_INT);
    LLVMValueRef a = fe_convert(lw, fe_arg_val(lw, n, 0), ta, tc);
    LLVMValueRef b = fe_convert(lw, fe_arg_val(lw, n, 1), tb, tc);
    fe_dtype d = fe_t_dtype(tc);
    if (fe_dtype_is_float(d)) {
        static const LLVMRealPredicate fp[] = {LLVMRealOLT, LLVMRealOLE, LLVMRealOEQ,
                                               LLVMRealUNE, LLVMRealOGT, LLVMRealOGE};
        return LLVMBuildFCmp(B, fp[n->sub], a, b, "");
    }
    static const LLVMIntPredicate sp[] = {LLVMIntSLT, LLVMIntSLE, LLVMIntEQ, LLVMIntNE, LLVMIntSGT, LLVMIntSGE};
    static const LLVMIntPredicate up[] = {LLVMIntULT, LLVMIntULE, LLVMIntEQ, LLVMIntNE, LLVMIntUGT, LLVMIntUGE};
    return LLVMBuildICmp(B, fe_dtype_is_signed(d) ? sp[n->sub] : up[n->sub], a, b, "");
}

/* -------------------------------------------------------------- arrays */

LLVMValueRef fe_extract(lower *lw, LLVMValueRef agg, unsigned i)
{
    return LLVMBuildExtractValue(lw->B, agg, i, "");
}

LLVMValueRef fe_extract2(lower *lw, LLVMValueRef agg, unsigned i, unsigned j)
{
    return fe_extract(lw, fe_extract(lw, agg, i), j);
}

/* An index value as int64, wrapped like Python's negative indices unless
 * known non-negative, and checked against the axis when boundscheck is on. */
static LLVMValueRef index_i64(lower *lw, fe_val iv, LLVMValueRef dim, int axis, fe_loc loc)
{
    LLVMBuilderRef B = lw->B;
    const fe_type *t = lw->f->nodes[iv].type;
    LLVMValueRef i = fe_convert(lw, fe_node_val(lw, iv), t, fe_t_simple(lw->f->types, FE_T_INT));
    if (t->kind == FE_T_NP && !fe_dtype_is_signed(t->dtype) && fe_dtype_bits(t->dtype) < 64)
        i = LLVMBuildZExt(B, fe_node_val(lw, iv), lw->i64, "");
    LLVMValueRef orig = i;
    if (!fe_node_nonneg(lw, iv)) {
        LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, i, fe_const_i64(lw, 0), "");
        i = LLVMBuildSelect(B, neg, LLVMBuildAdd(B, i, dim, ""), i, "");
    }
    if (lw->r->boundscheck) {
        LLVMValueRef out = LLVMBuildICmp(B, LLVMIntUGE, i, dim, "");
        (void)axis;
        fe_check(lw, out, RT_ERR_INDEX, loc, orig, dim);
    }
    return i;
}

/* Number of index values in idx (a scalar or a tuple node). */
static int index_parts(lower *lw, fe_val idx, fe_val *parts)
{
    const fe_node *n = &lw->f->nodes[idx];
    if (n->type->kind != FE_T_TUPLE) {
        parts[0] = idx;
        return 1;
    }
    if (n->op == IR_TUPLE) {
        for (int i = 0; i < n->nargs; i++)
            parts[i] = fe_arg(lw->f, n, i);
        return n->nargs;
    }
    return -1; /* a tuple held in a variable: handled by the caller */
}

/* Address of a[idx...] (k indices into an n-dimensional array value). */
LLVMValueRef fe_element_ptr(lower *lw, const fe_type *at, LLVMValueRef a, fe_val idxnode,
                                int *nidx, fe_loc loc)
{
    LLVMBuilderRef B = lw->B;
    fe_val parts[FE_MAX_NDIM];
    LLVMValueRef iv[FE_MAX_NDIM];
    int k = index_parts(lw, idxnode, parts);
    if (lw->fn->par_loop < 0 && !lw->in_body) /* the entry's own code: where a GPU's loops are not */
        lw->host_elements = 1;
    const fe_node *in = &lw->f->nodes[idxnode];
    int from_tuple_value = k < 0;
    if (from_tuple_value)
        k = in->type->nitems;
    int nd = at->kind == FE_T_LIST ? 1 : at->ndim;
    for (int d = 0; d < k; d++) {
        LLVMValueRef dim = fe_extract2(lw, a, 1, (unsigned)d);
        if (from_tuple_value) {
            /* a tuple variable: its items are ints of the tuple's types */
            LLVMValueRef tv = fe_node_val(lw, idxnode);
            LLVMValueRef item = LLVMBuildExtractValue(B, tv, (unsigned)d, "");
            item = fe_convert(lw, item, in->type->items[d], fe_t_simple(lw->f->types, FE_T_INT));
            LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, item, fe_const_i64(lw, 0), "");
            iv[d] = LLVMBuildSelect(B, neg, LLVMBuildAdd(B, item, dim, ""), item, "");
            if (lw->r->boundscheck)
                fe_check(lw, LLVMBuildICmp(B, LLVMIntUGE, iv[d], dim, ""), RT_ERR_INDEX, loc, item, dim);
        } else {
            iv[d] = index_i64(lw, parts[d], dim, d, loc);
        }
    }
    *nidx = k;
    fe_dtype dt = at->kind == FE_T_LIST ? fe_t_dtype(at->elem) : at->dtype;
    LLVMTypeRef ety = fe_mem_lty(lw, dt);
    LLVMValueRef lin;
    if (k == nd && at->kind == FE_T_ARRAY && at->layout == FE_LAYOUT_C) {
        lin = iv[0];
        for (int d = 1; d < nd; d++)
            lin = LLVMBuildNSWAdd(B, LLVMBuildNSWMul(B, lin, fe_extract2(lw, a, 1, (unsigned)d), ""), iv[d], "");
    } else if (k == nd && at->kind == FE_T_ARRAY && at->layout == FE_LAYOUT_F) {
        lin = iv[nd - 1];
        for (int d = nd - 2; d >= 0; d--)
            lin = LLVMBuildNSWAdd(B, LLVMBuildNSWMul(B, lin, fe_extract2(lw, a, 1, (unsigned)d), ""), iv[d], "");
    } else if (at->kind == FE_T_LIST) {
        lin = iv[0];
    } else {
        lin = LLVMBuildNSWMul(B, iv[0], fe_extract2(lw, a, 2, 0), "");
        for (int d = 1; d < k; d++)
            lin = LLVMBuildNSWAdd(B, lin, LLVMBuildNSWMul(B, iv[d], fe_extract2(lw, a, 2, (unsigned)d), ""), "");
    }
    return LLVMBuildInBoundsGEP2(B, ety, fe_extract(lw, a, 0), &lin, 1, "");
}

/* An element's load or store; `array`: the node of the array it is in
 * (FE_NOVAL: not known), for alias.c. */
static LLVMValueRef load_elem(lower *lw, fe_dtype dt, LLVMValueRef p, fe_val array)
{
    LLVMTypeRef ety = fe_mem_lty(lw, dt);
    LLVMValueRef v = LLVMBuildLoad2(lw->B, ety, p, "");
    LLVMSetAlignment(v, (unsigned)(fe_dtype_bits(dt) / 8));
    if (array != FE_NOVAL)
        fe_alias_tag(lw, array, v);
    if (dt == FE_DT_BOOL)
        v = LLVMBuildICmp(lw->B, LLVMIntNE, v, LLVMConstNull(ety), "");
    return v;
}

void fe_store_elem(lower *lw, fe_dtype dt, LLVMValueRef p, LLVMValueRef v, fe_val array)
{
    if (dt == FE_DT_BOOL)
        v = LLVMBuildZExt(lw->B, v, lw->i8, "");
    LLVMValueRef s = LLVMBuildStore(lw->B, v, p);
    LLVMSetAlignment(s, (unsigned)(fe_dtype_bits(dt) / 8));
    if (array != FE_NOVAL)
        fe_alias_tag(lw, array, s);
}

/* The view a[i0, ..., ik-1] of an array with more than k axes. */
static LLVMValueRef subarray(lower *lw, const fe_type *at, LLVMValueRef a, LLVMValueRef p, int k,
                             const fe_type *rt)
{
    LLVMValueRef v = LLVMGetUndef(fe_lty(lw, rt));
    v = LLVMBuildInsertValue(lw->B, v, p, 0, "");
    LLVMValueRef sh = LLVMGetUndef(LLVMArrayType2(lw->i64, rt->ndim));
    LLVMValueRef st = sh;
    for (int d = k; d < at->ndim; d++) {
        sh = LLVMBuildInsertValue(lw->B, sh, fe_extract2(lw, a, 1, (unsigned)d), (unsigned)(d - k), "");
        st = LLVMBuildInsertValue(lw->B, st, fe_extract2(lw, a, 2, (unsigned)d), (unsigned)(d - k), "");
    }
    v = LLVMBuildInsertValue(lw->B, v, sh, 1, "");
    return LLVMBuildInsertValue(lw->B, v, st, 2, "");
}

static LLVMValueRef lower_subscr(lower *lw, fe_node *n)
{
    const fe_type *ct = fe_arg_type(lw, n, 0);
    LLVMValueRef c = fe_arg_val(lw, n, 0);
    if (ct->kind == FE_T_TUPLE) {
        const fe_node *ix = &lw->f->nodes[fe_arg(lw->f, n, 1)];
        int64_t i = ix->c.i < 0 ? ix->c.i + ct->nitems : ix->c.i;
        return LLVMBuildExtractValue(lw->B, c, (unsigned)i, "");
    }
    int k;
    if (ct->kind == FE_T_ARRAY && ct->layout != FE_LAYOUT_A) {
        /* a partial index of a C or F array: through strides, like A */
        fe_val parts[FE_MAX_NDIM];
        int np = index_parts(lw, fe_arg(lw->f, n, 1), parts);
        if (np >= 0 && np < ct->ndim) {
            const fe_type *at = fe_t_array(lw->f->types, ct->dtype, ct->ndim, FE_LAYOUT_A);
            LLVMValueRef p = fe_element_ptr(lw, at, c, fe_arg(lw->f, n, 1), &k, n->loc);
            return subarray(lw, ct, c, p, k, n->type);
        }
    }
    LLVMValueRef p = fe_element_ptr(lw, ct, c, fe_arg(lw->f, n, 1), &k, n->loc);
    if (ct->kind == FE_T_LIST)
        return load_elem(lw, fe_t_dtype(ct->elem), p, FE_NOVAL);
    if (k == ct->ndim)
        return load_elem(lw, ct->dtype, p, fe_arg(lw->f, n, 0));
    return subarray(lw, ct, c, p, k, n->type);
}

LLVMValueRef fe_lower_store_subscr(lower *lw, fe_node *n)
{
    const fe_type *ct = fe_arg_type(lw, n, 0);
    int k;
    LLVMValueRef p = fe_element_ptr(lw, ct, fe_arg_val(lw, n, 0), fe_arg(lw->f, n, 1), &k, n->loc);
    if (ct->kind == FE_T_LIST) { /* the element's own type: checked by inference */
        fe_store_elem(lw, fe_t_dtype(ct->elem), p, fe_arg_val(lw, n, 2), FE_NOVAL);
        return LLVMGetUndef(lw->i8);
    }
    fe_opnd x = {fe_arg_type(lw, n, 2), fe_arg_val(lw, n, 2)};
    LLVMValueRef v = opnd_as_checked(lw, n, x, fe_t_np(lw->f->types, ct->dtype));
    fe_store_elem(lw, ct->dtype, p, v, fe_arg(lw->f, n, 0));
    return LLVMGetUndef(lw->i8);
}

/* ------------------------------------------------------------ iterators */

/* Trip count of a range: ceil((stop - start) / step) when positive. */
LLVMValueRef fe_range_count(lower *lw, LLVMValueRef start, LLVMValueRef stop, LLVMValueRef step)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef zero = fe_const_i64(lw, 0), one = fe_const_i64(lw, 1);
    LLVMValueRef up = LLVMBuildICmp(B, LLVMIntSGT, step, zero, "");
    LLVMValueRef lo = LLVMBuildSelect(B, up, start, stop, "");
    LLVMValueRef hi = LLVMBuildSelect(B, up, stop, start, "");
    LLVMValueRef mag = LLVMBuildSelect(B, up, step, LLVMBuildNeg(B, step, ""), "");
    LLVMValueRef any = LLVMBuildICmp(B, LLVMIntSLT, lo, hi, "");
    /* unsigned arithmetic: hi - lo cannot overflow when lo < hi */
    LLVMValueRef span = LLVMBuildSub(B, LLVMBuildSub(B, hi, lo, ""), one, "");
    LLVMValueRef cnt = LLVMBuildAdd(B, LLVMBuildUDiv(B, span, mag, ""), one, "");
    return LLVMBuildSelect(B, any, cnt, zero, "");
}

LLVMValueRef fe_iter_count(lower *lw, LLVMValueRef it, const fe_type *t)
{
    if (t->kind == FE_T_RANGEITER)
        return fe_extract(lw, it, 2);
    LLVMValueRef seq = fe_extract(lw, it, 0);
    return fe_extract2(lw, seq, 1, 0);
}

LLVMValueRef fe_iter_more(lower *lw, LLVMValueRef it, const fe_type *t)
{
    LLVMValueRef k = fe_extract(lw, it, t->kind == FE_T_RANGEITER ? 3 : 1);
    return LLVMBuildICmp(lw->B, LLVMIntSLT, k, fe_iter_count(lw, it, t), "");
}

/* Element k of the sequence an iterator walks. */
LLVMValueRef fe_iter_elem(lower *lw, LLVMValueRef it, const fe_type *t, LLVMValueRef k,
                          const fe_type *elem)
{
    LLVMBuilderRef B = lw->B;
    if (t->kind == FE_T_RANGEITER)
        return LLVMBuildAdd(B, fe_extract(lw, it, 0), LLVMBuildMul(B, k, fe_extract(lw, it, 1), ""), "");
    const fe_type *seq = t->seq;
    LLVMValueRef s = fe_extract(lw, it, 0);
    const fe_type *item = t->kind == FE_T_ENUMITER ? elem->items[1] : elem;
    LLVMValueRef v;
    fe_dtype dt = seq->kind == FE_T_LIST ? fe_t_dtype(seq->elem) : seq->dtype;
    LLVMTypeRef ety = fe_mem_lty(lw, dt);
    if (seq->kind == FE_T_LIST || seq->ndim == 1) {
        LLVMValueRef off = seq->kind == FE_T_ARRAY && seq->layout == FE_LAYOUT_A
                               ? LLVMBuildNSWMul(B, k, fe_extract2(lw, s, 2, 0), "")
                               : k;
        v = load_elem(lw, dt, LLVMBuildInBoundsGEP2(B, ety, fe_extract(lw, s, 0), &off, 1, ""), FE_NOVAL);
    } else {
        LLVMValueRef off = LLVMBuildNSWMul(B, k, fe_extract2(lw, s, 2, 0), "");
        LLVMValueRef p = LLVMBuildInBoundsGEP2(B, ety, fe_extract(lw, s, 0), &off, 1, "");
        v = subarray(lw, seq, s, p, 1, item);
    }
    if (t->kind != FE_T_ENUMITER)
        return v;
    LLVMValueRef tup = LLVMGetUndef(fe_lty(lw, elem));
    tup = LLVMBuildInsertValue(B, tup, LLVMBuildAdd(B, k, fe_extract(lw, it, 2), ""), 0, "");
    return LLVMBuildInsertValue(B, tup, v, 1, "");
}

static LLVMValueRef lower_getiter(lower *lw, fe_node *n)
{
    LLVMBuilderRef B = lw->B;
    const fe_type *st = fe_arg_type(lw, n, 0);
    LLVMValueRef s = fe_arg_val(lw, n, 0);
    LLVMValueRef it = LLVMGetUndef(fe_lty(lw, n->type));
    if (st->kind == FE_T_RANGE) {
        LLVMValueRef start = fe_extract(lw, s, 0), stop = fe_extract(lw, s, 1), step = fe_extract(lw, s, 2);
        it = LLVMBuildInsertValue(B, it, start, 0, "");
        it = LLVMBuildInsertValue(B, it, step, 1, "");
        it = LLVMBuildInsertValue(B, it, fe_range_count(lw, start, stop, step), 2, "");
        return LLVMBuildInsertValue(B, it, fe_const_i64(lw, 0), 3, "");
    }
    if (st->kind == FE_T_ENUMITER)
        return s;
    it = LLVMBuildInsertValue(B, it, s, 0, "");
    it = LLVMBuildInsertValue(B, it, fe_const_i64(lw, 0), 1, "");
    return LLVMBuildInsertValue(B, it, fe_const_i64(lw, 0), 2, "");
}

/* ITERNEXT outside an outlined loop: element k, then k += 1 in the variable. */
static LLVMValueRef lower_iternext(lower *lw, fe_node *n)
{
    const fe_type *t = lw->f->vars[n->var].type;
    LLVMValueRef slot = fe_var_slot(lw, n->var);
    LLVMTypeRef ty = fe_lty(lw, t);
    unsigned kf = t->kind == FE_T_RANGEITER ? 3 : 1;
    lfn *fn = lw->fn;
    if (fn->par_loop >= 0) {
        const fe_loop *lp = &lw->loops.loop[fn->par_loop];
        int own = lw->f->nodes[lw->f->blocks[lp->header].nodes[lw->f->blocks[lp->header].nnodes - 1]].var;
        if (own == n->var) {
            /* the parallel loop's own element: from the chunk's index */
            LLVMValueRef it = LLVMBuildLoad2(lw->B, ty, slot, "");
            LLVMValueRef k = LLVMBuildLoad2(lw->B, lw->i64, fn->k, "k");
            return fe_iter_elem(lw, it, t, k, n->type);
        }
    }
    LLVMValueRef it = LLVMBuildLoad2(lw->B, ty, slot, "");
    LLVMValueRef k = fe_extract(lw, it, kf);
    LLVMValueRef v = fe_iter_elem(lw, it, t, k, n->type);
    it = LLVMBuildInsertValue(lw->B, it, LLVMBuildNSWAdd(lw->B, k, fe_const_i64(lw, 1), ""), kf, "");
    LLVMBuildStore(lw->B, it, slot);
    return v;
}

/* ------------------------------------------------------------ constants */

LLVMValueRef fe_const_val(lower *lw, const fe_const *c, const fe_type *t)
{
    switch (c->kind) {
    case FE_CONST_BOOL: return LLVMConstInt(lw->i1, (unsigned long long)(c->i != 0), 0);
    case FE_CONST_INT: return fe_const_i64(lw, c->i);
    case FE_CONST_FLOAT: return cf64(lw, c->f);
    case FE_CONST_TUPLE: {
        LLVMValueRef items[FE_MAX_TUPLE];
        for (int i = 0; i < c->nitems && i < FE_MAX_TUPLE; i++)
            items[i] = fe_const_val(lw, &c->items[i], t->items[i]);
        return LLVMConstStructInContext(lw->C, items, (unsigned)c->nitems, 0);
    }
    default: return LLVMGetUndef(lw->i8);
    }
}

LLVMValueRef fe_on_gpu(lower *lw)
{
    LLVMTypeRef fty = LLVMFunctionType(lw->i1, NULL, 0, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, "pyacc.on_gpu");
    if (!fn) {
        fn = LLVMAddFunction(lw->M, "pyacc.on_gpu", fty);
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(lw->C, LLVMGetEnumAttributeKindForName("alwaysinline", 12), 0));
        LLVMBuilderRef b = LLVMCreateBuilderInContext(lw->C);
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(lw->C, fn, "entry"));
        LLVMBuildRet(b, LLVMConstInt(lw->i1, 0, 0));
        LLVMDisposeBuilder(b);
    }
    return LLVMBuildCall2(lw->B, fty, fn, NULL, 0, "on.gpu");
}

/* ---------------------------------------------------------------- kinds */

LLVMValueRef fe_lower_node(lower *lw, fe_node *n)
{
    fe_func *f = lw->f;
    if (lw->atomic_role && lw->atomic_role[n - f->nodes])
        return fe_lower_atomic(lw, n);
    switch ((fe_irop)n->op) {
    case IR_CONST: return fe_const_val(lw, &n->c, n->type);
    case IR_NULL: return LLVMGetUndef(lw->i8);
    case IR_LOADVAR: {
        if (n->aux == FE_LOAD_CHECKED) {
            int flag = f->vars[n->var].flag;
            LLVMValueRef bound = LLVMBuildLoad2(lw->B, lw->i1, fe_var_slot(lw, flag), "");
            fe_check(lw, LLVMBuildNot(lw->B, bound, ""), RT_ERR_UNBOUND, n->loc, fe_const_i64(lw, n->var),
                     fe_const_i64(lw, 0));
        }
        return fe_var_load(lw, n->var);
    }
    case IR_STOREVAR: {
        const fe_type *t = f->vars[n->var].type;
        LLVMValueRef v = fe_convert(lw, fe_arg_val(lw, n, 0), fe_arg_type(lw, n, 0), t);
        if (lw->fn->ncol)
            v = fe_collapse_iterator(lw, n->var, v);
        fe_var_store(lw, n->var, v);
        if (f->vars[n->var].tag >= 0) /* which kind it holds now */
            LLVMBuildStore(lw->B, fe_kind_value(lw, fe_arg(f, n, 0)), fe_var_slot(lw, f->vars[n->var].tag));
        return LLVMGetUndef(lw->i8);
    }
    case IR_GLOBAL: {
        const fe_global *g = &f->code->globals[n->var];
        if (g->kind == FE_GLOBAL_CONST)
            return fe_const_val(lw, &g->value, n->type);
        return LLVMGetUndef(lw->i8);
    }
    case IR_ATTR: {
        const fe_type *o = fe_arg_type(lw, n, 0);
        const char *name = f->code->names[n->var];
        if (o->kind == FE_T_ARRAY) {
            LLVMValueRef a = fe_arg_val(lw, n, 0);
            if (strcmp(name, "ndim") == 0)
                return fe_const_i64(lw, o->ndim);
            if (strcmp(name, "size") == 0) {
                LLVMValueRef s = fe_extract2(lw, a, 1, 0);
                for (int d = 1; d < o->ndim; d++)
                    s = LLVMBuildNSWMul(lw->B, s, fe_extract2(lw, a, 1, (unsigned)d), "");
                return s;
            }
            LLVMValueRef t = LLVMGetUndef(fe_lty(lw, n->type)); /* shape */
            for (int d = 0; d < o->ndim; d++)
                t = LLVMBuildInsertValue(lw->B, t, fe_extract2(lw, a, 1, (unsigned)d), (unsigned)d, "");
            return t;
        }
        double cv;
        if (o->kind == FE_T_MODULE && n->type->kind == FE_T_FLOAT && fe_module_constant(name, &cv))
            return cf64(lw, cv);
        int64_t iv;
        if (o->kind == FE_T_MODULE && o->id == FE_MOD_PYACC && fe_pyacc_constant(name, &iv))
            return fe_const_i64(lw, iv);
        return LLVMGetUndef(lw->i8);
    }
    case IR_BINOP: return lower_binop(lw, n);
    case IR_UNOP: return lower_unop(lw, n);
    case IR_CMP: return lower_cmp(lw, n);
    case IR_TRUTH: return fe_truth(lw, fe_arg_val(lw, n, 0), fe_arg_type(lw, n, 0));
    case IR_SUBSCR: return lower_subscr(lw, n);
    case IR_STORE_SUBSCR:
        if (lw->ared_read && lw->ared_read[n - f->nodes] != FE_NOVAL)
            return fe_lower_ared_update(lw, n);
        return fe_lower_store_subscr(lw, n);
    case IR_TUPLE: {
        LLVMValueRef t = LLVMGetUndef(fe_lty(lw, n->type));
        for (int i = 0; i < n->nargs; i++)
            t = LLVMBuildInsertValue(lw->B, t, fe_arg_val(lw, n, i), (unsigned)i, "");
        return t;
    }
    case IR_ITEM: return LLVMBuildExtractValue(lw->B, fe_arg_val(lw, n, 0), (unsigned)n->sub, "");
    case IR_CALL: return fe_lower_call(lw, n);
    case IR_GETITER: return lower_getiter(lw, n);
    case IR_ITERNEXT: return lower_iternext(lw, n);
    default: break;
    }
    fe_error_set(lw->err, FE_ERR_INTERNAL, n->loc, "node %d not lowered here", n->op);
    return NULL;
}
