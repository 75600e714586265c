/* infer.c - type inference over the IR.
 *
 * Variables are typed flow-insensitively: a variable's type is the
 * unification of everything stored into it (types.c says which mixtures
 * keep Python's results).  Nodes are typed from their operands; the whole
 * function is swept until nothing changes.  Operator rules follow Python
 * for Python scalars and NumPy 2 for NumPy scalars, so a compiled region
 * computes in the same types as the plain function.
 */
#include "ir.h"
#include "mathfn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct infer {
    fe_func *f;
    fe_types *ts;
    fe_error *err;
    int changed;
} infer;

static const fe_type *T(infer *in, fe_tkind k) { return fe_t_simple(in->ts, k); }

static fe_status type_error(infer *in, const fe_node *n, const char *fmt, const fe_type *a,
                            const fe_type *b)
{
    /* a value pyacc cannot represent (a string, an object, a function passed
     * in) is no mistake of the user's: the region runs in the interpreter */
    if ((a && a->kind == FE_T_OPAQUE) || (b && b->kind == FE_T_OPAQUE))
        return fe_error_set(in->err, FE_ERR_UNSUPPORTED, n->loc,
                            "a value pyacc does not compile (a string, a function or another object) "
                            "is used here");
    char sa[64], sb[64] = "";
    fe_t_str(a, sa, sizeof sa);
    if (b)
        fe_t_str(b, sb, sizeof sb);
    return fe_error_set(in->err, FE_ERR_TYPE, n->loc, fmt, sa, sb);
}

static fe_status unsupported(infer *in, const fe_node *n, const char *fmt, const char *what)
{
    return fe_error_set(in->err, FE_ERR_UNSUPPORTED, n->loc, fmt, what);
}

static void set_type(infer *in, fe_node *n, const fe_type *t)
{
    if (n->type != t) {
        n->type = t;
        in->changed = 1;
    }
}

static const fe_type *arg_type(infer *in, const fe_node *n, int i)
{
    return in->f->nodes[fe_arg(in->f, n, i)].type;
}

/* ---------------------------------------------------------- constants */

static const fe_type *const_type(infer *in, const fe_const *c)
{
    switch (c->kind) {
    case FE_CONST_NONE: return T(in, FE_T_NONE);
    case FE_CONST_BOOL: return T(in, FE_T_BOOL);
    case FE_CONST_INT: return T(in, FE_T_INT);
    case FE_CONST_FLOAT: return T(in, FE_T_FLOAT);
    case FE_CONST_TUPLE: {
        const fe_type *items[FE_MAX_TUPLE];
        if (c->nitems > FE_MAX_TUPLE)
            return T(in, FE_T_OPAQUE);
        for (int i = 0; i < c->nitems; i++)
            items[i] = const_type(in, &c->items[i]);
        return fe_t_tuple(in->ts, c->nitems, items);
    }
    default: return T(in, FE_T_OPAQUE);
    }
}

/* ------------------------------------------------------ names and attrs */

typedef struct named {
    const char *name;
    fe_builtin id;
} named;

static const named builtins[] = {
    {"range", FE_BI_RANGE}, {"len", FE_BI_LEN},     {"min", FE_BI_MIN},
    {"max", FE_BI_MAX},     {"abs", FE_BI_ABS},     {"int", FE_BI_INT},
    {"float", FE_BI_FLOAT}, {"bool", FE_BI_BOOL},   {"round", FE_BI_ROUND},
    {"enumerate", FE_BI_ENUMERATE}, {"acc_on_device", FE_BI_ACC_ON_DEVICE},
};

static int lookup(const named *tab, size_t n, const char *name, fe_builtin *out)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tab[i].name, name) == 0) {
            *out = tab[i].id;
            return 1;
        }
    return 0;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int fe_module_constant(const char *name, double *value)
{
    static const struct {
        const char *name;
        double v;
    } consts[] = {
        {"pi", 3.141592653589793}, {"e", 2.718281828459045}, {"tau", 6.283185307179586},
        {"inf", __builtin_inf()},  {"nan", __builtin_nan("")},
    };
    for (size_t i = 0; i < NELEM(consts); i++)
        if (strcmp(consts[i].name, name) == 0) {
            *value = consts[i].v;
            return 1;
        }
    return 0;
}

int fe_pyacc_constant(const char *name, int64_t *value)
{
    /* acc_device_t as in NVIDIA's openacc.h, and the version macro */
    static const struct {
        const char *name;
        int64_t v;
    } consts[] = {
        {"acc_device_none", 0}, {"acc_device_default", 1}, {"acc_device_host", 2},
        {"acc_device_not_host", 3}, {"acc_device_nvidia", 4}, {"_OPENACC", 201811},
    };
    for (size_t i = 0; i < NELEM(consts); i++)
        if (strcmp(consts[i].name, name) == 0) {
            *value = consts[i].v;
            return 1;
        }
    return 0;
}

static fe_status infer_global(infer *in, fe_node *n)
{
    const fe_code *code = in->f->code;
    const char *name = code->names[n->var];
    const fe_global *g = code->globals ? &code->globals[n->var] : NULL;
    fe_builtin b;
    if (!g || g->kind == FE_GLOBAL_UNBOUND)
        return unsupported(in, n, "name '%s' is not defined", name);
    switch (g->kind) {
    case FE_GLOBAL_BUILTIN:
        if (!lookup(builtins, NELEM(builtins), g->name, &b))
            return unsupported(in, n, "the builtin '%s' is not supported in a compute region", g->name);
        set_type(in, n, fe_t_func(in->ts, b, FE_FUNC_BUILTIN));
        return FE_OK;
    case FE_GLOBAL_MODULE:
        if (strcmp(g->name, "math") == 0)
            set_type(in, n, fe_t_module(in->ts, FE_MOD_MATH));
        else if (strcmp(g->name, "numpy") == 0)
            set_type(in, n, fe_t_module(in->ts, FE_MOD_NUMPY));
        else if (strcmp(g->name, "pyacc") == 0)
            set_type(in, n, fe_t_module(in->ts, FE_MOD_PYACC));
        else
            return unsupported(in, n, "module '%s' is not supported in a compute region", g->name);
        return FE_OK;
    case FE_GLOBAL_CONST:
        set_type(in, n, const_type(in, &g->value));
        return FE_OK;
    case FE_GLOBAL_FUNCTION:
        set_type(in, n, fe_t_pyfunc(in->ts, g->code));
        return FE_OK;
    default:
        return unsupported(in, n, "the global '%s' is not a constant, module or known function", name);
    }
}

static fe_status infer_attr(infer *in, fe_node *n)
{
    const fe_type *o = arg_type(in, n, 0);
    const char *name = in->f->code->names[n->var];
    if (!o)
        return FE_OK;
    fe_builtin b;
    double cv;
    switch (o->kind) {
    case FE_T_ARRAY:
        if (strcmp(name, "shape") == 0) {
            const fe_type *items[FE_MAX_NDIM];
            for (int i = 0; i < o->ndim; i++)
                items[i] = T(in, FE_T_INT);
            set_type(in, n, fe_t_tuple(in->ts, o->ndim, items));
            return FE_OK;
        }
        if (strcmp(name, "size") == 0 || strcmp(name, "ndim") == 0) {
            set_type(in, n, T(in, FE_T_INT));
            return FE_OK;
        }
        break;
    case FE_T_LISTOUT:
        if (strcmp(name, "append") == 0 && n->sub) {
            set_type(in, n, fe_t_method(in->ts, FE_BI_LIST_APPEND, o));
            return FE_OK;
        }
        break;
    case FE_T_MODULE: {
        int math = o->id == FE_MOD_MATH;
        if (o->id == FE_MOD_PYACC) {
            int64_t iv;
            if (fe_pyacc_constant(name, &iv)) {
                set_type(in, n, T(in, FE_T_INT));
                return FE_OK;
            }
            if (strcmp(name, "acc_on_device") == 0) {
                set_type(in, n, fe_t_func(in->ts, FE_BI_ACC_ON_DEVICE, FE_FUNC_BUILTIN));
                return FE_OK;
            }
            return unsupported(in, n, "'pyacc.%s' is not supported in a compute region", name);
        }
        if (fe_module_constant(name, &cv) && (math || strcmp(name, "tau") != 0)) {
            set_type(in, n, T(in, FE_T_FLOAT));
            return FE_OK;
        }
        if (fe_math_find(o->id, name, &b)) {
            set_type(in, n, fe_t_func(in->ts, b, math ? FE_FUNC_MATH : FE_FUNC_NUMPY));
            return FE_OK;
        }
        char what[96];
        snprintf(what, sizeof what, "%s.%s", math ? "math" : "numpy", name);
        return unsupported(in, n, "'%s' is not supported in a compute region", what);
    }
    default:
        break;
    }
    char ts[64];
    fe_t_str(o, ts, sizeof ts);
    char what[160];
    snprintf(what, sizeof what, "attribute '%s' of %s", name, ts);
    return unsupported(in, n, "%s is not supported in a compute region", what);
}

/* ------------------------------------------------------------ operators */

static const char *const binop_symbols[] = {"+", "&", "//", "<<", "@", "*", "%", "|", "**",
                                            ">>", "-", "/", "^"};

static int is_const_nonneg_int(infer *in, fe_val v)
{
    const fe_node *n = &in->f->nodes[v];
    return n->op == IR_CONST && n->c.kind == FE_CONST_INT && n->c.i >= 0;
}

const fe_type *fe_binop_result(fe_types *ts, int op, const fe_type *a, const fe_type *b)
{
    if (!fe_t_is_number(a) || !fe_t_is_number(b))
        return NULL;
    const fe_type *p = fe_t_promote(ts, a, b);
    int weak = a->kind != FE_T_NP && b->kind != FE_T_NP;
    if (p->kind == FE_T_NP && p->dtype == FE_DT_BOOL) {
        /* NumPy's bools: + and * are or and and, - is a TypeError, and
         * //, % and ** compute in int8 */
        if (op == FE_NB_SUBTRACT)
            return NULL;
        if (op == FE_NB_FLOOR_DIVIDE || op == FE_NB_REMAINDER || op == FE_NB_POWER)
            return fe_t_np(ts, FE_DT_INT8);
    }
    switch (op) {
    case FE_NB_ADD:
    case FE_NB_SUBTRACT:
    case FE_NB_MULTIPLY:
    case FE_NB_FLOOR_DIVIDE:
    case FE_NB_REMAINDER:
    case FE_NB_POWER: /* int ** int: see infer_binop */
        return p;
    case FE_NB_TRUE_DIVIDE:
        if (weak)
            return fe_t_simple(ts, FE_T_FLOAT);
        return fe_t_is_intlike(p) ? fe_t_np(ts, FE_DT_FLOAT64) : p;
    case FE_NB_AND:
    case FE_NB_OR:
    case FE_NB_XOR:
        if (!fe_t_is_intlike(a) || !fe_t_is_intlike(b))
            return NULL;
        return a->kind == FE_T_BOOL && b->kind == FE_T_BOOL ? a : p;
    case FE_NB_LSHIFT:
    case FE_NB_RSHIFT:
        if (!fe_t_is_intlike(a) || !fe_t_is_intlike(b))
            return NULL;
        return p->kind == FE_T_BOOL ? fe_t_simple(ts, FE_T_INT) : p;
    default:
        return NULL;
    }
}

const fe_type *fe_unop_result(fe_types *ts, int sub, const fe_type *a)
{
    if (sub == FE_UN_NOT)
        return fe_t_simple(ts, FE_T_BOOL);
    if (!fe_t_is_number(a) || (sub == FE_UN_INVERT && !fe_t_is_intlike(a)))
        return NULL;
    if (sub == FE_UN_NEG && a->kind == FE_T_NP && a->dtype == FE_DT_BOOL) /* NumPy: a TypeError */
        return NULL;
    /* -True is -1: Python bools become ints; NumPy bools stay bools for ~ */
    return a->kind == FE_T_BOOL ? fe_t_simple(ts, FE_T_INT) : a;
}

static fe_status infer_binop(infer *in, fe_node *n)
{
    const fe_type *a = arg_type(in, n, 0), *b = arg_type(in, n, 1);
    if (!a || !b)
        return FE_OK;
    int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
    if (op < 0 || op > FE_NB_XOR)
        return unsupported(in, n, "operator %s is not supported", "?");
    const fe_type *r = fe_binop_result(in->ts, op, a, b);
    if (!r) {
        char fmt[128];
        snprintf(fmt, sizeof fmt, "unsupported operand types for %s: '%%s' and '%%s'", binop_symbols[op]);
        return type_error(in, n, fmt, a, b);
    }
    int weak = a->kind != FE_T_NP && b->kind != FE_T_NP;
    /* int ** int is an int for an exponent >= 0 and a float below: held as a
     * float when the sign is not known, its kind (kinds.c) says which */
    if (op == FE_NB_POWER && fe_t_is_intlike(r) && weak && !is_const_nonneg_int(in, fe_arg(in->f, n, 1)))
        r = T(in, FE_T_FLOAT);
    set_type(in, n, r);
    return FE_OK;
}

static fe_status infer_unop(infer *in, fe_node *n)
{
    const fe_type *a = arg_type(in, n, 0);
    if (!a)
        return FE_OK;
    const fe_type *r = fe_unop_result(in->ts, n->sub, a);
    if (!r)
        return type_error(in, n, n->sub == FE_UN_INVERT ? "bad operand type for unary ~: '%s'%s"
                                                        : "bad operand type for unary operator: '%s'%s",
                          a, NULL);
    set_type(in, n, r);
    return FE_OK;
}

static fe_status infer_cmp(infer *in, fe_node *n)
{
    const fe_type *a = arg_type(in, n, 0), *b = arg_type(in, n, 1);
    if (!a || !b)
        return FE_OK;
    if (n->sub == FE_CMP_IS || n->sub == FE_CMP_ISNOT) {
        set_type(in, n, T(in, FE_T_BOOL));
        return FE_OK;
    }
    if (!fe_t_is_number(a) || !fe_t_is_number(b))
        return type_error(in, n, "unsupported comparison between '%s' and '%s'", a, b);
    int np = a->kind == FE_T_NP || b->kind == FE_T_NP;
    set_type(in, n, np ? fe_t_np(in->ts, FE_DT_BOOL) : T(in, FE_T_BOOL));
    return FE_OK;
}

/* ------------------------------------------------------------ indexing */

/* The number of integer indices in an index value, or -1 if it is not a
 * scalar integer or a tuple of them. */
static int index_count(const fe_type *idx)
{
    if (fe_t_is_intlike(idx) && idx->kind != FE_T_BOOL &&
        !(idx->kind == FE_T_NP && idx->dtype == FE_DT_BOOL))
        return 1;
    if (idx->kind == FE_T_TUPLE) {
        for (int i = 0; i < idx->nitems; i++)
            if (index_count(idx->items[i]) != 1)
                return -1;
        return idx->nitems;
    }
    return -1;
}

static fe_status infer_subscr(infer *in, fe_node *n)
{
    const fe_type *c = arg_type(in, n, 0), *idx = arg_type(in, n, 1);
    if (!c || !idx)
        return FE_OK;
    if (c->kind == FE_T_ARRAY) {
        int k = index_count(idx);
        if (k < 0)
            return type_error(in, n, "array index must be integers, not '%s'%s", idx, NULL);
        if (k > c->ndim)
            return type_error(in, n, "too many indices for array '%s'%s", c, NULL);
        /* a[()] is the whole array in NumPy; lowering needs an index */
        if (k == 0)
            return unsupported(in, n, "%s", "indexing an array with an empty tuple");
        if (k == c->ndim)
            set_type(in, n, fe_t_np(in->ts, c->dtype));
        else /* a view: dropping leading axes keeps C order, nothing else */
            set_type(in, n, fe_t_array(in->ts, c->dtype, c->ndim - k,
                                       c->layout == FE_LAYOUT_C ? FE_LAYOUT_C : FE_LAYOUT_A));
        return FE_OK;
    }
    if (c->kind == FE_T_LIST) {
        if (index_count(idx) != 1)
            return type_error(in, n, "list indices must be integers, not '%s'%s", idx, NULL);
        set_type(in, n, c->elem);
        return FE_OK;
    }
    if (c->kind == FE_T_TUPLE) {
        const fe_node *ix = &in->f->nodes[fe_arg(in->f, n, 1)];
        if (ix->op != IR_CONST || ix->c.kind != FE_CONST_INT)
            return unsupported(in, n, "%s", "indexing a tuple with a non-constant index");
        int64_t i = ix->c.i < 0 ? ix->c.i + c->nitems : ix->c.i;
        if (i < 0 || i >= c->nitems)
            return fe_error_set(in->err, FE_ERR_TYPE, n->loc, "tuple index out of range");
        set_type(in, n, c->items[i]);
        return FE_OK;
    }
    return type_error(in, n, "'%s' object is not subscriptable%s", c, NULL);
}

static fe_status infer_store_subscr(infer *in, fe_node *n)
{
    const fe_type *c = arg_type(in, n, 0), *idx = arg_type(in, n, 1), *v = arg_type(in, n, 2);
    if (!c || !idx || !v)
        return FE_OK;
    if (c->kind == FE_T_LIST) {
        if (c->id)
            return type_error(in, n, "'%s' object does not support item assignment%s", c, NULL);
        if (index_count(idx) != 1)
            return type_error(in, n, "list indices must be integers, not '%s'%s", idx, NULL);
        /* the list is copied back: each element must keep its Python type */
        if (v != c->elem)
            return unsupported(in, n, "%s", "storing a value of another type than the list's elements "
                                            "(Python would mix types in the list)");
        set_type(in, n, T(in, FE_T_NONE));
        return FE_OK;
    }
    if (c->kind != FE_T_ARRAY)
        return type_error(in, n, "'%s' does not support item assignment in a compute region%s",
                          c, NULL);
    int k = index_count(idx);
    if (k < 0)
        return type_error(in, n, "array index must be integers, not '%s'%s", idx, NULL);
    if (k > c->ndim)
        return type_error(in, n, "too many indices for array '%s'%s", c, NULL);
    if (k != c->ndim)
        return unsupported(in, n, "%s", "assigning to a slice of an array");
    if (!fe_t_is_number(v))
        return type_error(in, n, "cannot store '%s' into an array of %s", v, fe_t_np(in->ts, c->dtype));
    set_type(in, n, T(in, FE_T_NONE));
    return FE_OK;
}

/* --------------------------------------------------------------- calls */

/* Keyword arguments the builtins take, in the position they name. */
static int keywords_ok(const fe_type *ct, const fe_const *names)
{
    if (ct->kind != FE_T_FUNC || names->nitems != 1 || names->items[0].kind != FE_CONST_STR)
        return 0;
    const char *k = names->items[0].s;
    return (ct->id == FE_BI_ENUMERATE && strcmp(k, "start") == 0) ||
           (ct->id == FE_BI_ROUND && strcmp(k, "ndigits") == 0);
}

int fe_bind_args(const fe_func *f, const fe_node *n, int first, const fe_code *code, int *slot, char *why,
                 size_t whylen)
{
    (void)f;
    int nargs = code->nargs, na = n->nargs - first;
    int nkw = n->c.kind == FE_CONST_TUPLE ? n->c.nitems : 0;
    int npos = na - nkw;
    const char *name = code->qualname ? code->qualname : "function";
    for (int i = 0; i < nargs; i++)
        slot[i] = INT32_MIN;
    if (npos > nargs) {
        snprintf(why, whylen, "%s() takes %d positional arguments but %d were given", name, nargs, npos);
        return -1;
    }
    for (int i = 0; i < npos; i++)
        slot[i] = first + i;
    for (int k = 0; k < nkw; k++) {
        const fe_const *kn = &n->c.items[k];
        int p = -1;
        for (int i = 0; kn->kind == FE_CONST_STR && i < nargs; i++)
            if (strcmp(code->varnames[i], kn->s) == 0)
                p = i;
        if (p < 0) {
            snprintf(why, whylen, "%s() got an unexpected keyword argument '%s'", name,
                     kn->kind == FE_CONST_STR ? kn->s : "?");
            return -1;
        }
        if (slot[p] != INT32_MIN) {
            snprintf(why, whylen, "%s() got multiple values for argument '%s'", name, kn->s);
            return -1;
        }
        slot[p] = first + npos + k;
    }
    for (int i = 0; i < nargs; i++) {
        if (slot[i] != INT32_MIN)
            continue;
        int d = i - (nargs - code->ndefaults);
        if (d < 0) {
            snprintf(why, whylen, "%s() missing required argument: '%s'", name, code->varnames[i]);
            return -1;
        }
        slot[i] = -1 - d;
    }
    return 0;
}

static fe_status check_arity(infer *in, fe_node *n, const char *name, int got, int lo, int hi)
{
    if (got >= lo && got <= hi)
        return FE_OK;
    char what[96];
    snprintf(what, sizeof what, "%s() with %d argument%s", name, got, got == 1 ? "" : "s");
    return unsupported(in, n, "%s is not supported", what);
}

static fe_status infer_call(infer *in, fe_node *n)
{
    fe_func *f = in->f;
    const fe_type *ct = arg_type(in, n, 0);
    if (!ct)
        return FE_OK;
    /* args after the callee; a module's function loaded as a method carries
     * the module as an implicit first argument, which is dropped */
    int first = 1;
    if (n->aux && ct->kind == FE_T_FUNC)
        first = 2;
    int na = n->nargs - first;
    const fe_type *at[16];
    if (na > 16)
        return unsupported(in, n, "%s", "a call with more than 16 arguments");
    if (n->c.kind == FE_CONST_TUPLE && ct->kind != FE_T_PYFUNC && !keywords_ok(ct, &n->c))
        return unsupported(in, n, "%s", "keyword arguments to this function");
    for (int i = 0; i < na; i++) {
        at[i] = arg_type(in, n, first + i);
        if (!at[i])
            return FE_OK;
    }
    if (ct->kind == FE_T_METHOD && ct->id == FE_BI_LIST_APPEND) {
        /* args: self, value */
        if (na != 2)
            return check_arity(in, n, "append", na - 1, 1, 1);
        if (at[0] != ct->seq) /* the method called on something else than its list */
            return unsupported(in, n, "%s", "a list's append called on another value");
        if (!fe_t_is_number(at[1]))
            return type_error(in, n, "cannot append '%s' to a copyout list%s", at[1], NULL);
        int p = ct->seq->id;
        const fe_type *old = f->listout_elem[p];
        const fe_type *u = old ? fe_t_unify(in->ts, old, at[1]) : at[1];
        if (!u)
            return type_error(in, n, "values appended to one list have types '%s' and '%s'", old, at[1]);
        if (u != old) {
            f->listout_elem[p] = u;
            in->changed = 1;
        }
        set_type(in, n, T(in, FE_T_NONE));
        return FE_OK;
    }
    if (ct->kind == FE_T_PYFUNC) {
        const fe_code *callee = ct->ptr;
        int slot[16];
        char why[200];
        if (callee->nargs > 16)
            return unsupported(in, n, "%s", "calling a function of more than 16 parameters");
        if (fe_bind_args(f, n, first, callee, slot, why, sizeof why) < 0)
            return fe_error_set(in->err, FE_ERR_TYPE, n->loc, "%s", why);
        const fe_type *pt[16];
        for (int i = 0; i < callee->nargs; i++) {
            pt[i] = slot[i] >= 0 ? arg_type(in, n, slot[i]) : const_type(in, &callee->defaults[-1 - slot[i]]);
            if (!pt[i])
                return FE_OK;
        }
        fe_instance *inst = fe_instantiate(f, callee, callee->nargs, pt, n->loc, in->err);
        if (!inst)
            return in->err->status;
        int idx = 0;
        while (f->inst->v[idx] != inst)
            idx++;
        if (n->sub != idx) {
            n->sub = (int16_t)idx;
            in->changed = 1;
        }
        const fe_type *rt = inst->func->ret_type;
        set_type(in, n, rt ? rt : T(in, FE_T_NONE));
        return FE_OK;
    }
    if (ct->kind != FE_T_FUNC) {
        return type_error(in, n, "'%s' object is not callable in a compute region%s", ct, NULL);
    }
    fe_status st;
    switch ((fe_builtin)ct->id) {
    case FE_BI_RANGE:
        if ((st = check_arity(in, n, "range", na, 1, 3)))
            return st;
        for (int i = 0; i < na; i++)
            if (!fe_t_is_intlike(at[i]))
                return type_error(in, n, "'%s' object cannot be interpreted as an integer%s", at[i], NULL);
        set_type(in, n, T(in, FE_T_RANGE));
        return FE_OK;
    case FE_BI_LEN:
        if ((st = check_arity(in, n, "len", na, 1, 1)))
            return st;
        if (at[0]->kind != FE_T_ARRAY && at[0]->kind != FE_T_LIST && at[0]->kind != FE_T_TUPLE &&
            at[0]->kind != FE_T_RANGE)
            return type_error(in, n, "object of type '%s' has no len()%s", at[0], NULL);
        set_type(in, n, T(in, FE_T_INT));
        return FE_OK;
    case FE_BI_MIN:
    case FE_BI_MAX: {
        if ((st = check_arity(in, n, ct->id == FE_BI_MIN ? "min" : "max", na, 2, 8)))
            return st;
        /* Python returns one of the arguments, as it is (kinds.c tracks
         * which): the value's type holds each of them, as a variable's
         * does (fe_t_unify), not NumPy's promotion of them */
        const fe_type *r = at[0];
        for (int i = 1; i < na && r; i++)
            r = fe_t_is_number(at[i]) ? fe_t_unify(in->ts, r, at[i]) : NULL;
        if (!r || !fe_t_is_number(at[0]))
            return type_error(in, n, "min/max of '%s' and '%s'", at[0], at[1]);
        set_type(in, n, r);
        return FE_OK;
    }
    case FE_BI_ABS:
        if ((st = check_arity(in, n, "abs", na, 1, 1)))
            return st;
        if (!fe_t_is_number(at[0]))
            return type_error(in, n, "bad operand type for abs(): '%s'%s", at[0], NULL);
        set_type(in, n, at[0]->kind == FE_T_BOOL ? T(in, FE_T_INT) : at[0]);
        return FE_OK;
    case FE_BI_INT:
    case FE_BI_FLOAT:
    case FE_BI_BOOL:
    case FE_BI_ROUND: {
        static const char *const nm[] = {"int", "float", "bool", "round"};
        int which = ct->id - FE_BI_INT;
        if ((st = check_arity(in, n, nm[which], na, 1, ct->id == FE_BI_ROUND ? 2 : 1)))
            return st;
        if (!fe_t_is_number(at[0]))
            return type_error(in, n, "cannot convert '%s' to a number%s", at[0], NULL);
        if (na == 2) { /* round(x, ndigits): CPython's own, for a Python float */
            if (at[0]->kind != FE_T_FLOAT)
                return unsupported(in, n, "%s", "round(x, ndigits) of anything but a Python float");
            if (!fe_t_is_intlike(at[1]))
                return type_error(in, n, "'%s' object cannot be interpreted as an integer%s", at[1], NULL);
            set_type(in, n, T(in, FE_T_FLOAT));
            return FE_OK;
        }
        fe_tkind k = ct->id == FE_BI_FLOAT ? FE_T_FLOAT : ct->id == FE_BI_BOOL ? FE_T_BOOL : FE_T_INT;
        set_type(in, n, T(in, k));
        return FE_OK;
    }
    case FE_BI_ACC_ON_DEVICE:
        if ((st = check_arity(in, n, "acc_on_device", na, 1, 1)))
            return st;
        if (!fe_t_is_intlike(at[0]))
            return type_error(in, n, "acc_on_device() takes a device type, not '%s'%s", at[0], NULL);
        set_type(in, n, T(in, FE_T_BOOL));
        return FE_OK;
    case FE_BI_ENUMERATE:
        if ((st = check_arity(in, n, "enumerate", na, 1, 2)))
            return st;
        if (at[0]->kind != FE_T_ARRAY && at[0]->kind != FE_T_LIST)
            return type_error(in, n, "enumerate() of '%s' is not supported%s", at[0], NULL);
        if (na == 2 && !fe_t_is_intlike(at[1]))
            return type_error(in, n, "'%s' object cannot be interpreted as an integer%s", at[1], NULL);
        set_type(in, n, fe_t_enumiter(in->ts, at[0]));
        return FE_OK;
    default: {
        const fe_node *callee = &f->nodes[fe_arg(f, n, 0)];
        int numpy = ct->layout == FE_FUNC_NUMPY;
        const char *why = NULL;
        const fe_type *r = fe_math_type(in->ts, (fe_builtin)ct->id, numpy, na, at, &why);
        if (!r) {
            char what[96];
            snprintf(what, sizeof what, "%s", callee->op == IR_ATTR ? in->f->code->names[callee->var] : "function");
            return fe_error_set(in->err, FE_ERR_UNSUPPORTED, n->loc, why, what);
        }
        set_type(in, n, r);
        return FE_OK;
    }
    }
}

/* ------------------------------------------------------------ iteration */

static fe_status infer_getiter(infer *in, fe_node *n)
{
    const fe_type *s = arg_type(in, n, 0);
    if (!s)
        return FE_OK;
    switch (s->kind) {
    case FE_T_RANGE: set_type(in, n, T(in, FE_T_RANGEITER)); return FE_OK;
    case FE_T_ENUMITER: set_type(in, n, s); return FE_OK;
    case FE_T_LIST: set_type(in, n, fe_t_seqiter(in->ts, s, s->elem)); return FE_OK;
    case FE_T_ARRAY: {
        const fe_type *e = s->ndim == 1 ? fe_t_np(in->ts, s->dtype)
                                        : fe_t_array(in->ts, s->dtype, s->ndim - 1,
                                                     s->layout == FE_LAYOUT_C ? FE_LAYOUT_C : FE_LAYOUT_A);
        set_type(in, n, fe_t_seqiter(in->ts, s, e));
        return FE_OK;
    }
    default:
        return type_error(in, n, "'%s' object is not iterable in a compute region%s", s, NULL);
    }
}

static const fe_type *iter_elem(infer *in, const fe_type *it)
{
    if (!it)
        return NULL;
    switch (it->kind) {
    case FE_T_RANGEITER: return T(in, FE_T_INT);
    case FE_T_SEQITER: return it->elem;
    case FE_T_ENUMITER: {
        const fe_type *s = it->seq;
        const fe_type *e = s->kind == FE_T_LIST ? s->elem
                           : s->ndim == 1       ? fe_t_np(in->ts, s->dtype)
                                                : fe_t_array(in->ts, s->dtype, s->ndim - 1, FE_LAYOUT_A);
        const fe_type *items[2] = {T(in, FE_T_INT), e};
        return fe_t_tuple(in->ts, 2, items);
    }
    default: return NULL;
    }
}

/* ------------------------------------------------------------ the sweep */

static fe_status store_var(infer *in, fe_node *n, int var, const fe_type *t)
{
    fe_var *v = &in->f->vars[var];
    if (!t)
        return FE_OK;
    if (!v->type) {
        v->type = t;
        in->changed = 1;
        return FE_OK;
    }
    const fe_type *u = fe_t_unify(in->ts, v->type, t);
    if (!u) {
        char a[64], b[64];
        fe_t_str(v->type, a, sizeof a);
        fe_t_str(t, b, sizeof b);
        return fe_error_set(in->err, FE_ERR_TYPE, n->loc,
                            "variable '%s' holds %s here and %s elsewhere; give it one type",
                            v->name, b, a);
    }
    if (u != v->type) {
        v->type = u;
        in->changed = 1;
    }
    return FE_OK;
}

/* A region's RET n returns t: the tuple of its r->nouts live-out values
 * (the outliner's `return (a, b)`), or None when it has none.  Lowering
 * relies on that shape. */
static fe_status check_region_ret(infer *in, const fe_node *n, const fe_type *t)
{
    int want = in->f->region->nouts;
    if (want == 0 ? t->kind != FE_T_NONE : (t->kind != FE_T_TUPLE || t->nitems != want))
        return fe_error_set(in->err, FE_ERR_INTERNAL, n->loc, "region returns the wrong values");
    for (int i = 0; i < want; i++) {
        fe_argtype a;
        const fe_type *it = t->items[i];
        int ok = fe_t_to_arg(it, &a);
        if (!ok && it->kind == FE_T_TUPLE && it->nitems <= FE_MAX_OUT_ITEMS) {
            ok = 1; /* a tuple of numbers: its items come back one by one */
            for (int k = 0; k < it->nitems; k++)
                ok &= fe_t_to_arg(it->items[k], &a) && a.kind != FE_ARG_NONE;
        }
        if (!ok)
            return type_error(in, n, "a value of type '%s' cannot be used after the region%s", it, NULL);
    }
    return FE_OK;
}

static fe_status infer_node(infer *in, fe_node *n)
{
    fe_func *f = in->f;
    switch ((fe_irop)n->op) {
    case IR_CONST: set_type(in, n, const_type(in, &n->c)); return FE_OK;
    case IR_NULL: set_type(in, n, T(in, FE_T_NULL)); return FE_OK;
    case IR_LOADVAR: set_type(in, n, f->vars[n->var].type); return FE_OK;
    case IR_STOREVAR:
        set_type(in, n, T(in, FE_T_NONE));
        return store_var(in, n, n->var, arg_type(in, n, 0));
    case IR_GLOBAL: return infer_global(in, n);
    case IR_ATTR: return infer_attr(in, n);
    case IR_BINOP: return infer_binop(in, n);
    case IR_UNOP: return infer_unop(in, n);
    case IR_CMP: return infer_cmp(in, n);
    case IR_TRUTH: {
        const fe_type *a = arg_type(in, n, 0);
        if (a && !fe_t_is_number(a) && a->kind != FE_T_NONE)
            return type_error(in, n, "the truth value of '%s' is not supported in a compute region%s", a, NULL);
        set_type(in, n, T(in, FE_T_BOOL));
        return FE_OK;
    }
    case IR_SUBSCR: return infer_subscr(in, n);
    case IR_STORE_SUBSCR: return infer_store_subscr(in, n);
    case IR_TUPLE: {
        const fe_type *items[FE_MAX_TUPLE];
        if (n->nargs > FE_MAX_TUPLE)
            return unsupported(in, n, "%s", "a tuple of more than 63 items");
        for (int i = 0; i < n->nargs; i++)
            if (!(items[i] = arg_type(in, n, i)))
                return FE_OK;
        set_type(in, n, fe_t_tuple(in->ts, n->nargs, items));
        return FE_OK;
    }
    case IR_ITEM: {
        const fe_type *t = arg_type(in, n, 0);
        if (!t)
            return FE_OK;
        if (t->kind != FE_T_TUPLE)
            return type_error(in, n, "cannot unpack '%s' in a compute region%s", t, NULL);
        if (t->nitems != n->aux) {
            char what[64];
            snprintf(what, sizeof what, "unpacking %d values into %d names", t->nitems, n->aux);
            return fe_error_set(in->err, FE_ERR_TYPE, n->loc, "%s", what);
        }
        set_type(in, n, t->items[n->sub]);
        return FE_OK;
    }
    case IR_CALL: return infer_call(in, n);
    case IR_GETITER: return infer_getiter(in, n);
    case IR_ITERNEXT: {
        const fe_type *e = iter_elem(in, f->vars[n->var].type);
        set_type(in, n, e);
        return FE_OK;
    }
    case IR_FORITER: {
        /* CPython's FOR_ITER always iterates what GET_ITER made; lowering
         * takes the variable apart as an iterator, so malformed code that
         * hands it anything else must stop here. */
        const fe_type *it = f->vars[n->var].type;
        if (it && it->kind != FE_T_RANGEITER && it->kind != FE_T_SEQITER && it->kind != FE_T_ENUMITER)
            return fe_error_set(in->err, FE_ERR_INTERNAL, n->loc, "FOR_ITER over a value that is not an iterator");
        set_type(in, n, T(in, FE_T_NONE));
        return FE_OK;
    }
    case IR_BR:
    case IR_CBR:
        set_type(in, n, T(in, FE_T_NONE));
        return FE_OK;
    case IR_RET: {
        const fe_type *t = arg_type(in, n, 0);
        set_type(in, n, T(in, FE_T_NONE));
        if (!t)
            return FE_OK;
        if (f->is_routine) {
            if (!fe_t_is_number(t) && t->kind != FE_T_NONE && t->kind != FE_T_TUPLE)
                return type_error(in, n, "a called function returning '%s' is not supported%s", t, NULL);
            const fe_type *u = f->ret_type ? fe_t_unify(in->ts, f->ret_type, t) : t;
            if (!u)
                return type_error(in, n, "the function returns '%s' here and '%s' elsewhere", t, f->ret_type);
            if (u != f->ret_type) {
                f->ret_type = u;
                in->changed = 1;
            }
            return FE_OK;
        }
        return check_region_ret(in, n, t);
    }
    }
    return fe_error_set(in->err, FE_ERR_INTERNAL, n->loc, "unknown IR node %d", n->op);
}

void fe_mark_written(fe_func *f, uint8_t *written)
{
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        if (n->op != IR_STORE_SUBSCR || !f->blocks[n->block].reachable)
            continue;
        const fe_node *base = &f->nodes[fe_arg(f, n, 0)];
        /* through views: a[i][j] = v writes a */
        while (base->op == IR_SUBSCR)
            base = &f->nodes[fe_arg(f, base, 0)];
        if (base->op == IR_LOADVAR && f->vars[base->var].is_param)
            written[f->vars[base->var].param] = 1;
    }
}

fe_status fe_infer(fe_func *f, fe_error *err)
{
    infer in = {.f = f, .err = err};
    fe_loc at = f->region->loc;
    if (!f->types) {
        f->types = fe_types_new();
        f->owns_types = 1;
    }
    in.ts = f->types;
    if (!f->inst) {
        f->inst = calloc(1, sizeof *f->inst);
        f->owns_inst = 1;
    }
    f->listout_elem = calloc((size_t)f->code->nargs + 1, sizeof *f->listout_elem);
    if (!in.ts || !f->listout_elem || !f->inst)
        return fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
    for (int i = 0; i < f->nvars; i++) {
        fe_var *v = &f->vars[i];
        if (v->is_param)
            v->type = f->param_types ? f->param_types[v->param]
                                     : fe_t_from_arg(in.ts, &f->region->argtypes[v->param], v->param);
    }
    for (int pass = 0; pass < 64; pass++) {
        in.changed = 0;
        for (int k = 0; k < f->nblocks; k++) {
            fe_block *blk = &f->blocks[k];
            if (!blk->reachable)
                continue;
            for (int i = 0; i < blk->nnodes; i++) {
                fe_status st = infer_node(&in, &f->nodes[blk->nodes[i]]);
                if (st != FE_OK)
                    return st;
            }
        }
        if (!in.changed)
            break;
    }
    /* Everything reachable must now have a type. */
    for (int k = 0; k < f->nblocks; k++) {
        fe_block *blk = &f->blocks[k];
        if (!blk->reachable)
            continue;
        for (int i = 0; i < blk->nnodes; i++) {
            fe_node *n = &f->nodes[blk->nodes[i]];
            if (n->type)
                continue;
            if (n->op == IR_LOADVAR && f->vars[n->var].flag >= 0) {
                /* never assigned anywhere: always unbound, its flag says so */
                f->vars[n->var].type = n->type = fe_t_simple(in.ts, FE_T_NONE);
                continue;
            }
            if (n->op == IR_LOADVAR)
                return fe_error_set(err, FE_ERR_UNSUPPORTED, n->loc,
                                    "local variable '%s' is used before it is assigned",
                                    f->vars[n->var].name);
            return fe_error_set(err, FE_ERR_INTERNAL, n->loc, "could not type an expression");
        }
    }
    /* Loads typed only just above (never-assigned variables, now None)
     * were untyped while the passes ran, so the nodes using them skipped
     * their checks: a store left its variable untyped, a RET its shape
     * unchecked, a FOR_ITER its iterator.  Lowering relies on all three. */
    for (int k = 0; k < f->nblocks; k++) {
        fe_block *blk = &f->blocks[k];
        for (int i = 0; blk->reachable && i < blk->nnodes; i++) {
            fe_node *n = &f->nodes[blk->nodes[i]];
            if (n->op == IR_STOREVAR && !f->vars[n->var].type) {
                const fe_node *v = &f->nodes[fe_arg(f, n, 0)];
                if (v->op == IR_LOADVAR && !f->vars[v->var].is_stack)
                    return fe_error_set(err, FE_ERR_UNSUPPORTED, v->loc,
                                        "local variable '%s' is used before it is assigned",
                                        f->vars[v->var].name);
                return fe_error_set(err, FE_ERR_INTERNAL, n->loc, "could not type a variable");
            }
            if (n->op == IR_FORITER && !f->vars[n->var].type)
                return fe_error_set(err, FE_ERR_INTERNAL, n->loc, "FOR_ITER over a value that is not an iterator");
            if (n->op == IR_RET && !f->is_routine) {
                fe_status st = check_region_ret(&in, n, arg_type(&in, n, 0));
                if (st != FE_OK)
                    return st;
            }
        }
    }
    return FE_OK;
}

/* ------------------------------------------------------------ callees */

fe_instance *fe_instantiate(fe_func *caller, const fe_code *code, int nargs, const fe_type *const *args,
                            fe_loc at, fe_error *err)
{
    fe_instances *all = caller->inst;
    for (int i = 0; i < all->n; i++) {
        fe_instance *x = all->v[i];
        if (x->region.code != code || x->nargs != nargs ||
            memcmp(x->args, args, (size_t)nargs * sizeof *args) != 0)
            continue;
        if (x->busy) {
            fe_error_set(err, FE_ERR_UNSUPPORTED, at, "%s calls itself: recursion is not supported in a "
                         "compute region", code->qualname);
            return NULL;
        }
        return x;
    }
    if (caller->depth >= 16 || nargs > 16) {
        fe_error_set(err, FE_ERR_UNSUPPORTED, at, "calls nested more than 16 deep (or with more than 16 "
                     "arguments) are not supported");
        return NULL;
    }
    if (all->n == all->cap) {
        int cap = all->cap ? 2 * all->cap : 8;
        fe_instance **v = realloc(all->v, (size_t)cap * sizeof *v);
        if (!v) {
            fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
            return NULL;
        }
        all->v = v;
        all->cap = cap;
    }
    fe_instance *x = calloc(1, sizeof *x);
    fe_func *g = x ? calloc(1, sizeof *g) : NULL;
    if (!g) {
        free(x);
        fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
        return NULL;
    }
    all->v[all->n++] = x;
    x->func = g;
    x->nargs = nargs;
    memcpy(x->args, args, (size_t)nargs * sizeof *args);
    x->region = *caller->region;
    x->region.code = code;
    x->region.argtypes = NULL;
    x->region.nloops = 0;
    x->region.loops = NULL;
    x->region.nlistouts = 0;
    x->region.listouts = NULL;
    x->region.nouts = 0;
    x->region.natomics = 0;
    x->region.atomics = NULL;
    x->region.threads_param = -1;
    x->region.shape_param = -1;
    x->region.loc = code->positions ? code->positions[0] : at;
    g->is_routine = 1;
    g->param_types = x->args;
    g->types = caller->types;
    g->inst = all;
    g->depth = caller->depth + 1;
    x->busy = 1;
    fe_status st = fe_build(&x->region, g, err);
    if (st == FE_OK)
        st = fe_track_unbound(g, err);
    if (st == FE_OK)
        st = fe_infer(g, err);
    x->busy = 0;
    if (st != FE_OK) {
        /* keep the instance (the table owns it) but report the failure
         * where it is, in the called function's file, naming the call */
        if (err->loc.line == 0)
            err->loc = at;
        if (!err->file[0]) {
            snprintf(err->file, sizeof err->file, "%s", code->filename ? code->filename : "");
            size_t len = strlen(err->msg);
            if (len + 64 < sizeof err->msg)
                snprintf(err->msg + len, sizeof err->msg - len, " (in %s, called at line %d)",
                         code->qualname ? code->qualname : "a function", at.line);
        }
        return NULL;
    }
    return x;
}

void fe_instances_free(fe_instances *in)
{
    if (!in)
        return;
    for (int i = 0; i < in->n; i++) {
        fe_func_free(in->v[i]->func);
        free(in->v[i]->func);
        free(in->v[i]);
    }
    free(in->v);
    free(in);
}
