/* nvptx.c - PTX for NVIDIA GPUs, from a module whose kernels carry the PTX
 * kernel calling convention.
 *
 * The module is given the NVPTX triple and data layout, linked with
 * libdevice when it calls libdevice's __nv_* functions (math), every
 * definition but the kernels made internal (so that the optimiser drops
 * what is not used and inlines the rest), optimised at O3 with the NVPTX
 * target machine (which also resolves libdevice's __nvvm_reflect queries),
 * and printed as PTX.  No GPU is needed: ptxas or the driver's JIT turns
 * the PTX into machine code later.
 */
#include "carry.h"
#include "jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/Core.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NVPTX_TRIPLE "nvptx64-nvidia-cuda"

static pthread_once_t nvptx_once = PTHREAD_ONCE_INIT;

static void init_nvptx(void)
{
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *jit_libdevice_path(void)
{
    const char *env = getenv("PYACC_LIBDEVICE");
    if (env && *env)
        return env;
    static const char *const candidates[] = {
        "/usr/local/cuda/nvvm/libdevice/libdevice.10.bc",
        "/usr/lib/nvidia-cuda-toolkit/libdevice/libdevice.10.bc",
        "/usr/lib/cuda/nvvm/libdevice/libdevice.10.bc",
    };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return NULL;
}

static LLVMTargetMachineRef nvptx_tm(const char *sm, const char *features, char *err, size_t errlen)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(NVPTX_TRIPLE, &target, &msg)) {
        snprintf(err, errlen, "no NVPTX target in this LLVM: %s", msg ? msg : "");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    return LLVMCreateTargetMachine(target, NVPTX_TRIPLE, sm, features, LLVMCodeGenLevelAggressive,
                                   LLVMRelocDefault, LLVMCodeModelDefault);
}

/* Whether module m calls anything of libdevice's. */
static int needs_libdevice(LLVMModuleRef m)
{
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
        size_t n;
        const char *name = LLVMGetValueName2(f, &n);
        if (LLVMIsDeclaration(f) && n > 5 && strncmp(name, "__nv_", 5) == 0)
            return 1;
    }
    return 0;
}

static int link_libdevice(LLVMModuleRef m, LLVMTargetDataRef dl, char *err, size_t errlen)
{
    const char *path = jit_libdevice_path();
    if (!path) {
        snprintf(err, errlen, "libdevice.10.bc not found (install the CUDA toolkit or set PYACC_LIBDEVICE)");
        return -1;
    }
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL;
    if (LLVMCreateMemoryBufferWithContentsOfFile(path, &buf, &msg)) {
        snprintf(err, errlen, "cannot read %s: %s", path, msg ? msg : "");
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMModuleRef lib = NULL;
    int bad = LLVMParseBitcodeInContext2(LLVMGetModuleContext(m), buf, &lib);
    LLVMDisposeMemoryBuffer(buf);
    if (bad) {
        snprintf(err, errlen, "%s is not LLVM bitcode this LLVM reads", path);
        return -1;
    }
    LLVMSetTarget(lib, NVPTX_TRIPLE);
    LLVMSetModuleDataLayout(lib, dl);
    if (LLVMLinkModules2(m, lib)) { /* takes lib */
        snprintf(err, errlen, "linking libdevice failed");
        return -1;
    }
    return 0;
}

/* Makes every defined function but the kernels internal: what no kernel
 * reaches is then dropped, what one does is inlined. */
static void internalise(LLVMModuleRef m)
{
    for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f))
        if (!LLVMIsDeclaration(f) && LLVMGetFunctionCallConv(f) != LLVMPTXKernelCallConv)
            LLVMSetLinkage(f, LLVMInternalLinkage);
    for (LLVMValueRef g = LLVMGetFirstGlobal(m); g; g = LLVMGetNextGlobal(g))
        if (!LLVMIsDeclaration(g))
            LLVMSetLinkage(g, LLVMInternalLinkage);
}

char *jit_nvptx_compile(void *module, const char *sm, const char *features, double *ms, char *err, size_t errlen)
{
    LLVMModuleRef m = (LLVMModuleRef)module;
    pthread_once(&nvptx_once, init_nvptx);
    double t0 = now_ms();
    char *ptx = NULL;
    LLVMTargetMachineRef tm = nvptx_tm(sm, features, err, errlen);
    if (!tm) {
        LLVMDisposeModule(m);
        return NULL;
    }
    LLVMSetTarget(m, NVPTX_TRIPLE);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, dl);
    int rc = needs_libdevice(m) ? link_libdevice(m, dl, err, errlen) : 0;
    LLVMDisposeTargetData(dl);
    char *msg = NULL;
    if (!rc && LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        snprintf(err, errlen, "bad GPU module: %s", msg ? msg : "");
        rc = -1;
    }
    LLVMDisposeMessage(msg);
    msg = NULL;
    if (!rc) {
        internalise(m);
        LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
        LLVMPassBuilderOptionsSetLoopVectorization(o, 0); /* a GPU thread is scalar */
        LLVMPassBuilderOptionsSetSLPVectorization(o, 0);
        LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", tm, o);
        LLVMDisposePassBuilderOptions(o);
        if (e) {
            char *em = LLVMGetErrorMessage(e);
            snprintf(err, errlen, "optimising for the GPU: %s", em ? em : "?");
            LLVMDisposeErrorMessage(em);
            rc = -1;
        } else {
            jit_carry_values(m);
        }
    }
    LLVMMemoryBufferRef buf = NULL;
    if (!rc && LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &msg, &buf)) {
        snprintf(err, errlen, "generating PTX: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        rc = -1;
    }
    if (!rc) {
        size_t n = LLVMGetBufferSize(buf);
        ptx = malloc(n + 1);
        if (ptx) {
            memcpy(ptx, LLVMGetBufferStart(buf), n);
            ptx[n] = 0;
        } else {
            snprintf(err, errlen, "out of memory");
        }
        LLVMDisposeMemoryBuffer(buf);
    }
    LLVMDisposeModule(m);
    LLVMDisposeTargetMachine(tm);
    if (ms)
        *ms = now_ms() - t0;
    return ptx;
}
