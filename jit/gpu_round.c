/* gpu_round.c - the device form of pyacc_rt_round_digits: round(x,
 * ndigits) of a Python float, exactly as CPython rounds it.
 *
 * The host's is C (runtime/round.c, whose comment gives the algorithm: a
 * shift or a division of 1024-bit integers, then one rounding to a
 * double).  This builds the same steps in IR on i1024 values, which LLVM
 * splits into 64-bit words.  tests/c/test_round.c runs this IR on the
 * host against the C, on random doubles and ndigits from -330 to 330.
 *
 * Two things keep the code short enough to compile in tens of
 * milliseconds: a wide shift by a variable amount is made a word at a
 * time and then by the amount mod 64 (LLVM expands an unrestricted i1024
 * shift through the stack, thousands of instructions), and the loops stay
 * rolled.  The divisions are long divisions of one quotient bit a step:
 * their quotients are below 2**58, so they take at most 58 steps, where
 * LLVM's own i1024 division would run as many as the operands have bits
 * and give the quotient and remainder separately. */
#include "gpu_ir.h"

#include <llvm-c/DebugInfo.h>
#include <math.h>
#include <string.h>

enum { WIDE = 1024 };

/* The NDIGITS_MAX and NDIGITS_MIN of CPython's floatobject.c: past them a
 * float rounds to itself, or to a zero of its sign. */
enum { NDIGITS_MAX = 323, NDIGITS_MIN = -308 };

typedef struct rb {
    LLVMContextRef C;
    LLVMModuleRef M;
    LLVMBuilderRef B;
    LLVMValueRef fn;
    LLVMTypeRef i1, i64, wide, f64;
} rb;

static LLVMBasicBlockRef block(rb *r, const char *name)
{
    return LLVMAppendBasicBlockInContext(r->C, r->fn, name);
}

static LLVMValueRef c64(rb *r, long long v)
{
    return LLVMConstInt(r->i64, (unsigned long long)v, 1);
}

static LLVMValueRef cw(rb *r, unsigned long long v)
{
    return LLVMConstInt(r->wide, v, 0);
}

static LLVMValueRef intrinsic(rb *r, const char *name, LLVMTypeRef ty, LLVMValueRef *args, int nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(r->M, id, &ty, 1);
    return LLVMBuildCall2(r->B, LLVMIntrinsicGetType(r->C, id, &ty, 1), fn, args, (unsigned)nargs, "");
}

/* Marks the back edge br of a loop not to be unrolled: each step works on
 * 16 words, and unrolled copies only make the code longer to compile. */
static void keep_rolled(rb *r, LLVMValueRef br)
{
    LLVMMetadataRef off = LLVMMDStringInContext2(r->C, "llvm.loop.unroll.disable", 24);
    LLVMMetadataRef self = LLVMTemporaryMDNode(r->C, NULL, 0);
    LLVMMetadataRef ops[2] = {self, LLVMMDNodeInContext2(r->C, &off, 1)};
    LLVMMetadataRef loop = LLVMMDNodeInContext2(r->C, ops, 2);
    LLVMMetadataReplaceAllUsesWith(self, loop);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(r->C, "llvm.loop", 9), LLVMMetadataAsValue(r->C, loop));
}

static LLVMValueRef to_wide(rb *r, LLVMValueRef v)
{
    return LLVMBuildZExt(r->B, v, r->wide, "");
}

/* The number of bits of v (0 for 0), as an i64. */
static LLVMValueRef bit_length(rb *r, LLVMValueRef v)
{
    LLVMTypeRef t = LLVMTypeOf(v);
    LLVMValueRef a[2] = {v, LLVMConstInt(r->i1, 0, 0)};
    LLVMValueRef lz = intrinsic(r, "llvm.ctlz", t, a, 2);
    if (t != r->i64)
        lz = LLVMBuildTrunc(r->B, lz, r->i64, "");
    return LLVMBuildSub(r->B, c64(r, (long long)LLVMGetIntTypeWidth(t)), lz, "");
}

static LLVMValueRef smax(rb *r, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(r->B, LLVMBuildICmp(r->B, LLVMIntSGT, a, b, ""), a, b, "");
}

/* v shifted by an i64 amount the callers prove below WIDE (the clamp only
 * keeps a value a select discards from being poison).  A wide shift by
 * any amount becomes thousands of instructions, through the stack; a word
 * at a time, then by the amount mod 64 where the code can see it is below
 * 64, it is a few dozen.  Leaves the builder after it. */
static LLVMValueRef shift(rb *r, LLVMValueRef v, LLVMValueRef amount, int left)
{
    LLVMBuilderRef B = r->B;
    LLVMValueRef big = LLVMBuildICmp(B, LLVMIntUGT, amount, c64(r, WIDE - 1), "");
    amount = LLVMBuildSelect(B, big, c64(r, WIDE - 1), amount, "");
    LLVMValueRef words = LLVMBuildLShr(B, amount, c64(r, 6), "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B), loop = block(r, "shift.word"), done = block(r, "shift.bits");
    LLVMBuildBr(B, loop);
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef c = LLVMBuildPhi(B, r->i64, "c"), w = LLVMBuildPhi(B, r->wide, "w");
    LLVMValueRef w2 = left ? LLVMBuildShl(B, w, cw(r, 64), "") : LLVMBuildLShr(B, w, cw(r, 64), "");
    LLVMValueRef c2 = LLVMBuildAdd(B, c, c64(r, 1), "");
    keep_rolled(r, LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntULT, c, words, ""), loop, done));
    LLVMValueRef cv[2] = {c64(r, 0), c2}, wv[2] = {v, w2};
    LLVMBasicBlockRef from[2] = {pre, loop};
    LLVMAddIncoming(c, cv, from, 2);
    LLVMAddIncoming(w, wv, from, 2);
    LLVMPositionBuilderAtEnd(B, done);
    LLVMValueRef bits = to_wide(r, LLVMBuildAnd(B, amount, c64(r, 63), ""));
    return left ? LLVMBuildShl(B, w, bits, "") : LLVMBuildLShr(B, w, bits, "");
}

/* Whether a value with low bits `rest` (below 2**g) and remainder flag
 * `sticky` rounds its kept part `kept` up: past half, or at half with
 * something left below or an odd kept part. */
static LLVMValueRef rounds_up(rb *r, LLVMValueRef rest, LLVMValueRef half, LLVMValueRef sticky, LLVMValueRef kept)
{
    LLVMBuilderRef B = r->B;
    LLVMValueRef odd = LLVMBuildTrunc(B, kept, r->i1, "");
    LLVMValueRef tie = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntEQ, rest, half, ""), LLVMBuildOr(B, sticky, odd, ""), "");
    return LLVMBuildOr(B, LLVMBuildICmp(B, LLVMIntUGT, rest, half, ""), tie, "");
}

/* a / b by long division, for quotients below 2**64: *q the quotient
 * (i64), *rem the remainder.  Leaves the builder after the loop. */
static void long_division(rb *r, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *q, LLVMValueRef *rem)
{
    LLVMBuilderRef B = r->B;
    /* the quotient has at most steps bits: b lined up under a's top bit */
    LLVMValueRef steps = smax(r, LLVMBuildSub(B, bit_length(r, a), bit_length(r, b), ""), c64(r, 0));
    LLVMValueRef d0 = shift(r, b, steps, 1);
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B), loop = block(r, "div.step"), done = block(r, "div.done");
    LLVMBuildBr(B, loop);
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef i = LLVMBuildPhi(B, r->i64, "i"), x = LLVMBuildPhi(B, r->wide, "x");
    LLVMValueRef d = LLVMBuildPhi(B, r->wide, "d"), qq = LLVMBuildPhi(B, r->i64, "q");
    LLVMValueRef ge = LLVMBuildICmp(B, LLVMIntUGE, x, d, "");
    LLVMValueRef x2 = LLVMBuildSelect(B, ge, LLVMBuildSub(B, x, d, ""), x, "");
    LLVMValueRef q2 = LLVMBuildOr(B, LLVMBuildShl(B, qq, c64(r, 1), ""), LLVMBuildZExt(B, ge, r->i64, ""), "");
    LLVMValueRef d2 = LLVMBuildLShr(B, d, cw(r, 1), "");
    LLVMValueRef i2 = LLVMBuildSub(B, i, c64(r, 1), "");
    keep_rolled(r, LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, i2, c64(r, 0), ""), done, loop));
    LLVMValueRef v[4][2] = {{steps, i2}, {a, x2}, {d0, d2}, {c64(r, 0), q2}};
    LLVMValueRef phis[4] = {i, x, d, qq};
    LLVMBasicBlockRef from[2] = {pre, loop};
    for (int k = 0; k < 4; k++)
        LLVMAddIncoming(phis[k], v[k], from, 2);
    LLVMPositionBuilderAtEnd(B, done);
    *q = q2;
    *rem = x2;
}

/* 5**n for 0 <= n <= 323: 5**(n % 27) in 64 bits, then times 5**27 (which
 * fits 63 bits) n / 27 times, a narrow factor LLVM multiplies word by
 * word. */
static LLVMValueRef power_of_5(rb *r, LLVMValueRef n)
{
    LLVMBuilderRef B = r->B;
    LLVMValueRef j = LLVMBuildUDiv(B, n, c64(r, 27), ""), low = LLVMBuildURem(B, n, c64(r, 27), "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B), l1 = block(r, "pow5.small"), l1x = block(r, "pow5.wide");
    LLVMBasicBlockRef l2 = block(r, "pow5.step"), done = block(r, "pow5.done");
    LLVMBuildBr(B, l1);
    /* the small loop runs low + 1 times and multiplies low times */
    LLVMPositionBuilderAtEnd(B, l1);
    LLVMValueRef c = LLVMBuildPhi(B, r->i64, "c"), p = LLVMBuildPhi(B, r->i64, "p");
    LLVMValueRef more = LLVMBuildICmp(B, LLVMIntULT, c, low, "");
    LLVMValueRef c2 = LLVMBuildAdd(B, c, c64(r, 1), ""), p2 = LLVMBuildMul(B, p, c64(r, 5), "");
    keep_rolled(r, LLVMBuildCondBr(B, more, l1, l1x));
    LLVMValueRef cv[2] = {c64(r, 0), c2}, pv[2] = {c64(r, 1), p2};
    LLVMBasicBlockRef cf[2] = {pre, l1};
    LLVMAddIncoming(c, cv, cf, 2);
    LLVMAddIncoming(p, pv, cf, 2);
    LLVMPositionBuilderAtEnd(B, l1x);
    LLVMValueRef w0 = to_wide(r, p);
    LLVMBuildBr(B, l2);
    LLVMPositionBuilderAtEnd(B, l2);
    LLVMValueRef k = LLVMBuildPhi(B, r->i64, "k"), w = LLVMBuildPhi(B, r->wide, "w");
    LLVMValueRef again = LLVMBuildICmp(B, LLVMIntULT, k, j, "");
    LLVMValueRef k2 = LLVMBuildAdd(B, k, c64(r, 1), "");
    LLVMValueRef w2 = LLVMBuildMul(B, w, cw(r, 7450580596923828125ull), ""); /* 5**27 */
    keep_rolled(r, LLVMBuildCondBr(B, again, l2, done));
    LLVMValueRef kv[2] = {c64(r, 0), k2}, wv[2] = {w0, w2};
    LLVMBasicBlockRef kf[2] = {l1x, l2};
    LLVMAddIncoming(k, kv, kf, 2);
    LLVMAddIncoming(w, wv, kf, 2);
    LLVMPositionBuilderAtEnd(B, done);
    return w;
}

/* The double nearest a / b * 2**x2 (a, b > 0 wide), or infinity past the
 * largest double.  Returns the double; leaves the builder after it. */
static LLVMValueRef nearest_double(rb *r, LLVMValueRef a, LLVMValueRef b, LLVMValueRef x2)
{
    LLVMBuilderRef B = r->B;
    LLVMValueRef la = bit_length(r, a), lb = bit_length(r, b);
    /* T = a / b * 2**-u has 56 or 57 bits, unless its last place would
     * fall below 2**-1076 (two bits under the smallest subnormal): then
     * that place, and fewer bits */
    LLVMValueRef u = smax(r, LLVMBuildSub(B, LLVMBuildSub(B, la, lb, ""), c64(r, 56), ""),
                          LLVMBuildSub(B, c64(r, -1076), x2, ""));
    LLVMValueRef up_a = LLVMBuildICmp(B, LLVMIntSLE, u, c64(r, 0), "");
    LLVMValueRef moved = shift(r, LLVMBuildSelect(B, up_a, a, b, ""),
                               LLVMBuildSelect(B, up_a, LLVMBuildNeg(B, u, ""), u, ""), 1);
    LLVMValueRef aa = LLVMBuildSelect(B, up_a, moved, a, "");
    LLVMValueRef bb = LLVMBuildSelect(B, up_a, b, moved, "");
    LLVMValueRef t, rem;
    long_division(r, aa, bb, &t, &rem);
    LLVMValueRef sticky = LLVMBuildICmp(B, LLVMIntNE, rem, cw(r, 0), "");
    /* drop g >= 2 bits: down to 53, or to the place 2**-1074 */
    LLVMValueRef place = LLVMBuildAdd(B, u, x2, "");
    LLVMValueRef g = smax(r, LLVMBuildSub(B, bit_length(r, t), c64(r, 53), ""),
                          LLVMBuildSub(B, c64(r, -1074), place, ""));
    LLVMValueRef m = LLVMBuildLShr(B, t, g, "");
    LLVMValueRef rest = LLVMBuildAnd(B, t, LLVMBuildSub(B, LLVMBuildShl(B, c64(r, 1), g, ""), c64(r, 1), ""), "");
    LLVMValueRef half = LLVMBuildShl(B, c64(r, 1), LLVMBuildSub(B, g, c64(r, 1), ""), "");
    m = LLVMBuildAdd(B, m, LLVMBuildZExt(B, rounds_up(r, rest, half, sticky, m), r->i64, ""), "");
    LLVMValueRef ex = LLVMBuildAdd(B, place, g, "");
    /* rounding up to 2**53 carries into the exponent */
    LLVMValueRef carry = LLVMBuildICmp(B, LLVMIntEQ, m, c64(r, 1ll << 53), "");
    m = LLVMBuildSelect(B, carry, c64(r, 1ll << 52), m, "");
    ex = LLVMBuildAdd(B, ex, LLVMBuildZExt(B, carry, r->i64, ""), "");
    /* below 2**52 only at the place 2**-1074: a subnormal, whose bits are m */
    LLVMValueRef sub = LLVMBuildICmp(B, LLVMIntULT, m, c64(r, 1ll << 52), "");
    LLVMValueRef biased = LLVMBuildAdd(B, ex, c64(r, 1075), "");
    LLVMValueRef normal = LLVMBuildOr(B, LLVMBuildShl(B, biased, c64(r, 52), ""),
                                      LLVMBuildSub(B, m, c64(r, 1ll << 52), ""), "");
    LLVMValueRef bits = LLVMBuildSelect(B, sub, m, normal, "");
    LLVMValueRef over = LLVMBuildAnd(B, LLVMBuildNot(B, sub, ""), LLVMBuildICmp(B, LLVMIntSGE, biased, c64(r, 2047), ""), "");
    bits = LLVMBuildSelect(B, over, c64(r, 0x7ff0000000000000ll), bits, "");
    return LLVMBuildBitCast(B, bits, r->f64, "");
}

static void ret_signed(rb *r, LLVMValueRef mag, LLVMValueRef x)
{
    LLVMValueRef a[2] = {mag, x};
    LLVMBuildRet(r->B, intrinsic(r, "llvm.copysign", r->f64, a, 2));
}

/* The body of `double pyacc_rt_round_digits(double x, i64 n)`. */
static void define(rb *r)
{
    LLVMBuilderRef B = r->B;
    LLVMValueRef x = LLVMGetParam(r->fn, 0), n = LLVMGetParam(r->fn, 1);
    LLVMBasicBlockRef entry = block(r, "entry"), ret_x = block(r, "same"), ret_zero = block(r, "zero");
    LLVMBasicBlockRef finite = block(r, "finite"), split = block(r, "split"), powers = block(r, "powers");
    LLVMBasicBlockRef pos = block(r, "n.pos"), neg = block(r, "n.neg"), neg_div = block(r, "n.neg.div");
    LLVMBasicBlockRef last = block(r, "last");

    LLVMPositionBuilderAtEnd(B, ret_x);
    LLVMBuildRet(B, x);
    LLVMPositionBuilderAtEnd(B, ret_zero);
    ret_signed(r, LLVMConstReal(r->f64, 0.0), x);

    /* NaNs, infinities and zeros round to themselves, as does anything
     * past NDIGITS_MAX; below NDIGITS_MIN all is a zero */
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef ax = intrinsic(r, "llvm.fabs", r->f64, &x, 1);
    LLVMValueRef keep = LLVMBuildOr(B, LLVMBuildFCmp(B, LLVMRealUGE, ax, LLVMConstReal(r->f64, INFINITY), ""),
                                    LLVMBuildFCmp(B, LLVMRealOEQ, ax, LLVMConstReal(r->f64, 0.0), ""), "");
    keep = LLVMBuildOr(B, keep, LLVMBuildICmp(B, LLVMIntSGT, n, c64(r, NDIGITS_MAX), ""), "");
    LLVMBuildCondBr(B, keep, ret_x, finite);
    LLVMPositionBuilderAtEnd(B, finite);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, n, c64(r, NDIGITS_MIN), ""), ret_zero, split);

    /* |x| = m * 2**e */
    LLVMPositionBuilderAtEnd(B, split);
    LLVMValueRef bits = LLVMBuildBitCast(B, ax, r->i64, "");
    LLVMValueRef bexp = LLVMBuildLShr(B, bits, c64(r, 52), "");
    LLVMValueRef frac = LLVMBuildAnd(B, bits, c64(r, (1ll << 52) - 1), "");
    LLVMValueRef subn = LLVMBuildICmp(B, LLVMIntEQ, bexp, c64(r, 0), "");
    LLVMValueRef m = LLVMBuildSelect(B, subn, frac, LLVMBuildOr(B, frac, c64(r, 1ll << 52), ""), "");
    LLVMValueRef e = LLVMBuildSelect(B, subn, c64(r, -1074), LLVMBuildSub(B, bexp, c64(r, 1075), ""), "");
    LLVMValueRef nonneg = LLVMBuildICmp(B, LLVMIntSGE, n, c64(r, 0), "");
    LLVMValueRef en = LLVMBuildAdd(B, e, n, "");
    /* x * 10**n is an integer already */
    LLVMValueRef integral = LLVMBuildAnd(B, nonneg, LLVMBuildICmp(B, LLVMIntSGE, en, c64(r, 0), ""), "");
    LLVMBuildCondBr(B, integral, ret_x, powers);

    LLVMPositionBuilderAtEnd(B, powers);
    LLVMValueRef nn = LLVMBuildSelect(B, nonneg, n, LLVMBuildNeg(B, n, ""), "");
    LLVMValueRef p = power_of_5(r, nn);
    LLVMBuildCondBr(B, nonneg, pos, neg);

    /* n >= 0: k = m * 5**n >> s, rounded, with s = -(e + n) > 0; past
     * 1000 bits of shift (m * 5**n has at most 804) k is 0 */
    LLVMPositionBuilderAtEnd(B, pos);
    LLVMValueRef s = LLVMBuildNeg(B, en, "");
    LLVMValueRef tw = LLVMBuildMul(B, to_wide(r, m), p, "");
    LLVMValueRef far = LLVMBuildICmp(B, LLVMIntSGT, s, c64(r, 1000), "");
    /* one bit more than k: its last is the half; below it, anything
     * set (the trailing zeros tell) makes it more than half */
    LLVMValueRef one = cw(r, 1);
    LLVMValueRef ctz[2] = {tw, LLVMConstInt(r->i1, 0, 0)};
    LLVMValueRef zeros = LLVMBuildTrunc(B, intrinsic(r, "llvm.cttz", r->wide, ctz, 2), r->i64, "");
    LLVMValueRef s1 = LLVMBuildSub(B, s, c64(r, 1), "");
    LLVMValueRef sticky = LLVMBuildICmp(B, LLVMIntSLT, zeros, s1, "");
    LLVMValueRef k2 = shift(r, tw, s1, 0);
    LLVMValueRef kq = LLVMBuildLShr(B, k2, one, "");
    LLVMValueRef halfbit = LLVMBuildTrunc(B, k2, r->i1, "");
    LLVMValueRef odd = LLVMBuildTrunc(B, kq, r->i1, "");
    LLVMValueRef up_k = LLVMBuildAnd(B, halfbit, LLVMBuildOr(B, sticky, odd, ""), "");
    LLVMValueRef kp = LLVMBuildAdd(B, kq, LLVMBuildZExt(B, up_k, r->wide, ""), "");
    kp = LLVMBuildSelect(B, far, cw(r, 0), kp, "");
    LLVMBasicBlockRef pos_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, last);

    /* n < 0, N = -n: x / 10**N against 1/2 and 2**54 by bit lengths
     * (10**N has N + bit_length(5**N) - 1 for its top bit) */
    LLVMPositionBuilderAtEnd(B, neg);
    LLVMValueRef top_x = LLVMBuildAdd(B, LLVMBuildSub(B, bit_length(r, m), c64(r, 1), ""), e, "");
    LLVMValueRef top_p = LLVMBuildAdd(B, LLVMBuildSub(B, bit_length(r, p), c64(r, 1), ""), nn, "");
    LLVMValueRef d = LLVMBuildSub(B, top_x, top_p, "");
    LLVMBasicBlockRef neg_small = block(r, "n.neg.small");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSGE, d, c64(r, 55), ""), ret_x, neg_small);
    LLVMPositionBuilderAtEnd(B, neg_small);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLE, d, c64(r, -2), ""), ret_zero, neg_div);
    /* k = round(m * 2**e / (5**N * 2**N)): the power of 2 joins whichever
     * side keeps the shift positive */
    LLVMPositionBuilderAtEnd(B, neg_div);
    LLVMValueRef eN = LLVMBuildSub(B, e, nn, "");
    LLVMValueRef up = LLVMBuildICmp(B, LLVMIntSGE, eN, c64(r, 0), "");
    LLVMValueRef mw = to_wide(r, m);
    LLVMValueRef moved = shift(r, LLVMBuildSelect(B, up, mw, p, ""),
                               LLVMBuildSelect(B, up, eN, LLVMBuildNeg(B, eN, ""), ""), 1);
    LLVMValueRef num = LLVMBuildSelect(B, up, moved, mw, "");
    LLVMValueRef den = LLVMBuildSelect(B, up, p, moved, "");
    LLVMValueRef kk, krem;
    long_division(r, num, den, &kk, &krem);
    /* half way: 2 * rem against den */
    LLVMValueRef up_kk = rounds_up(r, LLVMBuildShl(B, krem, one, ""), den, LLVMConstInt(r->i1, 0, 0), kk);
    kk = LLVMBuildAdd(B, kk, LLVMBuildZExt(B, up_kk, r->i64, ""), "");
    LLVMValueRef kn = LLVMBuildMul(B, to_wide(r, kk), p, "");
    LLVMBasicBlockRef neg_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, last);

    /* the result: k / 5**n * 2**-n, or k * 5**N * 2**N: 2**-n either way */
    LLVMPositionBuilderAtEnd(B, last);
    LLVMValueRef a = LLVMBuildPhi(B, r->wide, "a"), b = LLVMBuildPhi(B, r->wide, "b");
    LLVMBasicBlockRef from[2] = {pos_end, neg_end};
    LLVMValueRef av[2] = {kp, kn}, bv[2] = {p, one};
    LLVMAddIncoming(a, av, from, 2);
    LLVMAddIncoming(b, bv, from, 2);
    LLVMValueRef x2 = LLVMBuildNeg(B, n, "");
    LLVMBasicBlockRef nonzero = block(r, "nonzero");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, a, cw(r, 0), ""), ret_zero, nonzero);
    LLVMPositionBuilderAtEnd(B, nonzero);
    ret_signed(r, nearest_double(r, a, b, x2), x);
}

int jit_gpu_round_digits(LLVMModuleRef m, LLVMValueRef f)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMSetLinkage(f, LLVMInternalLinkage);
    rb r = {C, m, LLVMCreateBuilderInContext(C), f, LLVMInt1TypeInContext(C), LLVMInt64TypeInContext(C),
            LLVMIntTypeInContext(C, WIDE), LLVMDoubleTypeInContext(C)};
    define(&r);
    LLVMDisposeBuilder(r.B);
    return 0;
}
