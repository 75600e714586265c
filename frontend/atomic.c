/* atomic.c - `#pragma acc atomic` read, write, update and capture.
 *
 * The outliner gives each atomic directive's source lines; the nodes of
 * those lines make the statement.  The location x is an array element
 * (a[i]) or a scalar variable, which a parallel loop then shares through a
 * pointer (parallel.c) instead of privatising it.
 *   read     v = x           an atomic load
 *   write    x = e           an atomic store
 *   update   x op= e, x = x op e, x = e op x, x = max(x, e), ...
 *            one atomicrmw where the operation and types allow, otherwise
 *            a compare-and-swap loop that recomputes the statement's own
 *            expression (with Python's or NumPy's types and errors) on the
 *            value it read, until no other thread came in between
 *   capture  v = x; x op= e   or   x op= e; v = x   (closed by end atomic):
 *            v gets the value before or after the atomic update;
 *            v = x = x op e   (Python's one-statement form, a chained
 *            assignment): v gets the value after it.
 * OpenACC atomics order nothing beyond themselves: monotonic.
 */
#include "lower.h"

#include "rt.h"

#include <stdlib.h>
#include <string.h>

typedef struct fe_atomic_state {
    fe_val store;        /* the update's or write's store, or the read's load */
    fe_val xread;        /* the update's own read of x (replaced by the old value) */
    fe_val capture_read; /* capture: the read of x by `v = x` */
    fe_val capture_store;/* capture: that `v = ...` store */
    int read_first;      /* capture: v gets the old value */
    int chained;         /* capture v = x = expr: v gets the new value, stored by the update */
    LLVMValueRef old_val, new_val;
    const fe_type *vt;   /* x's type */
} fe_atomic_state;

/* ----------------------------------------------------------- planning */

/* Whether variable var is assigned between node span[0] and node span[1]
 * (bytecode order: from span[0]'s block on to span[1]'s). */
static int stored_in(const fe_func *f, int var, const fe_val *span)
{
    int lo = f->nodes[span[0]].block, hi = f->nodes[span[1]].block;
    for (int k = lo; k <= hi; k++) {
        const fe_block *b = &f->blocks[k];
        int on = k > lo;
        for (int i = 0; b->reachable && i < b->nnodes; i++) {
            fe_val v = b->nodes[i];
            if (k == hi && v == span[1])
                break;
            if (on && f->nodes[v].op == IR_STOREVAR && f->nodes[v].var == var)
                return 1;
            on |= v == span[0];
        }
    }
    return 0;
}

/* Whether two index (or value) expressions are the same: same loads of
 * the same variables, same constants, same operators.  Loads in two
 * blocks are the same where nothing between nodes span[0] and span[1]
 * (the statement the two belong to) assigns the variable; span NULL: only
 * loads in one block. */
static int same_expr(fe_func *f, fe_val a, fe_val b, int depth, const fe_val *span)
{
    if (a == b)
        return 1;
    if (depth > 8)
        return 0;
    const fe_node *x = &f->nodes[a], *y = &f->nodes[b];
    if (x->op != y->op || x->sub != y->sub || x->nargs != y->nargs)
        return 0;
    switch (x->op) {
    case IR_LOADVAR:
        return x->var == y->var &&
               (x->block == y->block || (span && !stored_in(f, x->var, span)));
    case IR_CONST: return x->c.kind == y->c.kind && x->c.i == y->c.i && x->c.f == y->c.f;
    case IR_BINOP:
    case IR_UNOP:
    case IR_TUPLE:
    case IR_SUBSCR: /* h[v[i] % 7] read twice in one statement */
    case IR_ATTR:
        if (x->op == IR_ATTR && x->var != y->var)
            return 0;
        for (int i = 0; i < x->nargs; i++)
            if (!same_expr(f, fe_arg(f, x, i), fe_arg(f, y, i), depth + 1, span))
                return 0;
        return 1;
    default:
        return 0;
    }
}

/* Whether node r reads the location that store s writes (span: as for
 * same_expr). */
static int reads_location_in(fe_func *f, fe_val r, const fe_node *s, const fe_val *span)
{
    const fe_node *n = &f->nodes[r];
    if (s->op == IR_STOREVAR)
        return n->op == IR_LOADVAR && n->var == s->var;
    return n->op == IR_SUBSCR && same_expr(f, fe_arg(f, n, 0), fe_arg(f, s, 0), 0, span) &&
           same_expr(f, fe_arg(f, n, 1), fe_arg(f, s, 1), 0, span);
}

static int reads_location(fe_func *f, fe_val r, const fe_node *s) { return reads_location_in(f, r, s, NULL); }

/* The operand of value node v that reads x (for an update), or FE_NOVAL. */
static fe_val update_read(fe_func *f, fe_val v, const fe_node *s)
{
    const fe_node *n = &f->nodes[v];
    if (n->op == IR_BINOP) {
        for (int i = 0; i < 2; i++)
            if (reads_location(f, fe_arg(f, n, i), s))
                return fe_arg(f, n, i);
        return FE_NOVAL;
    }
    if (n->op == IR_CALL) { /* x = max(x, e), min, abs is no update */
        const fe_type *ct = f->nodes[fe_arg(f, n, 0)].type;
        if (!ct || ct->kind != FE_T_FUNC || (ct->id != FE_BI_MIN && ct->id != FE_BI_MAX))
            return FE_NOVAL;
        for (int i = 1; i < n->nargs; i++)
            if (reads_location(f, fe_arg(f, n, i), s))
                return fe_arg(f, n, i);
    }
    return FE_NOVAL;
}

static int is_store(const fe_func *f, const fe_node *n)
{
    return n->op == IR_STORE_SUBSCR || (n->op == IR_STOREVAR && !f->vars[n->var].is_stack);
}

fe_status fe_plan_atomics(lower *lw)
{
    fe_func *f = lw->f;
    const fe_region *r = lw->r;
    if (!r->natomics || f->is_routine)
        return FE_OK;
    lw->atomic_role = calloc((size_t)f->nnodes + 1, 1);
    lw->atomic_of = calloc((size_t)f->nnodes + 1, sizeof *lw->atomic_of);
    lw->atomic = calloc((size_t)r->natomics, sizeof *lw->atomic);
    lw->atomic_var = calloc((size_t)f->nvars + 1, 1);
    if (!lw->atomic_role || !lw->atomic_of || !lw->atomic || !lw->atomic_var)
        return fe_error_set(lw->err, FE_ERR_NOMEM, r->loc, "out of memory");
    for (int a = 0; a < r->natomics; a++) {
        const fe_atomic *spec = &r->atomics[a];
        fe_atomic_state *st = &lw->atomic[a];
        fe_loc at = {spec->first_line, 0, -1};
        st->store = st->xread = st->capture_read = st->capture_store = FE_NOVAL;
        fe_val stores[4];
        int nst = 0;
        for (int v = 0; v < f->nnodes; v++) {
            const fe_node *n = &f->nodes[v];
            if (f->blocks[n->block].reachable && is_store(f, n) && n->loc.line >= spec->first_line &&
                n->loc.line <= spec->last_line && nst < 4)
                stores[nst++] = v;
        }
        const char *shape = spec->kind == FE_ATOMIC_READ      ? "v = x"
                            : spec->kind == FE_ATOMIC_WRITE   ? "x = expr"
                            : spec->kind == FE_ATOMIC_CAPTURE ? "v = x; x op= expr (or the reverse), or v = x = x op expr"
                                                              : "x op= expr, x = x op expr or x = expr op x";
        int want = spec->kind == FE_ATOMIC_CAPTURE ? 2 : 1;
        if (nst != want)
            return fe_error_set(lw->err, FE_ERR_SYNTAX, at, "atomic %s expects %s", 
                                spec->kind == FE_ATOMIC_READ ? "read" : spec->kind == FE_ATOMIC_WRITE ? "write"
                                : spec->kind == FE_ATOMIC_CAPTURE ? "capture" : "update", shape);
        if (spec->kind == FE_ATOMIC_READ) {
            const fe_node *s = &f->nodes[stores[0]];
            fe_val rd = fe_arg(f, s, s->op == IR_STOREVAR ? 0 : 2);
            const fe_node *rn = &f->nodes[rd];
            if (s->op != IR_STOREVAR || (rn->op != IR_SUBSCR && rn->op != IR_LOADVAR))
                return fe_error_set(lw->err, FE_ERR_SYNTAX, at, "atomic read expects %s", shape);
            st->store = rd;
            lw->atomic_role[rd] = FE_AR_READ;
            lw->atomic_of[rd] = (int16_t)a;
            if (rn->op == IR_LOADVAR)
                lw->atomic_var[rn->var] = 1;
            continue;
        }
        if (spec->kind == FE_ATOMIC_WRITE) {
            st->store = stores[0];
            lw->atomic_role[stores[0]] = FE_AR_WRITE;
            lw->atomic_of[stores[0]] = (int16_t)a;
            if (f->nodes[stores[0]].op == IR_STOREVAR)
                lw->atomic_var[f->nodes[stores[0]].var] = 1;
            continue;
        }
        /* update, or capture: find the update among the stores */
        int u = -1;
        for (int i = 0; i < nst; i++) {
            const fe_node *s = &f->nodes[stores[i]];
            fe_val val = fe_arg(f, s, s->op == IR_STOREVAR ? 0 : 2);
            if (update_read(f, val, s) != FE_NOVAL) {
                u = i;
                st->xread = update_read(f, val, s);
            }
        }
        if (u < 0)
            return fe_error_set(lw->err, FE_ERR_SYNTAX, at, "atomic %s expects %s",
                                spec->kind == FE_ATOMIC_CAPTURE ? "capture" : "update", shape);
        st->store = stores[u];
        const fe_node *us = &f->nodes[st->store];
        lw->atomic_role[st->store] = FE_AR_UPDATE;
        lw->atomic_of[st->store] = (int16_t)a;
        if (us->op == IR_STOREVAR)
            lw->atomic_var[us->var] = 1;
        if (spec->kind == FE_ATOMIC_CAPTURE) {
            const fe_node *cs = &f->nodes[stores[1 - u]];
            fe_val uval = fe_arg(f, us, us->op == IR_STOREVAR ? 0 : 2);
            if (cs->op == IR_STOREVAR && fe_arg(f, cs, 0) == uval) {
                /* v = x = expr: one value, stored to both */
                st->capture_store = stores[1 - u];
                st->chained = 1;
                lw->atomic_role[stores[1 - u]] = FE_AR_DEFERRED;
                lw->atomic_of[stores[1 - u]] = (int16_t)a;
                continue;
            }
            fe_val rd = cs->op == IR_STOREVAR ? fe_arg(f, cs, 0) : FE_NOVAL;
            if (rd == FE_NOVAL || !reads_location(f, rd, us))
                return fe_error_set(lw->err, FE_ERR_SYNTAX, at, "atomic capture expects %s", shape);
            st->capture_read = rd;
            st->capture_store = stores[1 - u];
            st->read_first = cs->loc.line < us->loc.line;
            lw->atomic_role[rd] = FE_AR_CAPTURE_READ;
            lw->atomic_of[rd] = (int16_t)a;
            if (st->read_first) { /* v is stored with the old value, by the update */
                lw->atomic_role[stores[1 - u]] = FE_AR_DEFERRED;
                lw->atomic_of[stores[1 - u]] = (int16_t)a;
            }
        }
    }
    return FE_OK;
}

/* ------------------------------------------------ array reductions */

/* Whether store s (to an element of the array being reduced) updates it by
 * op, the element read by node r: x op= e, x = x op e, x = e op x, or
 * x = max(x, e) / min; x -= e for +. */
static int update_by(fe_func *f, const fe_node *s, fe_val r, fe_red_op op)
{
    const fe_node *v = &f->nodes[fe_arg(f, s, 2)];
    if (v->op == IR_CALL) {
        const fe_type *ct = f->nodes[fe_arg(f, v, 0)].type;
        return v->nargs == 3 && ((op == FE_RED_MAX && ct->id == FE_BI_MAX) || (op == FE_RED_MIN && ct->id == FE_BI_MIN));
    }
    int bop = v->sub >= FE_NB_INPLACE_ADD ? v->sub - FE_NB_INPLACE_ADD : v->sub;
    switch (op) {
    case FE_RED_ADD: return bop == FE_NB_ADD || (bop == FE_NB_SUBTRACT && fe_arg(f, v, 0) == r);
    case FE_RED_MUL: return bop == FE_NB_MULTIPLY;
    case FE_RED_BITAND: return bop == FE_NB_AND;
    case FE_RED_BITOR: return bop == FE_NB_OR;
    case FE_RED_BITXOR: return bop == FE_NB_XOR;
    default: return 0; /* && and || are branches, not one expression */
    }
}

static int is_var_load(const fe_func *f, fe_val a, int var)
{
    return a != FE_NOVAL && f->nodes[a].op == IR_LOADVAR && f->nodes[a].var == var;
}

/* Whether node n reads what a private copy of an array shares with it:
 * a.shape, a.size, a.ndim. */
static int metadata(const fe_func *f, const fe_node *n)
{
    if (n->op != IR_ATTR || n->sub)
        return 0;
    const char *name = f->code->names[n->var];
    return !strcmp(name, "shape") || !strcmp(name, "size") || !strcmp(name, "ndim");
}

/* A constant's truth: 0 or 1, -1 for one that has no plain truth here. */
static int const_truth(const fe_const *c)
{
    switch (c->kind) {
    case FE_CONST_NONE: return 0;
    case FE_CONST_BOOL:
    case FE_CONST_INT: return c->i != 0;
    case FE_CONST_FLOAT: return c->f != 0;
    default: return -1;
    }
}

static int in_body(const fe_func *f, const fe_loop *lp, const fe_node *n)
{
    return f->blocks[n->block].reachable && fe_in_body(lp, n->block);
}

/* Whether every use of node r in loop lp's body (uses[]: how many there
 * are) is node a, node b, or a store to a stack variable that nothing
 * reads (the copy 3.12's COPY leaves for the branch that pops it). */
static int used_only_by(const fe_func *f, const fe_loop *lp, const int *uses, fe_val r, fe_val a, fe_val b)
{
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        int uses_r = 0;
        for (int i = 0; i < n->nargs; i++)
            uses_r |= fe_arg(f, n, i) == r;
        if (!uses_r || v == a || v == b || !in_body(f, lp, n))
            continue;
        if (n->op != IR_STOREVAR || !f->vars[n->var].is_stack)
            return 0;
        for (int w = 0; w < f->nnodes; w++)
            if (f->nodes[w].op == IR_LOADVAR && f->nodes[w].var == n->var && uses[w])
                return 0;
    }
    return 1;
}

/* Whether store s (to an element of a bool array reduced by && or ||)
 * moves the element only towards the value that decides op (False for
 * &&, True for ||), the element read by *read:
 *   x = x and e,  x = e and x,  x = e and x and f, ...   (&&)
 *   x = x or e,   x = e or x, ...                        (||)
 *   x = False (&&),  x = True (||)
 * Python leaves the value of `a and b and c` in a stack variable that each
 * operand's block stores: a and b each in a block testing it, which goes
 * to the store when it is false (the edge that keeps it), c in the last
 * block before the store, which goes there unconditionally.  Then the
 * stored value is true when every operand is, whichever it is.  *read is
 * the element's read, or the constant. */
static int logic_update(lower *lw, const fe_loop *lp, const fe_node *s, fe_red_op op, const int *uses, fe_val *read)
{
    fe_func *f = lw->f;
    fe_val val = fe_arg(f, s, 2), at = (fe_val)(s - f->nodes);
    const fe_node *vn = &f->nodes[val];
    int decides = op == FE_RED_OR; /* the truth that settles the result */
    if (vn->op == IR_CONST) {
        *read = val;
        return const_truth(&vn->c) == decides;
    }
    if (vn->op != IR_LOADVAR || !f->vars[vn->var].is_stack || vn->block != s->block || uses[val] != 1)
        return 0;
    int keep = decides ? 0 : 1; /* IR_CBR goes to succ[0] when its test holds */
    fe_val r = FE_NOVAL, last = FE_NOVAL;
    int nops = 0, tested = -1; /* the last block that tests an operand */
    for (fe_val v = 0; v < f->nnodes; v++) {
        const fe_node *m = &f->nodes[v];
        if (m->op != IR_STOREVAR || m->var != vn->var || !in_body(f, lp, m))
            continue;
        const fe_block *bm = &f->blocks[m->block];
        const fe_node *t = fe_terminator(lw, m->block);
        fe_val x = fe_arg(f, m, 0), test = t->op == IR_CBR ? fe_arg(f, t, 0) : FE_NOVAL;
        if (m->block >= s->block || bm->succ[t->op == IR_CBR ? keep : 0] != s->block)
            return 0; /* not an edge into the store's block */
        if (t->op == IR_BR) {
            if (last != FE_NOVAL)
                return 0;
            last = v; /* the last operand, stored unconditionally */
        } else if (t->op != IR_CBR || f->nodes[test].op != IR_TRUTH || fe_arg(f, &f->nodes[test], 0) != x ||
                   bm->succ[1 - keep] == s->block) {
            return 0; /* not an operand that goes on only when it does not decide */
        } else if (m->block > tested) {
            tested = m->block;
        }
        fe_val span[2] = {v, at};
        if (reads_location_in(f, x, s, span)) {
            if (r != FE_NOVAL || !used_only_by(f, lp, uses, x, v, t->op == IR_CBR ? test : v))
                return 0;
            r = x;
        }
        nops++;
    }
    *read = r;
    /* the unconditional operand comes last: every test is before it */
    return nops >= 2 && last != FE_NOVAL && tested < f->nodes[last].block && r != FE_NOVAL;
}

/* Whether every use of array variable var in loop lp's body is an update
 * of one of its elements by op (read[] gets each update's own read), the
 * updates being atomic ones (atomic) or plain ones; 1, 0 (*bad: the first
 * use that is not), or -1 out of memory. */
static int updates_only(lower *lw, const fe_loop *lp, int var, fe_red_op op, int atomic, fe_val *read, fe_loc *bad)
{
    fe_func *f = lw->f;
    int *uses = calloc((size_t)f->nnodes + 1, sizeof *uses);
    if (!uses)
        return -1;
    int logic = op == FE_RED_AND || op == FE_RED_OR;
    for (int v = 0; v < f->nnodes; v++) {
        const fe_node *n = &f->nodes[v];
        read[v] = FE_NOVAL;
        for (int i = 0; in_body(f, lp, n) && i < n->nargs; i++)
            if (fe_arg(f, n, i) != FE_NOVAL)
                uses[fe_arg(f, n, i)]++;
    }
    int ok = 1;
    /* the updates */
    for (int v = 0; v < f->nnodes && ok; v++) {
        const fe_node *n = &f->nodes[v];
        if (!in_body(f, lp, n))
            continue;
        if (n->op == IR_STOREVAR && n->var == var)
            ok = 0; /* the variable itself assigned */
        else if (n->op != IR_STORE_SUBSCR || !is_var_load(f, fe_arg(f, n, 0), var))
            continue;
        else if (atomic && (!lw->atomic_role || lw->atomic_role[v] != FE_AR_UPDATE ||
                            lw->atomic[lw->atomic_of[v]].capture_store != FE_NOVAL))
            ok = 0; /* a plain store, or a capture: the old value is wanted */
        else if (logic)
            ok = logic_update(lw, lp, n, op, uses, &read[v]);
        else {
            fe_val r = update_read(f, fe_arg(f, n, 2), n);
            if (r == FE_NOVAL || !is_var_load(f, fe_arg(f, &f->nodes[r], 0), var) || !update_by(f, n, r, op))
                ok = 0;
            else
                read[v] = r;
        }
        if (!ok)
            *bad = n->loc;
    }
    /* every other use of the variable: none (a read of an element that is
     * no update's own, a call given the array, ...), its shape aside */
    for (int v = 0; v < f->nnodes; v++)
        if (read[v] != FE_NOVAL)
            uses[read[v]] = -uses[read[v]]; /* marks an update's own read (used at least once) */
    for (int v = 0; v < f->nnodes && ok; v++) {
        const fe_node *n = &f->nodes[v];
        if (!in_body(f, lp, n))
            continue;
        if (read[v] != FE_NOVAL) {
            if (uses[read[v]] != -1 && !logic) /* the element read is used elsewhere too */
                ok = 0;
        } else {
            for (int i = 0; i < n->nargs && ok; i++)
                if (is_var_load(f, fe_arg(f, n, i), var))
                    ok = i == 0 && (uses[v] < 0 || metadata(f, n)); /* only as the array an update reads */
        }
        if (!ok)
            *bad = n->loc;
    }
    free(uses);
    return ok;
}

int fe_plan_ared_updates(lower *lw, const fe_loop *lp, int var, fe_red_op op, fe_loc *bad)
{
    fe_func *f = lw->f;
    fe_val *read = malloc(((size_t)f->nnodes + 1) * sizeof *read); /* per node: the update's read, this pass */
    if (!read)
        return -1;
    int ok = updates_only(lw, lp, var, op, 0, read, bad);
    if (ok == 1 && !lw->ared_read) {
        lw->ared_read = malloc(((size_t)f->nnodes + 1) * sizeof *lw->ared_read);
        lw->ared_op = calloc((size_t)f->nnodes + 1, 1);
        if (!lw->ared_read || !lw->ared_op)
            ok = -1;
        for (int v = 0; ok == 1 && v <= f->nnodes; v++)
            lw->ared_read[v] = FE_NOVAL;
    }
    for (int v = 0; ok == 1 && v < f->nnodes; v++)
        if (read[v] != FE_NOVAL) {
            lw->ared_read[v] = read[v];
            lw->ared_op[v] = (uint8_t)op;
        }
    free(read);
    return ok;
}

fe_red_op fe_atomic_updates_only(lower *lw, const fe_loop *lp, int var)
{
    static const fe_red_op ops[] = {FE_RED_ADD, FE_RED_MUL, FE_RED_MAX, FE_RED_MIN,
                                    FE_RED_BITAND, FE_RED_BITOR, FE_RED_BITXOR};
    if (!lw->atomic_role)
        return FE_RED_NONE;
    fe_val *read = malloc(((size_t)lw->f->nnodes + 1) * sizeof *read);
    fe_red_op found = FE_RED_NONE;
    fe_loc bad;
    for (size_t i = 0; read && i < sizeof ops / sizeof ops[0] && found == FE_RED_NONE; i++)
        if (updates_only(lw, lp, var, ops[i], 1, read, &bad) == 1)
            found = ops[i];
    free(read);
    return found;
}

void fe_atomics_free(lower *lw)
{
    free(lw->ared_read);
    free(lw->ared_op);
    lw->ared_read = NULL;
    lw->ared_op = NULL;
    free(lw->atomic_role);
    free(lw->atomic_of);
    free(lw->atomic);
    free(lw->atomic_var);
    lw->atomic_role = NULL;
    lw->atomic_of = NULL;
    lw->atomic = NULL;
    lw->atomic_var = NULL;
}

/* ----------------------------------------------------------- lowering */

/* Where x lives, and its type in memory. */
static LLVMValueRef location(lower *lw, const fe_node *s, const fe_type **vt, fe_dtype *mem)
{
    fe_func *f = lw->f;
    if (s->op == IR_STOREVAR || s->op == IR_LOADVAR) {
        *vt = f->vars[s->var].type;
        *mem = FE_DT_COUNT_; /* a register type, no memory conversion */
        return fe_var_slot(lw, s->var);
    }
    const fe_type *at = f->nodes[fe_arg(f, s, 0)].type;
    int k;
    LLVMValueRef p = fe_element_ptr(lw, at, fe_node_val(lw, fe_arg(f, s, 0)), fe_arg(f, s, 1), &k, s->loc);
    *mem = at->kind == FE_T_LIST ? fe_t_dtype(at->elem) : at->dtype;
    *vt = at->kind == FE_T_LIST ? at->elem : fe_t_np(f->types, at->dtype);
    return p;
}

/* Memory type <-> register value (bools are bytes in memory). */
static LLVMTypeRef cell_type(lower *lw, const fe_type *vt, fe_dtype mem)
{
    return mem == FE_DT_COUNT_ ? fe_lty(lw, vt) : fe_mem_lty(lw, mem);
}

static LLVMValueRef from_cell(lower *lw, LLVMValueRef c, fe_dtype mem)
{
    return mem == FE_DT_BOOL ? LLVMBuildICmp(lw->B, LLVMIntNE, c, LLVMConstNull(LLVMTypeOf(c)), "") : c;
}

static LLVMValueRef to_cell(lower *lw, LLVMValueRef v, fe_dtype mem)
{
    return mem == FE_DT_BOOL ? LLVMBuildZExt(lw->B, v, lw->i8, "") : v;
}

/* The integer type of the same width, for cmpxchg of floats. */
static LLVMTypeRef bits_type(lower *lw, LLVMTypeRef t)
{
    if (LLVMGetTypeKind(t) == LLVMIntegerTypeKind)
        return t;
    return LLVMGetTypeKind(t) == LLVMFloatTypeKind ? lw->i32 : lw->i64;
}

static LLVMValueRef atomic_load(lower *lw, LLVMTypeRef t, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(lw->B, t, p, "");
    LLVMSetOrdering(v, LLVMAtomicOrderingMonotonic);
    LLVMSetAlignment(v, (unsigned)(LLVMGetTypeKind(t) == LLVMIntegerTypeKind ? LLVMGetIntTypeWidth(t) / 8
                                   : LLVMGetTypeKind(t) == LLVMFloatTypeKind  ? 4
                                                                              : 8));
    return v;
}

/* The new value of x from its old one: the update's expression lowered
 * again with its read of x standing for old, then converted as the store
 * converts. */
static LLVMValueRef recompute(lower *lw, fe_atomic_state *st, const fe_node *s, LLVMValueRef old, const fe_type *vt)
{
    fe_func *f = lw->f;
    fe_val val = fe_arg(f, s, s->op == IR_STOREVAR ? 0 : 2);
    LLVMValueRef saved = lw->val[st->xread];
    lw->val[st->xread] = old;
    LLVMValueRef r = fe_lower_node(lw, &f->nodes[val]);
    lw->val[st->xread] = saved;
    if (!r)
        return NULL;
    return fe_convert(lw, r, f->nodes[val].type, vt);
}

/* The atomicrmw operation for the update, when one does it exactly. */
static int rmw_op(lower *lw, fe_atomic_state *st, const fe_node *s, const fe_type *vt, LLVMAtomicRMWBinOp *op,
                  fe_val *operand)
{
    fe_func *f = lw->f;
    const fe_node *v = &f->nodes[fe_arg(f, s, s->op == IR_STOREVAR ? 0 : 2)];
    if (v->type != vt)
        return 0; /* the expression computes in another type: recompute */
    if (v->op == IR_CALL && v->nargs == 3 && fe_t_is_intlike(vt) && vt->kind != FE_T_BOOL &&
        !(vt->kind == FE_T_NP && vt->dtype == FE_DT_BOOL)) {
        /* x = max(x, e) on integers (which of equals wins cannot show) */
        const fe_type *ct = f->nodes[fe_arg(f, v, 0)].type;
        fe_val e = fe_arg(f, v, fe_arg(f, v, 1) == st->xread ? 2 : 1);
        int sgn = vt->kind == FE_T_INT || fe_dtype_is_signed(vt->dtype);
        if (f->nodes[e].type != vt)
            return 0;
        if (ct->id == FE_BI_MAX)
            *op = sgn ? LLVMAtomicRMWBinOpMax : LLVMAtomicRMWBinOpUMax;
        else if (ct->id == FE_BI_MIN)
            *op = sgn ? LLVMAtomicRMWBinOpMin : LLVMAtomicRMWBinOpUMin;
        else
            return 0;
        *operand = e;
        return 1;
    }
    if (v->op != IR_BINOP)
        return 0;
    int bop = v->sub >= FE_NB_INPLACE_ADD ? v->sub - FE_NB_INPLACE_ADD : v->sub;
    int x_left = fe_arg(f, v, 0) == st->xread;
    fe_val e = fe_arg(f, v, x_left ? 1 : 0);
    int isf = fe_t_is_floatlike(vt);
    if (vt->kind == FE_T_BOOL || (vt->kind == FE_T_NP && vt->dtype == FE_DT_BOOL))
        return 0;
    switch (bop) {
    case FE_NB_ADD: *op = isf ? LLVMAtomicRMWBinOpFAdd : LLVMAtomicRMWBinOpAdd; break;
    case FE_NB_SUBTRACT:
        if (!x_left)
            return 0;
        *op = isf ? LLVMAtomicRMWBinOpFSub : LLVMAtomicRMWBinOpSub;
        break;
    case FE_NB_AND: *op = LLVMAtomicRMWBinOpAnd; break;
    case FE_NB_OR: *op = LLVMAtomicRMWBinOpOr; break;
    case FE_NB_XOR: *op = LLVMAtomicRMWBinOpXor; break;
    default: return 0;
    }
    /* the operand must convert to x's type without changing the result:
     * Python ints as Python ints, or already x's type */
    const fe_type *et = f->nodes[e].type;
    /* or a Python int added to 64-bit integers (NumPy converts it first, and
     * the sum wraps the same), a Python float to float64 */
    int wide = vt->kind == FE_T_NP && fe_dtype_bits(vt->dtype) == 64;
    if (et != vt && !(et->kind == FE_T_INT && vt->kind == FE_T_INT) &&
        !(wide && et->kind == FE_T_INT && fe_t_is_intlike(vt)) &&
        !(wide && et->kind == FE_T_FLOAT && vt->dtype == FE_DT_FLOAT64))
        return 0;
    *operand = e;
    return 1;
}

static LLVMValueRef lower_update(lower *lw, fe_atomic_state *st)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    const fe_node *s = &f->nodes[st->store];
    const fe_type *vt;
    fe_dtype mem;
    LLVMValueRef ptr = location(lw, s, &vt, &mem);
    LLVMTypeRef ct = cell_type(lw, vt, mem);
    st->vt = vt;
    LLVMAtomicRMWBinOp op;
    fe_val e;
    if (mem != FE_DT_BOOL && rmw_op(lw, st, s, vt, &op, &e)) {
        LLVMValueRef ev = fe_convert(lw, fe_node_val(lw, e), f->nodes[e].type, vt);
        LLVMValueRef old = LLVMBuildAtomicRMW(B, op, ptr, ev, LLVMAtomicOrderingMonotonic, 0);
        st->old_val = from_cell(lw, old, mem);
        st->new_val = recompute(lw, st, s, st->old_val, vt);
        return st->new_val;
    }
    /* compare and swap until no other thread wrote between */
    LLVMTypeRef it = bits_type(lw, ct);
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMValueRef first = atomic_load(lw, it, ptr);
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(lw->C, fn, "atomic.cas");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(lw->C, fn, "atomic.done");
    LLVMBuildBr(B, loop);
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef cur = LLVMBuildPhi(B, it, "seen");
    LLVMValueRef oldv = from_cell(lw, it == ct ? cur : LLVMBuildBitCast(B, cur, ct, ""), mem);
    LLVMValueRef newv = recompute(lw, st, s, oldv, vt);
    if (!newv)
        return NULL;
    LLVMValueRef newc = to_cell(lw, newv, mem);
    if (it != ct)
        newc = LLVMBuildBitCast(B, newc, it, "");
    LLVMValueRef pair = LLVMBuildAtomicCmpXchg(B, ptr, cur, newc, LLVMAtomicOrderingMonotonic,
                                               LLVMAtomicOrderingMonotonic, 0);
    LLVMValueRef seen = LLVMBuildExtractValue(B, pair, 0, "");
    LLVMValueRef ok = LLVMBuildExtractValue(B, pair, 1, "");
    LLVMBasicBlockRef tail = LLVMGetInsertBlock(B);
    LLVMBuildCondBr(B, ok, done, loop);
    LLVMValueRef vals[2] = {first, seen};
    LLVMBasicBlockRef from[2] = {pre, tail};
    LLVMAddIncoming(cur, vals, from, 2);
    LLVMPositionBuilderAtEnd(B, done);
    st->old_val = oldv;
    st->new_val = newv;
    return newv;
}

/* An && or || update of a bool element, on a GPU where the threads share
 * the element: it only ever moves to the value that decides the operator
 * (False for &&, True for ||), so that value is stored when the
 * statement's result has it, and nothing otherwise (another thread may
 * have stored it since this one read the element). */
static void lower_logic_store(lower *lw, fe_node *n, fe_red_op op)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    fe_val val = fe_arg(f, n, 2);
    const fe_type *vt;
    fe_dtype mem;
    LLVMValueRef p = location(lw, n, &vt, &mem);
    LLVMValueRef t = fe_truth(lw, fe_node_val(lw, val), f->nodes[val].type);
    if (op == FE_RED_AND)
        t = LLVMBuildNot(B, t, "");
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef store = LLVMAppendBasicBlockInContext(lw->C, fn, "logic.store");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(lw->C, fn, "logic.done");
    LLVMBuildCondBr(B, t, store, done);
    LLVMPositionBuilderAtEnd(B, store);
    LLVMValueRef s = LLVMBuildStore(B, LLVMConstInt(lw->i8, op == FE_RED_OR, 0), p);
    LLVMSetOrdering(s, LLVMAtomicOrderingMonotonic);
    LLVMSetAlignment(s, 1);
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
}

LLVMValueRef fe_lower_ared_update(lower *lw, fe_node *n)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    fe_val v = (fe_val)(n - f->nodes);
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef gpu = LLVMAppendBasicBlockInContext(lw->C, fn, "ared.gpu");
    LLVMBasicBlockRef host = LLVMAppendBasicBlockInContext(lw->C, fn, "ared.host");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, fn, "ared.done");
    LLVMBuildCondBr(B, fe_on_gpu(lw), gpu, host);
    /* on a GPU: the threads share the array itself */
    LLVMPositionBuilderAtEnd(B, gpu);
    fe_red_op op = (fe_red_op)lw->ared_op[v];
    if (op == FE_RED_AND || op == FE_RED_OR) {
        lower_logic_store(lw, n, op);
    } else {
        fe_atomic_state st = {.store = v, .xread = lw->ared_read[v], .capture_read = FE_NOVAL,
                              .capture_store = FE_NOVAL};
        if (!lower_update(lw, &st))
            return NULL;
    }
    LLVMBuildBr(B, join);
    /* elsewhere: each thread its own copy */
    LLVMPositionBuilderAtEnd(B, host);
    if (!fe_lower_store_subscr(lw, n))
        return NULL;
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    return LLVMGetUndef(lw->i8);
}

/* For an update of an element of an array the body has a private copy of
 * (parallel.c's atomic reductions), whether this thread updates its own
 * copy (an i1); else NULL. */
static LLVMValueRef own_copy(lower *lw, const fe_node *n)
{
    fe_func *f = lw->f;
    if (n->op != IR_STORE_SUBSCR || !lw->fn || !lw->fn->own_copy)
        return NULL;
    const fe_node *a = fe_subscr_root(f, fe_arg(f, n, 0));
    return a->op == IR_LOADVAR ? lw->fn->own_copy[a->var] : NULL;
}

/* Update s of an array the thread may have a copy of its own of (own, an
 * i1): there a plain load, add and store, since no other thread sees the
 * copy and a locked add costs ~20 cycles, one after another; else the
 * atomic update.  Neither leaves a value behind (no capture). */
static int update_own_or_shared(lower *lw, fe_atomic_state *st, const fe_node *s, LLVMValueRef own)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef mine = LLVMAppendBasicBlockInContext(lw->C, fn, "atomic.own");
    LLVMBasicBlockRef shared = LLVMAppendBasicBlockInContext(lw->C, fn, "atomic.shared");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(lw->C, fn, "atomic.done");
    LLVMBuildCondBr(B, own, mine, shared);
    LLVMPositionBuilderAtEnd(B, mine);
    const fe_type *vt;
    fe_dtype mem;
    LLVMValueRef p = location(lw, s, &vt, &mem);
    LLVMValueRef old = from_cell(lw, LLVMBuildLoad2(B, cell_type(lw, vt, mem), p, ""), mem);
    LLVMValueRef nv = recompute(lw, st, s, old, vt);
    if (!nv)
        return 0;
    LLVMBuildStore(B, to_cell(lw, nv, mem), p);
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, shared);
    if (!lower_update(lw, st))
        return 0;
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    return 1;
}

LLVMValueRef fe_lower_atomic(lower *lw, fe_node *n)
{
    fe_func *f = lw->f;
    fe_val v = (fe_val)(n - f->nodes);
    fe_atomic_state *st = &lw->atomic[lw->atomic_of[v]];
    LLVMBuilderRef B = lw->B;
    switch (lw->atomic_role[v]) {
    case FE_AR_READ: {
        const fe_type *vt;
        fe_dtype mem;
        LLVMValueRef p = location(lw, n, &vt, &mem);
        LLVMTypeRef ct = cell_type(lw, vt, mem), it = bits_type(lw, ct);
        LLVMValueRef c = atomic_load(lw, it, p);
        if (it != ct)
            c = LLVMBuildBitCast(B, c, ct, "");
        return from_cell(lw, c, mem);
    }
    case FE_AR_WRITE: {
        const fe_type *vt;
        fe_dtype mem;
        LLVMValueRef p = location(lw, n, &vt, &mem);
        fe_val val = fe_arg(f, n, n->op == IR_STOREVAR ? 0 : 2);
        LLVMValueRef x = to_cell(lw, fe_convert(lw, fe_node_val(lw, val), f->nodes[val].type, vt), mem);
        LLVMTypeRef ct = cell_type(lw, vt, mem), it = bits_type(lw, ct);
        LLVMValueRef s = LLVMBuildStore(B, it != ct ? LLVMBuildBitCast(B, x, it, "") : x, p);
        LLVMSetOrdering(s, LLVMAtomicOrderingMonotonic);
        LLVMSetAlignment(s, LLVMGetTypeKind(it) == LLVMIntegerTypeKind ? LLVMGetIntTypeWidth(it) / 8 : 8);
        return LLVMGetUndef(lw->i8);
    }
    case FE_AR_UPDATE: {
        const fe_node *s = &f->nodes[st->store];
        LLVMValueRef own = own_copy(lw, s);
        if (own && !st->chained && st->capture_store == FE_NOVAL)
            return update_own_or_shared(lw, st, s, own) ? LLVMGetUndef(lw->i8) : NULL;
        if (!lower_update(lw, st))
            return NULL;
        if (st->chained) { /* v = x = expr: v gets what x now holds */
            const fe_node *cs = &f->nodes[st->capture_store];
            fe_val uval = fe_arg(f, n, n->op == IR_STOREVAR ? 0 : 2);
            LLVMBuildStore(B, fe_convert(lw, st->new_val, st->vt, f->vars[cs->var].type), fe_var_slot(lw, cs->var));
            if (f->vars[cs->var].tag >= 0)
                LLVMBuildStore(B, fe_kind_value(lw, uval), fe_var_slot(lw, f->vars[cs->var].tag));
        }
        if (st->capture_store != FE_NOVAL && st->read_first) {
            /* v = x came first: v gets the value before the update */
            const fe_node *cs = &f->nodes[st->capture_store];
            LLVMValueRef old = fe_convert(lw, st->old_val, f->nodes[st->capture_read].type, f->vars[cs->var].type);
            LLVMBuildStore(B, old, fe_var_slot(lw, cs->var));
            if (f->vars[cs->var].tag >= 0)
                LLVMBuildStore(B, fe_kind_value(lw, st->capture_read), fe_var_slot(lw, f->vars[cs->var].tag));
        }
        return LLVMGetUndef(lw->i8);
    }
    case FE_AR_CAPTURE_READ:
        /* after the update: its new value; before it: nothing to load (the
         * update stores v itself) */
        if (!st->read_first && st->new_val)
            return fe_convert(lw, st->new_val, st->vt, n->type);
        return LLVMGetUndef(fe_lty(lw, n->type));
    case FE_AR_DEFERRED:
        return LLVMGetUndef(lw->i8);
    default:
        return NULL;
    }
}
