/* unbound.c - reads of variables that may not be assigned yet.
 *
 * Python raises UnboundLocalError when a local is read before any
 * assignment reaches it.  Definite assignment (a forward must-analysis)
 * finds the reads where that can happen; each such variable gets a flag
 * variable, cleared on entry and set after every assignment, which those
 * reads test.  A region's result that may be unbound is not an error: the
 * caller's variable stays unbound, as it would in the plain function, so
 * the region reports which results are bound instead.  Being ordinary
 * variables, the flags travel through parallel loops like any other.
 */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bit(const uint64_t *s, int i) { return (int)((s[i >> 6] >> (i & 63)) & 1); }
static void set_bit(uint64_t *s, int i) { s[i >> 6] |= (uint64_t)1 << (i & 63); }

static fe_status nomem(fe_error *err)
{
    return fe_error_set(err, FE_ERR_NOMEM, (fe_loc){0, 0, -1}, "out of memory");
}

/* Appends a node to f->nodes (not to a block); returns its index or -1. */
static fe_val new_node(fe_func *f, fe_irop op, int block, fe_loc loc, int nargs)
{
    if (f->nnodes == f->capnodes) {
        int cap = f->capnodes ? 2 * f->capnodes : 16;
        fe_node *n = realloc(f->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return FE_NOVAL;
        f->nodes = n;
        f->capnodes = cap;
    }
    if (f->nargpool + nargs > f->capargpool) {
        int cap = f->capargpool ? 2 * f->capargpool : 16;
        while (cap < f->nargpool + nargs)
            cap *= 2;
        int32_t *a = realloc(f->argpool, (size_t)cap * sizeof *a);
        if (!a)
            return FE_NOVAL;
        f->argpool = a;
        f->capargpool = cap;
    }
    fe_val v = f->nnodes++;
    fe_node *n = &f->nodes[v];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->block = block;
    n->var = -1;
    n->loc = loc;
    n->nargs = nargs;
    n->args = f->nargpool;
    f->nargpool += nargs;
    return v;
}

/* Inserts node v into block k at position pos. */
static int insert(fe_func *f, int k, int pos, fe_val v)
{
    fe_block *b = &f->blocks[k];
    if (b->nnodes == b->capnodes) {
        int cap = b->capnodes ? 2 * b->capnodes : 16;
        int32_t *n = realloc(b->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return 0;
        b->nodes = n;
        b->capnodes = cap;
    }
    memmove(&b->nodes[pos + 1], &b->nodes[pos], (size_t)(b->nnodes - pos) * sizeof *b->nodes);
    b->nodes[pos] = v;
    b->nnodes++;
    return 1;
}

/* Emits `flag := value` into block k at pos; returns 0 when out of memory. */
static int set_flag(fe_func *f, int k, int pos, int flag, int value, fe_loc loc)
{
    fe_val c = new_node(f, IR_CONST, k, loc, 0);
    if (c == FE_NOVAL)
        return 0;
    f->nodes[c].c.kind = FE_CONST_BOOL;
    f->nodes[c].c.i = value;
    fe_val s = new_node(f, IR_STOREVAR, k, loc, 1);
    if (s == FE_NOVAL)
        return 0;
    f->argpool[f->nodes[s].args] = c;
    f->nodes[s].var = flag;
    return insert(f, k, pos, c) && insert(f, k, pos + 1, s);
}

/* The loads that feed a RET's result tuple are results, not reads. */
static void mark_results(fe_func *f)
{
    for (int k = 0; k < f->nblocks; k++) {
        const fe_block *b = &f->blocks[k];
        if (!b->reachable || !b->nnodes)
            continue;
        const fe_node *ret = &f->nodes[b->nodes[b->nnodes - 1]];
        if (ret->op != IR_RET)
            continue;
        fe_node *t = &f->nodes[fe_arg(f, ret, 0)];
        if (t->op != IR_TUPLE)
            continue;
        for (int i = 0; i < t->nargs; i++) {
            fe_node *l = &f->nodes[fe_arg(f, t, i)];
            if (l->op == IR_LOADVAR && l->block == k && !f->vars[l->var].is_stack)
                l->aux = FE_LOAD_OUT;
        }
    }
}

fe_status fe_track_unbound(fe_func *f, fe_error *err)
{
    int nb = f->nblocks, nw = (f->nvars + 63) / 64 + 1;
    uint64_t *in = calloc((size_t)nb * nw, 8), *cur = calloc((size_t)nw, 8);
    uint8_t *needs = calloc((size_t)f->nvars + 1, 1);
    int *preds_n = calloc((size_t)nb + 1, sizeof *preds_n);
    fe_status st = FE_OK;
    if (!in || !cur || !needs || !preds_n) {
        st = nomem(err);
        goto done;
    }
    mark_results(f);
    /* definite assignment: entry has the parameters; elsewhere start from
     * "everything" and intersect over predecessors until stable */
    for (int k = 0; k < nb; k++)
        for (int s = 0; s < 2; s++)
            if (f->blocks[k].reachable && f->blocks[k].succ[s] >= 0)
                preds_n[f->blocks[k].succ[s]]++;
    for (int k = 1; k < nb; k++)
        memset(in + (size_t)k * nw, 0xff, (size_t)nw * 8);
    for (int v = 0; v < f->nvars; v++)
        if (f->vars[v].is_param || f->vars[v].is_stack)
            set_bit(in, v); /* stack entries are always stored before their loads */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int k = 0; k < nb; k++) {
            const fe_block *b = &f->blocks[k];
            if (!b->reachable)
                continue;
            memcpy(cur, in + (size_t)k * nw, (size_t)nw * 8);
            for (int i = 0; i < b->nnodes; i++) {
                const fe_node *n = &f->nodes[b->nodes[i]];
                if (n->op == IR_STOREVAR || n->op == IR_ITERNEXT)
                    set_bit(cur, n->var);
            }
            for (int s = 0; s < 2; s++) {
                int t = b->succ[s];
                if (t < 0)
                    continue;
                for (int w = 0; w < nw; w++) {
                    uint64_t v = in[(size_t)t * nw + w] & cur[w];
                    if (v != in[(size_t)t * nw + w]) {
                        in[(size_t)t * nw + w] = v;
                        changed = 1;
                    }
                }
            }
        }
    }
    /* the reads where a variable may be unbound */
    for (int k = 0; k < nb; k++) {
        const fe_block *b = &f->blocks[k];
        if (!b->reachable)
            continue;
        memcpy(cur, in + (size_t)k * nw, (size_t)nw * 8);
        for (int i = 0; i < b->nnodes; i++) {
            fe_node *n = &f->nodes[b->nodes[i]];
            if (n->op == IR_LOADVAR && !bit(cur, n->var)) {
                needs[n->var] = 1;
                if (n->aux != FE_LOAD_OUT)
                    n->aux = FE_LOAD_CHECKED;
            }
            if (n->op == IR_STOREVAR || n->op == IR_ITERNEXT)
                set_bit(cur, n->var);
        }
    }
    /* their flags: cleared on entry, set after each assignment */
    int nvars = f->nvars;
    for (int v = 0; v < nvars; v++) {
        if (!needs[v])
            continue;
        char *name = malloc(strlen(f->vars[v].name) + 8);
        if (!name) {
            st = nomem(err);
            goto done;
        }
        sprintf(name, "$bound_%s", f->vars[v].name);
        if (f->nvars == f->capvars) {
            int cap = f->capvars ? 2 * f->capvars : 16;
            fe_var *nv = realloc(f->vars, (size_t)cap * sizeof *nv);
            if (!nv) {
                free(name);
                st = nomem(err);
                goto done;
            }
            f->vars = nv;
            f->capvars = cap;
        }
        int flag = f->nvars++;
        memset(&f->vars[flag], 0, sizeof f->vars[flag]);
        f->vars[flag].name = name;
        f->vars[flag].owned_name = 1;
        f->vars[flag].param = -1;
        f->vars[flag].flag = -1;
        f->vars[flag].tag = -1;
        f->vars[v].flag = flag;
        if (!set_flag(f, 0, 0, flag, 0, f->region->loc)) {
            st = nomem(err);
            goto done;
        }
        for (int k = 0; k < nb; k++) {
            fe_block *b = &f->blocks[k];
            if (!b->reachable)
                continue;
            for (int i = 0; i < b->nnodes; i++) {
                const fe_node *n = &f->nodes[b->nodes[i]];
                if (n->op == IR_STOREVAR && n->var == v) {
                    if (!set_flag(f, k, i + 1, flag, 1, n->loc)) {
                        st = nomem(err);
                        goto done;
                    }
                    i += 2;
                }
            }
        }
    }
done:
    free(in);
    free(cur);
    free(needs);
    free(preds_n);
    return st;
}
