/* test_round.c - round(x, ndigits): the runtime's C (runtime/round.c)
 * against values CPython gave, and the GPU's IR (jit/gpu_round.c), run on
 * this host through the JIT, against the C on a million inputs. */
#include "gpu_ir.h"
#include "jit.h"
#include "rt.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static uint64_t bits_of(double x)
{
    uint64_t b;
    memcpy(&b, &x, 8);
    return b;
}

static double double_of(uint64_t b)
{
    double x;
    memcpy(&x, &b, 8);
    return x;
}

/* {x, ndigits, round(x, ndigits)} as CPython 3.11 gives them (an
 * OverflowError as +inf), bit patterns. */
static const struct {
    uint64_t x;
    int64_t n;
    uint64_t r;
} cpython[] = {
    {0x4005666666666666ull, 2, 0x40055c28f5c28f5cull}, /* round(2.675, 2) = 2.67 */
    {0x3ff0147ae147ae14ull, 2, 0x3ff0000000000000ull}, /* round(1.005, 2) = 1.0 */
    {0x3fc0000000000000ull, 2, 0x3fbeb851eb851eb8ull}, /* round(0.125, 2) = 0.12 */
    {0x3fd8000000000000ull, 2, 0x3fd851eb851eb852ull}, /* round(0.375, 2) = 0.38 */
    {0x4004000000000000ull, 0, 0x4000000000000000ull}, /* round(2.5, 0) = 2.0 */
    {0xc004000000000000ull, 0, 0xc000000000000000ull}, /* round(-2.5, 0) = -2.0 */
    {0x3fe0000000000000ull, 0, 0x0000000000000000ull}, /* round(0.5, 0) = 0.0 */
    {0xbfe0000000000000ull, 0, 0x8000000000000000ull}, /* round(-0.5, 0) = -0.0 */
    {0x3ff8000000000000ull, 0, 0x4000000000000000ull}, /* round(1.5, 0) = 2.0 */
    {0x0000000000000001ull, 323, 0x0000000000000000ull}, /* round(5e-324, 323) = 0.0 */
    {0x0000000000000001ull, 322, 0x0000000000000000ull}, /* round(5e-324, 322) = 0.0 */
    {0x00000000000007e8ull, 321, 0x00000000000007e8ull}, /* round(1e-320, 321) = 1e-320 */
    {0x0010000000000000ull, 308, 0x000e61acf033d1a4ull}, /* round(2.2250738585072014e-308, 308) = 2e-308 */
    {0x7fefffffffffffffull, -307, 0x7ff0000000000000ull}, /* round(1.7976931348623157e+308, -307) = inf */
    {0x7fefffffffffffffull, -300, 0x7feffffffe8c42f7ull}, /* round(1.7976931348623157e+308, -300) = 1.79769313e+308 */
    {0x40fe240c9fbe76c9ull, -2, 0x40fe26c000000000ull}, /* round(123456.789, -2) = 123500.0 */
    {0x40fe240c9fbe76c9ull, -5, 0x40f86a0000000000ull}, /* round(123456.789, -5) = 100000.0 */
    {0x40fe240c9fbe76c9ull, -6, 0x0000000000000000ull}, /* round(123456.789, -6) = 0.0 */
    {0x4340000000000000ull, -1, 0x433ffffffffffffeull}, /* round(9007199254740992.0, -1) = 9007199254740990.0 */
    {0x4480f0cf064dd592ull, -22, 0x4480f0cf064dd592ull}, /* round(1e+22, -22) = 1e+22 */
    {0x44b52d02c7e14af6ull, -23, 0x44b52d02c7e14af6ull}, /* round(1e+23, -23) = 1e+23 */
    {0x44b52d02c7e14af6ull, -22, 0x44b52d02c7e14af6ull}, /* round(1e+23, -22) = 1e+23 */
    {0x3fb999999999999aull, 1, 0x3fb999999999999aull}, /* round(0.1, 1) = 0.1 */
    {0x3fb999999999999aull, 17, 0x3fb999999999999aull}, /* round(0.1, 17) = 0.1 */
    {0x3fb999999999999aull, 30, 0x3fb999999999999aull}, /* round(0.1, 30) = 0.1 */
    {0x8000000000000000ull, 3, 0x8000000000000000ull}, /* round(-0.0, 3) = -0.0 */
    {0xbfd999999999999aull, 0, 0x8000000000000000ull}, /* round(-0.4, 0) = -0.0 */
    {0x4011666666666666ull, 1, 0x4011333333333333ull}, /* round(4.35, 1) = 4.3 */
    {0x3fd23d70a3d70a3dull, 2, 0x3fd1eb851eb851ecull}, /* round(0.285, 2) = 0.28 */
    {0x3ee4f8b588e368f1ull, 5, 0x3ee4f8b588e368f1ull}, /* round(1e-05, 5) = 1e-05 */
    {0x3ed4f8b588e368f1ull, 5, 0x3ee4f8b588e368f1ull}, /* round(5e-06, 5) = 1e-05 */
    {0x3eef75104d551d69ull, 5, 0x3ef4f8b588e368f1ull}, /* round(1.5e-05, 5) = 2e-05 */
    {0x3efa36e2eb1c432dull, 5, 0x3eff75104d551d69ull}, /* round(2.5e-05, 5) = 3e-05 */
    {0x43e56a95319d63e1ull, -19, 0x43e158e460913d00ull}, /* round(1.2345678901234567e+19, -19) = 1e+19 */
    {0x400921f9f01b866eull, 324, 0x400921f9f01b866eull}, /* round(3.14159, 324) = 3.14159 */
    {0x400921f9f01b866eull, -309, 0x0000000000000000ull}, /* round(3.14159, -309) = 0.0 */
    {0xce7dd6377687a66eull, -57, 0xce7dd6377687a7afull}, /* round(-1.2870369598756508e+70, -57) = -1.2870369598757e+70 */
    {0x17d39903237751aaull, 16, 0x0000000000000000ull}, /* round(6.711629867786572e-194, 16) = 0.0 */
    {0x3b5b3a2880b65386ull, 12, 0x0000000000000000ull}, /* round(9.008718345377855e-23, 12) = 0.0 */
    {0x77db7dff8de4ab47ull, 58, 0x77db7dff8de4ab47ull}, /* round(2.2693701112688137e+269, 58) = 2.2693701112688137e+269 */
    {0xda0ba5332b5ebaa0ull, 102, 0xda0ba5332b5ebaa0ull}, /* round(-5.848031529177711e+125, 102) = -5.848031529177711e+125 */
    {0x158f0c42283b73a6ull, -278, 0x0000000000000000ull}, /* round(7.736507935310993e-205, -278) = 0.0 */
    {0x10f352371c670ea9ull, 62, 0x0000000000000000ull}, /* round(5.097489351440805e-227, 62) = 0.0 */
    {0x5f800c46ca22e4c7ull, -32, 0x5f800c46ca22e4c7ull}, /* round(1.050624514162585e+152, -32) = 1.050624514162585e+152 */
    {0x564d5d863478442bull, 101, 0x564d5d863478442bull}, /* round(5.387947323691425e+107, 101) = 5.387947323691425e+107 */
    {0x8b3a28c6e3bb41b3ull, -116, 0x8000000000000000ull}, /* round(-1.3937649644004988e-254, -116) = -0.0 */
    {0xa3fdd9da6583d614ull, -286, 0x8000000000000000ull}, /* round(-2.566851121762725e-135, -286) = -0.0 */
    {0x5ab9fb6233115519ull, 91, 0x5ab9fb6233115519ull}, /* round(1.1256158269510453e+129, 91) = 1.1256158269510453e+129 */
    {0xf2a9fda80e06acd4ull, 173, 0xf2a9fda80e06acd4ull}, /* round(-2.2183338666757897e+244, 173) = -2.2183338666757897e+244 */
    {0x03017f06239edd3aull, 104, 0x0000000000000000ull}, /* round(3.4243462167721025e-294, 104) = 0.0 */
    {0x74054367bc79ce03ull, 281, 0x74054367bc79ce03ull}, /* round(7.611970657970636e+250, 281) = 7.611970657970636e+250 */
    {0x0f848b6500fded65ull, -123, 0x0000000000000000ull}, /* round(6.461437742476504e-234, -123) = 0.0 */
    {0x010e6b7f548914efull, -194, 0x0000000000000000ull}, /* round(1.3862205481258278e-303, -194) = 0.0 */
    {0x7575cccd8a2e547eull, 182, 0x7575cccd8a2e547eull}, /* round(6.546558064507447e+257, 182) = 6.546558064507447e+257 */
    {0xc957590615b7d95full, 220, 0xc957590615b7d95full}, /* round(-2.0826888143068783e+45, 220) = -2.0826888143068783e+45 */
    {0x995dd032ebc1d3d2ull, -260, 0x8000000000000000ull}, /* round(-1.7129804722320792e-186, -260) = -0.0 */
    {0x1898d89e65ec29f8ull, 263, 0x1898d89e65ec29f8ull}, /* round(3.485315906439744e-190, 263) = 3.485315906439744e-190 */
    {0x161649d525362104ull, -275, 0x0000000000000000ull}, /* round(2.8435572936537176e-202, -275) = 0.0 */
    {0x470c3ac8451e5c33ull, -56, 0x0000000000000000ull}, /* round(1.8322069852457334e+34, -56) = 0.0 */
    {0x7f585b1abca4537full, -206, 0x7f585b1abca4537full}, /* round(2.6723872300719888e+305, -206) = 2.6723872300719888e+305 */
    {0xda4cc8bcde608174ull, -88, 0xda4cc8bcde608174ull}, /* round(-9.742296168241931e+126, -88) = -9.742296168241931e+126 */
    {0x4e396c962967c63dull, 44, 0x4e396c962967c63dull}, /* round(6.854341671357318e+68, 44) = 6.854341671357318e+68 */
    {0x5649b83bd87d8e18ull, 25, 0x5649b83bd87d8e18ull}, /* round(4.71904095116877e+107, 25) = 4.71904095116877e+107 */
    {0xee98bbc01c26b9c0ull, 132, 0xee98bbc01c26b9c0ull}, /* round(-5.721904510757807e+224, 132) = -5.721904510757807e+224 */
    {0x337a510a35c490faull, 258, 0x337a510a35c490faull}, /* round(1.0235522978282765e-60, 258) = 1.0235522978282765e-60 */
    {0x8259d65dbee62671ull, 292, 0x8000000000000000ull}, /* round(-2.4691789313786155e-297, 292) = -0.0 */
    {0x8014267d54267aceull, -216, 0x8000000000000000ull}, /* round(-2.802251045188189e-308, -216) = -0.0 */
    {0x9c60dbf036a32a5dull, -54, 0x8000000000000000ull}, /* round(-5.453153842989757e-172, -54) = -0.0 */
    {0x68480de353202a75ull, -16, 0x68480de353202a75ull}, /* round(2.1949217399473442e+194, -16) = 2.1949217399473442e+194 */
    {0x24772cdaa127941dull, 199, 0x24772cdaa127941dull}, /* round(5.101590819952654e-133, 199) = 5.101590819952654e-133 */
    {0x070f9ad4c8bab293ull, 60, 0x0000000000000000ull}, /* round(1.141056480972133e-274, 60) = 0.0 */
    {0xc7bc5266c7dd5a6eull, 179, 0xc7bc5266c7dd5a6eull}, /* round(-3.7646236865066923e+37, 179) = -3.7646236865066923e+37 */
    {0x5acf306758989c77ull, 249, 0x5acf306758989c77ull}, /* round(2.7024065127528297e+129, 249) = 2.7024065127528297e+129 */
    {0x887bde19bcd473b2ull, -94, 0x8000000000000000ull}, /* round(-8.440013237300387e-268, -94) = -0.0 */
    {0xfb66cd5e1884b5ffull, 192, 0xfb66cd5e1884b5ffull}, /* round(-2.7125825828532312e+286, 192) = -2.7125825828532312e+286 */
    {0xfa59010e5f7aecc4ull, -188, 0xfa59010e5f7aecc4ull}, /* round(-2.2693821713581163e+281, -188) = -2.2693821713581163e+281 */
};

Test(round, the_runtime_gives_cpythons_values)
{
    for (size_t i = 0; i < sizeof cpython / sizeof cpython[0]; i++) {
        double x = double_of(cpython[i].x), want = double_of(cpython[i].r);
        double got = pyacc_rt_round_digits(x, cpython[i].n);
        if (isinf(want) && isfinite(x)) /* CPython raised: the caller raises on an infinity */
            cr_expect(isinf(got), "round(%.17g, %lld) = %.17g, not an overflow", x, (long long)cpython[i].n, got);
        else
            cr_expect_eq(bits_of(got), bits_of(want), "round(%.17g, %lld) = %.17g, CPython %.17g", x,
                         (long long)cpython[i].n, got, want);
    }
}

/* x of every kind round() finds hard, from a 64-bit random word. */
static double pick_x(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t r = *s ^ (*s >> 29);
    switch (r % 4) {
    case 0: return double_of(r * 0x9e3779b97f4a7c15ull); /* any bit pattern, NaNs included */
    case 1: return ((double)(int64_t)(r >> 20) + 0.5) / pow(10.0, (double)(r % 23)); /* near decimal ties */
    case 2: return (double)(int64_t)(r >> 8);
    default: return double_of((r >> 12) | (r % 3 == 0 ? 0 : 0x0010000000000000ull)); /* subnormals, tiny */
    }
}

typedef double (*round_fn)(double, int64_t);

Test(round, the_gpus_ir_run_on_the_host_gives_what_the_runtime_gives)
{
    char err[512];
    jit_host *h = jit_host_create(NULL, 0, err, sizeof err);
    cr_assert_not_null(h, "%s", err);
    jit_ctx *ctx = jit_ctx_new();
    LLVMContextRef C = jit_ctx_llvm(ctx);
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("round", C);
    LLVMTypeRef dbl = LLVMDoubleTypeInContext(C), i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef ptys[2] = {dbl, i64};
    LLVMTypeRef fty = LLVMFunctionType(dbl, ptys, 2, 0);
    LLVMValueRef inner = LLVMAddFunction(m, "pyacc_rt_round_digits", fty);
    cr_assert_eq(jit_gpu_round_digits(m, inner), 0);
    /* the definition is internal: an entry calls it */
    LLVMValueRef entry = LLVMAddFunction(m, "round_entry", fty);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, entry, "entry"));
    LLVMValueRef args[2] = {LLVMGetParam(entry, 0), LLVMGetParam(entry, 1)};
    LLVMBuildRet(B, LLVMBuildCall2(B, fty, inner, args, 2, ""));
    LLVMDisposeBuilder(B);
    jit_options opt = {0};
    jit_compiled c;
    cr_assert_eq(jit_host_add(h, ctx, m, "round_entry", &opt, &c, err, sizeof err), 0, "%s", err);
    round_fn ir = (round_fn)c.entry;
    uint64_t s = 12345;
    int mismatches = 0;
    for (int i = 0; i < 1000000; i++) {
        double x = pick_x(&s);
        int64_t n = (int64_t)(s >> 40) % 661 - 330;
        if (i % 2)
            n = (int64_t)(s >> 40) % 51 - 25;
        double a = ir(x, n), b = pyacc_rt_round_digits(x, n);
        if (bits_of(a) != bits_of(b) && mismatches++ < 5)
            cr_log_error("round(%.17g, %lld): IR %.17g, C %.17g", x, (long long)n, a, b);
    }
    cr_expect_eq(mismatches, 0, "%d of a million differ", mismatches);
    for (size_t i = 0; i < sizeof cpython / sizeof cpython[0]; i++) {
        double x = double_of(cpython[i].x);
        cr_expect_eq(bits_of(ir(x, cpython[i].n)), bits_of(pyacc_rt_round_digits(x, cpython[i].n)),
                     "round(%.17g, %lld)", x, (long long)cpython[i].n);
    }
    jit_host_remove(h, c.handle);
    jit_host_free(h);
    jit_ctx_free(ctx);
}
