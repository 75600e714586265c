/* test_gpu_split.c - regions mapped onto a GPU (jit/gpu.c), from fixtures
 * of real bytecode: the loop bodies become kernels whose PTX ptxas accepts,
 * the host entry launches them instead of running the loops, and what the
 * GPU cannot run is refused with a reason.  No GPU needed. */
#include "ptxas.h"
#include "fixture.h"
#include "jit.h"
#include "rt.h"

#include <criterion/criterion.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static jit_host *host(void)
{
    char err[256];
    jit_host *h = jit_host_create(NULL, 0, err, sizeof err);
    cr_assert_not_null(h, "%s", err);
    return h;
}

/* Lowers a fixture and splits it; returns the split's status. */
static int split(const char *name, jit_gpu_parts *parts, char **ptx, char **host_ir)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s.py311.fixture", FIXTURE_DIR, name);
    fx_fixture fx;
    cr_assert_eq(fx_load(path, &fx, err, sizeof err), 0, "%s", err);
    LLVMContextRef C = LLVMContextCreate();
    fe_region r = fx_region(&fx, "entry");
    fe_result res;
    fe_error e;
    cr_assert_eq(fe_lower_region(&r, C, &res, &e), FE_OK, "%s", e.msg);
    jit_host *h = host();
    int rc = jit_gpu_split(h, res.module, "entry", parts, err, sizeof err);
    cr_assert_neq(rc, -1, "%s", err);
    *ptx = NULL;
    *host_ir = NULL;
    if (rc == 0) {
        double ms;
        *ptx = jit_nvptx_compile(parts->device_module, "sm_90", "+ptx80", &ms, err, sizeof err);
        parts->device_module = NULL;
        cr_assert_not_null(*ptx, "%s", err);
        char *msg = NULL;
        cr_assert_eq(LLVMVerifyModule(res.module, LLVMReturnStatusAction, &msg), 0, "%s", msg);
        LLVMDisposeMessage(msg);
        char *s = LLVMPrintModuleToString(res.module);
        *host_ir = strdup(s);
        LLVMDisposeMessage(s);
    }
    fe_result_free(&res);
    jit_host_free(h);
    LLVMContextDispose(C);
    fx_free(&fx);
    return rc;
}

Test(gpu_split, saxpy_becomes_a_kernel_and_a_launch)
{
    jit_gpu_parts parts;
    char *ptx, *ir;
    cr_assert_eq(split("saxpy", &parts, &ptx, &ir), 0, "%s", parts.why);
    cr_assert_eq(parts.nkernels, 1);
    cr_assert_str_eq(parts.kernels[0].name, "pyacc_k0");
    cr_assert(strstr(ptx, ".visible .entry pyacc_k0"), "%s", ptx);
    int ok = ptxas_ok(ptx);
    if (ok >= 0)
        cr_assert_eq(ok, 1, "ptxas refused:\n%s", ptx);
    /* the launch reads the kernel's description from a pointer the code defines */
    cr_assert(strstr(ir, "@entry_gpu0 = global ptr null"), "%s", ir);
    cr_assert(strstr(ir, "load ptr, ptr @entry_gpu0"), "%s", ir);
    cr_assert(strstr(ir, "call void @pyacc_rt_gpu_loop(ptr %gpu.info"), "%s", ir);
    cr_assert_null(strstr(ir, "call void @\"pyacc.parallel_loop\""), "no host launch is left:\n%s", ir);
    /* no if or self clause can ask for the body on the host: the launch
     * does not name it, so the host does not compile it */
    cr_assert(strstr(ir, "call void @pyacc_rt_gpu_loop(ptr %gpu.info, ptr null,"), "%s", ir);
    /* a range by step 1: the kernel walks the space the frontend laid out
     * for it (frontend/align.c), whose count the launch reads from the ctx */
    cr_assert(strstr(ir, "%gpu.walk = load i64"), "%s", ir);
    cr_assert(strstr(ir, ", i64 %gpu.walk)"), "%s", ir);
    /* its ctx: the error record, the two arrays (data pointer first) */
    const jit_gpu_kernel *k = &parts.kernels[0];
    cr_assert_eq(k->kinds[0], RT_CTX_ERR);
    int arrays = 0;
    for (int f = 0; f < k->nfields; f++)
        if ((k->kinds[f] & 0xe0) == RT_CTX_ARRAY) {
            arrays++;
            cr_assert_eq(k->kinds[f] & RT_CTX_SIZE_MASK, 4); /* float32 */
            cr_assert_eq(k->ndims[f], 1);
        }
    cr_assert_eq(arrays, 2);
    cr_assert_gt(k->ctx_size, 0);
    free(ptx);
    free(ir);
    jit_gpu_parts_free(&parts);
}

Test(gpu_split, math_loops_and_2d_arrays_map_to_the_device)
{
    static const char *const names[] = {"escape", "matrix_c"};
    for (int i = 0; i < 2; i++) {
        jit_gpu_parts parts;
        char *ptx, *ir;
        cr_assert_eq(split(names[i], &parts, &ptx, &ir), 0, "%s: %s", names[i], parts.why);
        int ok = ptxas_ok(ptx);
        if (ok >= 0)
            cr_assert_eq(ok, 1, "%s: ptxas refused:\n%s", names[i], ptx);
        cr_assert_null(strstr(ptx, "__nv_"), "libdevice is inlined");
        free(ptx);
        free(ir);
        jit_gpu_parts_free(&parts);
    }
}

Test(gpu_split, a_region_without_parallel_loops_is_refused)
{
    jit_gpu_parts parts;
    char *ptx, *ir;
    cr_assert_eq(split("serial_steps", &parts, &ptx, &ir), 1);
    cr_assert(strstr(parts.why, "no parallel loop"), "%s", parts.why);
    jit_gpu_parts_free(&parts);
}
