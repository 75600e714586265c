/* mathfn.h - the math library of compiled regions: the functions of Python's
 * math module and the NumPy ufuncs that mean the same on scalars, with the
 * types and the errors each gives in the interpreter. */
#ifndef PYACC_FE_MATHFN_H
#define PYACC_FE_MATHFN_H

#include "lower.h"

/* The function `module.name` (module FE_MOD_MATH or FE_MOD_NUMPY): 1 and
 * *id when known. */
int fe_math_find(int module, const char *name, fe_builtin *id);

/* The result type of calling it on args, or NULL with *why set (a
 * printf format taking the function's name) when it does not apply. */
const fe_type *fe_math_type(fe_types *ts, fe_builtin id, int numpy, int nargs,
                            const fe_type *const *args, const char **why);

/* Emits the call for node n (arguments from `first` on). */
LLVMValueRef fe_math_lower(lower *lw, fe_node *n, fe_builtin id, int first, int numpy);

/* round(x, ndigits) of a Python float (ndigits an i64), exactly as CPython
 * rounds it: a call of pyacc_rt_round_digits (runtime/round.c on the host,
 * jit/gpu_round.c on the GPU). */
LLVMValueRef fe_math_round(lower *lw, LLVMValueRef x, LLVMValueRef ndigits, fe_loc loc);

/* base ** ex for integers, by repeated squaring (ex >= 0).  checked: a
 * Python int, raising OverflowError past int64; otherwise NumPy's, wrapping,
 * with ValueError for a negative exponent of a signed type. */
LLVMValueRef fe_int_power(lower *lw, LLVMValueRef base, LLVMValueRef ex, int is_signed, int checked, fe_loc loc);

/* A float to a Python int as int() does it: ValueError for NaN,
 * OverflowError for infinities and values beyond int64. */
LLVMValueRef fe_float_to_int(lower *lw, LLVMValueRef x, fe_loc loc);

#endif
