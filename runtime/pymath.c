/* pymath.c - Python's arithmetic where C's differs: int / int.
 *
 * Python divides two ints into the float nearest their exact quotient.
 * Converting each to double first rounds twice once they pass 2**53, so
 * compiled code calls this for such operands (and divides in doubles, which
 * is exact for smaller ones, otherwise).
 */
#include "rt.h"

#include <math.h>

/* The number of significant bits of x (0 for 0). */
static int bits128(unsigned __int128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    return hi ? 128 - __builtin_clzll(hi) : lo ? 64 - __builtin_clzll(lo) : 0;
}

double pyacc_rt_int_truediv(int64_t a, int64_t b)
{
    int negative = (a < 0) != (b < 0);
    uint64_t ua = a < 0 ? 0 - (uint64_t)a : (uint64_t)a;
    uint64_t ub = b < 0 ? 0 - (uint64_t)b : (uint64_t)b;
    if (ua == 0)
        return negative ? -0.0 : 0.0;
    /* Scale the dividend so the integer quotient carries 56 or 57 bits: 53
     * for the result, and more to round by, plus the remainder as a sticky
     * bit, so one rounding to nearest-even gives the exact answer. */
    int la = 64 - __builtin_clzll(ua), lb = 64 - __builtin_clzll(ub);
    int s = 56 + lb - la;
    if (s < 0)
        s = 0;
    unsigned __int128 n = (unsigned __int128)ua << s;
    unsigned __int128 q = n / ub;
    int sticky = n % ub != 0;
    int extra = bits128(q) - 53;
    uint64_t mant;
    if (extra > 0) {
        unsigned __int128 rest = q & (((unsigned __int128)1 << extra) - 1);
        unsigned __int128 half = (unsigned __int128)1 << (extra - 1);
        mant = (uint64_t)(q >> extra);
        if (rest > half || (rest == half && (sticky || (mant & 1))))
            mant++;
    } else {
        mant = (uint64_t)q; /* cannot happen with the scaling above */
        extra = 0;
    }
    double r = ldexp((double)mant, extra - s);
    return negative ? -r : r;
}
