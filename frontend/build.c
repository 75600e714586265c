/* build.c - from decoded bytecode to the frontend IR (ir.h).
 *
 * Blocks start at jump targets and after jumps.  Each reachable block is run
 * once over a symbolic operand stack whose entries are IR nodes; a stack
 * entry live on a block edge is stored into a variable "$stackN" at the end
 * of the block and loaded at the start of the successor, so the IR has no
 * stack left and every cross-block value is a variable like any local.
 */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STACK 256

typedef struct builder {
    fe_func *f;
    fe_error *err;
    fe_val stack[MAX_STACK];
    int depth;
    int cur;          /* current block */
    fe_loc loc;       /* location of the instruction being built */
    /* per block and entry depth: the variable carrying that stack entry into
     * the block (-1 until made), and whether the entry is a call's NULL */
    int32_t *svar;
    uint8_t *isnull;
    int kwnames;      /* KW_NAMES for the next CALL: a constant's index, or -1 */
} builder;

/* Stack entries deeper than this at a block boundary are not supported. */
#define MAX_EDGE_DEPTH 64

/* ------------------------------------------------------------- storage */

static int grow(void **p, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 1;
    int c = *cap ? *cap : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = c;
    return 1;
}

static fe_status nomem(builder *b)
{
    return fe_error_set(b->err, FE_ERR_NOMEM, b->loc, "out of memory");
}

/* Appends a node to the current block; returns its index or FE_NOVAL. */
static fe_val emit(builder *b, fe_irop op, int sub, int nargs, const fe_val *args)
{
    fe_func *f = b->f;
    fe_block *blk = &f->blocks[b->cur];
    if (!grow((void **)&f->nodes, &f->capnodes, f->nnodes + 1, sizeof *f->nodes) ||
        !grow((void **)&f->argpool, &f->capargpool, f->nargpool + nargs, sizeof *f->argpool) ||
        !grow((void **)&blk->nodes, &blk->capnodes, blk->nnodes + 1, sizeof *blk->nodes))
        return FE_NOVAL;
    fe_val v = f->nnodes++;
    fe_node *n = &f->nodes[v];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->sub = (int16_t)sub;
    n->block = b->cur;
    n->var = -1;
    n->nargs = nargs;
    n->args = f->nargpool;
    n->loc = b->loc;
    for (int i = 0; i < nargs; i++)
        f->argpool[f->nargpool++] = args[i];
    blk->nodes[blk->nnodes++] = v;
    return v;
}

static fe_val emit0(builder *b, fe_irop op, int sub) { return emit(b, op, sub, 0, NULL); }
static fe_val emit1(builder *b, fe_irop op, int sub, fe_val a)
{
    return emit(b, op, sub, 1, &a);
}
static fe_val emit2(builder *b, fe_irop op, int sub, fe_val a, fe_val c)
{
    fe_val args[2] = {a, c};
    return emit(b, op, sub, 2, args);
}

static int add_var(fe_func *f, const char *name, int is_stack)
{
    if (!grow((void **)&f->vars, &f->capvars, f->nvars + 1, sizeof *f->vars))
        return -1;
    fe_var *v = &f->vars[f->nvars];
    memset(v, 0, sizeof *v);
    v->name = name;
    v->is_stack = is_stack;
    v->param = -1;
    v->flag = -1;
    v->tag = -1;
    return f->nvars++;
}

static const char *const stack_names[] = {
    "$stack0", "$stack1", "$stack2", "$stack3", "$stack4", "$stack5", "$stack6", "$stack7",
    "$stack8", "$stack9", "$stack10", "$stack11", "$stack12", "$stack13", "$stack14", "$stack15",
};

/* The variable carrying stack entry `depth` into block `blk`.  Each join
 * has its own, so unrelated values that cross blocks at the same depth (two
 * conditional expressions) keep their own types. */
static int stack_var(builder *b, int blk, int depth)
{
    int32_t *slot = &b->svar[(size_t)blk * MAX_EDGE_DEPTH + (size_t)depth];
    if (*slot < 0) {
        const char *name = depth < 16 ? stack_names[depth] : "$stack";
        *slot = add_var(b->f, name, 1);
    }
    return *slot;
}

/* ------------------------------------------------------------- the stack */

static int push(builder *b, fe_val v)
{
    if (v == FE_NOVAL)
        return 0;
    if (b->depth >= MAX_STACK) {
        fe_error_set(b->err, FE_ERR_UNSUPPORTED, b->loc, "expression too deep");
        return 0;
    }
    b->stack[b->depth++] = v;
    return 1;
}

static fe_val pop(builder *b)
{
    if (b->depth <= 0) {
        fe_error_set(b->err, FE_ERR_INTERNAL, b->loc, "operand stack underflow");
        return FE_NOVAL;
    }
    return b->stack[--b->depth];
}

static fe_val top(builder *b, int k) /* k = 1 is the top */
{
    /* k < 1 (COPY 0 in malformed code) would read at or past the top. */
    if (k < 1 || b->depth < k) {
        fe_error_set(b->err, FE_ERR_INTERNAL, b->loc, "operand stack underflow");
        return FE_NOVAL;
    }
    return b->stack[b->depth - k];
}

/* --------------------------------------------------------------- blocks */

static int is_terminator(fe_pyop op)
{
    switch (op) {
    case FE_OP_RETURN_VALUE:
    case FE_OP_RETURN_CONST:
    case FE_OP_RAISE_VARARGS:
    case FE_OP_RERAISE:
    case FE_OP_JUMP_FORWARD:
    case FE_OP_JUMP_BACKWARD:
    case FE_OP_JUMP_BACKWARD_NO_INTERRUPT:
        return 1;
    default:
        return 0;
    }
}

static fe_status find_blocks(fe_func *f, fe_error *err)
{
    int n = f->ninstrs;
    char *leader = calloc((size_t)n + 1, 1);
    f->block_of_instr = malloc(((size_t)n + 1) * sizeof *f->block_of_instr);
    if (!leader || !f->block_of_instr) {
        free(leader);
        return fe_error_set(err, FE_ERR_NOMEM, (fe_loc){0, 0, -1}, "out of memory");
    }
    if (n)
        leader[0] = 1;
    for (int i = 0; i < n; i++) {
        const fe_instr *in = &f->instrs[i];
        if (in->target >= 0) {
            leader[in->target] = 1;
            leader[i + 1] = 1;
        }
        if (is_terminator(in->op))
            leader[i + 1] = 1;
    }
    int nb = 0;
    for (int i = 0; i < n; i++)
        nb += leader[i];
    f->blocks = calloc((size_t)nb + 1, sizeof *f->blocks);
    if (!f->blocks) {
        free(leader);
        return fe_error_set(err, FE_ERR_NOMEM, (fe_loc){0, 0, -1}, "out of memory");
    }
    int k = -1;
    for (int i = 0; i <= n; i++) {
        f->block_of_instr[i] = -1;
        if (i < n && leader[i]) {
            k++;
            f->blocks[k].first_instr = i;
            f->blocks[k].entry_depth = -1;
            f->blocks[k].iter_body_of = -1;
            f->blocks[k].succ[0] = f->blocks[k].succ[1] = -1;
            f->block_of_instr[i] = k;
        }
        if (k >= 0)
            f->blocks[k].end_instr = i + 1 <= n ? i + 1 : n;
    }
    f->nblocks = nb;
    free(leader);
    return FE_OK;
}

static int block_at(fe_func *f, int instr) { return instr < f->ninstrs ? f->block_of_instr[instr] : -1; }

/* Records that successor `s` of the current block starts with `depth`
 * entries; returns 0 on a mismatch (bytecode pyacc does not understand). */
static int reach(builder *b, int s, int depth)
{
    fe_block *blk = &b->f->blocks[s];
    if (blk->entry_depth < 0) {
        blk->entry_depth = depth;
        return 1;
    }
    if (blk->entry_depth != depth) {
        fe_error_set(b->err, FE_ERR_INTERNAL, b->loc,
                     "inconsistent stack depth at a join (%d and %d)", blk->entry_depth, depth);
        return 0;
    }
    return 1;
}

/* Hands the first `depth` stack entries to successor `succ`: a call's NULL
 * marker is recorded (it has no value); an entry passing through unchanged
 * (a load of a stack variable, like an enclosing loop's iterator) keeps its
 * variable, so the successor reads the same one; anything else is stored
 * into the successor's variable for that depth. */
static int spill_to(builder *b, int succ, int depth)
{
    fe_func *f = b->f;
    if (depth > MAX_EDGE_DEPTH) {
        fe_error_set(b->err, FE_ERR_UNSUPPORTED, b->loc, "expression too deep across a branch");
        return 0;
    }
    for (int k = 0; k < depth; k++) {
        fe_val v = b->stack[k];
        fe_node *n = &f->nodes[v];
        size_t at = (size_t)succ * MAX_EDGE_DEPTH + (size_t)k;
        if (n->op == IR_NULL) {
            b->isnull[at] = 1;
            continue;
        }
        if (n->op == IR_LOADVAR && f->vars[n->var].is_stack) {
            if (b->svar[at] < 0)
                b->svar[at] = n->var;
            if (b->svar[at] == n->var)
                continue;
        }
        int var = stack_var(b, succ, k);
        if (var < 0)
            return 0;
        fe_val s = emit1(b, IR_STOREVAR, 0, v);
        if (s == FE_NOVAL)
            return 0;
        f->nodes[s].var = var;
    }
    return 1;
}

/* ------------------------------------------------------------ messages */

/* A user-facing name for an opcode outside the subset. */
static const char *construct_name(fe_pyop op)
{
    switch (op) {
    case FE_OP_BUILD_LIST:
    case FE_OP_LIST_APPEND: return "a list display or comprehension";
    case FE_OP_BUILD_MAP:
    case FE_OP_DICT_MERGE: return "a dict";
    case FE_OP_FORMAT_VALUE:
    case FE_OP_BUILD_STRING: return "an f-string";
    case FE_OP_MAKE_FUNCTION: return "a nested function or lambda";
    case FE_OP_IMPORT_NAME:
    case FE_OP_IMPORT_FROM: return "an import";
    case FE_OP_CONTAINS_OP: return "the 'in' operator";
    case FE_OP_YIELD_VALUE:
    case FE_OP_RETURN_GENERATOR:
    case FE_OP_SEND: return "a generator";
    case FE_OP_KW_NAMES:
    case FE_OP_CALL_FUNCTION_EX: return "keyword or starred call arguments";
    case FE_OP_STORE_ATTR: return "an attribute assignment";
    case FE_OP_LOAD_DEREF:
    case FE_OP_STORE_DEREF:
    case FE_OP_LOAD_CLOSURE:
    case FE_OP_MAKE_CELL:
    case FE_OP_COPY_FREE_VARS: return "a closure variable";
    case FE_OP_RAISE_VARARGS:
    case FE_OP_RERAISE: return "a raise statement";
    case FE_OP_PUSH_EXC_INFO:
    case FE_OP_POP_EXCEPT:
    case FE_OP_CHECK_EXC_MATCH: return "try/except";
    case FE_OP_BEFORE_WITH: return "a with statement";
    case FE_OP_DELETE_FAST: return "a del statement";
    case FE_OP_BINARY_SLICE:
    case FE_OP_STORE_SLICE:
    case FE_OP_BUILD_SLICE: return "a slice";
    case FE_OP_STORE_GLOBAL: return "an assignment to a global";
    case FE_OP_LOAD_FAST_AND_CLEAR: return "a comprehension";
    case FE_OP_GET_LEN: return "a match statement";
    default: return NULL;
    }
}

static fe_status unsupported(builder *b, const fe_instr *in)
{
    const char *what = construct_name(in->op);
    if (what)
        return fe_error_set(b->err, FE_ERR_UNSUPPORTED, in->loc, "%s is not supported in a compute region", what);
    return fe_error_set(b->err, FE_ERR_UNSUPPORTED, in->loc,
                        "Python operation %s is not supported in a compute region",
                        fe_instr_name(b->f->region->optable, in));
}

/* ------------------------------------------------------- one instruction */

#define PUSH(x)                                                                      \
    do {                                                                             \
        if (!push(b, (x)))                                                           \
            return b->err->status ? b->err->status : nomem(b);                       \
    } while (0)
#define POP(v)                                                                       \
    do {                                                                             \
        (v) = pop(b);                                                                \
        if ((v) == FE_NOVAL)                                                         \
            return b->err->status;                                                   \
    } while (0)
#define CHECK(v)                                                                     \
    do {                                                                             \
        if ((v) == FE_NOVAL)                                                         \
            return b->err->status ? b->err->status : nomem(b);                       \
    } while (0)

static fe_status cond_branch(builder *b, const fe_instr *in, int idx, int jump_if_true,
                             int none_test, int keep)
{
    fe_func *f = b->f;
    fe_val v = keep ? top(b, 1) : pop(b);
    CHECK(v);
    fe_val c;
    if (none_test) {
        fe_const none = {.kind = FE_CONST_NONE};
        fe_val nv = emit0(b, IR_CONST, 0);
        CHECK(nv);
        f->nodes[nv].c = none;
        /* POP_JUMP_IF_NONE jumps when `v is None` is true */
        c = emit2(b, IR_CMP, FE_CMP_IS, v, nv);
        CHECK(c);
        c = emit1(b, IR_TRUTH, 0, c);
    } else {
        c = emit1(b, IR_TRUTH, 0, v);
    }
    CHECK(c);
    int tb = block_at(f, in->target), fb = block_at(f, idx + 1);
    if (tb < 0 || fb < 0)
        return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "conditional jump out of the code");
    /* *_OR_POP keeps the value only on the jump edge */
    if (!spill_to(b, tb, b->depth) || !spill_to(b, fb, keep ? b->depth - 1 : b->depth))
        return b->err->status ? b->err->status : nomem(b);
    fe_val br = emit1(b, IR_CBR, 0, c);
    CHECK(br);
    fe_block *blk = &f->blocks[b->cur];
    blk->succ[0] = jump_if_true ? tb : fb;
    blk->succ[1] = jump_if_true ? fb : tb;
    if (!reach(b, tb, b->depth) || !reach(b, fb, keep ? b->depth - 1 : b->depth))
        return b->err->status;
    return FE_OK;
}

static fe_status build_instr(builder *b, int idx)
{
    fe_func *f = b->f;
    const fe_code *code = f->code;
    const fe_instr *in = &f->instrs[idx];
    int minor = f->region->optable->py_minor;
    fe_val x, y;
    b->loc = in->loc;

    switch (in->op) {
    case FE_OP_NOP:
    case FE_OP_RESUME:
    case FE_OP_CACHE:
    case FE_OP_PRECALL:
    case FE_OP_EXTENDED_ARG:
        return FE_OK;
    case FE_OP_END_FOR: /* reached only by falling into it: pops two */
        POP(x);
        POP(x);
        return FE_OK;
    case FE_OP_PUSH_NULL:
        PUSH(emit0(b, IR_NULL, 0));
        return FE_OK;
    case FE_OP_POP_TOP:
        POP(x);
        return FE_OK;
    case FE_OP_COPY:
        x = top(b, in->arg);
        CHECK(x);
        PUSH(x);
        return FE_OK;
    case FE_OP_SWAP:
        if (in->arg < 1 || in->arg > b->depth)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad SWAP");
        x = b->stack[b->depth - 1];
        b->stack[b->depth - 1] = b->stack[b->depth - in->arg];
        b->stack[b->depth - in->arg] = x;
        return FE_OK;
    case FE_OP_LOAD_FAST:
    case FE_OP_LOAD_FAST_CHECK:
        if (in->arg < 0 || in->arg >= code->nlocals)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad local index");
        x = emit0(b, IR_LOADVAR, 0);
        CHECK(x);
        f->nodes[x].var = in->arg;
        PUSH(x);
        return FE_OK;
    case FE_OP_STORE_FAST:
        if (in->arg < 0 || in->arg >= code->nlocals)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad local index");
        POP(x);
        y = emit1(b, IR_STOREVAR, 0, x);
        CHECK(y);
        f->nodes[y].var = in->arg;
        if (f->vars[in->arg].first_store.line == 0)
            f->vars[in->arg].first_store = in->loc;
        return FE_OK;
    case FE_OP_LOAD_CONST:
    case FE_OP_RETURN_CONST:
        if (in->arg < 0 || in->arg >= code->nconsts)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad constant index");
        x = emit0(b, IR_CONST, 0);
        CHECK(x);
        f->nodes[x].c = code->consts[in->arg];
        if (in->op == FE_OP_LOAD_CONST) {
            PUSH(x);
            return FE_OK;
        }
        CHECK(emit1(b, IR_RET, 0, x));
        return FE_OK;
    case FE_OP_RETURN_VALUE:
        POP(x);
        CHECK(emit1(b, IR_RET, 0, x));
        return FE_OK;
    case FE_OP_LOAD_GLOBAL: {
        int name = in->arg >> 1;
        if (name >= code->nnames)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad name index");
        if (in->arg & 1)
            PUSH(emit0(b, IR_NULL, 0));
        x = emit0(b, IR_GLOBAL, 0);
        CHECK(x);
        f->nodes[x].var = name;
        PUSH(x);
        return FE_OK;
    }
    case FE_OP_LOAD_ATTR:
    case FE_OP_LOAD_METHOD: {
        int method = in->op == FE_OP_LOAD_METHOD || (minor >= 12 && (in->arg & 1));
        int name = in->op == FE_OP_LOAD_ATTR && minor >= 12 ? in->arg >> 1 : in->arg;
        if (name >= code->nnames)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad name index");
        POP(x);
        y = emit1(b, IR_ATTR, method, x);
        CHECK(y);
        f->nodes[y].var = name;
        PUSH(y);
        if (method) /* [method, self]: CALL passes self as the first argument */
            PUSH(x);
        return FE_OK;
    }
    case FE_OP_BINARY_OP:
        POP(y);
        POP(x);
        PUSH(emit2(b, IR_BINOP, in->arg, x, y));
        return FE_OK;
    case FE_OP_UNARY_NEGATIVE:
    case FE_OP_UNARY_POSITIVE:
    case FE_OP_UNARY_NOT:
    case FE_OP_UNARY_INVERT: {
        int sub = in->op == FE_OP_UNARY_NEGATIVE   ? FE_UN_NEG
                  : in->op == FE_OP_UNARY_POSITIVE ? FE_UN_POS
                  : in->op == FE_OP_UNARY_NOT      ? FE_UN_NOT
                                                   : FE_UN_INVERT;
        POP(x);
        PUSH(emit1(b, IR_UNOP, sub, x));
        return FE_OK;
    }
    case FE_OP_CALL_INTRINSIC_1:
        if (in->arg != 5) /* INTRINSIC_UNARY_POSITIVE */
            return unsupported(b, in);
        POP(x);
        PUSH(emit1(b, IR_UNOP, FE_UN_POS, x));
        return FE_OK;
    case FE_OP_COMPARE_OP: {
        int cmp = minor >= 12 ? in->arg >> 4 : in->arg;
        if (cmp < 0 || cmp > 5)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad comparison %d", cmp);
        POP(y);
        POP(x);
        PUSH(emit2(b, IR_CMP, cmp, x, y));
        return FE_OK;
    }
    case FE_OP_IS_OP:
        POP(y);
        POP(x);
        PUSH(emit2(b, IR_CMP, in->arg ? FE_CMP_ISNOT : FE_CMP_IS, x, y));
        return FE_OK;
    case FE_OP_BINARY_SUBSCR:
        POP(y);
        POP(x);
        PUSH(emit2(b, IR_SUBSCR, 0, x, y));
        return FE_OK;
    case FE_OP_STORE_SUBSCR: {
        fe_val args[3];
        POP(args[1]); /* index */
        POP(args[0]); /* container */
        POP(args[2]); /* value */
        CHECK(emit(b, IR_STORE_SUBSCR, 0, 3, args));
        return FE_OK;
    }
    case FE_OP_BUILD_TUPLE: {
        if (in->arg > b->depth)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad BUILD_TUPLE");
        b->depth -= in->arg;
        PUSH(emit(b, IR_TUPLE, 0, in->arg, &b->stack[b->depth]));
        return FE_OK;
    }
    case FE_OP_UNPACK_SEQUENCE:
        POP(x);
        for (int k = in->arg - 1; k >= 0; k--) {
            y = emit1(b, IR_ITEM, k, x);
            CHECK(y);
            f->nodes[y].aux = in->arg;
            PUSH(y);
        }
        return FE_OK;
    case FE_OP_KW_NAMES: /* the names of the next CALL's last arguments */
        if (in->arg < 0 || in->arg >= code->nconsts || code->consts[in->arg].kind != FE_CONST_TUPLE)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad KW_NAMES");
        b->kwnames = in->arg;
        return FE_OK;
    case FE_OP_CALL: {
        int n = in->arg;
        if (n > b->depth - 2) /* not n + 2 > depth: a huge arg would overflow */
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "bad CALL");
        fe_val callee_or_null = b->stack[b->depth - n - 2];
        int plain = f->nodes[callee_or_null].op == IR_NULL;
        /* [NULL, callee, args...] or [method, self, args...] */
        fe_val args[MAX_STACK + 1];
        int na = 0;
        args[na++] = plain ? b->stack[b->depth - n - 1] : callee_or_null;
        for (int k = plain ? 0 : -1; k < n; k++)
            args[na++] = b->stack[b->depth - n + k];
        b->depth -= n + 2;
        x = emit(b, IR_CALL, 0, na, args);
        CHECK(x);
        f->nodes[x].aux = !plain; /* args[1] is an implicit self */
        /* keyword arguments: the last ones, named by KW_NAMES's tuple */
        f->nodes[x].c.kind = FE_CONST_NONE;
        if (b->kwnames >= 0) {
            f->nodes[x].c = code->consts[b->kwnames];
            b->kwnames = -1;
        }
        PUSH(x);
        return FE_OK;
    }
    case FE_OP_GET_ITER:
        POP(x);
        PUSH(emit1(b, IR_GETITER, 0, x));
        return FE_OK;
    case FE_OP_FOR_ITER: {
        x = top(b, 1);
        CHECK(x);
        fe_node *it = &f->nodes[x];
        if (it->op != IR_LOADVAR || it->block != b->cur || !f->vars[it->var].is_stack)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "FOR_ITER without a loop header");
        int var = it->var;
        int body = block_at(f, idx + 1), exit = block_at(f, in->target);
        if (body < 0 || exit < 0)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "FOR_ITER out of the code");
        /* the body gets the stack with the iterator, the exit without it */
        if (!spill_to(b, body, b->depth) || !spill_to(b, exit, b->depth - 1))
            return b->err->status ? b->err->status : nomem(b);
        y = emit0(b, IR_FORITER, 0);
        CHECK(y);
        f->nodes[y].var = var;
        fe_block *blk = &f->blocks[b->cur];
        blk->succ[0] = body;
        blk->succ[1] = exit;
        if (f->blocks[body].iter_body_of >= 0 && f->blocks[body].iter_body_of != b->cur)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "shared loop body");
        f->blocks[body].iter_body_of = b->cur;
        if (!reach(b, body, b->depth + 1) || !reach(b, exit, b->depth - 1))
            return b->err->status;
        return FE_OK;
    }
    case FE_OP_JUMP_FORWARD:
    case FE_OP_JUMP_BACKWARD:
    case FE_OP_JUMP_BACKWARD_NO_INTERRUPT: {
        int t = block_at(f, in->target);
        if (t < 0)
            return fe_error_set(b->err, FE_ERR_INTERNAL, in->loc, "jump out of the code");
        if (!spill_to(b, t, b->depth))
            return b->err->status ? b->err->status : nomem(b);
        CHECK(emit0(b, IR_BR, 0));
        f->blocks[b->cur].succ[0] = t;
        return reach(b, t, b->depth) ? FE_OK : b->err->status;
    }
    case FE_OP_POP_JUMP_FORWARD_IF_FALSE:
    case FE_OP_POP_JUMP_BACKWARD_IF_FALSE:
    case FE_OP_POP_JUMP_IF_FALSE:
        return cond_branch(b, in, idx, 0, 0, 0);
    case FE_OP_POP_JUMP_FORWARD_IF_TRUE:
    case FE_OP_POP_JUMP_BACKWARD_IF_TRUE:
    case FE_OP_POP_JUMP_IF_TRUE:
        return cond_branch(b, in, idx, 1, 0, 0);
    case FE_OP_POP_JUMP_FORWARD_IF_NONE:
    case FE_OP_POP_JUMP_BACKWARD_IF_NONE:
    case FE_OP_POP_JUMP_IF_NONE:
        return cond_branch(b, in, idx, 1, 1, 0);
    case FE_OP_POP_JUMP_FORWARD_IF_NOT_NONE:
    case FE_OP_POP_JUMP_BACKWARD_IF_NOT_NONE:
    case FE_OP_POP_JUMP_IF_NOT_NONE:
        return cond_branch(b, in, idx, 0, 1, 0);
    case FE_OP_JUMP_IF_FALSE_OR_POP:
        return cond_branch(b, in, idx, 0, 0, 1);
    case FE_OP_JUMP_IF_TRUE_OR_POP:
        return cond_branch(b, in, idx, 1, 0, 1);
    default:
        return unsupported(b, in);
    }
}

/* Runs block k from its entry stack. */
static fe_status build_block(builder *b, int k)
{
    fe_func *f = b->f;
    fe_block *blk = &f->blocks[k];
    b->cur = k;
    b->depth = 0;
    b->loc = f->instrs[blk->first_instr].loc;
    if (blk->entry_depth > MAX_EDGE_DEPTH)
        return fe_error_set(b->err, FE_ERR_UNSUPPORTED, b->loc, "expression too deep across a branch");
    for (int d = 0; d < blk->entry_depth; d++) {
        fe_val v;
        if (blk->iter_body_of >= 0 && d == blk->entry_depth - 1) {
            /* the loop body starts with the element FOR_ITER pushed, from
             * the iterator variable the header's FOR_ITER tests */
            const fe_block *hb = &f->blocks[blk->iter_body_of];
            v = emit0(b, IR_ITERNEXT, 0);
            CHECK(v);
            f->nodes[v].var = f->nodes[hb->nodes[hb->nnodes - 1]].var;
        } else if (b->isnull[(size_t)k * MAX_EDGE_DEPTH + (size_t)d]) {
            v = emit0(b, IR_NULL, 0);
            CHECK(v);
        } else {
            int var = stack_var(b, k, d);
            if (var < 0)
                return nomem(b);
            v = emit0(b, IR_LOADVAR, 0);
            CHECK(v);
            f->nodes[v].var = var;
        }
        b->stack[b->depth++] = v;
    }
    for (int i = blk->first_instr; i < blk->end_instr; i++) {
        fe_status st = build_instr(b, i);
        if (st != FE_OK)
            return st;
    }
    /* A block that ends without a jump falls into the next one. */
    if (!blk->nnodes || f->nodes[blk->nodes[blk->nnodes - 1]].op < IR_FORITER) {
        int next = block_at(f, blk->end_instr);
        if (next < 0)
            return fe_error_set(b->err, FE_ERR_INTERNAL, b->loc, "code falls off its end");
        if (!spill_to(b, next, b->depth))
            return b->err->status ? b->err->status : nomem(b);
        CHECK(emit0(b, IR_BR, 0));
        f->blocks[k].succ[0] = next;
        if (!reach(b, next, b->depth))
            return b->err->status;
    }
    return FE_OK;
}

fe_status fe_build(const fe_region *r, fe_func *f, fe_error *err)
{
    const fe_code *code = r->code;
    fe_loc at = r->loc;
    memset(err, 0, sizeof *err);
    f->region = r;
    f->code = code;
    if (code->has_exception_table)
        return fe_error_set(err, FE_ERR_UNSUPPORTED, at,
                            "try/except or with is not supported in a compute region");
    if (code->has_cells)
        return fe_error_set(err, FE_ERR_UNSUPPORTED, at,
                            "a closure variable or nested function is not supported in a compute region");
    fe_status st = fe_decode(r->optable, code, &f->instrs, &f->ninstrs, err);
    if (st != FE_OK)
        return st;
    if (f->ninstrs == 0)
        return fe_error_set(err, FE_ERR_INTERNAL, at, "empty region");
    for (int i = 0; i < code->nlocals; i++) {
        int v = add_var(f, code->varnames[i], 0);
        if (v < 0)
            return fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
        if (i < code->nargs) {
            f->vars[v].is_param = 1;
            f->vars[v].param = i;
        }
    }
    st = find_blocks(f, err);
    if (st != FE_OK)
        return st;

    builder b = {.f = f, .err = err, .kwnames = -1};
    size_t cells = ((size_t)f->nblocks + 1) * MAX_EDGE_DEPTH;
    b.svar = malloc(cells * sizeof *b.svar);
    b.isnull = calloc(cells, 1);
    if (!b.svar || !b.isnull) {
        free(b.svar);
        free(b.isnull);
        return fe_error_set(err, FE_ERR_NOMEM, at, "out of memory");
    }
    for (size_t i = 0; i < cells; i++)
        b.svar[i] = -1;

    /* Blocks run once each, in an order where each block's entry depth is
     * known first: repeat forward sweeps until none is left. */
    f->blocks[0].entry_depth = 0;
    int progress = 1;
    while (progress && st == FE_OK) {
        progress = 0;
        for (int k = 0; k < f->nblocks && st == FE_OK; k++) {
            fe_block *blk = &f->blocks[k];
            if (blk->reachable || blk->entry_depth < 0)
                continue;
            blk->reachable = 1;
            progress = 1;
            st = build_block(&b, k);
        }
    }
    free(b.svar);
    free(b.isnull);
    return st;
}

void fe_func_free(fe_func *f)
{
    if (!f)
        return;
    for (int k = 0; k < f->nblocks; k++)
        free(f->blocks[k].nodes);
    free(f->blocks);
    free(f->block_of_instr);
    free(f->instrs);
    free(f->nodes);
    free(f->argpool);
    for (int i = 0; i < f->nvars; i++)
        if (f->vars[i].owned_name)
            free((char *)f->vars[i].name);
    free(f->vars);
    free(f->listout_elem);
    free(f->kset);
    free(f->vkset);
    if (f->owns_inst)
        fe_instances_free(f->inst);
    if (f->owns_types)
        fe_types_free(f->types);
    memset(f, 0, sizeof *f);
}
