/* alias.c - telling LLVM which array arguments cannot share memory.
 *
 * A call's array arguments are compared before it runs (args.c marks any
 * two whose bytes overlap, FE_LAYOUT_OVERLAPS, and the mark is part of the
 * compiled signature).  Every other array argument owns its bytes, so an
 * element read or written through one is never one read or written through
 * another.  LLVM cannot see that from the descriptors' data pointers, so
 * without it a store to out[i, j] may change a[i, k] for all it knows: the
 * vectoriser then adds run-time overlap checks, loop-invariant loads are
 * read again after every store, and unroll-and-jam's dependence test
 * gives up.  Scoped noalias metadata says it: each such argument is an
 * alias scope of one domain, and its element accesses carry their own
 * scope and a noalias list of all the others.
 *
 * Only accesses whose array is, by its node chain, a parameter the region
 * never assigns are tagged; views made by calls or attributes, arrays held
 * in other variables and every access in a called function stay untagged,
 * which LLVM takes as "may alias anything".
 */
#include "lower.h"

#include <stdio.h>
#include <stdlib.h>

/* Whether parameter variable v's array owns its bytes for the whole
 * region (stored: per variable, assigned somewhere in it). */
static int owns_bytes(const fe_func *f, int v, const uint8_t *stored)
{
    const fe_var *var = &f->vars[v];
    if (!var->is_param || var->param < 0 || var->param >= f->code->nargs || stored[v])
        return 0;
    const fe_argtype *at = &f->region->argtypes[var->param];
    return at->kind == FE_ARG_ARRAY && !(at->layout & FE_LAYOUT_OVERLAPS);
}

fe_status fe_alias_init(lower *lw)
{
    fe_func *f = lw->f;
    lw->alias_scope = lw->alias_others = NULL;
    if (f->is_routine || !f->region || !f->region->argtypes)
        return FE_OK;
    int nvars = f->nvars, owners = 0;
    uint8_t *owns = calloc((size_t)nvars + 1, 1);
    if (!owns)
        return FE_ERR_NOMEM;
    uint8_t *stored = calloc((size_t)nvars + 1, 1);
    if (!stored) {
        free(owns);
        return FE_ERR_NOMEM;
    }
    for (int n = 0; n < f->nnodes; n++)
        if (f->nodes[n].op == IR_STOREVAR)
            stored[f->nodes[n].var] = 1;
    for (int v = 0; v < nvars; v++)
        owners += owns[v] = (uint8_t)owns_bytes(f, v, stored);
    free(stored);
    if (owners < 2) { /* nothing to tell apart */
        free(owns);
        return FE_OK;
    }
    LLVMMetadataRef *scope = calloc((size_t)nvars, sizeof *scope);
    LLVMMetadataRef *list = calloc((size_t)nvars, sizeof *list);
    LLVMMetadataRef *others = calloc((size_t)nvars, sizeof *others);
    LLVMMetadataRef *tmp = calloc((size_t)owners, sizeof *tmp);
    if (!scope || !list || !others || !tmp) {
        free(owns), free(scope), free(list), free(others), free(tmp);
        return FE_ERR_NOMEM;
    }
    /* string-named scopes: a region's module holds one region, so the
     * names need only be unique within it */
    LLVMMetadataRef dom_name = LLVMMDStringInContext2(lw->C, "pyacc.arguments", 15);
    LLVMMetadataRef domain = LLVMMDNodeInContext2(lw->C, &dom_name, 1);
    for (int v = 0; v < nvars; v++) {
        if (!owns[v])
            continue;
        char name[64];
        int len = snprintf(name, sizeof name, "pyacc.argument.%d", f->vars[v].param);
        LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(lw->C, name, (size_t)len), domain};
        scope[v] = LLVMMDNodeInContext2(lw->C, ops, 2);
        list[v] = LLVMMDNodeInContext2(lw->C, &scope[v], 1);
    }
    for (int v = 0; v < nvars; v++) {
        if (!owns[v])
            continue;
        int k = 0;
        for (int u = 0; u < nvars; u++)
            if (owns[u] && u != v)
                tmp[k++] = scope[u];
        others[v] = LLVMMDNodeInContext2(lw->C, tmp, (size_t)k);
    }
    free(owns), free(scope), free(tmp);
    lw->alias_scope = list;
    lw->alias_others = others;
    return FE_OK;
}

void fe_alias_free(lower *lw)
{
    free(lw->alias_scope);
    free(lw->alias_others);
    lw->alias_scope = lw->alias_others = NULL;
}

void fe_alias_tag(lower *lw, fe_val array, LLVMValueRef access)
{
    if (!lw->alias_scope)
        return;
    const fe_node *n = fe_subscr_root(lw->f, array);
    if (n->op != IR_LOADVAR || !lw->alias_scope[n->var])
        return;
    LLVMValueRef scope = LLVMMetadataAsValue(lw->C, lw->alias_scope[n->var]);
    LLVMValueRef others = LLVMMetadataAsValue(lw->C, lw->alias_others[n->var]);
    LLVMSetMetadata(access, LLVMGetMDKindIDInContext(lw->C, "alias.scope", 11), scope);
    LLVMSetMetadata(access, LLVMGetMDKindIDInContext(lw->C, "noalias", 7), others);
}
