/* kinds.c - the Python type a value has at run time, where its static type
 * does not say.
 *
 * Inference gives each variable one static type, unifying what is stored
 * into it: `s = 0` then `s += x[i]` makes s a numpy.float64.  The values
 * are the same numbers, but the plain function's s is the int 0 until the
 * loop runs; `min(1, 2.5)` is the int 1; `not a or b` is True or b.  So a
 * value whose possible types differ carries a kind: which of a small table
 * of number types (f->kinds) it holds.  Kinds flow through variables
 * (a tag variable beside each, "$kind_x"), operators (Python's or NumPy's
 * result type of the actual operand types) and min/max (the argument
 * chosen), and decide how a region's results are boxed.  Values are held
 * in the static type, which holds every kind's values (ints up to 2**53
 * exactly in a float); an operation on a value of several kinds computes
 * as the kinds it holds at run time do (lower_kinds.c).
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

static int kind_index(fe_func *f, const fe_type *t)
{
    for (int k = 0; k < f->nkinds; k++)
        if (f->kinds[k] == t)
            return k;
    if (f->nkinds == FE_MAX_KINDS)
        return -1;
    f->kinds[f->nkinds] = t;
    return f->nkinds++;
}

/* The one-kind set of type t (0 when the table is full: no tracking). */
static uint16_t single(fe_func *f, const fe_type *t)
{
    if (!t || !fe_t_is_number(t))
        return 0;
    int k = kind_index(f, t);
    return k < 0 ? 0 : (uint16_t)(1u << k);
}

static uint16_t set_of(fe_func *f, fe_val v)
{
    uint16_t s = f->kset[v];
    return s ? s : single(f, f->nodes[v].type);
}

/* The kinds of one node from its operands' kinds. */
static uint16_t node_kinds(fe_func *f, fe_node *n)
{
    if (!n->type || !fe_t_is_number(n->type))
        return 0;
    switch (n->op) {
    case IR_LOADVAR: {
        uint16_t s = f->vkset[n->var];
        return s ? s : single(f, n->type);
    }
    case IR_BINOP: {
        int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
        if (op == FE_NB_POWER && n->type->kind == FE_T_FLOAT && fe_t_is_intlike(f->nodes[fe_arg(f, n, 0)].type) &&
            fe_t_is_intlike(f->nodes[fe_arg(f, n, 1)].type)) {
            /* int ** int: the exponent's sign decides */
            const fe_node *e = &f->nodes[fe_arg(f, n, 1)];
            if (e->op == IR_CONST)
                return single(f, n->type);
            return single(f, fe_t_simple(f->types, FE_T_INT)) | single(f, n->type);
        }
        uint16_t a = set_of(f, fe_arg(f, n, 0)), b = set_of(f, fe_arg(f, n, 1)), out = 0;
        for (int i = 0; i < f->nkinds; i++)
            for (int j = 0; j < f->nkinds; j++)
                if ((a >> i & 1) && (b >> j & 1))
                    out |= single(f, fe_binop_result(f->types, op, f->kinds[i], f->kinds[j]));
        return out ? out : single(f, n->type);
    }
    case IR_UNOP: {
        uint16_t a = set_of(f, fe_arg(f, n, 0)), out = 0;
        for (int i = 0; i < f->nkinds; i++)
            if (a >> i & 1)
                out |= single(f, fe_unop_result(f->types, n->sub, f->kinds[i]));
        return out ? out : single(f, n->type);
    }
    case IR_CMP: {
        if (n->sub == FE_CMP_IS || n->sub == FE_CMP_ISNOT)
            return single(f, n->type);
        uint16_t a = set_of(f, fe_arg(f, n, 0)), b = set_of(f, fe_arg(f, n, 1)), out = 0;
        for (int i = 0; i < f->nkinds; i++)
            for (int j = 0; j < f->nkinds; j++)
                if ((a >> i & 1) && (b >> j & 1)) {
                    int np = f->kinds[i]->kind == FE_T_NP || f->kinds[j]->kind == FE_T_NP;
                    out |= single(f, np ? fe_t_np(f->types, FE_DT_BOOL) : fe_t_simple(f->types, FE_T_BOOL));
                }
        return out ? out : single(f, n->type);
    }
    case IR_CALL: {
        const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
        if (!ct || ct->kind != FE_T_FUNC)
            return single(f, n->type);
        int first = n->aux ? 2 : 1;
        if (ct->id == FE_BI_MIN || ct->id == FE_BI_MAX) { /* Python returns an argument */
            uint16_t out = 0;
            for (int i = first; i < n->nargs; i++)
                out |= set_of(f, fe_arg(f, n, i));
            return out;
        }
        if (ct->id == FE_BI_ABS) { /* abs(True) is 1 */
            uint16_t a = set_of(f, fe_arg(f, n, first)), out = 0;
            for (int i = 0; i < f->nkinds; i++)
                if (a >> i & 1)
                    out |= single(f, f->kinds[i]->kind == FE_T_BOOL ? fe_t_simple(f->types, FE_T_INT)
                                                                  : f->kinds[i]);
            return out;
        }
        return single(f, n->type);
    }
    default:
        return single(f, n->type);
    }
}

static int popcount16(uint16_t s) { return __builtin_popcount(s); }

fe_status fe_infer_kinds(fe_func *f, fe_error *err)
{
    fe_loc at = f->region->loc;
    f->kset = calloc((size_t)f->nnodes + 1, sizeof *f->kset);
    f->vkset = calloc((size_t)f->nvars + 1, sizeof *f->vkset);
    if (!f->kset || !f->vkset)
        return fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
    /* a parameter starts as the type it was called with */
    for (int v = 0; v < f->nvars; v++) {
        const fe_var *var = &f->vars[v];
        if (!var->is_param || !var->type || !fe_t_is_number(var->type))
            continue;
        const fe_type *t = f->param_types ? f->param_types[var->param]
                                          : fe_t_from_arg(f->types, &f->region->argtypes[var->param], var->param);
        f->vkset[v] = single(f, t);
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int k = 0; k < f->nblocks; k++) {
            const fe_block *b = &f->blocks[k];
            if (!b->reachable)
                continue;
            for (int i = 0; i < b->nnodes; i++) {
                fe_val v = b->nodes[i];
                fe_node *n = &f->nodes[v];
                if (n->op == IR_STOREVAR) {
                    const fe_var *var = &f->vars[n->var];
                    if (!var->type || !fe_t_is_number(var->type))
                        continue;
                    uint16_t s = f->vkset[n->var] | set_of(f, fe_arg(f, n, 0));
                    if (s != f->vkset[n->var]) {
                        f->vkset[n->var] = s;
                        changed = 1;
                    }
                    continue;
                }
                uint16_t s = node_kinds(f, n);
                if (s != f->kset[v]) {
                    f->kset[v] = s;
                    changed = 1;
                }
            }
        }
    }
    /* a tag variable beside each variable that may hold several kinds */
    int nvars = f->nvars;
    for (int v = 0; v < nvars; v++) {
        f->vars[v].tag = -1;
        if (popcount16(f->vkset[v]) < 2)
            continue;
        if (f->nvars == f->capvars) {
            int cap = f->capvars ? 2 * f->capvars : 16;
            fe_var *nv = realloc(f->vars, (size_t)cap * sizeof *nv);
            if (!nv)
                return fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
            f->vars = nv;
            f->capvars = cap;
        }
        char *name = malloc(strlen(f->vars[v].name) + 8);
        if (!name)
            return fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
        strcpy(name, "$kind_");
        strcat(name, f->vars[v].name);
        int t = f->nvars++;
        memset(&f->vars[t], 0, sizeof f->vars[t]);
        f->vars[t].name = name;
        f->vars[t].owned_name = 1;
        f->vars[t].param = -1;
        f->vars[t].flag = -1;
        f->vars[t].tag = -1;
        f->vars[t].type = fe_t_np(f->types, FE_DT_INT8);
        f->vars[v].tag = t;
    }
    return FE_OK;
}

int fe_kind_of_type(fe_func *f, const fe_type *t)
{
    for (int k = 0; k < f->nkinds; k++)
        if (f->kinds[k] == t)
            return k;
    return -1;
}
