/* pymath.c - Python's arithmetic where C's differs: int / int, and the
 * one rounding of an exact quotient to a double it and round(x, ndigits)
 * (round.c) end with.
 *
 * Python divides two ints into the float nearest their exact quotient.
 * Converting each to double first rounds twice once they pass 2**53, so
 * compiled code calls this for such operands (and divides in doubles, which
 * is exact for smaller ones, otherwise).
 */
#include "rt.h"

#include <math.h>
#include <string.h>

double rt_nearest_double(uint64_t q, int sticky, int place)
{
    /* drop g bits: down to 53, or to the place 2**-1074 (a subnormal) */
    int g = 64 - __builtin_clzll(q) - 53;
    if (g < -1074 - place)
        g = -1074 - place;
    uint64_t m = q >> g, rest = q & ((1ull << g) - 1), half = 1ull << (g - 1);
    if (rest > half || (rest == half && (sticky || (m & 1))))
        m++;
    int ex = place + g;
    if (m == 1ull << 53) { /* rounding up carried into the exponent */
        m = 1ull << 52;
        ex++;
    }
    uint64_t bits;
    if (m < 1ull << 52) { /* only at the place 2**-1074: a subnormal */
        bits = m;
    } else {
        int64_t biased = (int64_t)ex + 1075;
        if (biased >= 2047)
            return INFINITY;
        bits = (uint64_t)biased << 52 | (m - (1ull << 52));
    }
    double r;
    memcpy(&r, &bits, 8);
    return r;
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
    /* below 2**64: 56 or 57 bits, or at most 63 where s is 0 */
    double r = rt_nearest_double((uint64_t)(n / ub), n % ub != 0, -s);
    return negative ? -r : r;
}
