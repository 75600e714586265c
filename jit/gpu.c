/* gpu.c - a region's module mapped onto an NVIDIA GPU.
 *
 * The frontend's module is target-neutral: an entry function that calls
 * the marker `pyacc.parallel_loop(body, ctx, n, ...)` for each parallel
 * loop, the loop bodies outlined as functions body(ctx, b, e, tid).  Here
 * it becomes two modules:
 *   - a device module holding the bodies, each behind a kernel that walks
 *     the n iterations over the grid's threads (a grid-stride loop, so that
 *     neighbouring threads take neighbouring iterations and memory
 *     accesses coalesce), with the runtime's error call and the math the
 *     bodies use in device form (libdevice); a body holding lane loops
 *     (loop vector/worker inside it) takes a block per gang instead, its
 *     first thread running the gang's code (gpu_lanes.c);
 *   - the host module: the entry, each marker replaced by a call of
 *     pyacc_rt_gpu_loop(info, ctx, n, slots, ..., walk), which moves ctx
 *     and the data it points to and launches the kernel over `walk`
 *     iterations (n, or the frontend's padded space: frontend/align.c)
 *     (runtime/gpu.c); `info` is a global the caller binds to the loaded
 *     kernel.
 * A region the GPU cannot run (its ctx holds pointers the launch cannot
 * move, or its bodies call something with no device form) is refused with
 * the reason, and runs on the host.
 */
#include "jit.h"
#include "gpu_ir.h"

#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LANES_MAX_REGISTERS 128

static int refuse(jit_gpu_parts *out, const char *fmt, const char *what)
{
    snprintf(out->why, sizeof out->why, fmt, what);
    return 1;
}

/* ------------------------------------------------------ device module */

/* The math the frontend emits, and libdevice's name for it. */
static const struct {
    const char *name;
    const char *nv;
} device_math[] = {
    {"sin", "__nv_sin"},     {"cos", "__nv_cos"},       {"tan", "__nv_tan"},     {"asin", "__nv_asin"},
    {"acos", "__nv_acos"},   {"atan", "__nv_atan"},     {"atan2", "__nv_atan2"}, {"sinh", "__nv_sinh"},
    {"cosh", "__nv_cosh"},   {"tanh", "__nv_tanh"},     {"exp", "__nv_exp"},     {"expm1", "__nv_expm1"},
    {"log", "__nv_log"},     {"log1p", "__nv_log1p"},   {"log2", "__nv_log2"},   {"log10", "__nv_log10"},
    {"pow", "__nv_pow"},     {"hypot", "__nv_hypot"},   {"erf", "__nv_erf"},     {"erfc", "__nv_erfc"},
    {"fmod", "__nv_fmod"},   {"cbrt", "__nv_cbrt"},     {"exp2", "__nv_exp2"},   {"round", "__nv_round"},
    {"sinf", "__nv_sinf"},   {"cosf", "__nv_cosf"},     {"tanf", "__nv_tanf"},   {"asinf", "__nv_asinf"},
    {"acosf", "__nv_acosf"}, {"atanf", "__nv_atanf"},   {"atan2f", "__nv_atan2f"}, {"sinhf", "__nv_sinhf"},
    {"coshf", "__nv_coshf"}, {"tanhf", "__nv_tanhf"},   {"expf", "__nv_expf"},   {"expm1f", "__nv_expm1f"},
    {"logf", "__nv_logf"},   {"log1pf", "__nv_log1pf"}, {"log2f", "__nv_log2f"}, {"log10f", "__nv_log10f"},
    {"powf", "__nv_powf"},   {"hypotf", "__nv_hypotf"}, {"erff", "__nv_erff"},   {"erfcf", "__nv_erfcf"},
    {"fmodf", "__nv_fmodf"}, {"roundf", "__nv_roundf"},
    /* intrinsics the NVPTX back end does not lower itself */
    {"llvm.sin.f64", "__nv_sin"},     {"llvm.cos.f64", "__nv_cos"},     {"llvm.exp.f64", "__nv_exp"},
    {"llvm.exp2.f64", "__nv_exp2"},   {"llvm.log.f64", "__nv_log"},     {"llvm.log2.f64", "__nv_log2"},
    {"llvm.log10.f64", "__nv_log10"}, {"llvm.pow.f64", "__nv_pow"},     {"llvm.round.f64", "__nv_round"},
    {"llvm.sin.f32", "__nv_sinf"},    {"llvm.cos.f32", "__nv_cosf"},    {"llvm.exp.f32", "__nv_expf"},
    {"llvm.exp2.f32", "__nv_exp2f"},  {"llvm.log.f32", "__nv_logf"},    {"llvm.log2.f32", "__nv_log2f"},
    {"llvm.log10.f32", "__nv_log10f"}, {"llvm.pow.f32", "__nv_powf"},   {"llvm.round.f32", "__nv_roundf"},
};

/* Intrinsics the NVPTX back end lowers itself. */
static int native_intrinsic(const char *name)
{
    static const char *const ok[] = {"llvm.sqrt.",     "llvm.fabs.",   "llvm.floor.",   "llvm.ceil.",
                                     "llvm.trunc.",    "llvm.rint.",   "llvm.roundeven.", "llvm.fma.",
                                     "llvm.fmuladd.",  "llvm.minnum.", "llvm.maxnum.",  "llvm.copysign.",
                                     "llvm.smin.",     "llvm.smax.",   "llvm.umin.",    "llvm.umax.",
                                     "llvm.abs.",      "llvm.expect.", "llvm.lifetime.", "llvm.memcpy.",
                                     "llvm.memset.",   "llvm.sadd.with.overflow.", "llvm.ssub.with.overflow.",
                                     "llvm.smul.with.overflow.", "llvm.assume", "llvm.nvvm.", "llvm.ctpop.",
                                     "llvm.ctlz.",     "llvm.cttz.",   "llvm.fshl.",    "llvm.fshr.",
                                     "llvm.fptosi.sat.", "llvm.fptoui.sat.", "llvm.umul.with.overflow.",
                                     "llvm.uadd.with.overflow.", "llvm.usub.with.overflow.", "llvm.bitreverse.",
                                     "llvm.bswap."};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strncmp(name, ok[i], strlen(ok[i])) == 0)
            return 1;
    return 0;
}

/* Points every use of the declaration f at libdevice's function `nv`. */
static void to_libdevice(LLVMModuleRef m, LLVMValueRef f, const char *nv)
{
    LLVMTypeRef fty = LLVMGlobalGetValueType(f);
    LLVMValueRef g = LLVMGetNamedFunction(m, nv);
    if (!g)
        g = LLVMAddFunction(m, nv, fty);
    LLVMReplaceAllUsesWith(f, g);
    LLVMDeleteFunction(f);
}

/* The device form of pyacc_rt_error: the first error of the launch wins
 * (a compare-and-swap on its kind), then its fields are filled in.  The
 * record's layout is rt.h's rt_error. */
static void define_rt_error(LLVMModuleRef m, LLVMValueRef f)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C), i8 = LLVMInt8TypeInContext(C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, f, "entry");
    LLVMBasicBlockRef fill = LLVMAppendBasicBlockInContext(C, f, "fill");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, f, "done");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef err = LLVMGetParam(f, 0);
    LLVMValueRef cx = LLVMBuildAtomicCmpXchg(B, err, LLVMConstInt(i32, 0, 0), LLVMGetParam(f, 1),
                                             LLVMAtomicOrderingMonotonic, LLVMAtomicOrderingMonotonic, 0);
    LLVMBuildCondBr(B, LLVMBuildExtractValue(B, cx, 1, ""), fill, done);
    LLVMPositionBuilderAtEnd(B, fill);
    static const int32_t at[] = {16, 4, 8, 12}; /* file, line, col, end_col */
    for (int i = 0; i < 4; i++) {
        LLVMValueRef off = LLVMConstInt(i64, (unsigned long long)at[i], 0);
        LLVMBuildStore(B, LLVMGetParam(f, (unsigned)(2 + i)), LLVMBuildInBoundsGEP2(B, i8, err, &off, 1, ""));
    }
    for (int i = 0; i < 2; i++) {
        LLVMValueRef off = LLVMConstInt(i64, (unsigned long long)(24 + 8 * i), 0);
        LLVMBuildStore(B, LLVMGetParam(f, (unsigned)(6 + i)), LLVMBuildInBoundsGEP2(B, i8, err, &off, 1, ""));
    }
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
    LLVMBuildRet(B, LLVMGetParam(f, 1));
    LLVMDisposeBuilder(B);
}

/* The device form of pyacc_rt_int_truediv(a, b): Python's int / int, the
 * exact quotient rounded once (b is not 0: the caller raised before).
 * Operands of at most 53 bits are doubles exactly, and one division
 * rounds their quotient once; wider ones take runtime/pymath.c's way: the
 * dividend scaled so the integer quotient has 56 bits or more, divided
 * bit by bit (the GPU has no 128-bit division), rounded to 53 bits to
 * nearest-even with the remainder as a sticky bit, then scaled back. */
static void define_int_truediv(LLVMModuleRef m, LLVMValueRef f)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMTypeRef i1 = LLVMInt1TypeInContext(C), i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef i128 = LLVMIntTypeInContext(C, 128), dbl = LLVMDoubleTypeInContext(C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, f, "entry");
    LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(C, f, "fast");
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(C, f, "slow");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(C, f, "div");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, f, "round");
    LLVMValueRef a = LLVMGetParam(f, 0), b = LLVMGetParam(f, 1);
#define K64(v) LLVMConstInt(i64, (unsigned long long)(v), 0)
#define K128(v) LLVMConstInt(i128, (unsigned long long)(v), 0)
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef span = K64(1ULL << 54), off = K64(1ULL << 53);
    LLVMValueRef fa = LLVMBuildICmp(B, LLVMIntULE, LLVMBuildAdd(B, a, off, ""), span, "");
    LLVMValueRef fb = LLVMBuildICmp(B, LLVMIntULE, LLVMBuildAdd(B, b, off, ""), span, "");
    LLVMBuildCondBr(B, LLVMBuildAnd(B, fa, fb, ""), fast, slow);
    LLVMPositionBuilderAtEnd(B, fast);
    LLVMBuildRet(B, LLVMBuildFDiv(B, LLVMBuildSIToFP(B, a, dbl, ""), LLVMBuildSIToFP(B, b, dbl, ""), ""));
    /* slow: magnitudes, their bit lengths, the scale */
    LLVMPositionBuilderAtEnd(B, slow);
    LLVMValueRef zero = K64(0);
    LLVMValueRef na = LLVMBuildICmp(B, LLVMIntSLT, a, zero, ""), nb = LLVMBuildICmp(B, LLVMIntSLT, b, zero, "");
    LLVMValueRef ua = LLVMBuildSelect(B, na, LLVMBuildSub(B, zero, a, ""), a, "");
    LLVMValueRef ub = LLVMBuildSelect(B, nb, LLVMBuildSub(B, zero, b, ""), b, "");
    LLVMTypeRef ctz_t[2] = {i64, i1};
    LLVMTypeRef ctlz_ty = LLVMFunctionType(i64, ctz_t, 2, 0);
    LLVMValueRef ctlz = LLVMGetNamedFunction(m, "llvm.ctlz.i64");
    if (!ctlz)
        ctlz = LLVMAddFunction(m, "llvm.ctlz.i64", ctlz_ty);
    LLVMValueRef args_a[2] = {ua, LLVMConstInt(i1, 0, 0)}, args_b[2] = {ub, LLVMConstInt(i1, 0, 0)};
    LLVMValueRef la = LLVMBuildSub(B, K64(64), LLVMBuildCall2(B, ctlz_ty, ctlz, args_a, 2, ""), "");
    LLVMValueRef lb = LLVMBuildSub(B, K64(64), LLVMBuildCall2(B, ctlz_ty, ctlz, args_b, 2, ""), "");
    LLVMValueRef s = LLVMBuildSub(B, LLVMBuildAdd(B, K64(56), lb, ""), la, "");
    s = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntSLT, s, zero, ""), zero, s, "scale");
    LLVMValueRef n = LLVMBuildShl(B, LLVMBuildZExt(B, ua, i128, ""), LLVMBuildZExt(B, s, i128, ""), "");
    LLVMValueRef d = LLVMBuildZExt(B, ub, i128, "");
    LLVMBuildBr(B, loop);
    /* restoring division, a quotient bit an iteration, from the top */
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef i = LLVMBuildPhi(B, i128, "i"), r = LLVMBuildPhi(B, i128, "r"), q = LLVMBuildPhi(B, i128, "q");
    LLVMValueRef bit = LLVMBuildAnd(B, LLVMBuildLShr(B, n, i, ""), K128(1), "");
    LLVMValueRef r2 = LLVMBuildOr(B, LLVMBuildShl(B, r, K128(1), ""), bit, "");
    LLVMValueRef ge = LLVMBuildICmp(B, LLVMIntUGE, r2, d, "");
    LLVMValueRef r3 = LLVMBuildSelect(B, ge, LLVMBuildSub(B, r2, d, ""), r2, "");
    LLVMValueRef q2 = LLVMBuildOr(B, q, LLVMBuildShl(B, LLVMBuildZExt(B, ge, i128, ""), i, ""), "");
    LLVMValueRef i2 = LLVMBuildSub(B, i, K128(1), "");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, i, K128(0), ""), done, loop);
    LLVMValueRef iv[2] = {K128(127), i2}, rv[2] = {K128(0), r3}, qv[2] = {K128(0), q2};
    LLVMBasicBlockRef from[2] = {slow, loop};
    LLVMAddIncoming(i, iv, from, 2);
    LLVMAddIncoming(r, rv, from, 2);
    LLVMAddIncoming(q, qv, from, 2);
    /* round the quotient (56 bits or more) to 53 */
    LLVMPositionBuilderAtEnd(B, done);
    LLVMValueRef qh = LLVMBuildTrunc(B, LLVMBuildLShr(B, q2, K128(64), ""), i64, "");
    LLVMValueRef ql = LLVMBuildTrunc(B, q2, i64, "");
    LLVMValueRef ah[2] = {qh, LLVMConstInt(i1, 0, 0)}, al[2] = {ql, LLVMConstInt(i1, 0, 0)};
    LLVMValueRef zh = LLVMBuildCall2(B, ctlz_ty, ctlz, ah, 2, ""), zl = LLVMBuildCall2(B, ctlz_ty, ctlz, al, 2, "");
    LLVMValueRef lead = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, qh, zero, ""), LLVMBuildAdd(B, K64(64), zl, ""),
                                        zh, "");
    LLVMValueRef extra = LLVMBuildSub(B, LLVMBuildSub(B, K64(128), lead, ""), K64(53), "extra");
    LLVMValueRef ex128 = LLVMBuildZExt(B, extra, i128, "");
    LLVMValueRef rest = LLVMBuildAnd(B, q2, LLVMBuildSub(B, LLVMBuildShl(B, K128(1), ex128, ""), K128(1), ""), "");
    LLVMValueRef half = LLVMBuildShl(B, K128(1), LLVMBuildSub(B, ex128, K128(1), ""), "");
    LLVMValueRef mant = LLVMBuildTrunc(B, LLVMBuildLShr(B, q2, ex128, ""), i64, "");
    LLVMValueRef sticky = LLVMBuildICmp(B, LLVMIntNE, r3, K128(0), "");
    LLVMValueRef odd = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildAnd(B, mant, K64(1), ""), zero, "");
    LLVMValueRef tie = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, rest, half, ""), LLVMBuildOr(B, sticky, odd, ""), "");
    LLVMValueRef up = LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntUGT, rest, half, ""), tie, "");
    mant = LLVMBuildAdd(B, mant, LLVMBuildZExt(B, up, i64, ""), "");
    LLVMTypeRef ld_t[2] = {dbl, i32};
    LLVMTypeRef ld_ty = LLVMFunctionType(dbl, ld_t, 2, 0);
    LLVMValueRef ldexp = LLVMGetNamedFunction(m, "__nv_ldexp");
    if (!ldexp)
        ldexp = LLVMAddFunction(m, "__nv_ldexp", ld_ty);
    LLVMValueRef largs[2] = {LLVMBuildUIToFP(B, mant, dbl, ""), LLVMBuildTrunc(B, LLVMBuildSub(B, extra, s, ""), i32, "")};
    LLVMValueRef res = LLVMBuildCall2(B, ld_ty, ldexp, largs, 2, "");
    LLVMBuildRet(B, LLVMBuildSelect(B, LLVMBuildXor(B, na, nb, ""), LLVMBuildFNeg(B, res, ""), res, ""));
#undef K64
#undef K128
    LLVMDisposeBuilder(B);
}

/* ------------------------------------------------------------ kernels */

/* The block's partial result of field f, from each thread's `mine`,
 * written by the block's thread 0 to partials[1 + block]. */
static void block_reduce(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef kfn, LLVMValueRef ctx,
                         const jit_gpu_kernel *k, int f, LLVMValueRef mine, LLVMValueRef lin, LLVMValueRef bsize)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), ptr = LLVMPointerTypeInContext(C, 0);
    uint8_t kind = k->kinds[f], aux = k->kinds[k->nfields + f];
    LLVMTypeRef t = jit_ir_partial_type(C, kind, aux);
    LLVMBasicBlockRef after;
    LLVMValueRef w = jit_ir_block_lead(m, B, kfn, kind, aux, mine, lin, bsize, &after);
    LLVMValueRef out = LLVMBuildLoad2(B, ptr, jit_ir_byte_gep(B, C, ctx, k->offsets[f]), "");
    LLVMValueRef at = LLVMBuildAdd(B, LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ctaid.x"), i64, ""),
                                   LLVMConstInt(i64, 1, 0), "");
    LLVMBuildStore(B, w, LLVMBuildInBoundsGEP2(B, t, out, &at, 1, ""));
    jit_ir_lead_done(B, after);
}


/* ------------------------------------------- sums in shared memory
 *
 * An array reduction by + (a histogram) updates its array with global
 * atomics on a GPU, every thread of the grid on the same few elements.
 * When the array spans at most JIT_GPU_PRIVATE_MAX bytes, a block keeps a
 * copy of its own in shared memory (the launch gives the kernel that many
 * bytes of it), starting at the identity: the body's updates go there, as
 * shared-memory atomics, through the thread's copy of the ctx pointing at
 * it; after the loop the block adds each element it changed to the array
 * with one global atomic.  The runtime and the kernel decide alike from
 * the array's shape and strides (private_span). */
typedef struct private_sum {
    LLVMValueRef use;   /* i1: the copy is in use (the same in the whole block) */
    LLVMValueRef span;  /* its elements */
    LLVMValueRef shared; /* its address (generic) */
    LLVMTypeRef t;      /* an element */
    int field;          /* the array's field */
    uint8_t aux;        /* the reduction's operator and numbers */
} private_sum;

static LLVMValueRef private_mem(LLVMModuleRef m)
{
    LLVMValueRef g = LLVMGetNamedGlobal(m, "pyacc_private");
    if (!g) {
        LLVMTypeRef arr = LLVMArrayType2(LLVMInt8TypeInContext(LLVMGetModuleContext(m)), 0);
        g = LLVMAddGlobalInAddressSpace(m, arr, "pyacc_private", 3); /* the launch's dynamic shared memory */
        LLVMSetLinkage(g, LLVMExternalLinkage);
        LLVMSetAlignment(g, 16);
    }
    return g;
}

/* for (o = lin; o < span; o += bsize) each(o): B left after the loop. */
static LLVMValueRef block_loop_begin(LLVMBuilderRef B, LLVMValueRef fn, LLVMValueRef lin, LLVMBasicBlockRef *head,
                                     LLVMBasicBlockRef *exit, LLVMValueRef span)
{
    LLVMContextRef C = LLVMGetTypeContext(LLVMTypeOf(lin));
    LLVMBasicBlockRef from = LLVMGetInsertBlock(B);
    *head = LLVMAppendBasicBlockInContext(C, fn, "blk.loop");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(C, fn, "blk.body");
    *exit = LLVMAppendBasicBlockInContext(C, fn, "blk.done");
    LLVMBuildBr(B, *head);
    LLVMPositionBuilderAtEnd(B, *head);
    LLVMValueRef o = LLVMBuildPhi(B, LLVMTypeOf(lin), "o");
    LLVMAddIncoming(o, &lin, &from, 1);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, o, span, ""), body, *exit);
    LLVMPositionBuilderAtEnd(B, body);
    return o;
}

static void block_loop_end(LLVMBuilderRef B, LLVMValueRef o, LLVMValueRef bsize, LLVMBasicBlockRef head,
                           LLVMBasicBlockRef exit)
{
    LLVMValueRef next = LLVMBuildAdd(B, o, bsize, "");
    LLVMBasicBlockRef at = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, head);
    LLVMAddIncoming(o, &next, &at, 1);
    LLVMPositionBuilderAtEnd(B, exit);
}

static void private_begin(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, const jit_gpu_kernel *k,
                          LLVMValueRef lctx, LLVMValueRef lin, LLVMValueRef bsize, private_sum *ps)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), ptr = LLVMPointerTypeInContext(C, 0);
    int ared = k->private_field - 1, af = k->ndims[ared], nd = k->ndims[af];
    int es = k->kinds[af] & CTX_SIZE_MASK;
    ps->field = af;
    ps->aux = k->kinds[k->nfields + ared];
    ps->t = jit_ir_partial_type(C, k->kinds[ared], ps->aux);
    /* the span of its elements, as runtime/gpu.c's private_span reckons it */
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0), one = LLVMConstInt(i64, 1, 0);
    LLVMValueRef span = one, ok = LLVMConstInt(LLVMInt1TypeInContext(C), 1, 0);
    for (int d = 0; d < nd; d++) {
        LLVMValueRef sh = LLVMBuildLoad2(B, i64, jit_ir_byte_gep(B, C, lctx, k->offsets[af] + 8 + 8 * d), "");
        LLVMValueRef st = LLVMBuildLoad2(B, i64, jit_ir_byte_gep(B, C, lctx, k->offsets[af] + 8 + 8 * (nd + d)), "");
        ok = LLVMBuildAnd(B, ok, LLVMBuildICmp(B, LLVMIntSGT, sh, zero, ""), "");
        ok = LLVMBuildAnd(B, ok, LLVMBuildICmp(B, LLVMIntSGE, st, zero, ""), "");
        LLVMValueRef near = LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntSLE, sh, one, ""),
                                        LLVMBuildICmp(B, LLVMIntSLE, st, LLVMConstInt(i64, 1 << 15, 0), ""), "");
        ok = LLVMBuildAnd(B, ok, near, ""); /* no overflow below */
        span = LLVMBuildAdd(B, span, LLVMBuildMul(B, LLVMBuildSub(B, sh, one, ""), st, ""), "");
    }
    LLVMValueRef fits = LLVMBuildICmp(B, LLVMIntULE, span, LLVMConstInt(i64, JIT_GPU_PRIVATE_MAX / (unsigned)es, 0), "");
    ps->use = LLVMBuildAnd(B, ok, fits, "private");
    ps->span = LLVMBuildSelect(B, ps->use, span, zero, "");
    ps->shared = jit_ir_generic(B, private_mem(m));
    LLVMValueRef o;
    LLVMBasicBlockRef head, exit;
    o = block_loop_begin(B, fn, lin, &head, &exit, ps->span);
    LLVMBuildStore(B, jit_ir_identity(k->kinds[ared], ps->aux, ps->t), LLVMBuildInBoundsGEP2(B, ps->t, ps->shared, &o, 1, ""));
    block_loop_end(B, o, bsize, head, exit);
    jit_ir_barrier(m, B);
    /* the body's updates go to the block's copy */
    LLVMValueRef dp = jit_ir_byte_gep(B, C, lctx, k->offsets[af]);
    LLVMValueRef data = LLVMBuildLoad2(B, ptr, dp, "");
    LLVMBuildStore(B, LLVMBuildSelect(B, ps->use, ps->shared, data, ""), dp);
}

static void private_end(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, LLVMValueRef ctx, int64_t data_off,
                        const private_sum *ps, LLVMValueRef lin, LLVMValueRef bsize)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    jit_ir_barrier(m, B); /* the block's updates are all in */
    /* the array's own data: the kernel's ctx still points there */
    LLVMValueRef data = LLVMBuildLoad2(B, ptr, jit_ir_byte_gep(B, C, ctx, data_off), "");
    LLVMBasicBlockRef head, exit;
    LLVMValueRef o = block_loop_begin(B, fn, lin, &head, &exit, ps->span);
    LLVMValueRef v = LLVMBuildLoad2(B, ps->t, LLVMBuildInBoundsGEP2(B, ps->t, ps->shared, &o, 1, ""), "");
    LLVMTypeKind tk = LLVMGetTypeKind(ps->t);
    int isf = tk == LLVMDoubleTypeKind || tk == LLVMFloatTypeKind;
    unsigned bits = tk == LLVMDoubleTypeKind ? 64 : tk == LLVMFloatTypeKind ? 32 : LLVMGetIntTypeWidth(ps->t);
    LLVMTypeRef it = LLVMIntTypeInContext(C, bits);
    LLVMValueRef id = jit_ir_identity((uint8_t)(bits / 8), ps->aux, ps->t);
    /* elements no update reached (still the identity, bit for bit) are left alone */
    LLVMValueRef changed = LLVMBuildICmp(B, LLVMIntNE, LLVMBuildBitCast(B, v, it, ""), LLVMBuildBitCast(B, id, it, ""), "");
    LLVMBasicBlockRef add = LLVMAppendBasicBlockInContext(C, fn, "private.add");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(C, fn, "private.next");
    LLVMBuildCondBr(B, changed, add, next);
    LLVMPositionBuilderAtEnd(B, add);
    LLVMBuildAtomicRMW(B, isf ? LLVMAtomicRMWBinOpFAdd : LLVMAtomicRMWBinOpAdd,
                       LLVMBuildInBoundsGEP2(B, ps->t, data, &o, 1, ""), v, LLVMAtomicOrderingMonotonic, 0);
    LLVMBuildBr(B, next);
    LLVMPositionBuilderAtEnd(B, next);
    block_loop_end(B, o, bsize, head, exit);
}

/* Bytes [from, to) of src to dst (both 16-byte aligned), in the widest
 * loads and stores their offsets allow.  Not a memcpy: once SROA has
 * forwarded a ctx field to the kernel's by-value parameter, a memcpy from
 * it makes NVPTX copy the whole parameter to local memory, a byte at a
 * time, in every thread before its first iteration. */
static void copy_aligned(LLVMBuilderRef B, LLVMValueRef dst, LLVMValueRef src, int64_t from, int64_t to)
{
    LLVMContextRef C = LLVMGetTypeContext(LLVMTypeOf(dst));
    while (from < to) {
        int w = 8;
        while (w > 1 && (from % w || from + w > to))
            w /= 2;
        LLVMTypeRef t = LLVMIntTypeInContext(C, (unsigned)w * 8);
        LLVMValueRef v = LLVMBuildLoad2(B, t, jit_ir_byte_gep(B, C, src, from), "");
        LLVMSetAlignment(v, (unsigned)w);
        LLVMSetAlignment(LLVMBuildStore(B, v, jit_ir_byte_gep(B, C, dst, from)), (unsigned)w);
        from += w;
    }
}

/* kernel(ctx, n): iterations k = thread, thread + threads, ... < n, each
 * run as body(lctx, k, k + 1, 0) on the thread's own copy lctx of ctx,
 * whose partial results point at the thread's accumulators (registers,
 * once optimised), starting at the identity the launch put in
 * partials[0].  Then the block's accumulators are combined (block_reduce),
 * and the thread that ran the last iteration writes its copy of ctx back,
 * for last values (lastprivate) the body left there.  A body with lane
 * loops (ll, nll) takes a block per iteration instead: k = block, block +
 * blocks, ... run by the block's first thread, the others helping with
 * its lane loops as it posts them. */
static LLVMValueRef make_kernel(LLVMModuleRef m, LLVMValueRef body, const jit_gpu_kernel *k, const jit_lane_loop *ll,
                                int nll, unsigned walk_field)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C), i8 = LLVMInt8TypeInContext(C);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    /* ctx comes by value, in the launch's parameters (no copy of its own);
     * `last` is where the last iteration's plain fields go */
    LLVMTypeRef params[3] = {ptr, i64, ptr};
    LLVMValueRef kfn = LLVMAddFunction(m, k->name, LLVMFunctionType(LLVMVoidTypeInContext(C), params, 3, 0));
    LLVMSetFunctionCallConv(kfn, LLVMPTXKernelCallConv);
    LLVMTypeRef ctx_ty = LLVMArrayType2(i8, (uint64_t)k->ctx_size);
    LLVMAddAttributeAtIndex(kfn, 1, LLVMCreateTypeAttribute(C, LLVMGetEnumAttributeKindForName("byval", 5), ctx_ty));
    LLVMAddAttributeAtIndex(kfn, 1, LLVMCreateEnumAttribute(C, LLVMGetEnumAttributeKindForName("align", 5), 8));
    LLVMValueRef ctx = LLVMGetParam(kfn, 0), n = LLVMGetParam(kfn, 1), lastp = LLVMGetParam(kfn, 2);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, kfn, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(C, kfn, "loop");
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(C, kfn, "run");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, kfn, "done");
    LLVMPositionBuilderAtEnd(B, entry);
    /* a block is vector lanes (x) by workers (y); the iterations go to
     * the grid's threads in the order x, y, block, so that a warp takes
     * neighbouring iterations and its memory accesses coalesce */
    LLVMValueRef lin, bsize;
    jit_ir_block_place(m, B, &lin, &bsize);
    LLVMValueRef block = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ctaid.x"), i64, "");
    LLVMValueRef blocks = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.nctaid.x"), i64, "");
    LLVMValueRef thread = LLVMBuildAdd(B, LLVMBuildMul(B, block, bsize, ""), lin, "thread");
    LLVMValueRef threads = LLVMBuildMul(B, bsize, blocks, "threads");
    LLVMValueRef size = LLVMConstInt(i64, (unsigned long long)k->ctx_size, 0);
    LLVMValueRef lctx = LLVMBuildAlloca(B, LLVMArrayType2(i8, (uint64_t)k->ctx_size), "lctx");
    LLVMSetAlignment(lctx, 16);
    LLVMBuildMemCpy(B, lctx, 16, ctx, 8, size);
    /* the body reads the count it is walked over from its ctx (field 1,
     * the trip count): this walk's, the launch's n.  A thread an iteration
     * walks the padded space the frontend laid out (walk_field, its count:
     * frontend/align.c), so n is that space's: stored there too, so that
     * the body's test of which space it walks folds away */
    LLVMBuildStore(B, n, jit_ir_byte_gep(B, C, lctx, k->offsets[1]));
    if (walk_field && !nll && !k->rows)
        LLVMBuildStore(B, n, jit_ir_byte_gep(B, C, lctx, k->offsets[walk_field]));
    LLVMValueRef acc[JIT_GPU_MAX_FIELDS] = {0};
    for (int f = 0; f < k->nfields; f++) {
        if ((k->kinds[f] & CTX_CLASS_MASK) != CTX_PARTIALS)
            continue;
        LLVMTypeRef t = jit_ir_partial_type(C, k->kinds[f], k->kinds[k->nfields + f]);
        acc[f] = LLVMBuildAlloca(B, t, "acc");
        LLVMBuildStore(B, jit_ir_identity(k->kinds[f], k->kinds[k->nfields + f], t), acc[f]);
        LLVMBuildStore(B, acc[f], jit_ir_byte_gep(B, C, lctx, k->offsets[f]));
    }
    /* an array reduction summed in the block's shared memory */
    private_sum ps = {0};
    if (k->private_field && !nll && !k->rows)
        private_begin(m, B, kfn, k, lctx, lin, bsize, &ps);
    /* with lane loops: the gang's thread walks the blocks' iterations;
     * with rows taking them: every thread of row ty runs iterations
     * block * rows + ty, + blocks * rows, ... */
    LLVMValueRef first = nll ? block : thread, step = nll ? blocks : threads, tx = NULL;
    if (k->rows == JIT_GPU_ROWS_ITERATIONS) {
        LLVMValueRef ty, bx, by;
        jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
        first = LLVMBuildAdd(B, LLVMBuildMul(B, block, by, ""), ty, "row");
        step = LLVMBuildMul(B, blocks, by, "rows");
    }
    LLVMBasicBlockRef from = LLVMGetInsertBlock(B), helpers = NULL;
    if (nll) {
        helpers = LLVMAppendBasicBlockInContext(C, kfn, "helpers");
        from = LLVMAppendBasicBlockInContext(C, kfn, "gang");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, lin, LLVMConstInt(i64, 0, 0), ""), from, helpers);
        LLVMPositionBuilderAtEnd(B, from);
    }
    LLVMBuildBr(B, loop);
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef kk = LLVMBuildPhi(B, i64, "k");
    LLVMBasicBlockRef finish = done;
    if (nll) /* the gang's thread tells the others to stop */
        finish = LLVMAppendBasicBlockInContext(C, kfn, "gang.done");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, kk, n, ""), run, finish);
    LLVMPositionBuilderAtEnd(B, run);
    jit_ir_run_iteration(B, body, lctx, kk);
    LLVMValueRef next = LLVMBuildAdd(B, kk, step, "");
    LLVMBuildBr(B, loop);
    LLVMValueRef inv[2] = {first, next};
    LLVMBasicBlockRef inb[2] = {from, run};
    LLVMAddIncoming(kk, inv, inb, 2);
    if (nll) {
        LLVMPositionBuilderAtEnd(B, finish);
        LLVMBuildStore(B, LLVMConstInt(i32, 0, 0), jit_lane_cmd(m));
        jit_ir_barrier(m, B);
        LLVMBuildBr(B, done);
        /* the helpers: wait for a command, help, meet the gang's thread again */
        LLVMPositionBuilderAtEnd(B, helpers);
        jit_ir_barrier(m, B);
        LLVMValueRef cmd = LLVMBuildLoad2(B, i32, jit_lane_cmd(m), "cmd");
        LLVMValueRef sw = LLVMBuildSwitch(B, cmd, done, (unsigned)nll);
        for (int i = 0; i < nll; i++) {
            LLVMBasicBlockRef help = LLVMAppendBasicBlockInContext(C, kfn, "help");
            LLVMAddCase(sw, LLVMConstInt(i32, (unsigned)(i + 1), 0), help);
            LLVMPositionBuilderAtEnd(B, help);
            LLVMValueRef a[3] = {jit_ir_generic(B, ll[i].sglobal), lin, bsize};
            LLVMBuildCall2(B, LLVMGlobalGetValueType(ll[i].runner), ll[i].runner, a, 3, "");
            jit_ir_barrier(m, B);
            LLVMBuildBr(B, helpers);
        }
    }
    LLVMPositionBuilderAtEnd(B, done);
    /* where the thread's walk stopped: its last iteration, + step (a
     * helper of a gang's block walked none: first) */
    LLVMValueRef kend = kk;
    if (nll) {
        kend = LLVMBuildPhi(B, i64, "k.end");
        LLVMValueRef kv[2] = {kk, first};
        LLVMBasicBlockRef kb[2] = {finish, helpers};
        LLVMAddIncoming(kend, kv, kb, 2);
    }
    if (ps.use)
        private_end(m, B, kfn, ctx, k->offsets[ps.field], &ps, lin, bsize);
    LLVMValueRef zero64 = LLVMConstInt(i64, 0, 0);
    for (int f = 0; f < k->nfields; f++) {
        if (!acc[f])
            continue;
        LLVMTypeRef t = jit_ir_partial_type(C, k->kinds[f], k->kinds[k->nfields + f]);
        LLVMValueRef mine = LLVMBuildLoad2(B, t, acc[f], "");
        if (tx) /* a row's threads hold the same: its first one's counts */
            mine = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntEQ, tx, zero64, ""), mine,
                                   jit_ir_identity(k->kinds[f], k->kinds[k->nfields + f], t), "");
        block_reduce(m, B, kfn, ctx, k, f, mine, lin, bsize);
    }
    /* a reduction's kind: any thread whose copy changed it (each the same
     * byte; the launch's copy of ctx is the one it started from) */
    for (int f = 0; f < k->nfields; f++)
        if (k->kinds[f] == CTX_PLAIN && k->kinds[k->nfields + f] == CTX_ANY) {
            LLVMValueRef now = LLVMBuildLoad2(B, i8, jit_ir_byte_gep(B, C, lctx, k->offsets[f]), "");
            LLVMValueRef was = LLVMBuildLoad2(B, i8, jit_ir_byte_gep(B, C, ctx, k->offsets[f]), "");
            LLVMBasicBlockRef give = LLVMAppendBasicBlockInContext(C, kfn, "any");
            LLVMBasicBlockRef on = LLVMAppendBasicBlockInContext(C, kfn, "any.done");
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, now, was, ""), give, on);
            LLVMPositionBuilderAtEnd(B, give);
            LLVMBuildStore(B, now, jit_ir_byte_gep(B, C, lastp, k->offsets[f]));
            LLVMBuildBr(B, on);
            LLVMPositionBuilderAtEnd(B, on);
        }
    /* last values: the thread that ran iteration n - 1 */
    LLVMBasicBlockRef last = LLVMAppendBasicBlockInContext(C, kfn, "last");
    LLVMBasicBlockRef end = LLVMAppendBasicBlockInContext(C, kfn, "end");
    /* it ran iterations, the last of them n - 1 (no division: with a
     * thread an iteration, a 64-bit remainder here was a good part of a
     * thread's instructions) */
    LLVMValueRef nm1 = LLVMBuildSub(B, n, LLVMConstInt(i64, 1, 0), "");
    LLVMValueRef mine = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntNE, kend, first, ""),
                                     LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildSub(B, kend, step, ""), nm1, ""), "");
    if (nll)
        mine = LLVMBuildAnd(B, mine, LLVMBuildICmp(B, LLVMIntEQ, lin, LLVMConstInt(i64, 0, 0), ""), "");
    if (tx) /* the row's first thread made the body's stores */
        mine = LLVMBuildAnd(B, mine, LLVMBuildICmp(B, LLVMIntEQ, tx, zero64, ""), "");
    LLVMValueRef ran_last = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntSGT, n, LLVMConstInt(i64, 0, 0), ""), mine, "");
    LLVMBuildCondBr(B, ran_last, last, end);
    LLVMPositionBuilderAtEnd(B, last);
    /* only the last values the host reads back (frontend/parallel.c marks
     * them): the other plain fields, the trip counts among them, keep the
     * launch's values, which the host has already, and a kernel without
     * last values writes nothing to host memory at its end (0.2 us of a
     * tiny kernel's waited launch, measured in C on an H100) */
    for (int f = 0; f < k->nfields; f++)
        if (k->kinds[f] == CTX_PLAIN && k->kinds[k->nfields + f] == CTX_LAST) {
            int64_t to = f + 1 < k->nfields ? k->offsets[f + 1] : k->ctx_size;
            copy_aligned(B, lastp, lctx, k->offsets[f], to);
        }
    LLVMBuildBr(B, end);
    LLVMPositionBuilderAtEnd(B, end);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    return kfn;
}

/* frem as libdevice's fmod: NVPTX lowers frem as a - b * trunc(a / b),
 * which is not exact (1e300 % 1e-300 overflows), while fmod is. */
static void exact_frem(LLVMModuleRef m, LLVMValueRef f)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb), next; in; in = next) {
            next = LLVMGetNextInstruction(in);
            if (LLVMGetInstructionOpcode(in) != LLVMFRem)
                continue;
            LLVMTypeRef t = LLVMTypeOf(in);
            LLVMTypeKind k = LLVMGetTypeKind(t);
            if (k != LLVMDoubleTypeKind && k != LLVMFloatTypeKind)
                continue; /* vectors do not reach here: the bodies are not vectorised for the GPU */
            const char *name = k == LLVMDoubleTypeKind ? "__nv_fmod" : "__nv_fmodf";
            LLVMTypeRef pt[2] = {t, t};
            LLVMTypeRef fty = LLVMFunctionType(t, pt, 2, 0);
            LLVMValueRef fn = LLVMGetNamedFunction(m, name);
            if (!fn)
                fn = LLVMAddFunction(m, name, fty);
            LLVMPositionBuilderBefore(B, in);
            LLVMValueRef args[2] = {LLVMGetOperand(in, 0), LLVMGetOperand(in, 1)};
            LLVMValueRef call = LLVMBuildCall2(B, fty, fn, args, 2, "");
            LLVMReplaceAllUsesWith(in, call);
            LLVMInstructionEraseFromParent(in);
        }
    LLVMDisposeBuilder(B);
}

/* pow(x, k) for a small whole constant k as libdevice's powi: exact where
 * the power is (4.0 ** -2 is 0.0625, as the host's pow gives), where
 * libdevice's pow may miss by an ulp or two. */
static void small_powers(LLVMModuleRef m, LLVMValueRef f)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C);
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb), next; in; in = next) {
            next = LLVMGetNextInstruction(in);
            if (!LLVMIsACallInst(in) || !LLVMIsAFunction(LLVMGetCalledValue(in)))
                continue;
            size_t n;
            const char *name = LLVMGetValueName2(LLVMGetCalledValue(in), &n);
            int dbl = !strcmp(name, "pow") || !strcmp(name, "llvm.pow.f64");
            if (!dbl && strcmp(name, "powf") && strcmp(name, "llvm.pow.f32"))
                continue;
            LLVMValueRef k = LLVMGetOperand(in, 1);
            LLVMBool lossy = 0;
            double kv = LLVMIsAConstantFP(k) ? LLVMConstRealGetDouble(k, &lossy) : 0.5;
            if (lossy || kv != (double)(int)kv || kv < -4 || kv > 4)
                continue;
            LLVMTypeRef t = LLVMTypeOf(in), pt[2] = {t, i32};
            LLVMTypeRef fty = LLVMFunctionType(t, pt, 2, 0);
            const char *nv = dbl ? "__nv_powi" : "__nv_powif";
            LLVMValueRef fn = LLVMGetNamedFunction(m, nv);
            if (!fn)
                fn = LLVMAddFunction(m, nv, fty);
            LLVMPositionBuilderBefore(B, in);
            LLVMValueRef args[2] = {LLVMGetOperand(in, 0), LLVMConstInt(i32, (unsigned long long)(long long)kv, 1)};
            LLVMValueRef call = LLVMBuildCall2(B, fty, fn, args, 2, "");
            LLVMReplaceAllUsesWith(in, call);
            LLVMInstructionEraseFromParent(in);
        }
    LLVMDisposeBuilder(B);
}

/* Marks in keep every function f calls, transitively. */
static void keep_callees(LLVMValueRef f, LLVMValueRef *keep, int *nkeep, int cap)
{
    for (int i = 0; i < *nkeep; i++)
        if (keep[i] == f)
            return;
    if (*nkeep == cap)
        return;
    keep[(*nkeep)++] = f;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in))
            if (LLVMIsACallInst(in)) /* what it calls, and what it hands over (a lane loop's body) */
                for (int a = 0, na = LLVMGetNumOperands(in); a < na; a++) {
                    LLVMValueRef callee = LLVMGetOperand(in, (unsigned)a);
                    if (LLVMIsAFunction(callee) && !LLVMIsDeclaration(callee))
                        keep_callees(callee, keep, nkeep, cap);
                }
}

/* serial(slots, err): the whole entry, on one GPU thread. */
static void make_serial_kernel(LLVMModuleRef m, LLVMValueRef entry, const char *name)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    LLVMTypeRef params[2] = {ptr, ptr};
    LLVMValueRef kfn = LLVMAddFunction(m, name, LLVMFunctionType(LLVMVoidTypeInContext(C), params, 2, 0));
    LLVMSetFunctionCallConv(kfn, LLVMPTXKernelCallConv);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, kfn, "entry"));
    LLVMValueRef args[2] = {LLVMGetParam(kfn, 0), LLVMGetParam(kfn, 1)};
    LLVMBuildCall2(B, LLVMGlobalGetValueType(entry), entry, args, 2, ""); /* its status is in err */
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
}

/* Builds the device module in out from a clone of m, whose bodies (in
 * out->kernels order) are given, or its entry (serial: JIT_GPU_*); 0, or
 * 1 refused (out->why).  walk_field: each body's ctx field of the GPU's
 * padded space, 0 where it has none (NULL: none has). */
static int device_module(LLVMModuleRef m, LLVMValueRef *bodies, int nb, jit_gpu_parts *out, int serial,
                         const unsigned *walk_field)
{
    LLVMModuleRef d = LLVMCloneModule(m);
    out->device_module = d;
    /* the clone's bodies, and everything they call */
    LLVMValueRef keep[256];
    int nkeep = 0;
    for (int i = 0; i < nb; i++) {
        size_t n;
        const char *name = LLVMGetValueName2(bodies[i], &n);
        LLVMValueRef f = LLVMGetNamedFunction(d, name);
        if (!f)
            return refuse(out, "%s: a loop body went missing", name);
        keep_callees(f, keep, &nkeep, 256);
    }
    /* the rest goes: first what is defined (the entry), then what nothing uses */
    for (LLVMValueRef f = LLVMGetFirstFunction(d), next; f; f = next) {
        next = LLVMGetNextFunction(f);
        int kept = 0;
        for (int i = 0; i < nkeep; i++)
            kept |= keep[i] == f;
        if (!kept && !LLVMIsDeclaration(f))
            LLVMDeleteFunction(f);
    }
    for (LLVMValueRef g = LLVMGetFirstGlobal(d), next; g; g = next) {
        next = LLVMGetNextGlobal(g);
        if (!LLVMGetFirstUse(g))
            LLVMDeleteGlobal(g);
    }
    for (int i = 0; i < nkeep; i++) {
        exact_frem(d, keep[i]);
        small_powers(d, keep[i]);
    }
    /* an entry on the grid: the master's handshakes in place of its loops' markers */
    if (serial == JIT_GPU_GRID) {
        size_t n;
        LLVMValueRef f = LLVMGetNamedFunction(d, LLVMGetValueName2(bodies[0], &n));
        snprintf(out->kernels[0].name, sizeof out->kernels[0].name, "pyacc_k0");
        if (jit_gpu_grid(d, f, &out->kernels[0], out->why, sizeof out->why))
            return 1;
    }
    /* lane loops: the gang's side of each in its body, a runner for all */
    jit_lane_loop ll[JIT_GPU_MAX_KERNELS][JIT_GPU_MAX_LANES];
    int nll[JIT_GPU_MAX_KERNELS] = {0};
    for (int i = 0; i < nb && !serial; i++) {
        size_t n;
        LLVMValueRef f = LLVMGetNamedFunction(d, LLVMGetValueName2(bodies[i], &n));
        if (jit_gpu_lanes(d, f, i, ll[i], &nll[i], JIT_GPU_MAX_LANES, &out->kernels[i].rows))
            return refuse(out, "%s: its lane loops are not laid out as expected", LLVMGetValueName2(f, &n));
        out->kernels[i].lanes = nll[i];
        if (nll[i] || out->kernels[i].rows) /* a block a gang, or rows: its atomics stay on the array */
            out->kernels[i].private_field = 0;
    }
    const char *markers[2] = {"pyacc.lane_loop", "pyacc.row_loop"};
    for (int i = 0; i < 2; i++) {
        LLVMValueRef lmarker = LLVMGetNamedFunction(d, markers[i]);
        if (lmarker && !LLVMGetFirstUse(lmarker))
            LLVMDeleteFunction(lmarker);
    }
    /* what the bodies call from outside: device forms, or a refusal */
    for (LLVMValueRef f = LLVMGetFirstFunction(d), next; f; f = next) {
        next = LLVMGetNextFunction(f);
        if (!LLVMIsDeclaration(f))
            continue;
        size_t n;
        const char *name = LLVMGetValueName2(f, &n);
        if (!LLVMGetFirstUse(f)) {
            LLVMDeleteFunction(f);
            continue;
        }
        if (strcmp(name, "pyacc_rt_error") == 0) {
            define_rt_error(d, f);
            continue;
        }
        if (strcmp(name, "pyacc_rt_int_truediv") == 0) {
            define_int_truediv(d, f);
            continue;
        }
        if (strcmp(name, "pyacc_rt_round_digits") == 0) {
            jit_gpu_round_digits(d, f);
            continue;
        }
        if (strcmp(name, "pyacc_py_math") == 0) {
            if (jit_gpu_py_math(d, f))
                return refuse(out, "it calls %s, which has no GPU form", "an unknown pyacc_py_math function");
            continue;
        }
        if (serial && jit_gpu_entry_runtime(d, f, name))
            continue;
        if (serial && (strcmp(name, "malloc") == 0 || strcmp(name, "free") == 0)) /* the device heap's */
            continue;
        int mapped = 0;
        for (size_t i = 0; i < sizeof device_math / sizeof device_math[0] && !mapped; i++)
            if (strcmp(name, device_math[i].name) == 0) {
                to_libdevice(d, f, device_math[i].nv);
                mapped = 1;
            }
        if (mapped || native_intrinsic(name) || strncmp(name, "__nv_", 5) == 0)
            continue;
        return refuse(out, "it calls %s, which has no GPU form", name);
    }
    /* acc_on_device in device code: true for acc_device_not_host (3) and
     * acc_device_nvidia (4) */
    LLVMValueRef on = LLVMGetNamedFunction(d, "pyacc.on_device");
    if (on && !LLVMIsDeclaration(on)) {
        while (LLVMGetFirstBasicBlock(on))
            LLVMDeleteBasicBlock(LLVMGetFirstBasicBlock(on));
        LLVMContextRef C = LLVMGetModuleContext(d);
        LLVMBuilderRef b = LLVMCreateBuilderInContext(C);
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(C, on, "entry"));
        LLVMValueRef t = LLVMGetParam(on, 0);
        LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
        LLVMBuildRet(b, LLVMBuildOr(b, LLVMBuildICmp(b, LLVMIntEQ, t, LLVMConstInt(i64, 3, 0), ""),
                                    LLVMBuildICmp(b, LLVMIntEQ, t, LLVMConstInt(i64, 4, 0), ""), ""));
        LLVMDisposeBuilder(b);
    }
    /* pyacc.on_gpu: true here (array reductions' updates are atomic, on the
     * array itself) */
    LLVMValueRef on_gpu = LLVMGetNamedFunction(d, "pyacc.on_gpu");
    if (on_gpu && !LLVMIsDeclaration(on_gpu)) {
        while (LLVMGetFirstBasicBlock(on_gpu))
            LLVMDeleteBasicBlock(LLVMGetFirstBasicBlock(on_gpu));
        LLVMContextRef C = LLVMGetModuleContext(d);
        LLVMBuilderRef b = LLVMCreateBuilderInContext(C);
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(C, on_gpu, "entry"));
        LLVMBuildRet(b, LLVMConstInt(LLVMInt1TypeInContext(C), 1, 0));
        LLVMDisposeBuilder(b);
    }
    /* pyacc.sigints and pyacc.interrupted: 0 and false here, so that the
     * frontend's Ctrl-C polls fold away (the count lives in host memory,
     * and a kernel cannot stop early) */
    const char *polls[2] = {"pyacc.sigints", "pyacc.interrupted"};
    for (int i = 0; i < 2; i++) {
        LLVMValueRef pf = LLVMGetNamedFunction(d, polls[i]);
        if (!pf || LLVMIsDeclaration(pf))
            continue;
        while (LLVMGetFirstBasicBlock(pf))
            LLVMDeleteBasicBlock(LLVMGetFirstBasicBlock(pf));
        LLVMContextRef C = LLVMGetModuleContext(d);
        LLVMBuilderRef b = LLVMCreateBuilderInContext(C);
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(C, pf, "entry"));
        LLVMBuildRet(b, LLVMConstInt(LLVMGetReturnType(LLVMGlobalGetValueType(pf)), 0, 0));
        LLVMDisposeBuilder(b);
    }
    LLVMValueRef count = LLVMGetNamedGlobal(d, "pyacc_rt_sigints");
    if (count && !LLVMGetFirstUse(count))
        LLVMDeleteGlobal(count);
    /* a kernel for each body */
    for (int i = 0; i < nb; i++) {
        size_t n;
        LLVMValueRef f = LLVMGetNamedFunction(d, LLVMGetValueName2(bodies[i], &n));
        snprintf(out->kernels[i].name, sizeof out->kernels[i].name, "pyacc_k%d", i);
        if (serial == JIT_GPU_GRID)
            continue; /* made above */
        if (serial)
            make_serial_kernel(d, f, out->kernels[i].name);
        else
        {
            LLVMValueRef kf = make_kernel(d, f, &out->kernels[i], ll[i], nll[i], walk_field ? walk_field[i] : 0);
            /* the gang's, the workers' and the lanes' values all live in a
             * kernel with lane loops: ptxas takes up to 190 registers for
             * them, a block of 256 threads a multiprocessor; 128 leaves
             * room for two (or four of 128), a few values spilled to L1
             * (benchmarks/lanes.py: 1.3 to 2 times faster) */
            if (nll[i] || out->kernels[i].rows)
                jit_ir_annotate(d, kf, "maxnreg", LANES_MAX_REGISTERS);
        }
    }
    return 0;
}

/* ------------------------------------------------------------- split */

int jit_gpu_split(jit_host *h, void *module, const char *symbol, jit_gpu_parts *out, char *err, size_t errlen)
{
    LLVMModuleRef m = (LLVMModuleRef)module;
    memset(out, 0, sizeof *out);
    LLVMValueRef marker = LLVMGetNamedFunction(m, "pyacc.parallel_loop");
    /* the marker's calls */
    LLVMValueRef calls[JIT_GPU_MAX_KERNELS], bodies[JIT_GPU_MAX_KERNELS];
    int nc = 0;
    for (LLVMUseRef u = marker ? LLVMGetFirstUse(marker) : NULL; u; u = LLVMGetNextUse(u)) {
        LLVMValueRef call = LLVMGetUser(u);
        if (!LLVMIsACallInst(call))
            continue;
        if (nc == JIT_GPU_MAX_KERNELS)
            return refuse(out, "%s", "it has too many parallel loops");
        calls[nc] = call;
        bodies[nc] = LLVMGetOperand(call, 0);
        nc++;
    }
    if (nc == 0)
        return refuse(out, "%s", "it has no parallel loop to run there");
    out->nkernels = nc;
    out->kernels = calloc((size_t)nc, sizeof *out->kernels);
    if (!out->kernels) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* each loop's ctx: its fields' kinds and offsets; the field of the
     * GPU's own count, if any (the third kind byte of the trip count's) */
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(jit_host_machine(h));
    unsigned walk_field[JIT_GPU_MAX_KERNELS] = {0};
    LLVMTypeRef ctx_type[JIT_GPU_MAX_KERNELS];
    for (int i = 0; i < nc; i++) {
        jit_gpu_kernel *k = &out->kernels[i];
        LLVMValueRef ctx = LLVMGetOperand(calls[i], 1), kinds = LLVMGetOperand(calls[i], 7);
        if (!LLVMIsAAllocaInst(ctx) || !LLVMIsAGlobalVariable(kinds) || !LLVMGetInitializer(kinds)) {
            LLVMDisposeTargetData(dl);
            return refuse(out, "%s", "its loops' contexts are not laid out as expected");
        }
        LLVMTypeRef st = LLVMGetAllocatedType(ctx);
        size_t nk;
        const char *kb = LLVMGetAsString(LLVMGetInitializer(kinds), &nk);
        unsigned nf = LLVMCountStructElementTypes(st);
        if (nk != 3 * (size_t)nf || nf > JIT_GPU_MAX_FIELDS) {
            LLVMDisposeTargetData(dl);
            return refuse(out, "%s", "its loops' contexts are not laid out as expected");
        }
        k->nfields = (int)nf;
        ctx_type[i] = st;
        if (nf > 1 && (uint8_t)kb[2 * nf + 1] < nf &&
            LLVMGetTypeKind(LLVMStructGetTypeAtIndex(st, (uint8_t)kb[2 * nf + 1])) == LLVMIntegerTypeKind)
            walk_field[i] = (uint8_t)kb[2 * nf + 1];
        k->ctx_size = (int64_t)LLVMABISizeOfType(dl, st);
        if (k->ctx_size > 4000) { /* it goes in the kernel's parameters: 4 KB */
            LLVMDisposeTargetData(dl);
            return refuse(out, "%s", "a loop shares more values than a kernel's parameters hold");
        }
        for (unsigned f = 0; f < nf; f++) {
            k->kinds[f] = (uint8_t)kb[f];
            k->kinds[nf + f] = (uint8_t)kb[nf + f];
            k->offsets[f] = (int64_t)LLVMOffsetOfElement(dl, st, f);
            if (k->kinds[f] == CTX_UNSUPPORTED) {
                LLVMDisposeTargetData(dl);
                return refuse(out, "%s", "a loop shares a value a GPU launch cannot move, or reduces an array "
                                         "of complex numbers (no GPU atomics for them)");
            }
            /* an array value's dimensions: (bytes - pointer) / 16; an
             * iterator's array comes first in it */
            if ((k->kinds[f] & 0xe0) == 0x20) {
                LLVMTypeRef at = LLVMStructGetTypeAtIndex(st, f), first = LLVMStructGetTypeAtIndex(at, 0);
                if (LLVMGetTypeKind(first) == LLVMStructTypeKind)
                    at = first;
                k->ndims[f] = (int32_t)((LLVMABISizeOfType(dl, at) - 8) / 16);
            }
        }
        /* the first sum into an array of 4- or 8-byte numbers: in shared memory */
        for (unsigned f = 0; f < nf && !k->private_field; f++) {
            uint8_t kind = k->kinds[f], aux = k->kinds[nf + f], pf = (uint8_t)kb[2 * nf + f];
            int es = kind & CTX_SIZE_MASK;
            if ((kind & CTX_CLASS_MASK) != CTX_ARED || kind == CTX_UNSUPPORTED || (aux & 0x0f) != 1 ||
                (aux >> 4) == CTX_NUM_BOOL || (es != 4 && es != 8) || pf >= nf ||
                (k->kinds[pf] & CTX_CLASS_MASK) != CTX_ARRAY || (k->kinds[pf] & CTX_SIZE_MASK) != es)
                continue;
            k->private_field = (int32_t)f + 1;
            k->ndims[f] = pf;
        }
    }
    LLVMDisposeTargetData(dl);
    if (device_module(m, bodies, nc, out, 0, walk_field))
        return 1;
    /* the host's entry: launches instead of markers */
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), ptr = LLVMPointerTypeInContext(C, 0);
    /* pyacc_rt_gpu_loop(info, then the marker's own arguments, then the
     * iterations the kernel walks): the marker's host launch stays
     * possible, for if(false) and self */
    LLVMTypeRef ptys[11] = {ptr, ptr, ptr, i64, i64, i64, i64, i64, ptr, i64, i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(C), ptys, 11, 0);
    LLVMValueRef launch = LLVMAddFunction(m, "pyacc_rt_gpu_loop", fty);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    for (int i = 0; i < nc; i++) {
        /* where the loaded kernel's description will be: a pointer the
         * object defines, so that cached code needs no relocation */
        char gname[160];
        jit_gpu_info_symbol(symbol, i, gname, sizeof gname);
        LLVMValueRef slot = LLVMAddGlobal(m, ptr, gname);
        LLVMSetInitializer(slot, LLVMConstNull(ptr));
        LLVMPositionBuilderBefore(B, calls[i]);
        LLVMValueRef info = LLVMBuildLoad2(B, ptr, slot, "gpu.info");
        LLVMValueRef args[11] = {info};
        for (unsigned a = 0; a < 9; a++)
            args[1 + a] = LLVMGetOperand(calls[i], a);
        /* a thread an iteration walks the padded space the frontend laid
         * out, its warps starting at aligned indices; a block a gang or a
         * row an iteration walks the loop's own (frontend/align.c) */
        args[10] = args[3];
        if (walk_field[i] && !out->kernels[i].lanes && !out->kernels[i].rows) {
            LLVMValueRef ctx = LLVMGetOperand(calls[i], 1);
            args[10] = LLVMBuildLoad2(B, i64, LLVMBuildStructGEP2(B, ctx_type[i], ctx, walk_field[i], ""), "gpu.walk");
        }
        /* the body stays for the host only where if(false) or self can ask
         * for it (max_threads < 0); else it goes, and the host has nothing
         * of it to optimise and make machine code for */
        LLVMValueRef maxt = LLVMGetOperand(calls[i], 4);
        if (LLVMIsAConstantInt(maxt) && LLVMConstIntGetSExtValue(maxt) >= 0)
            args[1] = LLVMConstNull(ptr);
        LLVMBuildCall2(B, fty, launch, args, 11, "");
        LLVMInstructionEraseFromParent(calls[i]);
    }
    LLVMDisposeBuilder(B);
    return 0;
}

int jit_gpu_serial(void *module, const char *symbol, jit_gpu_parts *out, char *err, size_t errlen)
{
    LLVMModuleRef m = (LLVMModuleRef)module;
    memset(out, 0, sizeof *out);
    LLVMValueRef marker = LLVMGetNamedFunction(m, "pyacc.parallel_loop");
    int how = marker && LLVMGetFirstUse(marker) ? JIT_GPU_GRID : JIT_GPU_ONE_THREAD;
    LLVMValueRef entry = LLVMGetNamedFunction(m, symbol);
    if (!entry)
        return refuse(out, "%s: the entry went missing", symbol);
    out->nkernels = 1;
    out->kernels = calloc(1, sizeof *out->kernels);
    if (!out->kernels) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    out->kernels[0].serial = how;
    return device_module(m, &entry, 1, out, how, NULL);
}

void jit_gpu_info_symbol(const char *symbol, int i, char *buf, size_t n)
{
    snprintf(buf, n, "%s_gpu%d", symbol, i);
}

void jit_gpu_parts_free(jit_gpu_parts *s)
{
    free(s->kernels);
    s->kernels = NULL;
    if (s->device_module)
        LLVMDisposeModule((LLVMModuleRef)s->device_module);
    s->device_module = NULL;
}
