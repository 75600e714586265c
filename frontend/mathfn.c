/* mathfn.c - math and numpy functions inside regions.
 *
 * Each function computes with the same C library routine the interpreter
 * uses (an LLVM intrinsic lowers to that very call), so results are the
 * same bits.  The math module's errors follow CPython's rule for its
 * wrappers: a NaN from arguments that are not NaN is a domain error
 * (ValueError), an infinity from finite arguments an OverflowError for
 * functions that can overflow and a domain error for the others; gamma and
 * lgamma raise ValueError at their poles, and pow has rules of its own.
 * NumPy's ufuncs raise nothing: they give the IEEE result.
 */
#include "mathfn.h"

#include "rt.h"

#include <stdio.h>
#include <string.h>

enum {
    E_NONE,     /* never raises */
    E_DOMAIN,   /* CPython math_1, can_overflow = 0 */
    E_OVERFLOW, /* CPython math_1, can_overflow = 1 */
    E_TWO,      /* CPython math_2 */
    E_POW,      /* math.pow */
    E_GAMMA     /* poles are domain errors, the rest overflow */
};
enum { R_FLOAT, R_INTEGRAL, R_BOOL, R_PROMOTED };

typedef struct mathfn {
    const char *math_name;  /* NULL: not in math */
    const char *np_name;    /* NULL: not in numpy */
    const char *np_alias;   /* NumPy 2's array-API spelling */
    fe_builtin id;
    uint8_t nargs;
    uint8_t err;
    uint8_t result;
    const char *intrinsic;  /* LLVM intrinsic, or NULL */
    const char *libm;       /* C function (float variant: + "f") */
} mathfn;

static const mathfn fns[] = {
    {"sqrt", "sqrt", NULL, FE_BI_SQRT, 1, E_DOMAIN, R_FLOAT, "llvm.sqrt", "sqrt"},
    {"exp", "exp", NULL, FE_BI_EXP, 1, E_OVERFLOW, R_FLOAT, "llvm.exp", "exp"},
    {"expm1", "expm1", NULL, FE_BI_EXPM1, 1, E_OVERFLOW, R_FLOAT, NULL, "expm1"},
    {"log", "log", NULL, FE_BI_LOG, 1, E_DOMAIN, R_FLOAT, "llvm.log", "log"},
    {"log1p", "log1p", NULL, FE_BI_LOG1P, 1, E_DOMAIN, R_FLOAT, NULL, "log1p"},
    {"log2", "log2", NULL, FE_BI_LOG2, 1, E_DOMAIN, R_FLOAT, "llvm.log2", "log2"},
    {"log10", "log10", NULL, FE_BI_LOG10, 1, E_DOMAIN, R_FLOAT, "llvm.log10", "log10"},
    {"sin", "sin", NULL, FE_BI_SIN, 1, E_DOMAIN, R_FLOAT, "llvm.sin", "sin"},
    {"cos", "cos", NULL, FE_BI_COS, 1, E_DOMAIN, R_FLOAT, "llvm.cos", "cos"},
    {"tan", "tan", NULL, FE_BI_TAN, 1, E_DOMAIN, R_FLOAT, NULL, "tan"},
    {"asin", "arcsin", "asin", FE_BI_ASIN, 1, E_DOMAIN, R_FLOAT, NULL, "asin"},
    {"acos", "arccos", "acos", FE_BI_ACOS, 1, E_DOMAIN, R_FLOAT, NULL, "acos"},
    {"atan", "arctan", "atan", FE_BI_ATAN, 1, E_DOMAIN, R_FLOAT, NULL, "atan"},
    {"atan2", "arctan2", "atan2", FE_BI_ATAN2, 2, E_TWO, R_FLOAT, NULL, "atan2"},
    {"sinh", "sinh", NULL, FE_BI_SINH, 1, E_OVERFLOW, R_FLOAT, NULL, "sinh"},
    {"cosh", "cosh", NULL, FE_BI_COSH, 1, E_OVERFLOW, R_FLOAT, NULL, "cosh"},
    {"tanh", "tanh", NULL, FE_BI_TANH, 1, E_DOMAIN, R_FLOAT, NULL, "tanh"},
    {"hypot", "hypot", NULL, FE_BI_HYPOT, 2, E_TWO, R_FLOAT, NULL, "hypot"},
    {"pow", "power", "pow", FE_BI_POW, 2, E_POW, R_FLOAT, "llvm.pow", "pow"},
    {"fabs", "fabs", NULL, FE_BI_FABS, 1, E_NONE, R_FLOAT, "llvm.fabs", "fabs"},
    {"floor", "floor", NULL, FE_BI_FLOOR, 1, E_NONE, R_INTEGRAL, "llvm.floor", "floor"},
    {"ceil", "ceil", NULL, FE_BI_CEIL, 1, E_NONE, R_INTEGRAL, "llvm.ceil", "ceil"},
    {"trunc", "trunc", NULL, FE_BI_TRUNC, 1, E_NONE, R_INTEGRAL, "llvm.trunc", "trunc"},
    {"copysign", "copysign", NULL, FE_BI_COPYSIGN, 2, E_NONE, R_FLOAT, "llvm.copysign", "copysign"},
    {"fmod", "fmod", NULL, FE_BI_FMOD, 2, E_TWO, R_FLOAT, NULL, "fmod"},
    {"erf", NULL, NULL, FE_BI_ERF, 1, E_NONE, R_FLOAT, NULL, "erf"},
    {"erfc", NULL, NULL, FE_BI_ERFC, 1, E_NONE, R_FLOAT, NULL, "erfc"},
    {"gamma", NULL, NULL, FE_BI_GAMMA, 1, E_GAMMA, R_FLOAT, NULL, "tgamma"},
    {"lgamma", NULL, NULL, FE_BI_LGAMMA, 1, E_GAMMA, R_FLOAT, NULL, "lgamma"},
    {"isnan", "isnan", NULL, FE_BI_ISNAN, 1, E_NONE, R_BOOL, NULL, NULL},
    {"isinf", "isinf", NULL, FE_BI_ISINF, 1, E_NONE, R_BOOL, NULL, NULL},
    {"isfinite", "isfinite", NULL, FE_BI_ISFINITE, 1, E_NONE, R_BOOL, NULL, NULL},
    {NULL, "absolute", "abs", FE_BI_NP_ABS, 1, E_NONE, R_INTEGRAL, NULL, NULL},
    {NULL, "minimum", NULL, FE_BI_NP_MINIMUM, 2, E_NONE, R_PROMOTED, NULL, NULL},
    {NULL, "maximum", NULL, FE_BI_NP_MAXIMUM, 2, E_NONE, R_PROMOTED, NULL, NULL},
    {NULL, "fmin", NULL, FE_BI_NP_FMIN, 2, E_NONE, R_PROMOTED, NULL, NULL},
    {NULL, "fmax", NULL, FE_BI_NP_FMAX, 2, E_NONE, R_PROMOTED, NULL, NULL},
};

#define NFNS (sizeof fns / sizeof fns[0])

static const mathfn *by_id(fe_builtin id)
{
    for (size_t i = 0; i < NFNS; i++)
        if (fns[i].id == id)
            return &fns[i];
    return NULL;
}

int fe_math_find(int module, const char *name, fe_builtin *id)
{
    for (size_t i = 0; i < NFNS; i++) {
        const mathfn *m = &fns[i];
        int hit = module == FE_MOD_MATH
                      ? m->math_name && strcmp(m->math_name, name) == 0
                      : (m->np_name && strcmp(m->np_name, name) == 0) ||
                            (m->np_alias && strcmp(m->np_alias, name) == 0);
        if (hit) {
            *id = m->id;
            return 1;
        }
    }
    if (module == FE_MOD_NUMPY) {
        /* numpy.float32(x) and friends convert a number */
        static const char *const alias[FE_DT_COUNT_] = {"bool_"};
        for (int d = 0; d < FE_DT_COUNT_; d++)
            if (strcmp(name, fe_dtype_name((fe_dtype)d)) == 0 || (alias[d] && strcmp(name, alias[d]) == 0)) {
                *id = (fe_builtin)(FE_BI_NP_TYPE + d);
                return 1;
            }
    }
    return 0;
}

/* The float type a numpy ufunc computes a number in: float32 stays,
 * 16-bit ints become float32, wider ones and Python numbers float64.
 * -1 for the types NumPy would compute in float16. */
static int np_float_dtype(const fe_type *t)
{
    fe_dtype d = fe_t_dtype(t);
    if (t->kind != FE_T_NP)
        return FE_DT_FLOAT64;
    if (fe_dtype_is_float(d))
        return d;
    if (d == FE_DT_INT16 || d == FE_DT_UINT16)
        return FE_DT_FLOAT32;
    if (d == FE_DT_BOOL || fe_dtype_bits(d) == 8)
        return -1;
    return FE_DT_FLOAT64;
}

const fe_type *fe_math_type(fe_types *ts, fe_builtin id, int numpy, int nargs,
                            const fe_type *const *args, const char **why)
{
    if (id >= FE_BI_NP_TYPE && id < FE_BI_COUNT_) {
        if (nargs != 1 || !fe_t_is_number(args[0])) {
            *why = "numpy.%s() of one number is supported";
            return NULL;
        }
        int d = id - FE_BI_NP_TYPE;
        if (d >= FE_DT_COMPLEX64) {
            *why = "complex numbers are not supported yet (%s)";
            return NULL;
        }
        return fe_t_np(ts, (fe_dtype)d);
    }
    const mathfn *m = by_id(id);
    if (!m || nargs != m->nargs) {
        *why = nargs == 2 && id == FE_BI_LOG ? "math.%s(x, base) is not supported yet: write log(x) / log(base)"
                                             : "%s() with this number of arguments is not supported";
        return NULL;
    }
    for (int i = 0; i < nargs; i++)
        if (!fe_t_is_number(args[i])) {
            *why = "%s() needs real numbers";
            return NULL;
        }
    const fe_type *a = args[0];
    if (nargs == 2) {
        a = fe_t_promote(ts, args[0], args[1]);
        if (!a) {
            *why = "%s() needs real numbers";
            return NULL;
        }
    }
    if (!numpy) {
        if (m->result == R_BOOL)
            return fe_t_simple(ts, FE_T_BOOL);
        if (m->result == R_INTEGRAL)
            return fe_t_simple(ts, FE_T_INT); /* math.floor(x) is an int */
        return fe_t_simple(ts, FE_T_FLOAT);
    }
    if (m->result == R_BOOL)
        return fe_t_np(ts, FE_DT_BOOL);
    if (m->result == R_PROMOTED) /* minimum, maximum: the operands' own type */
        return a->kind == FE_T_NP ? a : fe_t_np(ts, fe_t_dtype(a));
    if (m->result == R_INTEGRAL && fe_t_is_intlike(a)) /* floor of an int: itself */
        return a->kind == FE_T_NP ? a : fe_t_np(ts, a->kind == FE_T_BOOL ? FE_DT_BOOL : FE_DT_INT64);
    if (id == FE_BI_POW && fe_t_is_intlike(a) && !(a->kind == FE_T_NP && a->dtype == FE_DT_BOOL))
        return a->kind == FE_T_NP ? a : fe_t_np(ts, FE_DT_INT64);
    int d = np_float_dtype(a);
    if (d < 0) {
        *why = "numpy.%s of an 8-bit or bool value computes in float16, which is not supported";
        return NULL;
    }
    return fe_t_np(ts, (fe_dtype)d);
}

/* --------------------------------------------------------------- lowering */

static LLVMValueRef libm(lower *lw, const char *name, LLVMValueRef *args, int nargs)
{
    LLVMTypeRef t = LLVMTypeOf(args[0]);
    char full[32];
    snprintf(full, sizeof full, "%s%s", name, t == lw->f32 ? "f" : "");
    LLVMTypeRef ptys[2] = {t, t};
    LLVMTypeRef fty = LLVMFunctionType(t, ptys, (unsigned)nargs, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, full);
    if (!fn)
        fn = LLVMAddFunction(lw->M, full, fty);
    return LLVMBuildCall2(lw->B, fty, fn, args, (unsigned)nargs, "");
}

/* math.gamma, math.lgamma and math.hypot are CPython's own algorithms, not
 * the C library's (they differ in the last bits): compiled code calls the
 * interpreter's functions through `pyacc_py_math`, which the extension
 * defines, and raises what they raised. */
static LLVMValueRef python_math(lower *lw, const mathfn *m, LLVMValueRef *a, fe_loc loc)
{
    LLVMTypeRef ptys[4] = {lw->i32, lw->f64, lw->f64, lw->ptr};
    LLVMTypeRef fty = LLVMFunctionType(lw->f64, ptys, 4, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, "pyacc_py_math");
    if (!fn)
        fn = LLVMAddFunction(lw->M, "pyacc_py_math", fty);
    LLVMValueRef status = fe_entry_alloca(lw, lw->i32, "status");
    int which = m->id == FE_BI_GAMMA ? 0 : m->id == FE_BI_LGAMMA ? 1 : 2;
    LLVMValueRef args[4] = {LLVMConstInt(lw->i32, (unsigned long long)which, 0), a[0],
                            m->nargs > 1 ? a[1] : LLVMConstReal(lw->f64, 0.0), status};
    LLVMValueRef r = LLVMBuildCall2(lw->B, fty, fn, args, 4, "");
    LLVMValueRef st = LLVMBuildLoad2(lw->B, lw->i32, status, "");
    fe_check(lw, LLVMBuildICmp(lw->B, LLVMIntEQ, st, LLVMConstInt(lw->i32, 1, 0), ""), RT_ERR_VALUE, loc,
             fe_const_i64(lw, 0), fe_const_i64(lw, 0));
    fe_check(lw, LLVMBuildICmp(lw->B, LLVMIntEQ, st, LLVMConstInt(lw->i32, 2, 0), ""), RT_ERR_OVERFLOW, loc,
             fe_const_i64(lw, 1), fe_const_i64(lw, 0));
    return r;
}

static LLVMValueRef call(lower *lw, const mathfn *m, LLVMValueRef *args)
{
    if (m->id == FE_BI_FMOD)
        return LLVMBuildFRem(lw->B, args[0], args[1], ""); /* frem is C's fmod */
    if (m->intrinsic && LLVMLookupIntrinsicID(m->intrinsic, strlen(m->intrinsic)))
        return fe_intrinsic(lw, m->intrinsic, LLVMTypeOf(args[0]), args, m->nargs);
    return libm(lw, m->libm, args, m->nargs);
}

static LLVMValueRef is_nan(lower *lw, LLVMValueRef x)
{
    return LLVMBuildFCmp(lw->B, LLVMRealUNO, x, x, "");
}

static LLVMValueRef is_inf(lower *lw, LLVMValueRef x)
{
    LLVMValueRef ax = fe_intrinsic(lw, "llvm.fabs", LLVMTypeOf(x), &x, 1);
    return LLVMBuildFCmp(lw->B, LLVMRealOEQ, ax, LLVMConstReal(LLVMTypeOf(x), __builtin_inf()), "");
}

static LLVMValueRef is_finite(lower *lw, LLVMValueRef x)
{
    LLVMValueRef ax = fe_intrinsic(lw, "llvm.fabs", LLVMTypeOf(x), &x, 1);
    return LLVMBuildFCmp(lw->B, LLVMRealOLT, ax, LLVMConstReal(LLVMTypeOf(x), __builtin_inf()), "");
}

/* round(x, ndigits): the runtime's pyacc_rt_round_digits (the GPU's is
 * IR, jit/gpu_round.c); an infinity from a finite x is CPython's
 * "rounded value too large to represent". */
LLVMValueRef fe_math_round(lower *lw, LLVMValueRef x, LLVMValueRef ndigits, fe_loc loc)
{
    LLVMTypeRef ptys[2] = {lw->f64, lw->i64};
    LLVMTypeRef fty = LLVMFunctionType(lw->f64, ptys, 2, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, "pyacc_rt_round_digits");
    if (!fn) {
        fn = LLVMAddFunction(lw->M, "pyacc_rt_round_digits", fty);
        fe_add_fn_attr(lw, fn, LLVMAttributeFunctionIndex, "nounwind");
        fe_add_fn_attr(lw, fn, LLVMAttributeFunctionIndex, "willreturn");
    }
    LLVMValueRef args[2] = {x, ndigits};
    LLVMValueRef r = LLVMBuildCall2(lw->B, fty, fn, args, 2, "");
    fe_check(lw, LLVMBuildAnd(lw->B, is_inf(lw, r), is_finite(lw, x), ""), RT_ERR_OVERFLOW, loc,
             fe_const_i64(lw, 3), fe_const_i64(lw, 0));
    return r;
}

/* Both leave a NaN or an infinity, harmless to go on with: deferred in a
 * parallel loop, which then stays vectorisable. */
static void domain_error(lower *lw, LLVMValueRef failed, fe_loc loc)
{
    fe_check_deferred(lw, failed, RT_ERR_VALUE, loc, fe_const_i64(lw, 0), fe_const_i64(lw, 0));
}

static void range_error(lower *lw, LLVMValueRef failed, fe_loc loc)
{
    fe_check_deferred(lw, failed, RT_ERR_OVERFLOW, loc, fe_const_i64(lw, 1), fe_const_i64(lw, 0));
}

/* CPython's checks after calling the C function. */
static void math_errors(lower *lw, const mathfn *m, LLVMValueRef *a, LLVMValueRef r, fe_loc loc)
{
    LLVMBuilderRef B = lw->B;
    /* Where the domain is a half-line the checks above reduce to one
     * comparison of the argument (NaN passes, infinities behave): cheaper
     * in hot loops, and the same errors. */
    LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(a[0]));
    switch (m->id) {
    case FE_BI_SQRT: /* sqrt(x < 0), sqrt(-inf) */
        domain_error(lw, LLVMBuildFCmp(B, LLVMRealOLT, a[0], zero, ""), loc);
        return;
    case FE_BI_LOG:
    case FE_BI_LOG2:
    case FE_BI_LOG10: /* log(0) is -inf from a finite argument: also a domain error */
        domain_error(lw, LLVMBuildFCmp(B, LLVMRealOLE, a[0], zero, ""), loc);
        return;
    case FE_BI_LOG1P:
        domain_error(lw, LLVMBuildFCmp(B, LLVMRealOLE, a[0], LLVMConstReal(LLVMTypeOf(a[0]), -1.0), ""), loc);
        return;
    default:
        break;
    }
    LLVMValueRef args_ok = LLVMBuildNot(B, is_nan(lw, a[0]), ""); /* no NaN argument */
    LLVMValueRef args_finite = is_finite(lw, a[0]);
    if (m->nargs == 2) {
        args_ok = LLVMBuildAnd(B, args_ok, LLVMBuildNot(B, is_nan(lw, a[1]), ""), "");
        args_finite = LLVMBuildAnd(B, args_finite, is_finite(lw, a[1]), "");
    }
    domain_error(lw, LLVMBuildAnd(B, is_nan(lw, r), args_ok, ""), loc);
    LLVMValueRef blew_up = LLVMBuildAnd(B, is_inf(lw, r), args_finite, "");
    switch (m->err) {
    case E_DOMAIN:
        domain_error(lw, blew_up, loc);
        break;
    case E_OVERFLOW:
    case E_TWO:
        range_error(lw, blew_up, loc);
        break;
    case E_POW: { /* 0 ** negative is a domain error, the rest overflow */
        LLVMValueRef zero = LLVMBuildFCmp(B, LLVMRealOEQ, a[0], LLVMConstNull(LLVMTypeOf(a[0])), "");
        domain_error(lw, LLVMBuildAnd(B, blew_up, zero, ""), loc);
        range_error(lw, blew_up, loc);
        break;
    }
    case E_GAMMA: { /* a pole: an integer at or below zero */
        LLVMValueRef fl = fe_intrinsic(lw, "llvm.floor", LLVMTypeOf(a[0]), &a[0], 1);
        LLVMValueRef pole = LLVMBuildAnd(B, LLVMBuildFCmp(B, LLVMRealOEQ, fl, a[0], ""),
                                         LLVMBuildFCmp(B, LLVMRealOLE, a[0], LLVMConstNull(LLVMTypeOf(a[0])), ""), "");
        domain_error(lw, LLVMBuildAnd(B, blew_up, pole, ""), loc);
        range_error(lw, blew_up, loc);
        break;
    }
    default:
        break;
    }
}

LLVMValueRef fe_float_to_int(lower *lw, LLVMValueRef x, fe_loc loc)
{
    LLVMBuilderRef B = lw->B;
    LLVMTypeRef t = LLVMTypeOf(x);
    fe_check(lw, is_nan(lw, x), RT_ERR_VALUE, loc, fe_const_i64(lw, 3), fe_const_i64(lw, 0));
    /* beyond int64 Python would make a big int: overflow here */
    LLVMValueRef ax = fe_intrinsic(lw, "llvm.fabs", t, &x, 1);
    LLVMValueRef big = LLVMBuildFCmp(B, LLVMRealOGE, ax, LLVMConstReal(t, 9223372036854775808.0), "");
    LLVMValueRef minv = LLVMBuildFCmp(B, LLVMRealOEQ, x, LLVMConstReal(t, -9223372036854775808.0), "");
    fe_check(lw, LLVMBuildAnd(B, big, LLVMBuildNot(B, minv, ""), ""), RT_ERR_OVERFLOW, loc,
             fe_const_i64(lw, 0), fe_const_i64(lw, 0));
    return LLVMBuildFPToSI(B, x, lw->i64, "");
}

LLVMValueRef fe_int_power(lower *lw, LLVMValueRef base, LLVMValueRef ex, int is_signed, int checked, fe_loc loc)
{
    LLVMBuilderRef B = lw->B;
    LLVMTypeRef t = LLVMTypeOf(base);
    if (is_signed && !checked) /* NumPy: no negative integer powers */
        fe_check(lw, LLVMBuildICmp(B, LLVMIntSLT, ex, LLVMConstNull(t), ""), RT_ERR_VALUE, loc,
                 fe_const_i64(lw, 5), fe_const_i64(lw, 0));
    LLVMValueRef f = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(lw->C, f, "ipow");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(lw->C, f, "ipow.done");
    LLVMBuildBr(B, head);
    LLVMPositionBuilderAtEnd(B, head);
    LLVMValueRef r = LLVMBuildPhi(B, t, "r"), b = LLVMBuildPhi(B, t, "b"), e = LLVMBuildPhi(B, t, "e");
    LLVMValueRef ovf = LLVMBuildPhi(B, lw->i1, "ovf");
    LLVMValueRef odd = LLVMBuildTrunc(B, e, lw->i1, "");
    LLVMValueRef e2 = LLVMBuildLShr(B, e, LLVMConstInt(t, 1, 0), "");
    LLVMValueRef more = LLVMBuildICmp(B, LLVMIntNE, e2, LLVMConstNull(t), "");
    LLVMValueRef rb, bb, ovf2 = ovf;
    if (checked) {
        /* a Python int would grow past int64: overflow, where it matters
         * (the last squaring of b is never used) */
        LLVMValueRef m1[2] = {r, b}, m2[2] = {b, b};
        LLVMValueRef p1 = fe_intrinsic(lw, "llvm.smul.with.overflow", t, m1, 2);
        LLVMValueRef p2 = fe_intrinsic(lw, "llvm.smul.with.overflow", t, m2, 2);
        rb = LLVMBuildExtractValue(B, p1, 0, "");
        bb = LLVMBuildExtractValue(B, p2, 0, "");
        ovf2 = LLVMBuildOr(B, ovf, LLVMBuildAnd(B, odd, LLVMBuildExtractValue(B, p1, 1, ""), ""), "");
        ovf2 = LLVMBuildOr(B, ovf2, LLVMBuildAnd(B, more, LLVMBuildExtractValue(B, p2, 1, ""), ""), "");
    } else {
        rb = LLVMBuildMul(B, r, b, "");
        bb = LLVMBuildMul(B, b, b, "");
    }
    LLVMValueRef r2 = LLVMBuildSelect(B, odd, rb, r, "");
    LLVMBasicBlockRef body_end = LLVMGetInsertBlock(B);
    LLVMBuildCondBr(B, more, head, done);
    LLVMValueRef one = LLVMConstInt(t, 1, 0);
    LLVMValueRef vr[2] = {one, r2}, vb[2] = {base, bb}, ve[2] = {ex, e2};
    LLVMValueRef vo[2] = {LLVMConstInt(lw->i1, 0, 0), ovf2};
    LLVMBasicBlockRef from[2] = {pre, body_end};
    LLVMAddIncoming(r, vr, from, 2);
    LLVMAddIncoming(b, vb, from, 2);
    LLVMAddIncoming(e, ve, from, 2);
    LLVMAddIncoming(ovf, vo, from, 2);
    LLVMPositionBuilderAtEnd(B, done);
    if (checked)
        fe_check(lw, ovf2, RT_ERR_OVERFLOW, loc, fe_const_i64(lw, 0), fe_const_i64(lw, 0));
    /* x ** 0 is 1: the loop ran once with e == 0 and kept r == 1 */
    return r2;
}

LLVMValueRef fe_math_lower(lower *lw, fe_node *n, fe_builtin id, int first, int numpy)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    int nargs = n->nargs - first;
    const fe_type *at[2] = {f->nodes[fe_arg(f, n, first)].type,
                            nargs > 1 ? f->nodes[fe_arg(f, n, first + 1)].type : NULL};
    LLVMValueRef av[2] = {fe_node_val(lw, fe_arg(f, n, first)),
                          nargs > 1 ? fe_node_val(lw, fe_arg(f, n, first + 1)) : NULL};
    if (id >= FE_BI_NP_TYPE)
        return fe_convert(lw, av[0], at[0], n->type);
    const mathfn *m = by_id(id);
    const fe_type *tr = n->type;
    /* the type the function computes in */
    const fe_type *tc;
    if (m->result == R_FLOAT)
        tc = numpy ? tr : fe_t_simple(f->types, FE_T_FLOAT);
    else if ((numpy && m->result == R_INTEGRAL) || m->result == R_PROMOTED)
        tc = tr;
    else if (fe_t_is_floatlike(at[0]))
        tc = at[0];
    else
        tc = fe_t_simple(f->types, FE_T_FLOAT);
    if (numpy && id == FE_BI_POW && fe_t_is_intlike(tr))
        tc = tr;
    LLVMValueRef a[2];
    for (int i = 0; i < nargs; i++)
        a[i] = fe_convert(lw, av[i], at[i], tc);

    switch (m->result) {
    case R_PROMOTED: {
        /* NumPy: minimum and maximum propagate a NaN from either side, fmin
         * and fmax ignore one; ties keep the second operand */
        int low = id == FE_BI_NP_MINIMUM || id == FE_BI_NP_FMIN;
        int keep_nan_of_a = id == FE_BI_NP_MINIMUM || id == FE_BI_NP_MAXIMUM;
        fe_dtype d = fe_t_dtype(tc);
        LLVMValueRef better;
        if (fe_t_is_floatlike(tc)) {
            better = LLVMBuildFCmp(B, low ? LLVMRealOLT : LLVMRealOGT, a[0], a[1], "");
            better = LLVMBuildOr(B, better, is_nan(lw, keep_nan_of_a ? a[0] : a[1]), "");
        } else if (d == FE_DT_BOOL) {
            return low ? LLVMBuildAnd(B, a[0], a[1], "") : LLVMBuildOr(B, a[0], a[1], "");
        } else {
            int sg = fe_dtype_is_signed(d);
            better = LLVMBuildICmp(B, low ? (sg ? LLVMIntSLT : LLVMIntULT) : (sg ? LLVMIntSGT : LLVMIntUGT),
                                   a[0], a[1], "");
        }
        return LLVMBuildSelect(B, better, a[0], a[1], "");
    }
    case R_BOOL: {
        if (!fe_t_is_floatlike(tc))
            return LLVMConstInt(lw->i1, id == FE_BI_ISFINITE, 0);
        LLVMValueRef r = id == FE_BI_ISNAN ? is_nan(lw, a[0]) : id == FE_BI_ISINF ? is_inf(lw, a[0]) : is_finite(lw, a[0]);
        return r;
    }
    case R_INTEGRAL:
        if (!fe_t_is_floatlike(tc)) {
            if (id != FE_BI_NP_ABS)
                return numpy ? a[0] : fe_convert(lw, av[0], at[0], tr); /* floor of an int */
            if (!fe_dtype_is_signed(fe_t_dtype(tc)))
                return a[0];
            LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, a[0], LLVMConstNull(LLVMTypeOf(a[0])), "");
            return LLVMBuildSelect(B, neg, LLVMBuildNeg(B, a[0], ""), a[0], "");
        }
        if (id == FE_BI_NP_ABS)
            return fe_intrinsic(lw, "llvm.fabs", LLVMTypeOf(a[0]), a, 1);
        {
            LLVMValueRef r = call(lw, m, a);
            return numpy ? r : fe_float_to_int(lw, r, n->loc);
        }
    default:
        break;
    }
    if (numpy && id == FE_BI_POW && fe_t_is_intlike(tc))
        return fe_int_power(lw, a[0], a[1], fe_dtype_is_signed(fe_t_dtype(tc)), 0, n->loc);
    if (!numpy && (id == FE_BI_GAMMA || id == FE_BI_LGAMMA || id == FE_BI_HYPOT))
        return python_math(lw, m, a, n->loc);
    LLVMValueRef r = call(lw, m, a);
    /* sqrt of what facts.c knows is not below 0 (a sum of squares) cannot fail */
    if (!numpy && m->err != E_NONE && !(id == FE_BI_SQRT && fe_node_nonneg(lw, fe_arg(f, n, first))))
        math_errors(lw, m, a, r, n->loc);
    return r;
}
