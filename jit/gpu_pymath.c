/* gpu_pymath.c - the device form of pyacc_py_math: math.gamma,
 * math.lgamma and math.hypot on the GPU.
 *
 * On the host, compiled code calls the interpreter's own functions for
 * these (frontend/mathfn.c): CPython computes them with algorithms of its
 * own, and the C library's differ in the last bits.  A GPU cannot call
 * the interpreter, so there they are libdevice's, as every other math
 * function on the GPU is (sin, exp, ...): the same values within a few
 * ulps.  The errors are CPython's exactly, reported through the status
 * word the frontend checks after the call: 1 a ValueError (a pole of
 * gamma or lgamma: an integer at or below zero, and gamma(-inf)), 2 an
 * OverflowError (a finite argument whose result is infinite).
 * (round(x, ndigits) is not among them: it is pyacc_rt_round_digits,
 * gpu_round.c.) */
#include "gpu_ir.h"

#include <math.h>

enum { PYM_GAMMA = 0, PYM_LGAMMA = 1, PYM_HYPOT = 2 }; /* frontend/mathfn.c's `which` */

static LLVMValueRef call_fn(LLVMModuleRef m, LLVMBuilderRef B, const char *name, int nargs, LLVMValueRef *args)
{
    LLVMTypeRef dbl = LLVMDoubleTypeInContext(LLVMGetModuleContext(m));
    LLVMTypeRef ptys[2] = {dbl, dbl};
    LLVMTypeRef fty = LLVMFunctionType(dbl, ptys, (unsigned)nargs, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(m, name);
    if (!fn)
        fn = LLVMAddFunction(m, name, fty);
    return LLVMBuildCall2(B, fty, fn, args, (unsigned)nargs, "");
}

static LLVMValueRef fabs_of(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef x)
{
    return call_fn(m, B, "llvm.fabs.f64", 1, &x);
}

/* Whether every call passes a `which` this file computes. */
static int all_computed(LLVMValueRef f)
{
    for (LLVMUseRef u = LLVMGetFirstUse(f); u; u = LLVMGetNextUse(u)) {
        LLVMValueRef call = LLVMGetUser(u);
        if (!LLVMIsACallInst(call) || LLVMGetCalledValue(call) != f)
            return 0;
        LLVMValueRef which = LLVMGetOperand(call, 0);
        if (!LLVMIsAConstantInt(which) || LLVMConstIntGetZExtValue(which) > PYM_HYPOT)
            return 0;
    }
    return 1;
}

int jit_gpu_py_math(LLVMModuleRef m, LLVMValueRef f)
{
    if (!all_computed(f))
        return 1;
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), dbl = LLVMDoubleTypeInContext(C);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, f, "entry");
    LLVMBasicBlockRef gamma = LLVMAppendBasicBlockInContext(C, f, "gamma");
    LLVMBasicBlockRef lgamma = LLVMAppendBasicBlockInContext(C, f, "lgamma");
    LLVMBasicBlockRef hypot = LLVMAppendBasicBlockInContext(C, f, "hypot");
    LLVMValueRef which = LLVMGetParam(f, 0), x = LLVMGetParam(f, 1), y = LLVMGetParam(f, 2);
    LLVMValueRef status = LLVMGetParam(f, 3);
    LLVMValueRef zero = LLVMConstReal(dbl, 0.0), inf = LLVMConstReal(dbl, INFINITY), nan = LLVMConstReal(dbl, NAN);
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef sw = LLVMBuildSwitch(B, which, hypot, 2);
    LLVMAddCase(sw, LLVMConstInt(i32, PYM_GAMMA, 0), gamma);
    LLVMAddCase(sw, LLVMConstInt(i32, PYM_LGAMMA, 0), lgamma);
    for (int lg = 0; lg < 2; lg++) {
        LLVMPositionBuilderAtEnd(B, lg ? lgamma : gamma);
        LLVMValueRef x_inf = LLVMBuildFCmp(B, LLVMRealOEQ, fabs_of(m, B, x), inf, "");
        /* an integer at or below zero; floor(-inf) is -inf, so gamma's
         * pole test takes -inf in too, as CPython does */
        LLVMValueRef pole = LLVMBuildAnd(B, LLVMBuildFCmp(B, LLVMRealOEQ, call_fn(m, B, "llvm.floor.f64", 1, &x), x, ""),
                                         LLVMBuildFCmp(B, LLVMRealOLE, x, zero, ""), "");
        if (lg) /* lgamma(-inf) is inf */
            pole = LLVMBuildAnd(B, pole, LLVMBuildNot(B, x_inf, ""), "");
        LLVMValueRef r = call_fn(m, B, lg ? "__nv_lgamma" : "__nv_tgamma", 1, &x);
        if (lg) /* lgamma(+-inf) is +inf */
            r = LLVMBuildSelect(B, x_inf, inf, r, "");
        LLVMValueRef over = LLVMBuildAnd(B, LLVMBuildFCmp(B, LLVMRealOEQ, fabs_of(m, B, r), inf, ""),
                                         LLVMBuildNot(B, x_inf, ""), "");
        LLVMValueRef st = LLVMBuildSelect(B, pole, LLVMConstInt(i32, 1, 0),
                                          LLVMBuildSelect(B, over, LLVMConstInt(i32, 2, 0), LLVMConstInt(i32, 0, 0), ""),
                                          "");
        LLVMBuildStore(B, st, status);
        LLVMBuildRet(B, LLVMBuildSelect(B, pole, nan, r, ""));
    }
    /* hypot never raises; an infinite side wins over a NaN */
    LLVMPositionBuilderAtEnd(B, hypot);
    LLVMBuildStore(B, LLVMConstInt(i32, 0, 0), status);
    LLVMValueRef xy[2] = {x, y};
    LLVMValueRef any_inf = LLVMBuildOr(B, LLVMBuildFCmp(B, LLVMRealOEQ, fabs_of(m, B, x), inf, ""),
                                       LLVMBuildFCmp(B, LLVMRealOEQ, fabs_of(m, B, y), inf, ""), "");
    LLVMBuildRet(B, LLVMBuildSelect(B, any_inf, inf, call_fn(m, B, "__nv_hypot", 2, xy), ""));
    LLVMDisposeBuilder(B);
    return 0;
}
