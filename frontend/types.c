/* types.c - interned region types, NumPy 2 promotion and unification. */
#include "types.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fe_types {
    fe_type **all;
    int n, cap;
};

fe_types *fe_types_new(void) { return calloc(1, sizeof(fe_types)); }

void fe_types_free(fe_types *ts)
{
    if (!ts)
        return;
    for (int i = 0; i < ts->n; i++) {
        free((void *)ts->all[i]->items);
        free(ts->all[i]);
    }
    free(ts->all);
    free(ts);
}

static int same(const fe_type *a, const fe_type *b)
{
    if (a->kind != b->kind || a->dtype != b->dtype || a->ndim != b->ndim ||
        a->layout != b->layout || a->id != b->id || a->elem != b->elem ||
        a->seq != b->seq || a->nitems != b->nitems || a->ptr != b->ptr)
        return 0;
    for (int i = 0; i < a->nitems; i++)
        if (a->items[i] != b->items[i])
            return 0;
    return 1;
}

/* Returns the interned copy of *proto (the arena owns it). */
static const fe_type *intern(fe_types *ts, const fe_type *proto)
{
    for (int i = 0; i < ts->n; i++)
        if (same(ts->all[i], proto))
            return ts->all[i];
    if (ts->n == ts->cap) {
        int cap = ts->cap ? 2 * ts->cap : 32;
        fe_type **a = realloc(ts->all, (size_t)cap * sizeof *a);
        if (!a)
            return NULL;
        ts->all = a;
        ts->cap = cap;
    }
    fe_type *t = malloc(sizeof *t);
    if (!t)
        return NULL;
    *t = *proto;
    t->items = NULL;
    if (proto->nitems) {
        const fe_type **items = malloc((size_t)proto->nitems * sizeof *items);
        if (!items) {
            free(t);
            return NULL;
        }
        memcpy(items, proto->items, (size_t)proto->nitems * sizeof *items);
        t->items = items;
    }
    ts->all[ts->n++] = t;
    return t;
}

const fe_type *fe_t_simple(fe_types *ts, fe_tkind k)
{
    fe_type p = {.kind = k};
    return intern(ts, &p);
}

const fe_type *fe_t_np(fe_types *ts, fe_dtype d)
{
    fe_type p = {.kind = FE_T_NP, .dtype = d};
    return intern(ts, &p);
}

const fe_type *fe_t_array(fe_types *ts, fe_dtype d, int ndim, fe_layout layout)
{
    /* One dimension has no Fortran order of its own. */
    if (ndim == 1 && layout == FE_LAYOUT_F)
        layout = FE_LAYOUT_C;
    fe_type p = {.kind = FE_T_ARRAY, .dtype = d, .ndim = (uint8_t)ndim, .layout = (uint8_t)layout};
    return intern(ts, &p);
}

const fe_type *fe_t_list(fe_types *ts, const fe_type *elem, int is_tuple)
{
    fe_type p = {.kind = FE_T_LIST, .elem = elem, .id = is_tuple};
    return intern(ts, &p);
}

const fe_type *fe_t_listout(fe_types *ts, int param)
{
    fe_type p = {.kind = FE_T_LISTOUT, .id = param};
    return intern(ts, &p);
}

const fe_type *fe_t_seqiter(fe_types *ts, const fe_type *seq, const fe_type *elem)
{
    fe_type p = {.kind = FE_T_SEQITER, .seq = seq, .elem = elem};
    return intern(ts, &p);
}

const fe_type *fe_t_enumiter(fe_types *ts, const fe_type *seq)
{
    fe_type p = {.kind = FE_T_ENUMITER, .seq = seq};
    return intern(ts, &p);
}

const fe_type *fe_t_tuple(fe_types *ts, int n, const fe_type *const *items)
{
    fe_type p = {.kind = FE_T_TUPLE, .nitems = n, .items = items};
    return intern(ts, &p);
}

const fe_type *fe_t_module(fe_types *ts, int mod)
{
    fe_type p = {.kind = FE_T_MODULE, .id = mod};
    return intern(ts, &p);
}

const fe_type *fe_t_func(fe_types *ts, fe_builtin b, int from)
{
    fe_type p = {.kind = FE_T_FUNC, .id = (int)b, .layout = (uint8_t)from};
    return intern(ts, &p);
}

const fe_type *fe_t_method(fe_types *ts, fe_builtin b, const fe_type *self)
{
    fe_type p = {.kind = FE_T_METHOD, .id = (int)b, .seq = self};
    return intern(ts, &p);
}

const fe_type *fe_t_pyfunc(fe_types *ts, const fe_code *code)
{
    fe_type p = {.kind = FE_T_PYFUNC, .ptr = code};
    return intern(ts, &p);
}

const fe_type *fe_t_from_arg(fe_types *ts, const fe_argtype *a, int param)
{
    switch ((fe_argkind)a->kind) {
    case FE_ARG_NONE: return fe_t_simple(ts, FE_T_NONE);
    case FE_ARG_BOOL: return fe_t_simple(ts, FE_T_BOOL);
    case FE_ARG_INT: return fe_t_simple(ts, FE_T_INT);
    case FE_ARG_FLOAT: return fe_t_simple(ts, FE_T_FLOAT);
    case FE_ARG_NPSCALAR: return fe_t_np(ts, (fe_dtype)a->dtype);
    case FE_ARG_ARRAY:
        if (a->ndim < 1 || a->ndim > FE_MAX_NDIM || a->dtype >= FE_DT_COUNT_)
            return fe_t_simple(ts, FE_T_OPAQUE);
        return fe_t_array(ts, (fe_dtype)a->dtype, a->ndim, (fe_layout)(a->layout & 3));
    case FE_ARG_LIST: {
        fe_tkind ek = a->dtype == FE_DT_BOOL    ? FE_T_BOOL
                      : a->dtype == FE_DT_INT64 ? FE_T_INT
                                                : FE_T_FLOAT;
        return fe_t_list(ts, fe_t_simple(ts, ek), a->layout == 1);
    }
    case FE_ARG_LIST_OUT: return fe_t_listout(ts, param);
    case FE_ARG_OPAQUE:
    case FE_ARG_TUPLE: break;
    }
    return fe_t_simple(ts, FE_T_OPAQUE);
}

int fe_t_to_arg(const fe_type *t, fe_argtype *out)
{
    memset(out, 0, sizeof *out);
    switch (t->kind) {
    case FE_T_NONE: out->kind = FE_ARG_NONE; return 1;
    case FE_T_BOOL: out->kind = FE_ARG_BOOL; return 1;
    case FE_T_INT: out->kind = FE_ARG_INT; return 1;
    case FE_T_FLOAT: out->kind = FE_ARG_FLOAT; return 1;
    case FE_T_NP:
        out->kind = FE_ARG_NPSCALAR;
        out->dtype = (uint8_t)t->dtype;
        return 1;
    default: return 0;
    }
}

int fe_t_is_number(const fe_type *t)
{
    return t && (t->kind == FE_T_BOOL || t->kind == FE_T_INT || t->kind == FE_T_FLOAT ||
                 t->kind == FE_T_NP);
}

int fe_dtype_is_float(fe_dtype d) { return d == FE_DT_FLOAT32 || d == FE_DT_FLOAT64; }
int fe_dtype_is_int(fe_dtype d) { return d >= FE_DT_INT8 && d <= FE_DT_UINT64; }
int fe_dtype_is_signed(fe_dtype d) { return d >= FE_DT_INT8 && d <= FE_DT_INT64; }
static int dtype_is_complex(fe_dtype d) { return d == FE_DT_COMPLEX64 || d == FE_DT_COMPLEX128; }

int fe_dtype_bits(fe_dtype d)
{
    static const int bits[FE_DT_COUNT_] = {
        [FE_DT_BOOL] = 8,     [FE_DT_INT8] = 8,     [FE_DT_INT16] = 16,
        [FE_DT_INT32] = 32,   [FE_DT_INT64] = 64,   [FE_DT_UINT8] = 8,
        [FE_DT_UINT16] = 16,  [FE_DT_UINT32] = 32,  [FE_DT_UINT64] = 64,
        [FE_DT_FLOAT32] = 32, [FE_DT_FLOAT64] = 64, [FE_DT_COMPLEX64] = 64,
        [FE_DT_COMPLEX128] = 128,
    };
    return (unsigned)d < FE_DT_COUNT_ ? bits[d] : 0;
}

int fe_t_is_intlike(const fe_type *t)
{
    if (!t)
        return 0;
    if (t->kind == FE_T_BOOL || t->kind == FE_T_INT)
        return 1;
    return t->kind == FE_T_NP && (t->dtype == FE_DT_BOOL || fe_dtype_is_int(t->dtype));
}

int fe_t_is_floatlike(const fe_type *t)
{
    return t && (t->kind == FE_T_FLOAT || (t->kind == FE_T_NP && fe_dtype_is_float(t->dtype)));
}

fe_dtype fe_t_dtype(const fe_type *t)
{
    switch (t->kind) {
    case FE_T_BOOL: return FE_DT_BOOL;
    case FE_T_INT: return FE_DT_INT64;
    case FE_T_FLOAT: return FE_DT_FLOAT64;
    default: return t->dtype;
    }
}

/* Kind order used by NumPy: bool < integer < float < complex. */
static int kind_rank(fe_dtype d)
{
    if (d == FE_DT_BOOL)
        return 0;
    if (fe_dtype_is_int(d))
        return 1;
    if (fe_dtype_is_float(d))
        return 2;
    return 3;
}

static fe_dtype sint_of_bits(int bits)
{
    return bits <= 8 ? FE_DT_INT8 : bits <= 16 ? FE_DT_INT16 : bits <= 32 ? FE_DT_INT32 : FE_DT_INT64;
}

/* np.result_type for two dtypes. */
static fe_dtype promote_dtypes(fe_dtype a, fe_dtype b)
{
    if (a == b)
        return a;
    int ra = kind_rank(a), rb = kind_rank(b);
    if (ra == 0)
        return b;
    if (rb == 0)
        return a;
    if (ra == 1 && rb == 1) {
        int sa = fe_dtype_is_signed(a), sb = fe_dtype_is_signed(b);
        int ba = fe_dtype_bits(a), bb = fe_dtype_bits(b);
        if (sa == sb)
            return ba >= bb ? a : b;
        int sbits = sa ? ba : bb, ubits = sa ? bb : ba;
        if (sbits > ubits)
            return sa ? a : b;
        if (ubits >= 64)
            return FE_DT_FLOAT64; /* int64 with uint64 */
        return sint_of_bits(2 * ubits);
    }
    /* An integer meets a float or complex: the smallest float holding the
     * integer exactly enough, as NumPy's table says (16-bit ints fit float32). */
    if (ra != rb) {
        fe_dtype i = ra < rb ? a : b, f = ra < rb ? b : a;
        int ib = kind_rank(i) == 1 ? fe_dtype_bits(i) : 0;
        if (kind_rank(i) == 2) { /* float with complex */
            if (f == FE_DT_COMPLEX64 && i == FE_DT_FLOAT64)
                return FE_DT_COMPLEX128;
            return f;
        }
        if (ib <= 16)
            return f;
        return f == FE_DT_FLOAT32 ? FE_DT_FLOAT64 : f == FE_DT_COMPLEX64 ? FE_DT_COMPLEX128 : f;
    }
    /* same kind, float or complex: the wider */
    return fe_dtype_bits(a) >= fe_dtype_bits(b) ? a : b;
}

const fe_type *fe_t_promote(fe_types *ts, const fe_type *a, const fe_type *b)
{
    if (!fe_t_is_number(a) || !fe_t_is_number(b))
        return NULL;
    int weak_a = a->kind != FE_T_NP, weak_b = b->kind != FE_T_NP;
    if (weak_a && weak_b) {
        /* Python's own rules: bool and int give int, anything with float float. */
        if (a->kind == FE_T_FLOAT || b->kind == FE_T_FLOAT)
            return fe_t_simple(ts, FE_T_FLOAT);
        return fe_t_simple(ts, FE_T_INT);
    }
    if (!weak_a && !weak_b)
        return fe_t_np(ts, promote_dtypes(a->dtype, b->dtype));
    /* NEP 50: a Python scalar takes the NumPy scalar's type when that type's
     * kind can hold it; otherwise the default type of the Python scalar's kind
     * (int64, float64) is promoted with it. */
    const fe_type *w = weak_a ? a : b, *s = weak_a ? b : a;
    int wrank = w->kind == FE_T_BOOL ? 0 : w->kind == FE_T_INT ? 1 : 2;
    int srank = kind_rank(s->dtype);
    if (wrank <= srank)
        return s;
    return fe_t_np(ts, promote_dtypes(s->dtype, fe_t_dtype(w)));
}

const fe_type *fe_t_unify(fe_types *ts, const fe_type *a, const fe_type *b)
{
    if (a == b)
        return a;
    if (!fe_t_is_number(a) || !fe_t_is_number(b))
        return NULL;
    /* The variable computes in a type that holds the values of both (ints
     * beyond 2**53 in a float excepted); which type it holds at run time
     * is tracked beside it (kinds.c), so results keep Python's types.
     * Not NumPy 2's promotion, where a Python number takes a NumPy
     * scalar's type (np.float32(1) + 0.1 is a float32): a variable that
     * holds a Python 0.1, 2**40 or -1 keeps it, so here a Python int or
     * float counts as the NumPy type that holds it.  A Python bool too,
     * beside a NumPy number that is not a bool: -True is -1 and True + 0.1
     * is 1.1, which a uint8 or a float32 would not hold (each kind's own
     * arithmetic is lower_kinds.c's).  Complex numbers are not compiled
     * yet. */
    if ((a->kind == FE_T_NP && dtype_is_complex(a->dtype)) || (b->kind == FE_T_NP && dtype_is_complex(b->dtype)))
        return NULL;
    if ((a->kind == FE_T_NP) != (b->kind == FE_T_NP)) {
        const fe_type **w = a->kind == FE_T_NP ? &b : &a;
        const fe_type *np = a->kind == FE_T_NP ? a : b;
        if ((*w)->kind == FE_T_INT || ((*w)->kind == FE_T_BOOL && np->dtype != FE_DT_BOOL))
            *w = fe_t_np(ts, FE_DT_INT64);
        else if ((*w)->kind == FE_T_FLOAT)
            *w = fe_t_np(ts, FE_DT_FLOAT64);
    }
    return fe_t_promote(ts, a, b);
}

const char *fe_dtype_name(fe_dtype d)
{
    static const char *const names[FE_DT_COUNT_] = {
        [FE_DT_BOOL] = "bool",        [FE_DT_INT8] = "int8",       [FE_DT_INT16] = "int16",
        [FE_DT_INT32] = "int32",      [FE_DT_INT64] = "int64",     [FE_DT_UINT8] = "uint8",
        [FE_DT_UINT16] = "uint16",    [FE_DT_UINT32] = "uint32",   [FE_DT_UINT64] = "uint64",
        [FE_DT_FLOAT32] = "float32",  [FE_DT_FLOAT64] = "float64", [FE_DT_COMPLEX64] = "complex64",
        [FE_DT_COMPLEX128] = "complex128",
    };
    return (unsigned)d < FE_DT_COUNT_ ? names[d] : "?";
}

static int array_str(fe_dtype d, int ndim, int layout, char *buf, size_t cap)
{
    char dims[32] = "";
    size_t k = 0;
    for (int i = 0; i < ndim && k + 4 < sizeof dims; i++)
        k += (size_t)snprintf(dims + k, sizeof dims - k, i ? ", :" : ":");
    const char *lay = ndim > 1 && layout == FE_LAYOUT_F ? " (F)" : layout == FE_LAYOUT_A ? " (A)" : "";
    return snprintf(buf, cap, "%s[%s]%s", fe_dtype_name(d), dims, lay);
}

int fe_t_str(const fe_type *t, char *buf, size_t cap)
{
    if (!t)
        return snprintf(buf, cap, "?");
    switch (t->kind) {
    case FE_T_NONE: return snprintf(buf, cap, "None");
    case FE_T_BOOL: return snprintf(buf, cap, "bool");
    case FE_T_INT: return snprintf(buf, cap, "int");
    case FE_T_FLOAT: return snprintf(buf, cap, "float");
    case FE_T_NP: return snprintf(buf, cap, "numpy.%s", fe_dtype_name(t->dtype));
    case FE_T_ARRAY: return array_str(t->dtype, t->ndim, t->layout, buf, cap);
    case FE_T_LIST: {
        char e[32];
        fe_t_str(t->elem, e, sizeof e);
        return snprintf(buf, cap, "%s[%s]", t->id ? "tuple" : "list", e);
    }
    case FE_T_LISTOUT: return snprintf(buf, cap, "list (appended to)");
    case FE_T_RANGE: return snprintf(buf, cap, "range");
    case FE_T_RANGEITER: return snprintf(buf, cap, "range iterator");
    case FE_T_SEQITER: return snprintf(buf, cap, "iterator");
    case FE_T_ENUMITER: return snprintf(buf, cap, "enumerate");
    case FE_T_TUPLE: {
        int k = snprintf(buf, cap, "tuple(");
        for (int i = 0; i < t->nitems && (size_t)k < cap; i++) {
            k += fe_t_str(t->items[i], buf + k, cap - (size_t)k);
            if (i + 1 < t->nitems && (size_t)k < cap)
                k += snprintf(buf + k, cap - (size_t)k, ", ");
        }
        if ((size_t)k < cap)
            k += snprintf(buf + k, cap - (size_t)k, ")");
        return k;
    }
    case FE_T_MODULE: return snprintf(buf, cap, "module");
    case FE_T_FUNC: return snprintf(buf, cap, "function");
    case FE_T_METHOD: return snprintf(buf, cap, "method");
    case FE_T_NULL: return snprintf(buf, cap, "NULL");
    case FE_T_PYFUNC: return snprintf(buf, cap, "function %s", ((const fe_code *)t->ptr)->qualname);
    case FE_T_OPAQUE: return snprintf(buf, cap, "object");
    }
    return snprintf(buf, cap, "?");
}

int fe_argtype_str(const fe_argtype *a, char *buf, size_t cap)
{
    switch ((fe_argkind)a->kind) {
    case FE_ARG_NONE: return snprintf(buf, cap, "none");
    case FE_ARG_BOOL: return snprintf(buf, cap, "bool");
    case FE_ARG_INT: return snprintf(buf, cap, "int");
    case FE_ARG_FLOAT: return snprintf(buf, cap, "float");
    case FE_ARG_NPSCALAR: return snprintf(buf, cap, "np.%s", fe_dtype_name((fe_dtype)a->dtype));
    case FE_ARG_ARRAY: {
        int k = array_str((fe_dtype)a->dtype, a->ndim, a->layout & 3, buf, cap);
        if ((a->layout & FE_LAYOUT_OVERLAPS) && (size_t)k < cap)
            k += snprintf(buf + k, cap - (size_t)k, " (overlapping)");
        if ((a->layout & FE_LAYOUT_DEVICE) && (size_t)k < cap)
            k += snprintf(buf + k, cap - (size_t)k, " (GPU)");
        return k;
    }
    case FE_ARG_LIST:
        return snprintf(buf, cap, "%s[%s]", a->layout == 1 ? "tuple" : "list", fe_dtype_name((fe_dtype)a->dtype));
    case FE_ARG_LIST_OUT: return snprintf(buf, cap, "list");
    case FE_ARG_TUPLE: return snprintf(buf, cap, "tuple");
    case FE_ARG_OPAQUE: break;
    }
    return snprintf(buf, cap, "object");
}
