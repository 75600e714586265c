/* test_jit.c - host code through ORC: a lowered fixture compiled and run
 * from C, its results checked, on one and on many threads. */
#include "fixture.h"
#include "jit.h"
#include "rt.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int32_t (*region_fn)(int64_t *slots, rt_error *err);

static jit_host *host(void)
{
    jit_symbol syms[] = {{"pyacc.parallel_loop", (void *)pyacc_rt_launch},
                         {"pyacc.lane_loop", (void *)pyacc_rt_lane_loop},
                         {"pyacc_rt_error", (void *)pyacc_rt_error},
                         {"pyacc_rt_sigints", (void *)&pyacc_rt_sigints},
                         {"pyacc_rt_num_threads", (void *)pyacc_rt_num_threads},
                         {"pyacc_rt_scratch", (void *)pyacc_rt_scratch},
                         {"pyacc_rt_scratch_free", (void *)pyacc_rt_scratch_free}};
    char err[256];
    jit_host *h = jit_host_create(syms, (int)(sizeof syms / sizeof syms[0]), err, sizeof err);
    cr_assert_not_null(h, "%s", err);
    return h;
}

static region_fn compile_fixture(jit_host *h, const char *name, fx_fixture *fx, jit_compiled *out)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/%s.py311.fixture", FIXTURE_DIR, name);
    cr_assert_eq(fx_load(path, fx, err, sizeof err), 0, "%s", err);
    jit_ctx *ctx = jit_ctx_new();
    fe_region r = fx_region(fx, "entry");
    fe_result res;
    fe_error e;
    cr_assert_eq(fe_lower_region(&r, jit_ctx_llvm(ctx), &res, &e), FE_OK, "%s", e.msg);
    jit_options opt = {.keep_ir = 1};
    cr_assert_eq(jit_host_add(h, ctx, res.module, "entry", &opt, out, err, sizeof err), 0, "%s", err);
    jit_ctx_free(ctx);
    fe_result_free(&res);
    return (region_fn)out->entry;
}

static void saxpy_on(int threads)
{
    rt_set_num_threads(threads);
    jit_host *h = host();
    fx_fixture fx;
    jit_compiled c;
    region_fn fn = compile_fixture(h, "saxpy", &fx, &c);
    cr_expect(strstr(c.ir, "<") && strstr(c.ir, "x float>"), "the optimised loop is not vectorised");
    enum { N = 100003 };
    static float x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i * 0.5f;
        y[i] = 1.0f;
    }
    fe_arraydesc dx = {x, {N}, {4}}, dy = {y, {N}, {4}};
    double a = 2.0;
    int64_t slots[3];
    memcpy(&slots[0], &a, 8);
    slots[1] = (int64_t)(intptr_t)&dx;
    slots[2] = (int64_t)(intptr_t)&dy;
    rt_error err = {0};
    cr_assert_eq(fn(slots, &err), 0);
    for (int i = 0; i < N; i++)
        cr_assert_float_eq(y[i], 2.0f * ((float)i * 0.5f) + 1.0f, 0, "y[%d] = %g", i, y[i]);
    free(c.ir);
    jit_host_remove(h, c.handle);
    jit_host_free(h);
    fx_free(&fx);
}

Test(jit, saxpy_runs_right_on_one_thread) { saxpy_on(1); }
Test(jit, saxpy_runs_right_on_eight_threads) { saxpy_on(8); }

Test(jit, zero_division_is_reported_with_its_line)
{
    jit_host *h = host();
    fx_fixture fx;
    jit_compiled c;
    region_fn fn = compile_fixture(h, "floordiv", &fx, &c);
    int64_t x[3] = {0};
    fe_arraydesc dx = {x, {3}, {8}};
    int64_t slots[2] = {(int64_t)(intptr_t)&dx, 0};
    rt_error err = {0};
    cr_assert_eq(fn(slots, &err), RT_ERR_ZERO_DIVISION);
    cr_expect_eq(err.kind, RT_ERR_ZERO_DIVISION);
    cr_expect_gt(err.line, 0);
    slots[1] = -2;
    memset(&err, 0, sizeof err);
    cr_assert_eq(fn(slots, &err), 0);
    cr_expect(x[0] == 0 && x[1] == -1 && x[2] == -1, "Python floor division: %lld %lld %lld",
              (long long)x[0], (long long)x[1], (long long)x[2]);
    free(c.ir);
    jit_host_remove(h, c.handle);
    jit_host_free(h);
    fx_free(&fx);
}

Test(jit, removed_code_can_be_compiled_again)
{
    jit_host *h = host();
    for (int round = 0; round < 3; round++) {
        fx_fixture fx;
        jit_compiled c;
        compile_fixture(h, "saxpy", &fx, &c);
        free(c.ir);
        jit_host_remove(h, c.handle); /* frees the symbol "entry" for the next round */
        fx_free(&fx);
    }
    jit_host_free(h);
}
