/* loops.c - natural loops, liveness and the roles of variables in a loop. */
#include "loops.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- bitsets */

static int bit(const uint64_t *s, int i) { return (int)((s[i >> 6] >> (i & 63)) & 1); }
static void set_bit(uint64_t *s, int i) { s[i >> 6] |= (uint64_t)1 << (i & 63); }

/* Per-block USE (read before any write in the block) and DEF sets.  When
 * own_iter >= 0, ITERNEXT of that variable counts as a read only (the
 * parallel loop's own iterator is not advanced in the body). */
static void use_def(const fe_func *f, int k, int nw, uint64_t *use, uint64_t *def, int own_iter)
{
    memset(use, 0, (size_t)nw * 8);
    memset(def, 0, (size_t)nw * 8);
    const fe_block *blk = &f->blocks[k];
    for (int i = 0; i < blk->nnodes; i++) {
        const fe_node *n = &f->nodes[blk->nodes[i]];
        switch (n->op) {
        case IR_LOADVAR:
            /* a read that may find its variable unbound reads its flag too,
             * and one of a variable of several kinds its tag */
            if (n->aux != FE_LOAD_PLAIN && f->vars[n->var].flag >= 0 && !bit(def, f->vars[n->var].flag))
                set_bit(use, f->vars[n->var].flag);
            if (f->vars[n->var].tag >= 0 && !bit(def, f->vars[n->var].tag))
                set_bit(use, f->vars[n->var].tag);
            if (!bit(def, n->var))
                set_bit(use, n->var);
            break;
        case IR_FORITER:
            if (!bit(def, n->var))
                set_bit(use, n->var);
            break;
        case IR_ITERNEXT:
            if (!bit(def, n->var))
                set_bit(use, n->var);
            if (n->var != own_iter)
                set_bit(def, n->var);
            break;
        case IR_STOREVAR:
            set_bit(def, n->var);
            if (f->vars[n->var].tag >= 0)
                set_bit(def, f->vars[n->var].tag);
            break;
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------------- loops */

static int *preds_of(const fe_func *f, int **start_out)
{
    int nb = f->nblocks;
    int *start = calloc((size_t)nb + 1, sizeof *start);
    if (!start)
        return NULL;
    for (int k = 0; k < nb; k++)
        for (int s = 0; s < 2; s++)
            if (f->blocks[k].reachable && f->blocks[k].succ[s] >= 0)
                start[f->blocks[k].succ[s] + 1]++;
    for (int k = 0; k < nb; k++)
        start[k + 1] += start[k];
    int *list = malloc(((size_t)start[nb] + 1) * sizeof *list);
    int *fill = calloc((size_t)nb, sizeof *fill);
    if (!list || !fill) {
        free(start);
        free(list);
        free(fill);
        return NULL;
    }
    for (int k = 0; k < nb; k++)
        for (int s = 0; s < 2; s++) {
            int t = f->blocks[k].succ[s];
            if (f->blocks[k].reachable && t >= 0)
                list[start[t] + fill[t]++] = k;
        }
    free(fill);
    *start_out = start;
    return list;
}

static fe_status nomem(fe_error *err)
{
    return fe_error_set(err, FE_ERR_NOMEM, (fe_loc){0, 0, -1}, "out of memory");
}

/* Global liveness: live_in per block. */
static fe_status liveness(const fe_func *f, fe_loops *L, fe_error *err)
{
    int nb = f->nblocks, nw = L->nwords;
    uint64_t *use = calloc((size_t)nb * nw, 8), *def = calloc((size_t)nb * nw, 8);
    L->live_in = calloc((size_t)nb * nw + 1, 8);
    uint64_t *out = calloc((size_t)nw, 8);
    if (!use || !def || !L->live_in || !out) {
        free(use);
        free(def);
        free(out);
        return nomem(err);
    }
    for (int k = 0; k < nb; k++)
        if (f->blocks[k].reachable)
            use_def(f, k, nw, use + (size_t)k * nw, def + (size_t)k * nw, -1);
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int k = nb - 1; k >= 0; k--) {
            if (!f->blocks[k].reachable)
                continue;
            memset(out, 0, (size_t)nw * 8);
            for (int s = 0; s < 2; s++) {
                int t = f->blocks[k].succ[s];
                if (t >= 0)
                    for (int w = 0; w < nw; w++)
                        out[w] |= L->live_in[(size_t)t * nw + w];
            }
            uint64_t *in = L->live_in + (size_t)k * nw;
            for (int w = 0; w < nw; w++) {
                uint64_t v = use[(size_t)k * nw + w] | (out[w] & ~def[(size_t)k * nw + w]);
                if (v != in[w]) {
                    in[w] = v;
                    changed = 1;
                }
            }
        }
    }
    free(use);
    free(def);
    free(out);
    return FE_OK;
}

fe_status fe_find_loops(fe_func *f, fe_loops *L, fe_error *err)
{
    memset(L, 0, sizeof *L);
    int nb = f->nblocks;
    int *pstart = NULL;
    int *preds = preds_of(f, &pstart);
    L->innermost = malloc(((size_t)nb + 1) * sizeof *L->innermost);
    int *stack = malloc(((size_t)nb + 1) * sizeof *stack);
    if (!preds || !L->innermost || !stack) {
        free(preds);
        free(pstart);
        free(stack);
        return nomem(err);
    }
    /* One loop per block that some later block jumps back to. */
    for (int t = 0; t < nb; t++) {
        if (!f->blocks[t].reachable)
            continue;
        int is_header = 0;
        for (int p = pstart[t]; p < pstart[t + 1]; p++)
            if (preds[p] >= t)
                is_header = 1;
        if (!is_header)
            continue;
        fe_loop *nl = realloc(L->loop, (size_t)(L->n + 1) * sizeof *nl);
        uint8_t *in = calloc((size_t)nb, 1);
        if (!nl || !in) {
            free(in);
            if (nl)
                L->loop = nl;
            free(preds);
            free(pstart);
            free(stack);
            return nomem(err);
        }
        L->loop = nl;
        fe_loop *lp = &L->loop[L->n++];
        memset(lp, 0, sizeof *lp);
        lp->header = t;
        lp->in_loop = in;
        lp->parent = -1;
        lp->body_start = lp->exit = -1;
        in[t] = 1;
        int sp = 0;
        for (int p = pstart[t]; p < pstart[t + 1]; p++)
            if (preds[p] >= t && !in[preds[p]]) {
                in[preds[p]] = 1;
                stack[sp++] = preds[p];
            }
        while (sp) {
            int k = stack[--sp];
            for (int p = pstart[k]; p < pstart[k + 1]; p++)
                if (!in[preds[p]]) {
                    in[preds[p]] = 1;
                    stack[sp++] = preds[p];
                }
        }
        const fe_block *hb = &f->blocks[t];
        if (hb->nnodes && f->nodes[hb->nodes[hb->nnodes - 1]].op == IR_FORITER) {
            lp->is_for = 1;
            lp->body_start = hb->succ[0];
            lp->exit = hb->succ[1];
            int line = f->nodes[hb->nodes[hb->nnodes - 1]].loc.line;
            for (int i = 0; i < f->region->nloops; i++)
                if (f->region->loops[i].line == line)
                    lp->spec = &f->region->loops[i];
        }
    }
    free(preds);
    free(pstart);
    free(stack);
    /* nesting: the parent is the smallest other loop holding the header */
    int *size = calloc((size_t)L->n + 1, sizeof *size);
    if (!size)
        return nomem(err);
    for (int a = 0; a < L->n; a++)
        for (int k = 0; k < nb; k++)
            size[a] += L->loop[a].in_loop[k];
    for (int a = 0; a < L->n; a++)
        for (int b = 0; b < L->n; b++)
            if (a != b && L->loop[b].in_loop[L->loop[a].header] && size[b] > size[a] &&
                (L->loop[a].parent < 0 || size[b] < size[L->loop[a].parent]))
                L->loop[a].parent = b;
    for (int k = 0; k < nb; k++) {
        L->innermost[k] = -1;
        for (int a = 0; a < L->n; a++)
            if (L->loop[a].in_loop[k] &&
                (L->innermost[k] < 0 || size[a] < size[L->innermost[k]]))
                L->innermost[k] = a;
    }
    free(size);
    L->nwords = (f->nvars + 63) / 64 + 1;
    return liveness(f, L, err);
}

void fe_loops_free(fe_loops *L)
{
    for (int a = 0; a < L->n; a++)
        free(L->loop[a].in_loop);
    free(L->loop);
    free(L->innermost);
    free(L->live_in);
    memset(L, 0, sizeof *L);
}

/* ---------------------------------------------------------------- roles */

static int in_body(const fe_loop *lp, int k) { return k >= 0 && k != lp->header && lp->in_loop[k]; }

fe_status fe_loop_roles(fe_func *f, const fe_loops *L, int li, uint8_t *role, fe_error *err)
{
    const fe_loop *lp = &L->loop[li];
    int nb = f->nblocks, nw = L->nwords;
    int own_iter = f->nodes[f->blocks[lp->header].nodes[f->blocks[lp->header].nnodes - 1]].var;
    memset(role, FE_ROLE_UNUSED, (size_t)f->nvars);

    /* The body leaves only through the header: no break. */
    for (int k = 0; k < nb; k++) {
        if (!in_body(lp, k) || !f->blocks[k].reachable)
            continue;
        for (int s = 0; s < 2; s++) {
            int t = f->blocks[k].succ[s];
            if (t >= 0 && t != lp->header && !in_body(lp, t)) {
                const fe_block *blk = &f->blocks[k];
                return fe_error_set(err, FE_ERR_UNSUPPORTED,
                                    f->nodes[blk->nodes[blk->nnodes - 1]].loc,
                                    "break leaves a parallel loop; iterations of a parallel loop "
                                    "are independent (use `loop seq`)");
            }
        }
    }

    uint64_t *use = calloc((size_t)nb * nw, 8), *def = calloc((size_t)nb * nw, 8);
    uint64_t *ue = calloc((size_t)nb * nw, 8), *da = calloc((size_t)nb * nw, 8);
    uint64_t *tmp = calloc((size_t)nw, 8), *used = calloc((size_t)nw, 8), *defd = calloc((size_t)nw, 8);
    fe_status st = FE_OK;
    if (!use || !def || !ue || !da || !tmp || !used || !defd) {
        st = nomem(err);
        goto done;
    }
    for (int k = 0; k < nb; k++) {
        if (!in_body(lp, k) || !f->blocks[k].reachable)
            continue;
        use_def(f, k, nw, use + (size_t)k * nw, def + (size_t)k * nw, own_iter);
        for (int w = 0; w < nw; w++) {
            used[w] |= use[(size_t)k * nw + w];
            defd[w] |= def[(size_t)k * nw + w];
        }
    }
    /* Upward-exposed reads inside the body (the header ends a path). */
    for (int changed = 1; changed;) {
        changed = 0;
        for (int k = nb - 1; k >= 0; k--) {
            if (!in_body(lp, k) || !f->blocks[k].reachable)
                continue;
            memset(tmp, 0, (size_t)nw * 8);
            for (int s = 0; s < 2; s++) {
                int t = f->blocks[k].succ[s];
                if (in_body(lp, t))
                    for (int w = 0; w < nw; w++)
                        tmp[w] |= ue[(size_t)t * nw + w];
            }
            for (int w = 0; w < nw; w++) {
                uint64_t v = use[(size_t)k * nw + w] | (tmp[w] & ~def[(size_t)k * nw + w]);
                if (v != ue[(size_t)k * nw + w]) {
                    ue[(size_t)k * nw + w] = v;
                    changed = 1;
                }
            }
        }
    }
    /* Definitely assigned on leaving each block (forward, intersection). */
    for (int k = 0; k < nb; k++)
        if (in_body(lp, k) && k != lp->body_start)
            memset(da + (size_t)k * nw, 0xff, (size_t)nw * 8);
    for (int changed = 1; changed;) {
        changed = 0;
        for (int k = 0; k < nb; k++) {
            if (!in_body(lp, k) || !f->blocks[k].reachable)
                continue;
            if (k == lp->body_start) {
                memset(tmp, 0, (size_t)nw * 8);
            } else {
                memset(tmp, 0xff, (size_t)nw * 8);
                for (int p = 0; p < nb; p++)
                    if (in_body(lp, p) && f->blocks[p].reachable &&
                        (f->blocks[p].succ[0] == k || f->blocks[p].succ[1] == k))
                        for (int w = 0; w < nw; w++)
                            tmp[w] &= da[(size_t)p * nw + w];
            }
            for (int w = 0; w < nw; w++) {
                uint64_t v = tmp[w] | def[(size_t)k * nw + w];
                if (v != da[(size_t)k * nw + w]) {
                    da[(size_t)k * nw + w] = v;
                    changed = 1;
                }
            }
        }
    }
    const uint64_t *exposed = ue + (size_t)lp->body_start * nw;
    const uint64_t *live_after = L->live_in + (size_t)lp->exit * nw;
    for (int v = 0; v < f->nvars; v++) {
        int u = bit(used, v), d = bit(defd, v);
        if (!u && !d)
            continue;
        if (!d) {
            role[v] = FE_ROLE_SHARED;
        } else if (bit(exposed, v)) {
            role[v] = FE_ROLE_CARRIED;
        } else if (bit(live_after, v)) {
            role[v] = FE_ROLE_LASTPRIVATE;
            for (int k = 0; k < nb; k++) {
                if (!in_body(lp, k) || !f->blocks[k].reachable)
                    continue;
                const fe_block *blk = &f->blocks[k];
                if ((blk->succ[0] == lp->header || blk->succ[1] == lp->header) &&
                    !bit(da + (size_t)k * nw, v)) {
                    st = fe_error_set(err, FE_ERR_UNSUPPORTED, f->vars[v].first_store,
                                      "'%s' is assigned in only some iterations of a parallel "
                                      "loop and used after it",
                                      f->vars[v].name);
                    goto done;
                }
            }
        } else {
            role[v] = FE_ROLE_PRIVATE;
        }
    }
    role[own_iter] = FE_ROLE_SHARED;
done:
    free(use);
    free(def);
    free(ue);
    free(da);
    free(tmp);
    free(used);
    free(defd);
    return st;
}

int fe_once_per_iteration(fe_func *f, const fe_loops *L, int li, int blk)
{
    const fe_loop *lp = &L->loop[li];
    if (!in_body(lp, blk) || L->innermost[blk] != li)
        return 0;
    if (blk == lp->body_start)
        return 1;
    /* Can the back edge be reached from the body's start avoiding blk? */
    int nb = f->nblocks;
    uint8_t *seen = calloc((size_t)nb, 1);
    int *stack = malloc((size_t)nb * sizeof *stack);
    int once = 1, sp = 0;
    if (!seen || !stack) {
        free(seen);
        free(stack);
        return 0;
    }
    stack[sp++] = lp->body_start;
    seen[lp->body_start] = 1;
    while (sp && once) {
        int k = stack[--sp];
        for (int s = 0; s < 2; s++) {
            int t = f->blocks[k].succ[s];
            if (t == lp->header)
                once = 0;
            else if (in_body(lp, t) && t != blk && !seen[t]) {
                seen[t] = 1;
                stack[sp++] = t;
            }
        }
    }
    free(seen);
    free(stack);
    return once;
}
