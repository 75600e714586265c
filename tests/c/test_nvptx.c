/* test_nvptx.c - PTX from hand-built kernels (jit/nvptx.c): kernel entry
 * points, libdevice math linked in and the rest internalised, and, where
 * the CUDA toolkit is installed, ptxas accepting the result. */
#include "ptxas.h"
#include "jit.h"

#include <criterion/criterion.h>
#include <llvm-c/Core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* saxpy over global float arrays, with sqrtf from libdevice when asked:
 * y[i] = a * x[i] + f(y[i]) for i = ctaid.x * ntid.x + tid.x < n */
static LLVMModuleRef saxpy_module(LLVMContextRef C, int with_math)
{
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("t", C);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMTypeRef f32 = LLVMFloatTypeInContext(C), i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef gptr = LLVMPointerTypeInContext(C, 1);
    LLVMTypeRef params[4] = {gptr, gptr, f32, i64};
    LLVMValueRef k = LLVMAddFunction(m, "saxpy", LLVMFunctionType(LLVMVoidTypeInContext(C), params, 4, 0));
    LLVMSetFunctionCallConv(k, LLVMPTXKernelCallConv);
    LLVMTypeRef sreg = LLVMFunctionType(i32, NULL, 0, 0);
    LLVMValueRef tid = LLVMAddFunction(m, "llvm.nvvm.read.ptx.sreg.tid.x", sreg);
    LLVMValueRef ctaid = LLVMAddFunction(m, "llvm.nvvm.read.ptx.sreg.ctaid.x", sreg);
    LLVMValueRef ntid = LLVMAddFunction(m, "llvm.nvvm.read.ptx.sreg.ntid.x", sreg);
    LLVMValueRef sqrtf = NULL;
    if (with_math)
        sqrtf = LLVMAddFunction(m, "__nv_sqrtf", LLVMFunctionType(f32, &f32, 1, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, k, "entry");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(C, k, "body");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, k, "done");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef t = LLVMBuildCall2(B, sreg, tid, NULL, 0, "");
    LLVMValueRef c = LLVMBuildCall2(B, sreg, ctaid, NULL, 0, "");
    LLVMValueRef nt = LLVMBuildCall2(B, sreg, ntid, NULL, 0, "");
    LLVMValueRef i = LLVMBuildAdd(B, LLVMBuildMul(B, LLVMBuildZExt(B, c, i64, ""), LLVMBuildZExt(B, nt, i64, ""), ""),
                                  LLVMBuildZExt(B, t, i64, ""), "i");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, i, LLVMGetParam(k, 3), ""), body, done);
    LLVMPositionBuilderAtEnd(B, body);
    LLVMValueRef px = LLVMBuildGEP2(B, f32, LLVMGetParam(k, 0), &i, 1, "");
    LLVMValueRef py = LLVMBuildGEP2(B, f32, LLVMGetParam(k, 1), &i, 1, "");
    LLVMValueRef y = LLVMBuildLoad2(B, f32, py, "");
    if (sqrtf)
        y = LLVMBuildCall2(B, LLVMFunctionType(f32, &f32, 1, 0), sqrtf, &y, 1, "");
    LLVMValueRef r = LLVMBuildFAdd(B, LLVMBuildFMul(B, LLVMGetParam(k, 2), LLVMBuildLoad2(B, f32, px, ""), ""), y, "");
    LLVMBuildStore(B, r, py);
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    return m;
}

Test(nvptx, saxpy_kernel)
{
    LLVMContextRef C = LLVMContextCreate();
    char err[1024];
    double ms;
    char *ptx = jit_nvptx_compile(saxpy_module(C, 0), "sm_90", "+ptx80", &ms, err, sizeof err);
    cr_assert_not_null(ptx, "%s", err);
    cr_assert(strstr(ptx, ".visible .entry saxpy"), "%s", ptx);
    cr_assert(strstr(ptx, ".target sm_90"));
    cr_assert(strstr(ptx, "ld.global"));
    cr_assert(strstr(ptx, "fma.rn.f32") || strstr(ptx, "mul.rn.f32") || strstr(ptx, "mul.f32"), "%s", ptx);
    int ok = ptxas_ok(ptx);
    if (ok >= 0)
        cr_assert_eq(ok, 1, "ptxas refused:\n%s", ptx);
    free(ptx);
    LLVMContextDispose(C);
}

Test(nvptx, libdevice_math_is_linked_and_trimmed)
{
    if (!jit_libdevice_path())
        cr_skip_test("no libdevice here");
    LLVMContextRef C = LLVMContextCreate();
    char err[1024];
    double ms;
    char *ptx = jit_nvptx_compile(saxpy_module(C, 1), "sm_90", "+ptx80", &ms, err, sizeof err);
    cr_assert_not_null(ptx, "%s", err);
    cr_assert(strstr(ptx, "sqrt"), "%s", ptx);
    cr_assert_null(strstr(ptx, "__nv_"), "libdevice's functions are inlined and dropped");
    cr_assert_lt(strlen(ptx), 20000, "only what the kernel uses of libdevice is kept");
    int ok = ptxas_ok(ptx);
    if (ok >= 0)
        cr_assert_eq(ok, 1, "ptxas refused:\n%s", ptx);
    free(ptx);
    LLVMContextDispose(C);
}

Test(nvptx, a_bad_module_is_an_error_not_a_crash)
{
    LLVMContextRef C = LLVMContextCreate();
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("bad", C);
    LLVMValueRef f = LLVMAddFunction(m, "k", LLVMFunctionType(LLVMVoidTypeInContext(C), NULL, 0, 0));
    LLVMSetFunctionCallConv(f, LLVMPTXKernelCallConv);
    LLVMAppendBasicBlockInContext(C, f, "entry"); /* no terminator */
    char err[1024];
    double ms;
    char *ptx = jit_nvptx_compile(m, "sm_90", "+ptx80", &ms, err, sizeof err);
    cr_assert_null(ptx);
    cr_assert(strstr(err, "bad GPU module"), "%s", err);
    LLVMContextDispose(C);
}
