/* types.h - the types of values inside a compiled region.
 *
 * Python's own int, float and bool are "weak" in NumPy 2's sense (NEP 50):
 * combined with a NumPy scalar they take its type, so `a * x[i]` with a
 * Python float a and a float32 array x is float32, exactly as the plain
 * function computes it.  NumPy scalars (array elements) are "strong".
 * Types are interned in a fe_types arena, so equal types are equal pointers.
 */
#ifndef PYACC_FE_TYPES_H
#define PYACC_FE_TYPES_H

#include "fe.h"

typedef enum fe_tkind {
    FE_T_NONE,
    FE_T_BOOL,      /* Python bool */
    FE_T_INT,       /* Python int, held as int64 */
    FE_T_FLOAT,     /* Python float */
    FE_T_NP,        /* NumPy scalar of dtype */
    FE_T_ARRAY,     /* dtype, ndim, layout */
    FE_T_LIST,      /* a list of Python numbers; elem; id = 1 for a tuple */
    FE_T_LISTOUT,   /* a list the region appends to; id = parameter index */
    FE_T_RANGE,     /* range(...) */
    FE_T_RANGEITER,
    FE_T_SEQITER,   /* iterator over an array's first axis or a list: elem, seq */
    FE_T_ENUMITER,  /* enumerate(seq): seq; yields (int, elem) */
    FE_T_TUPLE,     /* items */
    FE_T_MODULE,    /* id = FE_MOD_* */
    FE_T_FUNC,      /* a known callable; id = fe_builtin; layout = FE_FUNC_* (where from) */
    FE_T_METHOD,    /* a bound method; id = fe_builtin, seq = self's type */
    FE_T_NULL,      /* the NULL a plain call pushes */
    FE_T_PYFUNC,    /* a Python function the region calls: ptr is its fe_code */
    FE_T_OPAQUE     /* a value the region may hold but not use */
} fe_tkind;

enum { FE_MOD_MATH, FE_MOD_NUMPY, FE_MOD_PYACC };
enum { FE_FUNC_BUILTIN, FE_FUNC_MATH, FE_FUNC_NUMPY }; /* FE_T_FUNC's layout */

/* Callables the frontend knows. */
typedef enum fe_builtin {
    FE_BI_RANGE, FE_BI_LEN, FE_BI_MIN, FE_BI_MAX, FE_BI_ABS, FE_BI_INT, FE_BI_FLOAT,
    FE_BI_BOOL, FE_BI_ROUND, FE_BI_ENUMERATE,
    FE_BI_LIST_APPEND,
    FE_BI_ACC_ON_DEVICE, /* pyacc.acc_on_device: known when compiling for a device */
    /* math and numpy functions (mathfn.c) */
    FE_BI_SQRT, FE_BI_EXP, FE_BI_EXPM1, FE_BI_LOG, FE_BI_LOG1P, FE_BI_LOG2, FE_BI_LOG10,
    FE_BI_SIN, FE_BI_COS, FE_BI_TAN, FE_BI_ASIN, FE_BI_ACOS, FE_BI_ATAN, FE_BI_ATAN2,
    FE_BI_SINH, FE_BI_COSH, FE_BI_TANH, FE_BI_HYPOT, FE_BI_POW, FE_BI_FABS, FE_BI_FLOOR,
    FE_BI_CEIL, FE_BI_TRUNC, FE_BI_COPYSIGN, FE_BI_FMOD, FE_BI_ERF, FE_BI_ERFC, FE_BI_GAMMA,
    FE_BI_LGAMMA, FE_BI_ISNAN, FE_BI_ISINF, FE_BI_ISFINITE, FE_BI_NP_ABS,
    FE_BI_NP_MINIMUM, FE_BI_NP_MAXIMUM, FE_BI_NP_FMIN, FE_BI_NP_FMAX,
    /* numpy.float32(x), numpy.int8(x), ...: FE_BI_NP_TYPE + dtype */
    FE_BI_NP_TYPE,
    FE_BI_COUNT_ = FE_BI_NP_TYPE + FE_DT_COUNT_
} fe_builtin;

/* Items in a tuple; a region's results travel as one, with a 64-bit mask
 * of which are bound. */
#define FE_MAX_TUPLE 63

typedef struct fe_type fe_type;
struct fe_type {
    fe_tkind kind;
    fe_dtype dtype;
    uint8_t ndim;
    uint8_t layout;
    int id;
    const fe_type *elem;  /* LIST, SEQITER: element type */
    const fe_type *seq;   /* SEQITER, ENUMITER: the sequence; METHOD: self */
    int nitems;
    const fe_type *const *items; /* TUPLE */
    const void *ptr;      /* PYFUNC: the callee's fe_code */
};

typedef struct fe_types fe_types;

fe_types *fe_types_new(void);
void fe_types_free(fe_types *ts);

/* Interned constructors; NULL only when out of memory. */
const fe_type *fe_t_simple(fe_types *ts, fe_tkind k);
const fe_type *fe_t_np(fe_types *ts, fe_dtype d);
const fe_type *fe_t_array(fe_types *ts, fe_dtype d, int ndim, fe_layout layout);
const fe_type *fe_t_list(fe_types *ts, const fe_type *elem, int is_tuple);
const fe_type *fe_t_listout(fe_types *ts, int param);
const fe_type *fe_t_seqiter(fe_types *ts, const fe_type *seq, const fe_type *elem);
const fe_type *fe_t_enumiter(fe_types *ts, const fe_type *seq);
const fe_type *fe_t_tuple(fe_types *ts, int n, const fe_type *const *items);
const fe_type *fe_t_module(fe_types *ts, int mod);
const fe_type *fe_t_func(fe_types *ts, fe_builtin b, int from);
const fe_type *fe_t_method(fe_types *ts, fe_builtin b, const fe_type *self);
const fe_type *fe_t_pyfunc(fe_types *ts, const fe_code *code);

/* The type of an argument as the dispatcher describes it. */
const fe_type *fe_t_from_arg(fe_types *ts, const fe_argtype *a, int param);
/* The reverse, for live-out values; 0 when t cannot leave a region. */
int fe_t_to_arg(const fe_type *t, fe_argtype *out);

/* Numbers: bool, int, float (weak) and NumPy scalars. */
int fe_t_is_number(const fe_type *t);
int fe_t_is_intlike(const fe_type *t);   /* bool, int, integer or bool NumPy scalars */
int fe_t_is_floatlike(const fe_type *t);
/* The NumPy dtype a number computes in (int -> int64, float -> float64). */
fe_dtype fe_t_dtype(const fe_type *t);
int fe_dtype_is_int(fe_dtype d);    /* signed or unsigned, not bool */
int fe_dtype_is_signed(fe_dtype d);

/* NumPy 2 promotion of two numbers, weak Python scalars included: the type
 * of `a + b` before any operator-specific rule (true division of ints, ...).
 * NULL when either is not a number. */
const fe_type *fe_t_promote(fe_types *ts, const fe_type *a, const fe_type *b);

/* The type a variable holding both a and b computes in (the run-time type
 * is tracked beside it), or NULL when no one type holds both. */
const fe_type *fe_t_unify(fe_types *ts, const fe_type *a, const fe_type *b);

/* "float32[:]", "int64", ...; writes at most cap bytes, returns the length. */
int fe_t_str(const fe_type *t, char *buf, size_t cap);

#endif
