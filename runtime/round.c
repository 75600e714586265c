/* round.c - round(x, ndigits) of a Python float, for compiled host code.
 *
 * CPython turns x into a decimal string with ndigits digits after the
 * point, correctly rounded half to even from x's exact binary value, then
 * turns that string back into the nearest double.  Both steps are exact
 * rational arithmetic; this does them on 1024-bit integers.  With
 * x = m * 2**e (m < 2**53) and n = ndigits:
 *
 *   n >= 0:  k = round(m * 5**n * 2**(e+n)), a shift, and the result is
 *            k / 5**n * 2**-n.  When e + n >= 0, x * 10**n is an integer
 *            already and x comes back unchanged.
 *   n < 0:   k = round(x / 10**-n), a division whose quotient is below
 *            2**56 once two cases are taken out by the operands' bit
 *            lengths: a quotient below 1/2 (the result is a zero) and one
 *            above 2**54 (x comes back: the rounding moves it by less than
 *            a quarter of its last place).  The result is k * 5**-n * 2**-n.
 *
 * Either way the last step rounds a / b * 2**x2 to a double once, from a
 * quotient of 56 or 57 bits (fewer for results in the subnormal range:
 * its last place is then 2**-1076) and whether a remainder is left, as
 * int / int ends (rt_nearest_double, pymath.c).  An exponent past the
 * largest double gives an infinity, which the caller
 * raises as CPython's OverflowError.  No operand reaches 2**810: 5**323
 * has 750 bits, m 53, and the shifts that line up the last division add
 * at most 58.
 *
 * The GPU computes the same steps in IR (jit/gpu_round.c); a test runs
 * that IR on the host against this (tests/c/test_round.c), and the Python
 * tests compare this with CPython's round. */
#include "rt.h"

#include <math.h>
#include <string.h>

enum { WORDS = 16 }; /* 1024 bits */

typedef struct wide {
    uint64_t w[WORDS]; /* least significant first */
} wide;

static wide from_u64(uint64_t v)
{
    wide a = {{v}};
    return a;
}

static int is_zero(const wide *a)
{
    for (int i = 0; i < WORDS; i++)
        if (a->w[i])
            return 0;
    return 1;
}

static int bit_length(const wide *a)
{
    for (int i = WORDS - 1; i >= 0; i--)
        if (a->w[i])
            return 64 * i + 64 - __builtin_clzll(a->w[i]);
    return 0;
}

static int trailing_zeros(const wide *a)
{
    for (int i = 0; i < WORDS; i++)
        if (a->w[i])
            return 64 * i + __builtin_ctzll(a->w[i]);
    return 64 * WORDS;
}

/* a * v; the callers keep products below 2**1024. */
static wide mul_u64(const wide *a, uint64_t v)
{
    wide r;
    unsigned __int128 carry = 0;
    for (int i = 0; i < WORDS; i++) {
        carry += (unsigned __int128)a->w[i] * v;
        r.w[i] = (uint64_t)carry;
        carry >>= 64;
    }
    return r;
}

/* a shifted left (or right) by 0 <= s < 1024 bits. */
static wide shift(const wide *a, int s, int left)
{
    wide r = {{0}};
    int words = s / 64, bits = s % 64;
    for (int i = 0; i < WORDS; i++) {
        int from = left ? i - words : i + words;
        if (from < 0 || from >= WORDS)
            continue;
        uint64_t lo = a->w[from];
        if (bits == 0) {
            r.w[i] = lo;
        } else if (left) {
            uint64_t below = from > 0 ? a->w[from - 1] : 0;
            r.w[i] = lo << bits | below >> (64 - bits);
        } else {
            uint64_t above = from + 1 < WORDS ? a->w[from + 1] : 0;
            r.w[i] = lo >> bits | above << (64 - bits);
        }
    }
    return r;
}

/* a against b, both below 2**(64 * words). */
static int compare(const wide *a, const wide *b, int words)
{
    for (int i = words - 1; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/* a -= b, for a >= b, both below 2**(64 * words). */
static void subtract(wide *a, const wide *b, int words)
{
    unsigned borrow = 0;
    for (int i = 0; i < words; i++) {
        uint64_t d = a->w[i] - b->w[i] - borrow;
        borrow = a->w[i] < b->w[i] || (a->w[i] == b->w[i] && borrow);
        a->w[i] = d;
    }
}

/* a / b for a quotient below 2**64, one quotient bit a step; a becomes
 * the remainder.  Every step works on a's words only: usually two. */
static uint64_t long_division(wide *a, const wide *b)
{
    int la = bit_length(a), steps = la - bit_length(b), words = (la + 63) / 64;
    if (steps < 0)
        return 0;
    wide d = shift(b, steps, 1);
    uint64_t q = 0;
    for (int i = steps; i >= 0; i--) {
        int ge = compare(a, &d, words) >= 0;
        if (ge)
            subtract(a, &d, words);
        q = q << 1 | (uint64_t)ge;
        for (int j = 0; j < words; j++) /* d >>= 1 */
            d.w[j] = d.w[j] >> 1 | (j + 1 < words ? d.w[j + 1] << 63 : 0);
    }
    return q;
}

static wide power_of_5(int n)
{
    uint64_t low = 1;
    for (int i = 0; i < n % 27; i++)
        low *= 5;
    wide p = from_u64(low);
    for (int i = 0; i < n / 27; i++)
        p = mul_u64(&p, 7450580596923828125ull); /* 5**27 */
    return p;
}

/* The double nearest a / b * 2**x2 (a, b > 0), or infinity past the
 * largest double: a quotient of 56 or 57 bits, or as many as reach
 * 2**-1076 (two bits under the smallest subnormal), rounded once. */
static double nearest_double(wide a, wide b, int x2)
{
    int la = bit_length(&a), lb = bit_length(&b);
    int u = la - lb - 56 > -1076 - x2 ? la - lb - 56 : -1076 - x2;
    if (u <= 0)
        a = shift(&a, -u, 1);
    else
        b = shift(&b, u, 1);
    uint64_t t = long_division(&a, &b);
    return rt_nearest_double(t, !is_zero(&a), u + x2);
}

double pyacc_rt_round_digits(double x, int64_t n)
{
    /* CPython's NDIGITS_MAX and NDIGITS_MIN: past them x rounds to itself,
     * or to a zero of its sign */
    if (!isfinite(x) || x == 0.0 || n > 323)
        return x;
    if (n < -308)
        return copysign(0.0, x);
    uint64_t bits;
    double ax = fabs(x);
    memcpy(&bits, &ax, 8);
    int bexp = (int)(bits >> 52);
    uint64_t m = bits & ((1ull << 52) - 1);
    int e = bexp ? bexp - 1075 : -1074;
    if (bexp)
        m |= 1ull << 52;
    if (n >= 0 && e + n >= 0)
        return x;
    int nn = (int)(n < 0 ? -n : n);
    wide p = power_of_5(nn), a;
    if (n >= 0) {
        int s = -(e + (int)n); /* > 0; m * 5**n has at most 804 bits */
        if (s > 1000)
            return copysign(0.0, x);
        wide t = mul_u64(&p, m);
        /* one bit more than k: its last is the half, and anything set
         * below it (the trailing zeros tell) makes it more than half */
        int sticky = trailing_zeros(&t) < s - 1;
        wide k2 = shift(&t, s - 1, 0);
        a = shift(&k2, 1, 0);
        if ((k2.w[0] & 1) && (sticky || (a.w[0] & 1)))
            for (int i = 0; i < WORDS && ++a.w[i] == 0; i++) /* a + 1, carrying */
                ;
    } else {
        /* x / 10**nn against 1/2 and 2**54 by top bits (10**nn's is
         * nn + bit_length(5**nn) - 1) */
        int d = (64 - __builtin_clzll(m) - 1 + e) - (bit_length(&p) - 1 + nn);
        if (d >= 55)
            return x;
        if (d <= -2)
            return copysign(0.0, x);
        /* k = round(m * 2**e / (5**nn * 2**nn)): the power of 2 joins
         * whichever side keeps the shift positive */
        wide num = from_u64(m), den = p;
        if (e - nn >= 0)
            num = shift(&num, e - nn, 1);
        else
            den = shift(&den, nn - e, 1);
        uint64_t k = long_division(&num, &den);
        wide twice = shift(&num, 1, 1);
        int c = compare(&twice, &den, WORDS);
        if (c > 0 || (c == 0 && (k & 1)))
            k++;
        a = mul_u64(&p, k);
        p = from_u64(1);
    }
    if (is_zero(&a))
        return copysign(0.0, x);
    return copysign(nearest_double(a, p, (int)-n), x);
}
