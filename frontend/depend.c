/* depend.c - which `kernels` (and `loop auto`) loops may run in parallel.
 *
 * Only loops proven independent do; the others run in order, which is
 * always right.  The proof is deliberately simple:
 *   - no break, and no variable carries a value from one iteration to the
 *     next (except those a reduction clause names);
 *   - the loop walks a range and never assigns its index itself;
 *   - every array the loop writes is indexed, at every access to it in the
 *     loop, with one component textually the same everywhere and moving
 *     with the loop's index (the index alone, or plus or minus something
 *     the loop does not change): iterations then touch distinct elements;
 *   - no array written here overlaps another argument in memory (the
 *     dispatcher marks overlapping arguments in the call's signature);
 *   - no function the loop calls writes an array.
 */
#include "lower.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fail(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return 0;
}

/* An access: the array parameter it reaches and its index components,
 * along a chain a[i][j] (a view of a, indexed again) and through tuples. */
typedef struct access {
    int param; /* -1: not a parameter (a view held in a variable, ...) */
    int ncomp;
    fe_val comp[FE_MAX_NDIM * 2];
} access;

static void add_components(fe_func *f, access *a, fe_val idx)
{
    const fe_node *n = &f->nodes[idx];
    if (n->op == IR_TUPLE) {
        for (int i = 0; i < n->nargs && a->ncomp < FE_MAX_NDIM * 2; i++)
            a->comp[a->ncomp++] = fe_arg(f, n, i);
    } else if (a->ncomp < FE_MAX_NDIM * 2) {
        a->comp[a->ncomp++] = idx;
    }
}

/* The access of SUBSCR or STORE_SUBSCR node n. */
static access access_of(fe_func *f, const fe_node *n)
{
    access a = {-1, 0, {0}};
    fe_val chain[8];
    int depth = 0;
    const fe_node *c = &f->nodes[fe_arg(f, n, 0)];
    while (c->op == IR_SUBSCR && depth < 8) {
        chain[depth++] = fe_arg(f, c, 1);
        c = &f->nodes[fe_arg(f, c, 0)];
    }
    if (c->op != IR_LOADVAR || !f->vars[c->var].is_param)
        return a;
    a.param = c->var;
    while (depth > 0)
        add_components(f, &a, chain[--depth]);
    add_components(f, &a, fe_arg(f, n, 1));
    return a;
}

/* Whether variable var is written anywhere in the loop's body. */
int fe_written_in(const fe_func *f, const fe_loop *lp, int var)
{
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        if (n->op == IR_STOREVAR && n->var == var && fe_in_body(lp, n->block) && f->blocks[n->block].reachable)
            return 1;
    }
    return 0;
}

/* Whether index component c is the loop index (the variable its ITERNEXT
 * is stored to), maybe plus or minus something the loop leaves alone. */
static int moves_with(fe_func *f, const fe_loop *lp, int ivar, fe_val c)
{
    const fe_node *n = &f->nodes[c];
    if (n->op == IR_LOADVAR)
        return n->var == ivar;
    if (n->op != IR_BINOP)
        return 0;
    int op = n->sub >= FE_NB_INPLACE_ADD ? n->sub - FE_NB_INPLACE_ADD : n->sub;
    if (op != FE_NB_ADD && op != FE_NB_SUBTRACT)
        return 0;
    for (int side = 0; side < 2; side++) {
        const fe_node *a = &f->nodes[fe_arg(f, n, side)], *b = &f->nodes[fe_arg(f, n, 1 - side)];
        if (op == FE_NB_SUBTRACT && side == 1)
            break; /* c - i moves the other way, which is fine, but keep it simple */
        if (a->op == IR_LOADVAR && a->var == ivar &&
            (b->op == IR_CONST || (b->op == IR_LOADVAR && !fe_written_in(f, lp, b->var))))
            return 1;
    }
    return 0;
}

static int same_index(fe_func *f, fe_val a, fe_val b, int depth)
{
    if (a == b)
        return 1;
    const fe_node *x = &f->nodes[a], *y = &f->nodes[b];
    if (depth > 8 || x->op != y->op || x->sub != y->sub || x->nargs != y->nargs)
        return 0;
    switch (x->op) {
    case IR_LOADVAR: return x->var == y->var;
    case IR_CONST: return x->c.kind == y->c.kind && x->c.i == y->c.i && x->c.f == y->c.f;
    case IR_BINOP:
    case IR_UNOP:
    case IR_TUPLE:
        for (int i = 0; i < x->nargs; i++)
            if (!same_index(f, fe_arg(f, x, i), fe_arg(f, y, i), depth + 1))
                return 0;
        return 1;
    default: return 0;
    }
}

/* Whether a called function writes an array (we do not follow its
 * indices). */
static int callee_writes(fe_func *g)
{
    for (int v = 0; v < g->nnodes; v++)
        if (g->nodes[v].op == IR_STORE_SUBSCR && g->blocks[g->nodes[v].block].reachable)
            return 1;
    return 0;
}

int fe_loop_independent(lower *lw, int li, char *why, size_t whylen)
{
    fe_func *f = lw->f;
    const fe_loop *lp = &lw->loops.loop[li];
    const fe_node *fi = fe_terminator(lw, lp->header);
    /* the loop's index variable: what its first body node (ITERNEXT) is stored to */
    const fe_block *bs = &f->blocks[lp->body_start];
    int ivar = -1;
    for (int i = 0; i + 1 < bs->nnodes; i++) {
        const fe_node *n = &f->nodes[bs->nodes[i]];
        const fe_node *m = &f->nodes[bs->nodes[i + 1]];
        if (n->op == IR_ITERNEXT && m->op == IR_STOREVAR && fe_arg(f, m, 0) == bs->nodes[i])
            ivar = m->var;
    }
    if (ivar < 0)
        return fail(why, whylen, "its index is not a plain variable");
    const fe_type *itt = f->vars[fi->var].type;
    if (!itt || itt->kind != FE_T_RANGEITER)
        return fail(why, whylen, "it does not walk a range");
    int stores = 0;
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        stores += n->op == IR_STOREVAR && n->var == ivar && fe_in_body(lp, n->block) && f->blocks[n->block].reachable;
    }
    if (stores != 1)
        return fail(why, whylen, "it assigns its index '%s'", f->vars[ivar].name);
    /* variables: the roles of a parallel loop, without errors */
    uint8_t role[4096];
    if (f->nvars > 4096)
        return fail(why, whylen, "too many variables");
    fe_error err;
    if (fe_loop_roles(f, &lw->loops, li, role, &err) != FE_OK)
        return fail(why, whylen, "%s", err.msg);
    for (int v = 0; v < f->nvars; v++) {
        if (role[v] != FE_ROLE_CARRIED)
            continue;
        int named = 0;
        for (int r = 0; lp->spec && r < lp->spec->nred; r++)
            named |= strcmp(lp->spec->reds[r].name, f->vars[v].name) == 0;
        for (int u = 0; u < f->nvars && !named; u++) /* a reduction variable's flag or tag */
            if ((f->vars[u].tag == v || f->vars[u].flag == v))
                for (int r = 0; lp->spec && r < lp->spec->nred; r++)
                    named |= strcmp(lp->spec->reds[r].name, f->vars[u].name) == 0;
        if (!named)
            return fail(why, whylen, "'%s' carries a value from one iteration to the next", f->vars[v].name);
    }
    /* arrays */
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        if (!fe_in_body(lp, n->block) || !f->blocks[n->block].reachable)
            continue;
        if (n->op == IR_CALL) {
            const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
            if (ct && ct->kind == FE_T_PYFUNC && callee_writes(f->inst->v[n->sub]->func))
                return fail(why, whylen, "it calls %s, which writes an array", ((const fe_code *)ct->ptr)->qualname);
            continue;
        }
        if (n->op != IR_STORE_SUBSCR)
            continue;
        if (lw->atomic_role && lw->atomic_role[v])
            continue; /* an atomic update: any order will do */
        access a = access_of(f, n);
        if (a.param < 0)
            return fail(why, whylen, "it writes an array through a variable holding a view");
        const char *name = f->vars[a.param].name;
        if (f->region->argtypes && (f->region->argtypes[f->vars[a.param].param].layout & FE_LAYOUT_OVERLAPS))
            return fail(why, whylen, "'%s' overlaps another argument in memory", name);
        /* the components that tell iterations apart */
        int moving[FE_MAX_NDIM * 2], nmoving = 0;
        for (int c = 0; c < a.ncomp; c++)
            moving[c] = moves_with(f, lp, ivar, a.comp[c]), nmoving += moving[c];
        if (!nmoving)
            return fail(why, whylen, "'%s' is written at an index that does not move with '%s'", name,
                        f->vars[ivar].name);
        /* every other access to the same array: the same moving component */
        for (int w = 0; w < f->nnodes; w++) {
            const fe_node *m = &f->nodes[w];
            if (w == v || !fe_in_body(lp, m->block) || !f->blocks[m->block].reachable ||
                (m->op != IR_SUBSCR && m->op != IR_STORE_SUBSCR))
                continue;
            /* an inner link of a chain is checked with the whole chain */
            int inner = 0;
            for (int u = 0; u < f->nnodes && !inner; u++) {
                const fe_node *o = &f->nodes[u];
                inner = (o->op == IR_SUBSCR || o->op == IR_STORE_SUBSCR) && fe_arg(f, o, 0) == w;
            }
            if (inner)
                continue;
            access b = access_of(f, m);
            if (b.param != a.param)
                continue;
            int same = 0;
            for (int c = 0; !same && c < a.ncomp && c < b.ncomp; c++)
                same = b.ncomp == a.ncomp && moving[c] && same_index(f, a.comp[c], b.comp[c], 0);
            if (!same)
                return fail(why, whylen, "'%s' is written and read at different indices", name);
        }
    }
    return 1;
}
