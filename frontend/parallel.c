/* parallel.c - a parallel loop outlined for the thread pool.
 *
 * The body becomes `void sym.loopN(ptr ctx, i64 begin, i64 end, i32 tid)`
 * running iterations [begin, end); the entry fills ctx, calls the marker
 * `pyacc.parallel_loop(body, ctx, n, min_parallel)` and takes the results
 * back.  Each variable the body touches gets its part by role:
 *   shared      read only: its value travels in ctx;
 *   private     its own in each chunk, nothing travels;
 *   last        private, and the chunk holding the last iteration hands its
 *               value back (Python's value after the loop);
 *   first-last  both ways (the kind tag of a reduction variable);
 *   reduction   each chunk starts from the operator's identity and leaves
 *               its result in a per-thread slot; the entry combines the
 *               original value with the slots in thread order, so a given
 *               thread count always gives the same answer;
 *   array reduction  each thread works on a private copy of the array,
 *               combined into it element by element after the loop;
 *   atomic      a scalar some atomic directive updates: every chunk uses
 *               the entry's own variable, through a pointer.
 */
#include "parallel.h"

#include "rt.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

LLVMValueRef fe_par_ctx_field(lower *lw, plan *p, LLVMValueRef ctx, int field)
{
    return LLVMBuildStructGEP2(lw->B, p->ctxty, ctx, (unsigned)field, "");
}

/* ------------------------------------------------------------- the plan */

static fe_red_op reduction_of(const fe_loop *lp, const char *name)
{
    for (int i = 0; lp->spec && i < lp->spec->nred; i++)
        if (strcmp(lp->spec->reds[i].name, name) == 0)
            return lp->spec->reds[i].op;
    return FE_RED_NONE;
}

static int is_private_clause(const fe_loop *lp, const char *name)
{
    for (int i = 0; lp->spec && i < lp->spec->nprivate; i++)
        if (strcmp(lp->spec->privates[i], name) == 0)
            return 1;
    return 0;
}

/* The variable whose flag or tag v is, or -1. */
static int owner_of(const fe_func *f, int v)
{
    for (int u = 0; u < f->nvars; u++)
        if (f->vars[u].flag == v || f->vars[u].tag == v)
            return u;
    return -1;
}

static void add(plan *p, int kind, int v, fe_red_op op)
{
    p->ops[kind][p->n[kind]] = op;
    p->vars[kind][p->n[kind]++] = v;
}

/* Whether array variable v of loop lp's body is one only atomic updates
 * change (fe_atomic_updates_only), of numbers a private copy can hold:
 * *op their operator. */
static int atomic_private(lower *lw, const fe_loop *lp, int v, fe_red_op *op)
{
    const fe_var *var = &lw->f->vars[v];
    const fe_type *t = var->type;
    if (var->is_stack || t->kind != FE_T_ARRAY || (t->layout == FE_LAYOUT_A && t->ndim > 1) ||
        t->dtype == FE_DT_COMPLEX64 || t->dtype == FE_DT_COMPLEX128 || fe_dtype_bits(t->dtype) > 64)
        return 0;
    *op = fe_atomic_updates_only(lw, lp, v);
    return *op != FE_RED_NONE && fe_red_fits(*op, fe_t_np(lw->f->types, t->dtype));
}

/* fe_red_update_kind of reduction variable v in loop li, asked once a plan
 * (the tag's write-back and both bodies' private copies use it). */
static int plan_update_kind(lower *lw, int li, plan *p, int v)
{
    if (!p->update_kind[v])
        p->update_kind[v] = (uint8_t)(fe_red_update_kind(lw, li, v) + 2);
    return p->update_kind[v] - 2;
}

fe_status fe_par_make_plan(lower *lw, int li, plan *p, int lanes)
{
    fe_func *f = lw->f;
    const fe_loop *lp = &lw->loops.loop[li];
    const fe_node *fi = fe_terminator(lw, lp->header);
    memset(p, 0, sizeof *p);
    p->ncol = fe_collapse_chain(lw, li, p->col_loop);
    uint8_t *role = malloc((size_t)f->nvars + 1);
    p->ared_atomic = calloc((size_t)f->nvars + 1, 1);
    p->any_kind = calloc((size_t)f->nvars + 1, 1);
    p->update_kind = calloc((size_t)f->nvars + 1, 1);
    if (!p->ared_atomic || !p->any_kind || !p->update_kind) {
        free(role);
        return fe_error_set(lw->err, FE_ERR_NOMEM, fi->loc, "out of memory");
    }
    for (int k = 0; k < P_NKINDS; k++) {
        p->vars[k] = malloc(((size_t)f->nvars + 1) * sizeof *p->vars[k]);
        p->ops[k] = malloc(((size_t)f->nvars + 1) * sizeof *p->ops[k]);
        if (!p->vars[k] || !p->ops[k]) {
            free(role);
            return fe_error_set(lw->err, FE_ERR_NOMEM, fi->loc, "out of memory");
        }
    }
    if (!role)
        return fe_error_set(lw->err, FE_ERR_NOMEM, fi->loc, "out of memory");
    fe_status st = fe_loop_roles(f, &lw->loops, li, role, lw->err);
    for (int v = 0; st == FE_OK && v < f->nvars; v++) {
        const fe_var *var = &f->vars[v];
        if (!var->type)
            continue;
        int owner = owner_of(f, v);
        if (lw->atomic_var && (lw->atomic_var[v] || (owner >= 0 && lw->atomic_var[owner]))) {
            add(p, P_ATOMIC, v, FE_RED_NONE); /* it and its flag and tag, shared */
            continue;
        }
        fe_red_op op = reduction_of(lp, var->name);
        if (op == FE_RED_NONE && !lanes && atomic_private(lw, lp, v, &op)) {
            /* the atomic updates go to the thread's copy (on a GPU, to the
             * array: private_view), the copies are combined after */
            add(p, P_SHARED, v, FE_RED_NONE);
            add(p, P_ARED, v, op);
            p->ared_atomic[v] = 1;
            continue;
        }
        if (op != FE_RED_NONE && !var->is_stack && var->type->kind == FE_T_ARRAY) {
            /* an array being reduced: read-only as a variable, its elements
             * are what the threads accumulate */
            if (var->type->layout == FE_LAYOUT_A && var->type->ndim > 1) {
                st = fe_error_set(lw->err, FE_ERR_UNSUPPORTED, fi->loc, "reduction(%s:%s) of a strided "
                                  "multi-dimensional array (make it contiguous)", fe_red_op_name(op), var->name);
                break;
            }
            if (!fe_red_fits(op, fe_t_np(f->types, var->type->dtype))) {
                st = fe_error_set(lw->err, FE_ERR_TYPE, fi->loc, "reduction(%s:%s) needs integers",
                                  fe_red_op_name(op), var->name);
                break;
            }
            if ((st = fe_red_logic_of_bools(lw, op, var, fi->loc)) != FE_OK)
                break;
            add(p, P_SHARED, v, FE_RED_NONE);
            add(p, P_ARED, v, op);
            fe_loc bad = fi->loc;
            int updates = fe_plan_ared_updates(lw, lp, v, op, &bad);
            if (updates < 0) {
                st = fe_error_set(lw->err, FE_ERR_NOMEM, fi->loc, "out of memory");
                break;
            }
            if (!updates) {
                /* a read of an element sees a thread's partial result, a
                 * plain store is combined as one more operand: neither
                 * gives what Python's iterations in order give */
                char form[160];
                st = fe_error_set(lw->err, FE_ERR_UNSUPPORTED, bad,
                                  "'%s' is reduced by %s in the loop at line %d, which uses it here other than "
                                  "by an update `%s`; only such updates give Python's answer in parallel",
                                  var->name, fe_red_op_name(op), fi->loc.line,
                                  fe_red_update_form(op, var->name, form, sizeof form));
                break;
            }
            continue;
        }
        switch (role[v]) {
        case FE_ROLE_SHARED: add(p, P_SHARED, v, FE_RED_NONE); break;
        case FE_ROLE_LASTPRIVATE: add(p, P_LAST, v, FE_RED_NONE); break;
        case FE_ROLE_CARRIED: {
            if (op != FE_RED_NONE) {
                if ((st = fe_red_logic_of_bools(lw, op, var, fi->loc)) != FE_OK)
                    break;
                if (!fe_red_fits(op, var->type)) {
                    st = fe_error_set(lw->err, FE_ERR_TYPE, fi->loc, "reduction(%s:%s) on a value of type "
                                      "that operator does not take", fe_red_op_name(op), var->name);
                    break;
                }
                add(p, P_RED, v, op);
            } else if (owner >= 0 && reduction_of(lp, f->vars[owner].name) != FE_RED_NONE) {
                add(p, P_FIRSTLAST, v, FE_RED_NONE); /* the tag or flag of a reduction variable */
                fe_red_op rop = reduction_of(lp, f->vars[owner].name);
                int k = f->vars[owner].tag == v && !lanes && rop != FE_RED_MAX && rop != FE_RED_MIN
                            ? plan_update_kind(lw, li, p, owner) : -1;
                if (k >= 0)
                    p->any_kind[v] = (uint8_t)(k + 1);
            } else if (is_private_clause(lp, owner >= 0 ? f->vars[owner].name : var->name)) {
                /* private(x) promises each iteration sets x before reading it */
            } else {
                /* a tag or flag is named after the variable it describes */
                const fe_var *named = owner >= 0 ? &f->vars[owner] : var;
                st = fe_error_set(lw->err, FE_ERR_UNSUPPORTED,
                                  named->first_store.line ? named->first_store : fi->loc,
                                  "'%s' carries a value from one iteration of the parallel loop at line %d "
                                  "to the next; name it in a reduction clause or make the loop `seq`",
                                  named->name, fi->loc.line);
            }
            break;
        }
        default:
            break;
        }
    }
    free(role);
    if (st != FE_OK)
        return st;
    /* ctx layout */
    int nf = F_FIRST;
    for (int k = 0; k < P_NKINDS; k++) {
        p->field0[k] = nf;
        nf += p->n[k];
    }
    p->field_col = nf; /* the counts, then their divisors' magic numbers (fe_divide_magic) */
    nf += 2 * p->ncol;
    /* a GPU's warps aligned on the innermost index: a loop of the entry's
     * (a lane loop's iterations take a block's threads in its own way),
     * whose innermost loop walks a range by step 1 */
    int inner = p->ncol ? p->col_loop[p->ncol - 1] : li;
    p->field_space = 0;
    if (!lanes && nf < 0xff && fe_align_wanted(lw, li, fe_terminator(lw, lw->loops.loop[inner].header)->var)) {
        p->field_space = nf;
        nf += p->ncol ? FE_ALIGN_FIELDS : FE_ALIGN_ROW;
    }
    p->nfields = nf;
    LLVMTypeRef *fields = malloc((size_t)nf * sizeof *fields);
    if (!fields)
        return fe_error_set(lw->err, FE_ERR_NOMEM, fi->loc, "out of memory");
    fields[F_ERR] = lw->ptr;
    fields[F_N] = lw->i64;
    fields[F_SLOTS] = lw->i64;
    for (int k = 0; k < P_NKINDS; k++)
        for (int i = 0; i < p->n[k]; i++)
            fields[p->field0[k] + i] = k == P_RED || k == P_ARED || k == P_ATOMIC ? lw->ptr
                                                                                  : fe_lty(lw, f->vars[p->vars[k][i]].type);
    for (int m = p->field_col; m < nf; m++)
        fields[m] = lw->i64;
    p->ctxty = LLVMStructTypeInContext(lw->C, fields, (unsigned)nf, 0);
    free(fields);
    return FE_OK;
}

void fe_par_free_plan(plan *p)
{
    free(p->ared_atomic);
    free(p->any_kind);
    free(p->update_kind);
    for (int k = 0; k < P_NKINDS; k++) {
        free(p->vars[k]);
        free(p->ops[k]);
    }
}

/* The value of the region's hidden integer parameter tp (the launch's
 * controls, computed by the caller), or 0 when there is none. */
static LLVMValueRef int_param(lower *lw, int tp)
{
    fe_func *f = lw->f;
    if (tp < 0 || !f->vars[tp].type)
        return fe_const_i64(lw, 0);
    LLVMValueRef v = LLVMBuildLoad2(lw->B, fe_lty(lw, f->vars[tp].type), fe_var_slot(lw, tp), "");
    return fe_convert(lw, v, f->vars[tp].type, fe_t_simple(f->types, FE_T_INT));
}

/* A rough count of the work in one iteration, to decide how many
 * iterations make a thread's start worth it. */
static int64_t min_parallel(lower *lw, int li)
{
    const fe_loop *lp = &lw->loops.loop[li];
    int64_t cost = 0;
    for (int k = 0; k < lw->f->nblocks; k++) {
        if (!fe_in_body(lp, k) || !lw->f->blocks[k].reachable)
            continue;
        int64_t c = lw->f->blocks[k].nnodes;
        if (lw->loops.innermost[k] != li)
            c *= 16; /* in an inner loop */
        cost += c;
    }
    int64_t m = ((int64_t)1 << 17) / (cost ? cost : 1);
    return m < 2 ? 2 : m;
}

/* ------------------------------------------------------ array reductions */

/* Elements of an array value (the product of its shape). */
static LLVMValueRef elements(lower *lw, const fe_type *t, LLVMValueRef a)
{
    LLVMValueRef n = fe_const_i64(lw, 1);
    for (int d = 0; d < t->ndim; d++)
        n = LLVMBuildMul(lw->B, n, LLVMBuildExtractValue(lw->B, LLVMBuildExtractValue(lw->B, a, 1, ""), (unsigned)d, ""), "");
    return n;
}

/* The array value viewing thread tid's private copy: same shape, packed in
 * the order the type's layout indexes in (F for Fortran, else C).  On a GPU
 * the array itself, which the updates change atomically there
 * (fe_plan_ared_updates), and where there are no copies (base NULL). */
static LLVMValueRef private_view(lower *lw, const fe_type *t, LLVMValueRef a, LLVMValueRef base, LLVMValueRef tid)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef size = elements(lw, t, a);
    LLVMValueRef off = LLVMBuildMul(B, LLVMBuildSExt(B, tid, lw->i64, ""), size, "");
    LLVMValueRef data = LLVMBuildInBoundsGEP2(B, fe_mem_lty(lw, t->dtype), base, &off, 1, "");
    LLVMValueRef shape = LLVMBuildExtractValue(B, a, 1, "");
    LLVMValueRef strides = LLVMGetUndef(LLVMArrayType2(lw->i64, t->ndim));
    LLVMValueRef step = fe_const_i64(lw, 1);
    for (int i = 0; i < t->ndim; i++) {
        int d = t->layout == FE_LAYOUT_F ? i : t->ndim - 1 - i;
        strides = LLVMBuildInsertValue(B, strides, step, (unsigned)d, "");
        step = LLVMBuildMul(B, step, LLVMBuildExtractValue(B, shape, (unsigned)d, ""), "");
    }
    LLVMValueRef v = LLVMBuildInsertValue(B, a, data, 0, "");
    v = LLVMBuildInsertValue(B, v, strides, 2, "");
    /* no copies (an array only atomic updates change, too large to copy):
     * the array itself */
    LLVMValueRef shared = LLVMBuildOr(B, fe_on_gpu(lw), LLVMBuildIsNull(B, base, ""), "");
    return LLVMBuildSelect(B, shared, a, v, "");
}

/* A counted loop `for i in [0, n)` around body(i): returns i, with the
 * builder inside the body; loop_end closes it. */
typedef struct cloop {
    LLVMBasicBlockRef head, body, exit;
    LLVMValueRef i, slot;
} cloop;

static cloop loop_begin(lower *lw, LLVMValueRef n, const char *name)
{
    LLVMBuilderRef B = lw->B;
    cloop c;
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    c.slot = fe_entry_alloca(lw, lw->i64, name);
    LLVMBuildStore(B, fe_const_i64(lw, 0), c.slot);
    c.head = LLVMAppendBasicBlockInContext(lw->C, fn, name);
    c.body = LLVMAppendBasicBlockInContext(lw->C, fn, name);
    c.exit = LLVMAppendBasicBlockInContext(lw->C, fn, name);
    LLVMBuildBr(B, c.head);
    LLVMPositionBuilderAtEnd(B, c.head);
    c.i = LLVMBuildLoad2(B, lw->i64, c.slot, "");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, c.i, n, ""), c.body, c.exit);
    LLVMPositionBuilderAtEnd(B, c.body);
    return c;
}

static void loop_end(lower *lw, cloop *c)
{
    LLVMBuildStore(lw->B, LLVMBuildAdd(lw->B, c->i, fe_const_i64(lw, 1), ""), c->slot);
    LLVMBuildBr(lw->B, c->head);
    LLVMPositionBuilderAtEnd(lw->B, c->exit);
}

/* The address of linear element e of an array value in its own layout
 * (C/F contiguous, or one-dimensional with a stride). */
static LLVMValueRef linear_ptr(lower *lw, const fe_type *t, LLVMValueRef a, LLVMValueRef e)
{
    LLVMValueRef idx = e;
    if (t->layout == FE_LAYOUT_A) /* 1-D strided */
        idx = LLVMBuildMul(lw->B, e, LLVMBuildExtractValue(lw->B, LLVMBuildExtractValue(lw->B, a, 2, ""), 0, ""), "");
    return LLVMBuildInBoundsGEP2(lw->B, fe_mem_lty(lw, t->dtype), LLVMBuildExtractValue(lw->B, a, 0, ""), &idx, 1, "");
}

static LLVMValueRef load_el(lower *lw, fe_dtype d, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(lw->B, fe_mem_lty(lw, d), p, "");
    return d == FE_DT_BOOL ? LLVMBuildICmp(lw->B, LLVMIntNE, v, LLVMConstInt(lw->i8, 0, 0), "") : v;
}

static void store_el(lower *lw, fe_dtype d, LLVMValueRef p, LLVMValueRef v)
{
    LLVMBuildStore(lw->B, d == FE_DT_BOOL ? LLVMBuildZExt(lw->B, v, lw->i8, "") : v, p);
}

/* ---------------------------------------------------- the ctx, described
 *
 * A target whose loops run where the host's memory is not (a GPU) must
 * copy ctx over and put its own addresses in place of the host's.  The
 * marker's last argument says what each ctx field is, two bytes a field
 * (rt.h: RT_CTX_*): plain bytes, the error record, an array value (its
 * data pointer first), a pointer to per-slot partial results, a pointer
 * to one shared scalar, or something no such target can move; the second
 * byte of partial results says how they combine (RT_CTX_OP_*). */

/* Bytes a scalar of type t takes in memory, or 0 when t is not one. */
int fe_par_scalar_bytes(const fe_type *t)
{
    switch (t->kind) {
    case FE_T_BOOL: return 1;
    case FE_T_INT:
    case FE_T_FLOAT: return 8;
    case FE_T_NP: return fe_dtype_bits(t->dtype) / 8 + (t->dtype == FE_DT_BOOL ? 0 : 0);
    default: return 0;
    }
}

/* Whether a value of type t holds no pointer. */
int fe_par_plain(const fe_type *t)
{
    switch (t->kind) {
    case FE_T_NONE:
    case FE_T_BOOL:
    case FE_T_INT:
    case FE_T_FLOAT:
    case FE_T_NP:
    case FE_T_RANGE:
    case FE_T_RANGEITER: return 1;
    case FE_T_TUPLE:
        for (int i = 0; i < t->nitems; i++)
            if (!fe_par_plain(t->items[i]))
                return 0;
        return 1;
    default: return 0;
    }
}

/* How partial results of type t combine: the reduction's operator and
 * the kind of number (RT_CTX_NUM_*), for the second kind byte. */
static uint8_t combine_byte(fe_red_op op, const fe_type *t)
{
    int num = RT_CTX_NUM_INT;
    if (t->kind == FE_T_FLOAT || (t->kind == FE_T_NP && fe_dtype_is_float(t->dtype)))
        num = RT_CTX_NUM_FLOAT;
    else if (t->kind == FE_T_BOOL || (t->kind == FE_T_NP && t->dtype == FE_DT_BOOL))
        num = RT_CTX_NUM_BOOL;
    else if (t->kind == FE_T_NP && !fe_dtype_is_signed(t->dtype))
        num = RT_CTX_NUM_UINT;
    return (uint8_t)((unsigned)op | (unsigned)(num << 4));
}

/* The bytes of an item of array or list t, when a GPU launch can move
 * it (1 to 16), else 0. */
static int seq_bytes(const fe_type *t)
{
    if (!t)
        return 0;
    int b = t->kind == FE_T_ARRAY             ? fe_dtype_bits(t->dtype) / 8
            : t->kind == FE_T_LIST && t->elem ? fe_dtype_bits(fe_t_dtype(t->elem)) / 8
                                              : 0;
    return b >= 1 && b <= 16 ? b : 0;
}

LLVMValueRef fe_par_ctx_kinds(lower *lw, plan *p, const char *name)
{
    fe_func *f = lw->f;
    int nf = p->nfields;
    uint8_t *k = calloc(3 * (size_t)nf + 1, 1), *aux = k + nf, *partner = k + 2 * nf;
    if (!k)
        return LLVMConstNull(lw->ptr);
    k[F_ERR] = RT_CTX_ERR;
    partner[F_N] = (uint8_t)p->field_space; /* the GPU's count, where it has one of its own (align.c) */
    for (int kind = P_SHARED; kind <= P_FIRSTLAST; kind++)
        for (int i = 0; i < p->n[kind]; i++) {
            const fe_type *t = f->vars[p->vars[kind][i]].type;
            uint8_t *c = &k[p->field0[kind] + i];
            if (t->kind == FE_T_ARRAY && fe_dtype_bits(t->dtype) / 8 <= 16)
                *c = (uint8_t)(RT_CTX_ARRAY | (fe_dtype_bits(t->dtype) / 8));
            else if (t->kind == FE_T_LIST && t->elem && fe_dtype_bits(fe_t_dtype(t->elem)) / 8 <= 16)
                /* a list or tuple of numbers: the call's copy of its items, an array of one dimension */
                *c = (uint8_t)(RT_CTX_ARRAY | (fe_dtype_bits(fe_t_dtype(t->elem)) / 8));
            else if ((t->kind == FE_T_SEQITER || t->kind == FE_T_ENUMITER) && seq_bytes(t->seq))
                /* an iterator over an array or list: the sequence first, an
                 * array the launch moves, then where it is */
                *c = (uint8_t)(RT_CTX_ARRAY | seq_bytes(t->seq));
            else if (t->kind == FE_T_LISTOUT && f->listout_elem && f->listout_elem[t->id] &&
                     fe_dtype_bits(fe_t_dtype(f->listout_elem[t->id])) / 8 >= 1 &&
                     fe_dtype_bits(fe_t_dtype(f->listout_elem[t->id])) / 8 <= 16)
                /* a list appended to: its buffer, each iteration writing its own item */
                *c = (uint8_t)(RT_CTX_LISTOUT | (fe_dtype_bits(fe_t_dtype(f->listout_elem[t->id])) / 8));
            else
                *c = fe_par_plain(t) ? RT_CTX_PLAIN : RT_CTX_UNSUPPORTED;
            if (*c == RT_CTX_PLAIN && kind >= P_LAST) /* what take_back reads after the loop */
                aux[p->field0[kind] + i] = p->any_kind[p->vars[kind][i]] ? RT_CTX_ANY : RT_CTX_LAST;
        }
    for (int i = 0; i < p->n[P_RED]; i++) {
        const fe_type *t = f->vars[p->vars[P_RED][i]].type;
        int b = fe_par_scalar_bytes(t);
        k[p->field0[P_RED] + i] = b ? (uint8_t)(RT_CTX_PARTIALS | b) : RT_CTX_UNSUPPORTED;
        aux[p->field0[P_RED] + i] = combine_byte(p->ops[P_RED][i], t);
    }
    for (int i = 0; i < p->n[P_ARED]; i++) {
        int v = p->vars[P_ARED][i];
        const fe_type *el = fe_t_np(f->types, f->vars[v].type->dtype);
        int b = fe_dtype_bits(f->vars[v].type->dtype) / 8;
        int ok = b >= 1 && b <= 8 && f->vars[v].type->dtype != FE_DT_COMPLEX64 &&
                 f->vars[v].type->dtype != FE_DT_COMPLEX128;
        k[p->field0[P_ARED] + i] = ok ? (uint8_t)(RT_CTX_ARED | b) : RT_CTX_UNSUPPORTED;
        aux[p->field0[P_ARED] + i] = combine_byte(p->ops[P_ARED][i], el);
        partner[p->field0[P_ARED] + i] = 0xff;
        for (int j = 0; j < p->n[P_SHARED]; j++) /* the array itself travels with the shared values */
            if (p->vars[P_SHARED][j] == v && p->field0[P_SHARED] + j < 0xff)
                partner[p->field0[P_ARED] + i] = (uint8_t)(p->field0[P_SHARED] + j);
    }
    for (int i = 0; i < p->n[P_ATOMIC]; i++) {
        int b = fe_par_scalar_bytes(f->vars[p->vars[P_ATOMIC][i]].type);
        k[p->field0[P_ATOMIC] + i] = b ? (uint8_t)(RT_CTX_CELL | b) : RT_CTX_UNSUPPORTED;
    }
    LLVMValueRef init = LLVMConstStringInContext(lw->C, (const char *)k, 3 * (unsigned)nf, 1);
    free(k);
    char gname[320];
    snprintf(gname, sizeof gname, "%s.kinds", name);
    LLVMValueRef g = LLVMAddGlobal(lw->M, LLVMTypeOf(init), gname);
    LLVMSetInitializer(g, init);
    LLVMSetGlobalConstant(g, 1);
    LLVMSetLinkage(g, LLVMPrivateLinkage);
    return g;
}

/* ------------------------------------------------------------- the body */

int fe_const_range_step(lower *lw, int var, int64_t *step)
{
    fe_func *f = lw->f;
    fe_val c = fe_range_of(lw, var);
    if (c == FE_NOVAL)
        return 0;
    const fe_node *call = &f->nodes[c];
    int na = call->nargs - 1;
    if (na == 1 || na == 2) {
        *step = 1;
        return 1;
    }
    const fe_node *st = &f->nodes[fe_arg(f, call, 3)];
    if (na == 3 && st->op == IR_CONST && st->c.kind == FE_CONST_INT && st->c.i != 0) {
        *step = st->c.i;
        return 1;
    }
    return 0;
}

fe_status fe_par_build_body(lower *lw, int li, plan *p, LLVMValueRef *out_fn)
{
    fe_func *f = lw->f;
    const fe_loop *lp = &lw->loops.loop[li];
    char name[300];
    snprintf(name, sizeof name, "%s.loop%d", lw->r->symbol, lw->nbody++);
    LLVMTypeRef ptys[4] = {lw->ptr, lw->i64, lw->i64, lw->i32};
    LLVMValueRef fnv = LLVMAddFunction(lw->M, name, LLVMFunctionType(lw->voidt, ptys, 4, 0));
    LLVMSetLinkage(fnv, LLVMInternalLinkage);
    fe_add_fn_attr(lw, fnv, LLVMAttributeFunctionIndex, "nounwind");
    fe_add_fn_attr(lw, fnv, 1, "noalias");
    lfn *fn = fe_lfn_new(lw, fnv, li), *outer = lw->fn;
    if (!fn)
        return fe_error_set(lw->err, FE_ERR_NOMEM, lw->r->loc, "out of memory");
    LLVMBasicBlockRef saved = LLVMGetInsertBlock(lw->B);
    lw->fn = fn;
    LLVMBuilderRef B = lw->B;
    LLVMValueRef ctx = LLVMGetParam(fnv, 0), tid = LLVMGetParam(fnv, 3);
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(lw->C, fnv, "start");
    LLVMPositionBuilderAtEnd(B, start);
    fn->err = LLVMBuildLoad2(B, lw->ptr, fe_par_ctx_field(lw, p, ctx, F_ERR), "err");
    LLVMValueRef n = LLVMBuildLoad2(B, lw->i64, fe_par_ctx_field(lw, p, ctx, F_N), "n");
    /* what comes in */
    for (int k = P_SHARED; k <= P_FIRSTLAST; k++) {
        if (k == P_LAST)
            continue;
        for (int i = 0; i < p->n[k]; i++) {
            int v = p->vars[k][i];
            LLVMValueRef val = LLVMBuildLoad2(B, fe_lty(lw, f->vars[v].type), fe_par_ctx_field(lw, p, ctx, p->field0[k] + i), "");
            /* a constant step stays one here, so that unit-stride accesses
             * look unit-stride to the vectoriser */
            int64_t step;
            if (v == fe_terminator(lw, lp->header)->var && f->vars[v].type->kind == FE_T_RANGEITER &&
                fe_const_range_step(lw, v, &step))
                val = LLVMBuildInsertValue(B, val, fe_const_i64(lw, step), 1, "");
            LLVMBuildStore(B, val, fe_var_slot(lw, v));
        }
    }
    for (int i = 0; i < p->n[P_RED]; i++) {
        int v = p->vars[P_RED][i];
        fn->held[v] = fe_red_private_type(lw, v, p->ops[P_RED][i], plan_update_kind(lw, li, p, v));
        fe_var_store(lw, v, fe_red_identity(lw, p->ops[P_RED][i], f->vars[v].type));
    }
    for (int i = 0; i < p->n[P_ATOMIC]; i++) /* the entry's variable itself */
        fn->slot[p->vars[P_ATOMIC][i]] = LLVMBuildLoad2(B, lw->ptr, fe_par_ctx_field(lw, p, ctx, p->field0[P_ATOMIC] + i), "");
    for (int i = 0; i < p->n[P_ARED]; i++) { /* this thread's private copy */
        int v = p->vars[P_ARED][i];
        const fe_type *t = f->vars[v].type;
        /* the shared array value travels with the shared ones */
        int si = -1;
        for (int j = 0; j < p->n[P_SHARED]; j++)
            if (p->vars[P_SHARED][j] == v)
                si = j;
        LLVMValueRef arr = si >= 0 ? LLVMBuildLoad2(B, fe_lty(lw, t), fe_par_ctx_field(lw, p, ctx, p->field0[P_SHARED] + si), "")
                                   : LLVMGetUndef(fe_lty(lw, t));
        LLVMValueRef base = LLVMBuildLoad2(B, lw->ptr, fe_par_ctx_field(lw, p, ctx, p->field0[P_ARED] + i), "");
        LLVMBuildStore(B, private_view(lw, t, arr, base, tid), fe_var_slot(lw, v));
        if (p->ared_atomic[v]) /* its atomic updates need no atomics in a copy of the thread's own */
            fn->own_copy[v] = LLVMBuildNot(B, LLVMBuildOr(B, fe_on_gpu(lw), LLVMBuildIsNull(B, base, ""), ""), "own");
    }
    fn->k = fe_entry_alloca(lw, lw->i64, "k");
    LLVMValueRef kbegin = LLVMGetParam(fnv, 1), kend = LLVMGetParam(fnv, 2);
    /* on a GPU, walked over the padded space: its points (align.c); an
     * unpolled body runs on the host only */
    fe_align al = {0};
    if (p->field_space && !lw->unpolled) {
        LLVMValueRef space = LLVMBuildLoad2(B, lw->i64, fe_par_ctx_field(lw, p, ctx, p->field_space + FE_ALIGN_SPACE), "");
        al.on = fe_align_on(lw, n, space);
        al.pad = LLVMBuildLoad2(B, lw->i64, fe_par_ctx_field(lw, p, ctx, p->field_space + FE_ALIGN_PAD), "");
        if (p->ncol) {
            al.row = LLVMBuildLoad2(B, lw->i64, fe_par_ctx_field(lw, p, ctx, p->field_space + FE_ALIGN_ROW), "");
            al.magic = LLVMBuildLoad2(B, lw->i64, fe_par_ctx_field(lw, p, ctx, p->field_space + FE_ALIGN_MAGIC), "");
        } else {
            fe_align_plain(lw, &al, &kbegin, &kend);
        }
    }
    if (p->ncol) {
        /* the piece's outer indices, and where each inner loop starts and ends */
        LLVMValueRef counts[FE_MAX_COLLAPSE], magic[FE_MAX_COLLAPSE];
        for (int m = 0; m < p->ncol; m++) {
            counts[m] = LLVMBuildLoad2(B, lw->i64, fe_par_ctx_field(lw, p, ctx, p->field_col + m), "");
            magic[m] = LLVMBuildLoad2(B, lw->i64, fe_par_ctx_field(lw, p, ctx, p->field_col + p->ncol + m), "");
            fn->col_var[m] = fe_terminator(lw, lw->loops.loop[p->col_loop[m]].header)->var;
        }
        LLVMValueRef ends[2] = {kbegin, LLVMBuildSub(B, kend, fe_const_i64(lw, 1), "")};
        LLVMValueRef idx[2][FE_MAX_COLLAPSE + 1];
        if (p->field_space)
            fe_align_unflatten(lw, &al, ends, counts, magic, p->ncol, idx);
        else
            fe_unflatten(lw, ends, counts, magic, p->ncol, idx);
        for (int m = 0; m <= p->ncol; m++) {
            fn->col_lo[m] = idx[0][m];
            fn->col_hi[m] = idx[1][m];
        }
        for (int m = 1; m <= p->ncol; m++) {
            fn->col_first[m] = fe_entry_alloca(lw, lw->i1, "first");
            fn->col_last[m] = fe_entry_alloca(lw, lw->i1, "last");
        }
        fn->ncol = p->ncol;
        LLVMBuildStore(B, fn->col_lo[0], fn->k);
        kend = LLVMBuildAdd(B, fn->col_hi[0], fe_const_i64(lw, 1), "");
    } else {
        LLVMBuildStore(B, kbegin, fn->k);
    }
    /* Ctrl-C: a body holding loops polls once an iteration; one without
     * runs in strips of FE_POLL_STRIP iterations, polling between them, so
     * that the strip's loop has one exit and vectorises */
    int has_inner = 0;
    for (int c = 0; c < lw->loops.n; c++)
        has_inner |= lw->loops.loop[c].parent == li;
    const fe_loc at = fe_terminator(lw, lp->header)->loc;
    LLVMBasicBlockRef cond = LLVMAppendBasicBlockInContext(lw->C, fnv, "cond");
    fn->latch = LLVMAppendBasicBlockInContext(lw->C, fnv, "latch");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(lw->C, fnv, "done");
    LLVMValueRef stop = kend, kv;
    LLVMBasicBlockRef strip = NULL;
    if (!has_inner) {
        LLVMValueRef stop_at = fe_entry_alloca(lw, lw->i64, "strip.end");
        strip = LLVMAppendBasicBlockInContext(lw->C, fnv, "strip");
        LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(lw->C, fnv, "strip.next");
        LLVMBuildBr(B, strip);
        LLVMPositionBuilderAtEnd(B, strip);
        kv = LLVMBuildLoad2(B, lw->i64, fn->k, "");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, kv, kend, ""), next, done);
        LLVMPositionBuilderAtEnd(B, next);
        LLVMBuildStore(B, fe_strip_end(lw, kv, kend), stop_at);
        fe_poll(lw, at);
        LLVMBuildBr(B, cond);
        LLVMPositionBuilderAtEnd(B, cond);
        stop = LLVMBuildLoad2(B, lw->i64, stop_at, "");
    } else {
        LLVMBuildBr(B, cond);
        LLVMPositionBuilderAtEnd(B, cond);
    }
    kv = LLVMBuildLoad2(B, lw->i64, fn->k, "");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSLT, kv, stop, ""), fe_bb_of(lw, lp->body_start),
                    strip ? strip : done);
    fe_status st = fe_lower_blocks(lw);
    if (st == FE_OK) {
        LLVMPositionBuilderAtEnd(B, fn->latch);
        kv = LLVMBuildLoad2(B, lw->i64, fn->k, "");
        LLVMBuildStore(B, LLVMBuildNSWAdd(B, kv, fe_const_i64(lw, 1), ""), fn->k);
        if (has_inner)
            fe_poll(lw, at);
        LLVMBuildBr(B, cond);
        /* what goes out: every chunk its partial results, the chunk holding
         * the last iteration its last values */
        LLVMPositionBuilderAtEnd(B, done);
        fe_report_deferred(lw);
        for (int i = 0; i < p->n[P_RED]; i++) {
            /* combined into the thread's slot: a thread may run several chunks */
            int v = p->vars[P_RED][i];
            const fe_type *vt = f->vars[v].type;
            LLVMTypeRef t = fe_lty(lw, vt);
            LLVMValueRef slots = LLVMBuildLoad2(B, lw->ptr, fe_par_ctx_field(lw, p, ctx, p->field0[P_RED] + i), "");
            LLVMValueRef at = LLVMBuildSExt(B, tid, lw->i64, "");
            LLVMValueRef cell = LLVMBuildInBoundsGEP2(B, t, slots, &at, 1, "");
            LLVMValueRef mine = fe_var_load(lw, v);
            LLVMBuildStore(B, fe_red_combine(lw, p->ops[P_RED][i], vt, LLVMBuildLoad2(B, t, cell, ""), mine), cell);
        }
        for (int i = 0; i < p->n[P_FIRSTLAST]; i++) {
            /* a reduction's kind: every thread whose updates ran gives it
             * (the same kind), whether or not it ran the last iteration */
            int v = p->vars[P_FIRSTLAST][i];
            if (!p->any_kind[v])
                continue;
            LLVMValueRef k = LLVMConstInt(lw->i8, (unsigned long long)(p->any_kind[v] - 1), 0);
            LLVMValueRef at = fe_par_ctx_field(lw, p, ctx, p->field0[P_FIRSTLAST] + i);
            LLVMBasicBlockRef give = LLVMAppendBasicBlockInContext(lw->C, fnv, "kind.any");
            LLVMBasicBlockRef shared = LLVMAppendBasicBlockInContext(lw->C, fnv, "kind.shared");
            LLVMBasicBlockRef own = LLVMAppendBasicBlockInContext(lw->C, fnv, "kind.own");
            LLVMBasicBlockRef on = LLVMAppendBasicBlockInContext(lw->C, fnv, "kind.kept");
            LLVMValueRef mine = LLVMBuildLoad2(B, lw->i8, fe_var_slot(lw, v), "");
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, mine, k, ""), give, on);
            LLVMPositionBuilderAtEnd(B, give);
            /* the host's threads share ctx and may store it together:
             * atomically (the same byte); a GPU thread's ctx is its own
             * copy (jit/gpu.c writes a changed one back), which an atomic
             * store would keep from being promoted to registers */
            LLVMBuildCondBr(B, fe_on_gpu(lw), own, shared);
            LLVMPositionBuilderAtEnd(B, shared);
            LLVMSetOrdering(LLVMBuildStore(B, k, at), LLVMAtomicOrderingMonotonic);
            LLVMBuildBr(B, on);
            LLVMPositionBuilderAtEnd(B, own);
            LLVMBuildStore(B, k, at);
            LLVMBuildBr(B, on);
            LLVMPositionBuilderAtEnd(B, on);
        }
        if (p->n[P_LAST] + p->n[P_FIRSTLAST]) {
            LLVMBasicBlockRef give = LLVMAppendBasicBlockInContext(lw->C, fnv, "lastprivate");
            LLVMBasicBlockRef end = LLVMAppendBasicBlockInContext(lw->C, fnv, "end");
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, LLVMGetParam(fnv, 2), n, ""), give, end);
            LLVMPositionBuilderAtEnd(B, give);
            for (int k = P_LAST; k <= P_FIRSTLAST; k++)
                for (int i = 0; i < p->n[k]; i++) {
                    int v = p->vars[k][i];
                    if (p->any_kind[v])
                        continue;
                    LLVMValueRef val = LLVMBuildLoad2(B, fe_lty(lw, f->vars[v].type), fe_var_slot(lw, v), "");
                    LLVMBuildStore(B, val, fe_par_ctx_field(lw, p, ctx, p->field0[k] + i));
                }
            LLVMBuildBr(B, end);
            LLVMPositionBuilderAtEnd(B, end);
        }
        LLVMBuildRetVoid(B);
        LLVMPositionBuilderAtEnd(B, fn->fail);
        LLVMBuildRetVoid(B);
        for (int i = 0; i < p->n[P_RED]; i++) {
            int v = p->vars[P_RED][i];
            fe_red_reassociate(fnv, fe_var_slot(lw, v), p->ops[P_RED][i], f->vars[v].type);
        }
        LLVMPositionBuilderAtEnd(B, fn->entry);
        for (int i = 0; i < fn->ndeferred; i++) /* no deferred check failed yet */
            LLVMBuildStore(B, LLVMConstInt(lw->i1, 0, 0), fn->deferred[i].flag);
        LLVMBuildBr(B, start);
    }
    lw->fn = outer;
    fe_lfn_free(fn);
    LLVMPositionBuilderAtEnd(B, saved);
    *out_fn = fnv;
    return st;
}

/* ------------------------------------------------------------ the entry */

/* Scratch memory from the runtime; MemoryError when there is none. */
static LLVMValueRef scratch(lower *lw, LLVMValueRef bytes, fe_loc loc)
{
    LLVMTypeRef pt = lw->i64;
    LLVMTypeRef fty = LLVMFunctionType(lw->ptr, &pt, 1, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, "pyacc_rt_scratch");
    if (!fn)
        fn = LLVMAddFunction(lw->M, "pyacc_rt_scratch", fty);
    LLVMValueRef p = LLVMBuildCall2(lw->B, fty, fn, &bytes, 1, "");
    fe_check(lw, LLVMBuildIsNull(lw->B, p, ""), RT_ERR_NOMEM, loc, bytes, fe_const_i64(lw, 0));
    return p;
}

static void scratch_free(lower *lw, LLVMValueRef p)
{
    LLVMTypeRef pt = lw->ptr;
    LLVMTypeRef fty = LLVMFunctionType(lw->voidt, &pt, 1, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, "pyacc_rt_scratch_free");
    if (!fn)
        fn = LLVMAddFunction(lw->M, "pyacc_rt_scratch_free", fty);
    LLVMBuildCall2(lw->B, fty, fn, &p, 1, "");
}

static LLVMValueRef thread_slots(lower *lw)
{
    LLVMTypeRef fty = LLVMFunctionType(lw->i32, NULL, 0, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(lw->M, "pyacc_rt_num_threads");
    if (!fn)
        fn = LLVMAddFunction(lw->M, "pyacc_rt_num_threads", fty);
    return LLVMBuildSExt(lw->B, LLVMBuildCall2(lw->B, fty, fn, NULL, 0, "threads"), lw->i64, "");
}

/* What goes into ctx before the loop: the error record, the trip count,
 * the number of partial-result slots, the collapsed loops' counts, the
 * GPU's padded space (align.c, `space`), the values of the variables that
 * come in, the atomic scalars' addresses.  An entry run on a GPU walks its
 * loops over the padded space: that is its trip count there. */
void fe_par_fill_ctx(lower *lw, plan *p, LLVMValueRef ctx, LLVMValueRef n, LLVMValueRef nslots,
                     const LLVMValueRef *col_counts, const LLVMValueRef *space)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    LLVMBuildStore(B, lw->fn->err, fe_par_ctx_field(lw, p, ctx, F_ERR));
    LLVMValueRef walked = n;
    if (p->field_space) {
        for (int i = 0; p->field_space + i < p->nfields; i++)
            LLVMBuildStore(B, space[i], fe_par_ctx_field(lw, p, ctx, p->field_space + i));
        walked = LLVMBuildSelect(B, fe_on_gpu(lw), space[FE_ALIGN_SPACE], n, "");
    }
    LLVMBuildStore(B, walked, fe_par_ctx_field(lw, p, ctx, F_N));
    LLVMBuildStore(B, nslots, fe_par_ctx_field(lw, p, ctx, F_SLOTS));
    for (int m = 0; m < p->ncol; m++) {
        LLVMBuildStore(B, col_counts[m], fe_par_ctx_field(lw, p, ctx, p->field_col + m));
        LLVMBuildStore(B, fe_divide_magic(lw, col_counts[m], n), fe_par_ctx_field(lw, p, ctx, p->field_col + p->ncol + m));
    }
    for (int k = P_SHARED; k <= P_FIRSTLAST; k++) {
        if (k == P_LAST)
            continue;
        for (int i = 0; i < p->n[k]; i++) {
            int v = p->vars[k][i];
            LLVMValueRef val = LLVMBuildLoad2(B, fe_lty(lw, f->vars[v].type), fe_var_slot(lw, v), "");
            LLVMBuildStore(B, val, fe_par_ctx_field(lw, p, ctx, p->field0[k] + i));
        }
    }
    for (int i = 0; i < p->n[P_ATOMIC]; i++)
        LLVMBuildStore(B, fe_var_slot(lw, p->vars[P_ATOMIC][i]), fe_par_ctx_field(lw, p, ctx, p->field0[P_ATOMIC] + i));
}

/* What comes back after the loop: the last values (when it ran at all),
 * then each scalar reduction, the original value combined with each slot's
 * partial result in slot order. */
void fe_par_take_back(lower *lw, plan *p, LLVMValueRef ctx, LLVMValueRef n, LLVMValueRef *partials,
                      LLVMValueRef nslots)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    LLVMValueRef ran = LLVMBuildICmp(B, LLVMIntSGT, n, fe_const_i64(lw, 0), "");
    /* max and min keep the value from before the loop unless an iteration
     * beat it, and with it its kind (Python's max(5, 2.5) is the int 5),
     * while the tag coming back is the last iteration's: the value and tag
     * from before, to put back where the value stayed */
    LLVMValueRef *kept = calloc(2 * (size_t)p->n[P_RED] + 1, sizeof *kept);
    for (int i = 0; kept && i < p->n[P_RED]; i++) {
        int v = p->vars[P_RED][i], tag = f->vars[v].tag;
        if (tag < 0 || (p->ops[P_RED][i] != FE_RED_MAX && p->ops[P_RED][i] != FE_RED_MIN))
            continue;
        kept[2 * i] = LLVMBuildLoad2(B, fe_lty(lw, f->vars[v].type), fe_var_slot(lw, v), "");
        kept[2 * i + 1] = LLVMBuildLoad2(B, fe_lty(lw, f->vars[tag].type), fe_var_slot(lw, tag), "");
    }
    for (int k = P_LAST; k <= P_FIRSTLAST; k++)
        for (int i = 0; i < p->n[k]; i++) {
            int v = p->vars[k][i];
            LLVMTypeRef t = fe_lty(lw, f->vars[v].type);
            LLVMValueRef val = LLVMBuildLoad2(B, t, fe_par_ctx_field(lw, p, ctx, p->field0[k] + i), "");
            /* no iterations, no new value: keep the one from before the loop */
            LLVMValueRef old = LLVMBuildLoad2(B, t, fe_var_slot(lw, v), "");
            LLVMBuildStore(B, LLVMBuildSelect(B, ran, val, old, ""), fe_var_slot(lw, v));
        }
    for (int i = 0; i < p->n[P_RED]; i++) {
        int v = p->vars[P_RED][i];
        const fe_type *vt = f->vars[v].type;
        LLVMTypeRef t = fe_lty(lw, vt);
        cloop c = loop_begin(lw, nslots, "red.combine");
        LLVMValueRef acc = LLVMBuildLoad2(B, t, fe_var_slot(lw, v), "");
        LLVMValueRef part = LLVMBuildLoad2(B, t, LLVMBuildInBoundsGEP2(B, t, partials[i], &c.i, 1, ""), "");
        LLVMBuildStore(B, fe_red_combine(lw, p->ops[P_RED][i], vt, acc, part), fe_var_slot(lw, v));
        loop_end(lw, &c);
        if (kept && kept[2 * i]) {
            int tag = f->vars[v].tag;
            LLVMValueRef now = LLVMBuildLoad2(B, t, fe_var_slot(lw, v), "");
            /* a NaN from before stays: nothing compares better than it */
            LLVMValueRef same = fe_dtype_is_float(fe_t_dtype(vt))
                                    ? LLVMBuildOr(B, LLVMBuildFCmp(B, LLVMRealOEQ, now, kept[2 * i], ""),
                                                  LLVMBuildFCmp(B, LLVMRealUNO, kept[2 * i], kept[2 * i], ""), "")
                                    : LLVMBuildICmp(B, LLVMIntEQ, now, kept[2 * i], "");
            LLVMValueRef tagslot = fe_var_slot(lw, tag);
            LLVMValueRef last = LLVMBuildLoad2(B, fe_lty(lw, f->vars[tag].type), tagslot, "");
            LLVMBuildStore(B, LLVMBuildSelect(B, same, kept[2 * i + 1], last, ""), tagslot);
        }
    }
    free(kept);
}

/* Leaves for the function's failure exit when the loop recorded an error,
 * running `cleanup` (the scratch to free) first. */
void fe_par_joined(lower *lw, LLVMValueRef *cleanup, int ncleanup)
{
    LLVMBuilderRef B = lw->B;
    LLVMValueRef kind = LLVMBuildLoad2(B, lw->i32, lw->fn->err, "");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "joined");
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(lw->C, lw->fn->fn, "failed");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, kind, LLVMConstInt(lw->i32, 0, 0), ""), bad, ok);
    LLVMPositionBuilderAtEnd(B, bad);
    for (int i = 0; i < ncleanup; i++)
        scratch_free(lw, cleanup[i]);
    LLVMBuildBr(B, lw->fn->fail);
    LLVMPositionBuilderAtEnd(B, ok);
}

fe_status fe_lower_parallel(lower *lw, int li)
{
    fe_func *f = lw->f;
    LLVMBuilderRef B = lw->B;
    const fe_loop *lp = &lw->loops.loop[li];
    const fe_block *hb = &f->blocks[lp->header];
    LLVMPositionBuilderAtEnd(B, fe_bb_of(lw, lp->header));
    for (int i = 0; i + 1 < hb->nnodes; i++) {
        fe_node *n = &f->nodes[hb->nodes[i]];
        LLVMValueRef v = fe_lower_node(lw, n);
        if (!v)
            return lw->err->status;
        lw->val[hb->nodes[i]] = v;
        fe_lower_kind(lw, hb->nodes[i]);
    }
    const fe_node *fi = fe_terminator(lw, lp->header);
    plan p;
    fe_status st = fe_par_make_plan(lw, li, &p, 0);
    if (st != FE_OK) {
        fe_par_free_plan(&p);
        return st;
    }
    for (int i = 0; i < p.n[P_ARED]; i++)
        if (p.ared_atomic[p.vars[P_ARED][i]])
            fe_note(lw, "line %d: on the host, the atomic updates of '%s' go to each thread's copy, combined "
                    "after the loop (when the copies take at most %lld elements)", fi->loc.line,
                    f->vars[p.vars[P_ARED][i]].name, (long long)FE_ATOMIC_COPY_MAX);
    /* the trip count, and the copyout lists it must fit */
    const fe_type *itt = f->vars[fi->var].type;
    LLVMValueRef it = LLVMBuildLoad2(B, fe_lty(lw, itt), fe_var_slot(lw, fi->var), "");
    LLVMValueRef n = fe_iter_count(lw, it, itt), n_outer = n;
    LLVMValueRef col_counts[FE_MAX_COLLAPSE];
    LLVMValueRef lb = itt->kind == FE_T_RANGEITER ? LLVMBuildExtractValue(B, it, 0, "") : fe_const_i64(lw, 0);
    if (p.ncol) {
        fe_collapse_counts(lw, p.col_loop, p.ncol, col_counts, &n, &lb); /* n: the whole space */
        fe_note(lw, "line %d: the collapse(%d) nest runs as one iteration space", fi->loc.line, p.ncol + 1);
    }
    LLVMValueRef space[FE_ALIGN_FIELDS];
    if (p.field_space) {
        fe_align_space(lw, lb, p.ncol ? col_counts[p.ncol - 1] : n, n, space);
        fe_note(lw, "line %d: on a GPU, warps start at multiples of 32 of the innermost index (its rows padded, "
                "where that idles at most an eighth of the threads)", fi->loc.line);
    }
    for (int a = 0; a < f->code->nargs; a++) {
        if (lw->listout_loop[a] != li)
            continue;
        LLVMValueRef lst = LLVMBuildLoad2(B, fe_lty(lw, f->vars[a].type), fe_var_slot(lw, a), "");
        LLVMValueRef cap = LLVMBuildExtractValue(B, lst, 1, "");
        fe_check(lw, LLVMBuildICmp(B, LLVMIntSGT, n, cap, ""), RT_ERR_LIST_LENGTH, fi->loc, cap, n);
    }
    /* How the pool may schedule it.  Integer partials combine the same in
     * any grouping: uneven work is balanced over the threads.  Floating-point
     * partials must combine in a fixed grouping for results to repeat from
     * run to run: balanced with a slot per piece (pieces do not depend on
     * which thread runs them), unless arrays are reduced too (a private copy
     * per piece would cost too much memory): then the static schedule. */
    int64_t flags = RT_LAUNCH_BALANCE;
    for (int i = 0; i < p.n[P_RED]; i++)
        if (!fe_t_is_intlike(f->vars[p.vars[P_RED][i]].type))
            flags = RT_LAUNCH_PIECES;
    for (int i = 0; i < p.n[P_ARED] && flags == RT_LAUNCH_PIECES; i++)
        flags = 0;
    for (int i = 0; i < p.n[P_ARED]; i++) {
        const fe_type *t = f->vars[p.vars[P_ARED][i]].type;
        if (!fe_t_is_intlike(fe_t_np(f->types, t->dtype)))
            flags = 0;
    }
    LLVMValueRef ctx = fe_entry_alloca(lw, p.ctxty, "ctx");
    LLVMValueRef nslots = thread_slots(lw);
    if (flags & RT_LAUNCH_PIECES)
        nslots = LLVMBuildMul(B, nslots, fe_const_i64(lw, RT_PIECES), "slots");
    fe_par_fill_ctx(lw, &p, ctx, n, nslots, col_counts, space);
    /* scalar reductions: a slot per thread, starting at the identity */
    LLVMValueRef *partials = calloc((size_t)p.n[P_RED] + (size_t)p.n[P_ARED] + 1, sizeof *partials);
    LLVMValueRef *copied = calloc((size_t)p.n[P_ARED] + 1, sizeof *copied); /* per array reduction: copies made */
    if (!partials || !copied) {
        free(partials);
        free(copied);
        fe_par_free_plan(&p);
        return fe_error_set(lw->err, FE_ERR_NOMEM, fi->loc, "out of memory");
    }
    for (int i = 0; i < p.n[P_RED]; i++) {
        int v = p.vars[P_RED][i];
        LLVMTypeRef t = fe_lty(lw, f->vars[v].type);
        LLVMValueRef bytes = LLVMBuildMul(B, nslots, LLVMSizeOf(t), "");
        partials[i] = scratch(lw, bytes, fi->loc);
        cloop c = loop_begin(lw, nslots, "red.init");
        LLVMBuildStore(B, fe_red_identity(lw, p.ops[P_RED][i], f->vars[v].type), LLVMBuildInBoundsGEP2(B, t, partials[i], &c.i, 1, ""));
        loop_end(lw, &c);
        LLVMBuildStore(B, partials[i], fe_par_ctx_field(lw, &p, ctx, p.field0[P_RED] + i));
    }
    /* array reductions: a private copy per thread, at the identity */
    for (int i = 0; i < p.n[P_ARED]; i++) {
        int v = p.vars[P_ARED][i];
        const fe_type *t = f->vars[v].type;
        LLVMValueRef arr = LLVMBuildLoad2(B, fe_lty(lw, t), fe_var_slot(lw, v), "");
        LLVMValueRef per = elements(lw, t, arr);
        LLVMValueRef count = LLVMBuildMul(B, per, nslots, "");
        LLVMTypeRef et = fe_mem_lty(lw, t->dtype);
        /* an array only atomic updates change is copied when the copies
         * are small; else the threads update it itself, atomically.  On a
         * GPU (an entry run there) the updates go to the array itself,
         * atomically, and no copy is made. */
        copied[i] = LLVMBuildNot(B, fe_on_gpu(lw), "");
        if (p.ared_atomic[v])
            copied[i] = LLVMBuildAnd(B, copied[i], LLVMBuildICmp(B, LLVMIntULE, count,
                                                                 fe_const_i64(lw, FE_ATOMIC_COPY_MAX), ""), "copied");
        count = LLVMBuildSelect(B, copied[i], count, fe_const_i64(lw, 1), "");
        LLVMValueRef base = scratch(lw, LLVMBuildMul(B, count, LLVMSizeOf(et), ""), fi->loc);
        partials[p.n[P_RED] + i] = base;
        count = LLVMBuildSelect(B, copied[i], count, fe_const_i64(lw, 0), "");
        const fe_type *st_el = fe_t_np(f->types, t->dtype);
        cloop c = loop_begin(lw, count, "ared.init");
        store_el(lw, t->dtype, LLVMBuildInBoundsGEP2(B, et, base, &c.i, 1, ""), fe_red_identity(lw, p.ops[P_ARED][i], st_el));
        loop_end(lw, &c);
        LLVMBuildStore(B, LLVMBuildSelect(B, copied[i], base, LLVMConstNull(lw->ptr), ""),
                       fe_par_ctx_field(lw, &p, ctx, p.field0[P_ARED] + i));
    }
    LLVMValueRef body = NULL;
    st = fe_par_build_body(lw, li, &p, &body);
    /* short iterations: a second body, without the polls inside them nor
     * collapse (unpolled.c); its lastprivate chunk is the outer loop's */
    LLVMValueRef fast = LLVMConstNull(lw->ptr), work = fe_const_i64(lw, -1);
    if (st == FE_OK && fe_unpolled_wanted(lw, li) && !(p.ncol && p.n[P_LAST] + p.n[P_FIRSTLAST])) {
        work = fe_unpolled_work(lw, li);
        int ncol = p.ncol;
        p.ncol = 0;
        /* the body's values, kinds included, are made again in the new function */
        for (int v = 0; v < f->nnodes; v++)
            if (fe_in_body(lp, f->nodes[v].block))
                lw->val[v] = lw->kindval[v] = NULL;
        lw->unpolled = 1;
        st = fe_par_build_body(lw, li, &p, &fast);
        lw->unpolled = 0;
        p.ncol = ncol;
        fe_note(lw, "line %d: a second body without Ctrl-C polls inside its iterations, run where an iteration's "
                "inner loops take at most %lld iterations in all%s", fi->loc.line, (long long)RT_UNPOLLED_WORK,
                ncol ? " (over the outer loop's iterations, when there are enough to share)" : "");
    }
    if (st != FE_OK) {
        free(partials);
        free(copied);
        fe_par_free_plan(&p);
        return st;
    }
    /* the marker: (body, ctx, n, min_parallel, max_threads, flags, slots,
     * kinds, shape, fast, fast_n, fast_min_parallel, work), where
     * max_threads comes from the construct's if, self and num_gangs, kinds
     * describes ctx's fields, shape is a GPU launch's gangs, workers and
     * vector length (rt.h's RT_SHAPE_*), and the host may run fast (or
     * NULL) over fast_n iterations instead when work is small (launch.c) */
    LLVMTypeRef ptys[13] = {lw->ptr, lw->ptr, lw->i64, lw->i64, lw->i64, lw->i64, lw->i64,
                            lw->ptr, lw->i64, lw->ptr, lw->i64, lw->i64, lw->i64};
    LLVMTypeRef fty = LLVMFunctionType(lw->voidt, ptys, 13, 0);
    LLVMValueRef marker = LLVMGetNamedFunction(lw->M, "pyacc.parallel_loop");
    if (!marker)
        marker = LLVMAddFunction(lw->M, "pyacc.parallel_loop", fty);
    LLVMValueRef maxt = int_param(lw, f->is_routine ? -1 : lw->r->threads_param);
    LLVMValueRef shape = int_param(lw, f->is_routine ? -1 : lw->r->shape_param);
    int costed = p.ncol ? p.col_loop[p.ncol - 1] : li; /* a point of a collapsed space: the innermost body */
    LLVMValueRef args[13] = {body, ctx, n, fe_const_i64(lw, min_parallel(lw, costed)), maxt, fe_const_i64(lw, flags),
                             nslots, fe_par_ctx_kinds(lw, &p, LLVMGetValueName2(body, &(size_t){0})), shape,
                             fast, n_outer, fe_const_i64(lw, min_parallel(lw, li)), work};
    LLVMBuildCall2(B, fty, marker, args, 13, "");
    lw->nparallel++;
    /* an error in any chunk ends the region (the scratch goes with it) */
    fe_par_joined(lw, partials, p.n[P_RED] + p.n[P_ARED]);
    /* last values; reductions: the original value, then each thread's, in order */
    fe_par_take_back(lw, &p, ctx, n, partials, nslots);
    for (int i = 0; i < p.n[P_RED]; i++)
        scratch_free(lw, partials[i]);
    for (int i = 0; i < p.n[P_ARED]; i++) {
        int v = p.vars[P_ARED][i];
        const fe_type *t = f->vars[v].type;
        const fe_type *el = fe_t_np(f->types, t->dtype);
        LLVMTypeRef et = fe_mem_lty(lw, t->dtype);
        LLVMValueRef arr = LLVMBuildLoad2(B, fe_lty(lw, t), fe_var_slot(lw, v), "");
        LLVMValueRef per = elements(lw, t, arr);
        per = LLVMBuildSelect(B, copied[i], per, fe_const_i64(lw, 0), ""); /* no copies: nothing to combine */
        LLVMValueRef base = partials[p.n[P_RED] + i];
        cloop ce = loop_begin(lw, per, "ared.combine");
        LLVMValueRef dst = linear_ptr(lw, t, arr, ce.i);
        LLVMValueRef accslot = fe_entry_alloca(lw, fe_lty(lw, el), "acc");
        LLVMBuildStore(B, load_el(lw, t->dtype, dst), accslot);
        cloop ct = loop_begin(lw, nslots, "ared.threads");
        LLVMValueRef at = LLVMBuildAdd(B, LLVMBuildMul(B, ct.i, per, ""), ce.i, "");
        LLVMValueRef part = load_el(lw, t->dtype, LLVMBuildInBoundsGEP2(B, et, base, &at, 1, ""));
        LLVMBuildStore(B, fe_red_combine(lw, p.ops[P_ARED][i], el, LLVMBuildLoad2(B, fe_lty(lw, el), accslot, ""), part), accslot);
        loop_end(lw, &ct);
        store_el(lw, t->dtype, dst, LLVMBuildLoad2(B, fe_lty(lw, el), accslot, ""));
        loop_end(lw, &ce);
        scratch_free(lw, base);
    }
    free(partials);
    free(copied);
    fe_par_free_plan(&p);
    for (int a = 0; a < f->code->nargs; a++) {
        if (lw->listout_loop[a] != li)
            continue;
        LLVMValueRef lst = LLVMBuildLoad2(B, fe_lty(lw, f->vars[a].type), fe_var_slot(lw, a), "");
        LLVMValueRef off = fe_const_i64(lw, offsetof(fe_arraydesc, shape));
        LLVMValueRef cntp = LLVMBuildInBoundsGEP2(B, lw->i8, LLVMBuildExtractValue(B, lst, 2, ""), &off, 1, "");
        LLVMBuildStore(B, n, cntp);
    }
    LLVMBuildBr(B, fe_bb_of(lw, lp->exit));
    return FE_OK;
}

/* ----------------------------------------------------------- lane loops */
