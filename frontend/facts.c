/* facts.c - what is known of int values without a run-time test.
 *
 * FE_FACT_NONNEG: the value is >= 0, so indexing needs no wraparound of
 * negative indices (which keeps loops vectorisable); FE_FACT_SMALL:
 * |value| <= 2**53, so it converts to a double exactly and int / int needs
 * no exact-division path.  Facts come from constants, shapes and lengths,
 * range loop indices (with their least value when the start is a
 * constant), and arithmetic that keeps them.
 */
#include "lower.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


/* Facts about int values that need no run-time test: FE_FACT_NONNEG, the
 * value is >= 0 (indexing needs no wraparound of negative indices, which
 * keeps loops vectorisable); FE_FACT_SMALL, |value| <= 2**53 (it converts
 * to a double exactly, so int / int needs no exact-division path).  Loop
 * indices of ranges over lengths and shapes have both: no array holds
 * 2**53 elements. */
int fe_node_fact(lower *lw, fe_val v, int fact)
{
    fe_func *f = lw->f;
    const fe_node *n = &f->nodes[v];
    const int64_t small = (int64_t)1 << 53;
    switch (n->op) {
    case IR_CONST:
        if (n->c.kind == FE_CONST_BOOL)
            return 1;
        if (n->c.kind == FE_CONST_FLOAT) /* -0.0 too: it is not below 0 */
            return fact == FE_FACT_NONNEG && n->c.f >= 0.0;
        if (n->c.kind != FE_CONST_INT)
            return 0;
        return fact == FE_FACT_NONNEG ? n->c.i >= 0 : n->c.i >= -small && n->c.i <= small;
    case IR_LOADVAR: return lw->fact[fact][n->var];
    case IR_ITERNEXT: return lw->fact_iter[fact][n->var];
    case IR_ATTR: return n->type && n->type->kind == FE_T_INT; /* size, ndim */
    case IR_SUBSCR:
    case IR_ITEM: {
        const fe_node *c = &f->nodes[fe_arg(f, n, 0)];
        if (c->op == IR_ATTR) /* a.shape[k] */
            return 1;
        if (n->op == IR_ITEM && n->sub == 0 && c->op == IR_ITERNEXT) /* enumerate's index */
            return c->type && c->type->kind == FE_T_TUPLE && lw->fact_iter[fact][c->var];
        return fact == FE_FACT_NONNEG && n->type && n->type->kind == FE_T_NP &&
               fe_dtype_is_int(n->type->dtype) && !fe_dtype_is_signed(n->type->dtype);
    }
    case IR_BINOP: {
        int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
        int l = fe_node_fact(lw, fe_arg(f, n, 0), fact), r = fe_node_fact(lw, fe_arg(f, n, 1), fact);
        if (fact == FE_FACT_NONNEG && op == FE_NB_MULTIPLY && n->type && fe_t_is_floatlike(n->type)) {
            /* a float's square: at least 0, or NaN (NumPy ints wrap, Python's
             * may be any kind here: floats alone) */
            const fe_node *a = &f->nodes[fe_arg(f, n, 0)], *b = &f->nodes[fe_arg(f, n, 1)];
            if (fe_arg(f, n, 0) == fe_arg(f, n, 1) || (a->op == IR_LOADVAR && b->op == IR_LOADVAR && a->var == b->var))
                return 1;
        }
        if (fact == FE_FACT_NONNEG) {
            /* i - k, i + (-k) with i never below k: a stencil's a[i - 1] */
            const fe_node *a = &f->nodes[fe_arg(f, n, 0)], *b = &f->nodes[fe_arg(f, n, 1)];
            if ((op == FE_NB_SUBTRACT || op == FE_NB_ADD) && a->op == IR_LOADVAR && b->op == IR_CONST &&
                b->c.kind == FE_CONST_INT && b->c.i > INT64_MIN + 1 && lw->lower_bound[a->var] != INT64_MIN) {
                int64_t k = op == FE_NB_SUBTRACT ? b->c.i : -b->c.i;
                if (k <= lw->lower_bound[a->var])
                    return 1;
            }
        }
        if (fact == FE_FACT_NONNEG)
            return (op == FE_NB_ADD || op == FE_NB_MULTIPLY || op == FE_NB_FLOOR_DIVIDE ||
                    op == FE_NB_REMAINDER || op == FE_NB_AND || op == FE_NB_RSHIFT) && l && r;
        /* no bigger than the left operand */
        return (op == FE_NB_FLOOR_DIVIDE || op == FE_NB_REMAINDER || op == FE_NB_RSHIFT) && l &&
               fe_node_fact(lw, fe_arg(f, n, 1), FE_FACT_NONNEG);
    }
    case IR_CALL: {
        const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
        if (!ct || ct->kind != FE_T_FUNC)
            return 0;
        if (ct->id == FE_BI_LEN)
            return 1;
        if (ct->id == FE_BI_ABS)
            return fact == FE_FACT_NONNEG || fe_node_fact(lw, fe_arg(f, n, 1), fact);
        if (ct->id == FE_BI_MIN || ct->id == FE_BI_MAX) {
            for (int i = 1; i < n->nargs; i++)
                if (!fe_node_fact(lw, fe_arg(f, n, i), fact))
                    return 0;
            return 1;
        }
        return 0;
    }
    default: return 0;
    }
}

int fe_node_nonneg(lower *lw, fe_val v) { return fe_node_fact(lw, v, FE_FACT_NONNEG); }

/* Whether every value a range(...) or enumerate(...) call's iterator
 * yields has the fact. */
static int iter_fact(lower *lw, fe_val v, int fact)
{
    fe_func *f = lw->f;
    const fe_node *n = &f->nodes[v];
    if (n->op != IR_CALL)
        return 0;
    const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
    if (!ct || ct->kind != FE_T_FUNC)
        return 0;
    int na = n->nargs - 1;
    if (ct->id == FE_BI_ENUMERATE) { /* enumerate(x[, start]) */
        if (na == 1)
            return 1;
        const fe_node *st = &f->nodes[fe_arg(f, n, 2)];
        return fact == FE_FACT_NONNEG ? fe_node_nonneg(lw, fe_arg(f, n, 2))
                                      : st->op == IR_CONST && st->c.kind == FE_CONST_INT &&
                                            st->c.i >= 0 && st->c.i < ((int64_t)1 << 40);
    }
    if (ct->id != FE_BI_RANGE)
        return 0;
    if (fact == FE_FACT_SMALL) { /* between start and stop */
        for (int i = 1; i <= na && i <= 2; i++)
            if (!fe_node_fact(lw, fe_arg(f, n, i), FE_FACT_SMALL))
                return 0;
        return 1;
    }
    if (na == 1)
        return 1;
    if (!fe_node_nonneg(lw, fe_arg(f, n, 1)))
        return 0;
    if (na == 2)
        return 1;
    const fe_node *step = &f->nodes[fe_arg(f, n, 3)];
    return step->op == IR_CONST && step->c.kind == FE_CONST_INT && step->c.i > 0;
}

fe_val fe_range_of(lower *lw, int var)
{
    fe_func *f = lw->f;
    const fe_node *store = NULL;
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        if (n->op == IR_STOREVAR && n->var == var && f->blocks[n->block].reachable) {
            if (store)
                return FE_NOVAL;
            store = n;
        }
    }
    if (!store)
        return FE_NOVAL;
    const fe_node *gi = &f->nodes[fe_arg(f, store, 0)];
    if (gi->op != IR_GETITER)
        return FE_NOVAL;
    fe_val c = fe_arg(f, gi, 0);
    const fe_node *call = &f->nodes[c];
    if (call->op != IR_CALL)
        return FE_NOVAL;
    const fe_type *ct = f->nodes[fe_arg(f, call, 0)].type;
    return ct && ct->kind == FE_T_FUNC && ct->id == FE_BI_RANGE ? c : FE_NOVAL;
}

/* The least value a range(start, stop[, step]) call's iterator yields,
 * for a constant start and a positive constant step; INT64_MIN otherwise. */
static int64_t range_start(lower *lw, fe_val v)
{
    fe_func *f = lw->f;
    const fe_node *n = &f->nodes[v];
    if (n->op != IR_CALL)
        return INT64_MIN;
    const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
    int na = n->nargs - 1;
    if (!ct || ct->kind != FE_T_FUNC || ct->id != FE_BI_RANGE || na < 1)
        return INT64_MIN;
    if (na == 1)
        return 0;
    const fe_node *st = &f->nodes[fe_arg(f, n, 1)];
    if (st->op != IR_CONST || st->c.kind != FE_CONST_INT)
        return INT64_MIN;
    if (na == 3) {
        const fe_node *sp = &f->nodes[fe_arg(f, n, 3)];
        if (sp->op != IR_CONST || sp->c.kind != FE_CONST_INT || sp->c.i <= 0)
            return INT64_MIN;
    }
    return st->c.i;
}

/* lw->lower_bound: for each variable only ever stored from a range loop's
 * element, the least start of those ranges. */
static void compute_lower_bounds(lower *lw)
{
    fe_func *f = lw->f;
    for (int var = 0; var < f->nvars; var++) {
        int64_t low = INT64_MAX;
        int stores = 0;
        for (int v = 0; v < f->nnodes && low != INT64_MIN; v++) {
            const fe_node *n = &f->nodes[v];
            if (n->op != IR_STOREVAR || n->var != var || !f->blocks[n->block].reachable)
                continue;
            stores++;
            const fe_node *src = &f->nodes[fe_arg(f, n, 0)];
            if (src->op != IR_ITERNEXT) {
                low = INT64_MIN;
                break;
            }
            /* every iterator the element comes from */
            for (int w = 0; w < f->nnodes && low != INT64_MIN; w++) {
                const fe_node *m = &f->nodes[w];
                if (m->op != IR_STOREVAR || m->var != src->var || !f->blocks[m->block].reachable)
                    continue;
                const fe_node *gi = &f->nodes[fe_arg(f, m, 0)];
                int64_t s = gi->op == IR_GETITER ? range_start(lw, fe_arg(f, gi, 0)) : INT64_MIN;
                low = s < low ? s : low;
            }
        }
        if (stores && !f->vars[var].is_param && low != INT64_MAX)
            lw->lower_bound[var] = low;
    }
}

/* Float variables never below 0 (NaN allowed: it is not below 0 either),
 * such as a sum of squares `t = 0.0; t += u * u`, so that math.sqrt needs
 * no domain check.  A variable's own earlier value feeds its stores, so
 * this starts from every candidate and drops those with a store not known
 * nonnegative until none drops: by induction over the stores, each value
 * stored is a constant, a square, or a sum or product of values already
 * known, none below 0.  Floats only: Python's ints never wrap, but NumPy's
 * do, and the int facts serve indexing, where a wrong one is a wild read. */
static void float_nonneg(lower *lw)
{
    fe_func *f = lw->f;
    uint8_t *known = lw->fact[FE_FACT_NONNEG];
    uint8_t *cand = calloc((size_t)f->nvars + 1, 1);
    if (!cand)
        return; /* nothing learnt: checks stay */
    for (int var = 0; var < f->nvars; var++) {
        const fe_var *x = &f->vars[var];
        cand[var] = !known[var] && !x->is_param && x->type && fe_t_is_floatlike(x->type);
        int stores = 0;
        for (int v = 0; cand[var] && v < f->nnodes; v++) {
            const fe_node *n = &f->nodes[v];
            stores += n->op == IR_STOREVAR && n->var == var && f->blocks[n->block].reachable;
            if (n->op == IR_ITERNEXT && n->var == var)
                cand[var] = 0;
        }
        cand[var] = cand[var] && stores;
        known[var] |= cand[var]; /* assumed, until a store says otherwise */
    }
    for (int changed = 1; changed;) {
        changed = 0;
        for (int var = 0; var < f->nvars; var++) {
            if (!cand[var] || !known[var])
                continue;
            for (int v = 0; v < f->nnodes; v++) {
                const fe_node *n = &f->nodes[v];
                if (n->op == IR_STOREVAR && n->var == var && f->blocks[n->block].reachable &&
                    !fe_node_fact(lw, fe_arg(f, n, 0), FE_FACT_NONNEG)) {
                    known[var] = 0;
                    changed = 1;
                    break;
                }
            }
        }
    }
    free(cand);
}

void fe_compute_nonneg(lower *lw)
{
    fe_func *f = lw->f;
    compute_lower_bounds(lw);
    /* Start from "nothing known" and only ever learn: a variable has a fact
     * once every store into it has. */
    for (int fact = 0; fact < FE_NFACTS; fact++) {
        uint8_t *known = lw->fact[fact], *known_iter = lw->fact_iter[fact];
        for (int changed = 1; changed;) {
            changed = 0;
            for (int var = 0; var < f->nvars; var++) {
                if (known[var] && known_iter[var])
                    continue;
                int stores = 0, all = 1, all_iter = 1;
                if (f->vars[var].is_param)
                    all = all_iter = 0;
                for (int v = 0; v < f->nnodes && (all || all_iter); v++) {
                    const fe_node *n = &f->nodes[v];
                    if (!f->blocks[n->block].reachable)
                        continue;
                    if (n->op == IR_ITERNEXT && n->var == var)
                        all = 0; /* advancing an iterator: not an int variable */
                    if (n->op != IR_STOREVAR || n->var != var)
                        continue;
                    stores++;
                    const fe_node *src = &f->nodes[fe_arg(f, n, 0)];
                    if (!n->type || !fe_node_fact(lw, fe_arg(f, n, 0), fact))
                        all = 0;
                    if (src->op != IR_GETITER || !iter_fact(lw, fe_arg(f, src, 0), fact))
                        all_iter = 0;
                }
                if (stores && all && !known[var]) {
                    known[var] = 1;
                    changed = 1;
                }
                if (stores && all_iter && !known_iter[var]) {
                    known_iter[var] = 1;
                    changed = 1;
                }
            }
        }
    }
    float_nonneg(lw);
}

