/* lower.h - state shared by the two halves of the LLVM lowering:
 * lower.c (functions, control flow, variables, parallel outlining) and
 * lower_expr.c (values: arithmetic, conversions, calls, arrays, iterators).
 */
#ifndef PYACC_FE_LOWER_H
#define PYACC_FE_LOWER_H

#include "loops.h"

#include <llvm-c/Core.h>

/* One LLVM function being generated: the region's entry, or the outlined
 * body of a parallel loop. */
/* Loops of one collapse(n) nest beyond the outermost. */
#define FE_MAX_COLLAPSE 7

enum { FE_LANES_BLOCK = 1, FE_LANES_ROW = 2 }; /* lower.lane_of_loop */

typedef struct lfn {
    LLVMValueRef fn;
    LLVMBasicBlockRef entry;  /* allocas only */
    LLVMBasicBlockRef *bb;    /* per IR block, made on first use */
    LLVMValueRef *slot;       /* per variable: its alloca, made on first use */
    const fe_type **held;     /* per variable: the narrower type its slot holds it in (a
                                 reduction's private copy, fe_red_private_type), or NULL */
    LLVMValueRef err;         /* rt_error * */
    LLVMBasicBlockRef fail;   /* where an error recorded in *err leaves */
    int par_loop;             /* the loop outlined into this function, or -1 */
    LLVMValueRef k;           /* body: alloca of the current iteration index */
    LLVMValueRef *strip_end;  /* per loop: alloca of where its current strip of iterations ends (fe_poll) */
    LLVMBasicBlockRef *strip_head; /* per loop: where a strip starts, polling (the loop's entry) */
    LLVMBasicBlockRef *lane_head;  /* per loop: where a lane loop is entered (fe_lower_lanes) */
    LLVMBasicBlockRef latch;  /* body: the back edge's target */
    LLVMValueRef *own_copy;   /* body: per variable whose atomic updates go to the thread's own copy
                                 of the array when it has one (an i1: whether it has), or NULL */
    /* body of a collapse(n) nest run as one iteration space (parallel.c):
     * the inner loops' iterators, and per level the piece's first and last
     * multi-index and whether the loops outside it are at those */
    int ncol;
    int col_var[FE_MAX_COLLAPSE];
    LLVMValueRef col_lo[FE_MAX_COLLAPSE + 1], col_hi[FE_MAX_COLLAPSE + 1];
    LLVMValueRef col_first[FE_MAX_COLLAPSE + 1], col_last[FE_MAX_COLLAPSE + 1];
    /* body: checks recorded as flags and reported once the piece is done
     * (fe_check_deferred), so that loops making them stay vectorisable */
    int ndeferred;
    struct fe_deferred {
        LLVMValueRef flag; /* alloca i1, false at the piece's start */
        int kind, file;
        fe_loc loc;
        LLVMValueRef info0, info1; /* constants */
    } deferred[16];
} lfn;

typedef struct lower {
    fe_func *f;
    const fe_region *r;
    fe_error *err;
    fe_loops loops;
    LLVMContextRef C;
    LLVMModuleRef M;
    LLVMBuilderRef B;
    LLVMTypeRef i1, i8, i16, i32, i64, f32, f64, ptr, voidt, errty;
    LLVMValueRef *val;        /* per node, in the function that computed it */
    LLVMValueRef *kindval;    /* per node of several kinds: its kind (i8), computed with it */
    lfn *fn;
    /* per fact (FE_FACT_*) and variable: every value it holds has the fact;
     * fact_iter: every value the iterator it holds yields has it */
    uint8_t *fact[2];
    uint8_t *fact_iter[2];
    int64_t *lower_bound;     /* per variable: no value it holds is below this
                                 (INT64_MIN: unknown); range indices with a
                                 constant start, so that a[i - 1] needs no
                                 negative-index wraparound */
    int *listout_loop;        /* per parameter: the loop whose iterations append, or -1 */
    int *par_of_loop;         /* per loop: outlined as a parallel loop */
    int *lane_of_loop;        /* per loop: FE_LANES_BLOCK inside a parallel loop's body, outlined
                                 too, so that a GPU spreads its iterations over a block's threads
                                 (fe_lower_lanes); FE_LANES_ROW inside a worker lane loop's body,
                                 over the threads of the worker's row */
    LLVMValueRef *listout_desc; /* per parameter: entry-function load of its desc pointer */
    int nbody;                /* outlined bodies so far, for unique names */
    char *notes;              /* what PYACC_DEBUG prints: which loops run in parallel */
    /* atomic.c: per node, its part in an atomic statement; per directive,
     * what its lowering found */
    uint8_t *atomic_role;
    int16_t *atomic_of;
    struct fe_atomic_state *atomic;
    uint8_t *atomic_var;      /* per variable: a scalar updated atomically */
    fe_val *ared_read;        /* per node: an array reduction's update (a store) that a GPU makes
                                 atomic, its read of the element; else FE_NOVAL (NULL: none) */
    uint8_t *ared_op;         /* per node: that update's operator (fe_red_op) */
    int file;                 /* 0 in the region, 1 + instance index in a callee */
    int nparallel;
    int host_elements;        /* an element accessed outside the parallel loops */
    int in_body;              /* a called function lowered for a parallel loop's body */
    /* alias.c: per variable, for an array parameter owning its bytes, the
     * !alias.scope and !noalias lists of its element accesses (else NULL) */
    LLVMMetadataRef *alias_scope;
    LLVMMetadataRef *alias_others;
    int unpolled;             /* lowering a parallel loop's unpolled body (unpolled.c): its
                                 second lowering, for which fe_note says nothing again */
} lower;

enum { FE_FACT_NONNEG, FE_FACT_SMALL, FE_NFACTS };

/* How many run-time kinds value v may have (kinds.c): 2 or more needs a
 * kind computed beside it. */
static inline int fe_kinds_in(const fe_func *f, fe_val v) { return f->kset ? __builtin_popcount(f->kset[v]) : 0; }

/* alias.c: scoped noalias metadata for array arguments that share no
 * memory with another (see there) */
fe_status fe_alias_init(lower *lw);
void fe_alias_free(lower *lw);
/* Tags load or store `access` of an element of the array node `array`. */
void fe_alias_tag(lower *lw, fe_val array, LLVMValueRef access);

/* unpolled.c: a parallel loop's second body, for short iterations (see there) */
int fe_unpolled_wanted(lower *lw, int li);
/* In the entry: a bound on an iteration's inner work (INT64_MAX: too big). */
LLVMValueRef fe_unpolled_work(lower *lw, int li);
/* Whether loop li, lowered in an unpolled body, asks for unroll-and-jam. */
int fe_unpolled_jam(lower *lw, int li);
void fe_unpolled_mark_jam(lower *lw, LLVMValueRef back_edge);

/* The node an element or view access a[i][j]... starts from: a, past the
 * subscripts (a view is inside its array's bytes). */
static inline const fe_node *fe_subscr_root(const fe_func *f, fe_val v)
{
    const fe_node *n = &f->nodes[v];
    while (n->op == IR_SUBSCR)
        n = &f->nodes[fe_arg(f, n, 0)];
    return n;
}

/* lower_expr.c */
LLVMTypeRef fe_lty(lower *lw, const fe_type *t);
LLVMTypeRef fe_mem_lty(lower *lw, fe_dtype d);
LLVMValueRef fe_lower_node(lower *lw, fe_node *n);
/* a0[a1] := a2 as a plain store (IR_STORE_SUBSCR). */
LLVMValueRef fe_lower_store_subscr(lower *lw, fe_node *n);
/* A call of pyacc.on_gpu: false in the module as made, true once a GPU
 * target gives the function its own body (jit/gpu.c), so that code for
 * either folds away in the other's. */
LLVMValueRef fe_on_gpu(lower *lw);
/* The address of a[idx...] for array (or list) value a of type at; *nidx
 * gets the number of indices. */
LLVMValueRef fe_element_ptr(lower *lw, const fe_type *at, LLVMValueRef a, fe_val idxnode, int *nidx,
                            fe_loc loc);
/* The kind (an index into f->kinds, as i8) of node v's value: computed
 * when v was lowered, or a constant when v has one kind. */
LLVMValueRef fe_kind_value(lower *lw, fe_val v);
/* Computes and caches the kind of node v, just lowered. */
void fe_lower_kind(lower *lw, fe_val v);
LLVMValueRef fe_convert(lower *lw, LLVMValueRef v, const fe_type *from, const fe_type *to);
/* An operand as an operation sees it: its type and its value. */
typedef struct fe_opnd {
    const fe_type *t;
    LLVMValueRef v;
} fe_opnd;
/* lower_expr.c: unary or binary operation n on operands of the types
 * given (a node's own, or one kind each of nodes of several kinds), its
 * result in type tr. */
LLVMValueRef fe_binop_typed(lower *lw, fe_node *n, fe_opnd x, fe_opnd y, const fe_type *tr);
LLVMValueRef fe_unop_typed(lower *lw, fe_node *n, fe_opnd x, const fe_type *tr);
/* lower_kinds.c: operation n (IR_BINOP or IR_UNOP) when an operand has
 * several kinds: each pair of kinds computed as Python and NumPy compute
 * it, chosen by the kinds at run time, the result in n's type; NULL when
 * every operand has one kind (or on an error, in lw->err). */
LLVMValueRef fe_kind_dispatch(lower *lw, fe_node *n);
LLVMValueRef fe_truth(lower *lw, LLVMValueRef v, const fe_type *t);
LLVMValueRef fe_iter_more(lower *lw, LLVMValueRef it, const fe_type *t);
LLVMValueRef fe_iter_count(lower *lw, LLVMValueRef it, const fe_type *t);
LLVMValueRef fe_iter_elem(lower *lw, LLVMValueRef it, const fe_type *t, LLVMValueRef k,
                          const fe_type *elem);
void fe_compute_nonneg(lower *lw);

/* lower_expr.c, shared with lower_call.c: node n's argument i's type, value,
 * and value converted to type t; an aggregate's field i (of field i's j);
 * a store of v into an array element of dtype dt at p (array: the node of
 * the array it belongs to, for its alias scope, or FE_NOVAL); a range's
 * trip count; a constant's value in type t. */
const fe_type *fe_arg_type(lower *lw, const fe_node *n, int i);
LLVMValueRef fe_arg_val(lower *lw, const fe_node *n, int i);
LLVMValueRef fe_arg_as(lower *lw, const fe_node *n, int i, const fe_type *t);
LLVMValueRef fe_extract(lower *lw, LLVMValueRef agg, unsigned i);
LLVMValueRef fe_extract2(lower *lw, LLVMValueRef agg, unsigned i, unsigned j);
void fe_store_elem(lower *lw, fe_dtype dt, LLVMValueRef p, LLVMValueRef v, fe_val array);
LLVMValueRef fe_range_count(lower *lw, LLVMValueRef start, LLVMValueRef stop, LLVMValueRef step);
LLVMValueRef fe_const_val(lower *lw, const fe_const *c, const fe_type *t);
/* lower_call.c: call node n (IR_CALL). */
LLVMValueRef fe_lower_call(lower *lw, fe_node *n);

/* lower.c: variable var's alloca in the current function (of the type
 * its slot holds it in); its value in its own type, and a value of its own
 * type stored, converted where the slot holds it narrower. */
LLVMValueRef fe_var_slot(lower *lw, int var);
LLVMValueRef fe_var_load(lower *lw, int var);
void fe_var_store(lower *lw, int var, LLVMValueRef v);
LLVMValueRef fe_node_val(lower *lw, fe_val v);
/* Branches to a new block that records the error and leaves the function
 * when `failed` is true; the builder continues on the other side. */
/* As fe_check, for a failure that leaves a harmless value behind (a math
 * domain error's NaN): in a parallel loop's body it only sets a flag, and
 * the error is recorded when the piece ends (fe_report_deferred), so the
 * loop has no early exit and vectorises.  A parallel loop promises no order
 * among its iterations, so which of several failing ones is reported and
 * how far the others got may differ from the interpreter's; that an error
 * is raised does not.  Elsewhere it is fe_check. */
void fe_check_deferred(lower *lw, LLVMValueRef failed, int kind, fe_loc loc, LLVMValueRef info0,
                       LLVMValueRef info1);

/* Records the first deferred check that failed in this piece, if any. */
void fe_report_deferred(lower *lw);

void fe_check(lower *lw, LLVMValueRef failed, int kind, fe_loc loc, LLVMValueRef info0,
              LLVMValueRef info1);
/* A Ctrl-C check: records RT_ERR_INTERRUPT at loc and leaves the function
 * when a SIGINT has arrived since the region started (runtime/interrupt.c;
 * the entry notes the count in the error record, which every function has).
 * Made where a long run passes often but not in a vectorisable loop's every
 * iteration: back edges of loops holding loops and of while loops, and
 * between strips of a parallel loop's iterations.  Folds away on a GPU. */
void fe_poll(lower *lw, fe_loc loc);
/* Iterations between two polls of a loop run in strips. */
#define FE_POLL_STRIP ((int64_t)1 << 16)
/* Where a strip starting at iteration k of a loop ending at `end` ends:
 * FE_POLL_STRIP on, or the end (on a GPU, which has no polls, always). */
LLVMValueRef fe_strip_end(lower *lw, LLVMValueRef k, LLVMValueRef end);
/* In the entry's first block, when the region polls: notes the count. */
void fe_poll_start(lower *lw, LLVMBuilderRef b);
LLVMValueRef fe_const_i64(lower *lw, int64_t v);
LLVMValueRef fe_intrinsic(lower *lw, const char *name, LLVMTypeRef overload, LLVMValueRef *args,
                          int nargs);
LLVMValueRef fe_iteration_index(lower *lw, int loop);
LLVMBasicBlockRef fe_bb_of(lower *lw, int block);
fe_status fe_lower_blocks(lower *lw);
lfn *fe_lfn_new(lower *lw, LLVMValueRef fnv, int par_loop);
void fe_lfn_free(lfn *fn);
void fe_add_fn_attr(lower *lw, LLVMValueRef fn, unsigned idx, const char *name);
const fe_node *fe_terminator(lower *lw, int block);
int fe_in_body(const fe_loop *lp, int block);

/* atomic.c */
enum { FE_AR_NONE, FE_AR_UPDATE, FE_AR_WRITE, FE_AR_READ, FE_AR_CAPTURE_READ, FE_AR_DEFERRED };
fe_status fe_plan_atomics(lower *lw);
/* Whether every use of array variable var in loop lp's body is an update
 * of one of its elements by reduction op (a[i] op= e, a[i] = a[i] op e,
 * a[i] = max(a[i], e), a[i] = a[i] and e for a bool array under &&, ...),
 * which a GPU then does atomically on the array itself; marks those
 * updates (lw->ared_read, lw->ared_op).  0 when some use is not (*bad: its
 * place): then iterations in parallel cannot give Python's answer; -1 out
 * of memory. */
int fe_plan_ared_updates(lower *lw, const fe_loop *lp, int var, fe_red_op op, fe_loc *bad);
/* The operator by which `atomic update`s change array variable var's
 * elements in loop lp's body, when those are its only uses there (one
 * operator for all, no capture): then a host's threads may each update a
 * private copy, combined after the loop.  FE_RED_NONE otherwise. */
fe_red_op fe_atomic_updates_only(lower *lw, const fe_loop *lp, int var);
/* The most elements such an array's copies may have together (8 MB of
 * doubles); past it the threads update the array itself. */
#define FE_ATOMIC_COPY_MAX ((int64_t)1 << 20)
/* An update fe_plan_ared_updates marked: atomic where pyacc.on_gpu holds,
 * a plain store (into the thread's private copy) elsewhere. */
LLVMValueRef fe_lower_ared_update(lower *lw, fe_node *n);
void fe_atomics_free(lower *lw);
/* Lowers node n, which has an atomic role; NULL with lw->err set on error. */
LLVMValueRef fe_lower_atomic(lower *lw, fe_node *n);

/* lower.c: appends a line to the notes PYACC_DEBUG prints and f.notes()
 * returns (which loops run in parallel, and why). */
void fe_note(lower *lw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* facts.c: whether value v has fact (FE_FACT_NONNEG, FE_FACT_SMALL) for
 * sure; the first after fe_compute_nonneg has run. */
int fe_node_fact(lower *lw, fe_val v, int fact);
/* The range(...) call iterator variable var is made from: its one
 * reachable store, iter() of a call of the builtin range; else FE_NOVAL. */
fe_val fe_range_of(lower *lw, int var);
int fe_node_nonneg(lower *lw, fe_val v);

/* depend.c: whether variable var is assigned in loop lp's body. */
int fe_written_in(const fe_func *f, const fe_loop *lp, int var);

/* depend.c: whether loop li's iterations are independent; if not, why. */
int fe_loop_independent(lower *lw, int li, char *why, size_t whylen);

/* collapse.c: the loops collapse(n) on loop li takes beside it (chain[],
 * outermost first), counted; 0 when the nest does not qualify.  In the
 * entry: the inner loops' trip counts and the whole space's (*total comes in
 * as the outer loop's).  A flat index as the nest's multi-index, idx[0]
 * outermost.  The iterator value v about to be stored into variable var,
 * narrowed to the piece when var is a collapsed inner loop's iterator. */
int fe_collapse_chain(lower *lw, int li, int *chain);
void fe_collapse_counts(lower *lw, const int *col_loop, int ncol, LLVMValueRef *counts, LLVMValueRef *total,
                        LLVMValueRef *start);
void fe_unflatten(lower *lw, LLVMValueRef *flat, const LLVMValueRef *counts, const LLVMValueRef *magic, int ncol,
                  LLVMValueRef idx[2][FE_MAX_COLLAPSE + 1]);
/* For dividing the flat indices of a space of `total` points by `count`:
 * a magic number that turns the division into a multiplication and shifts
 * (fe_unflatten), made once before the loop; 0 where it cannot (a space of
 * 2^32 points or more). */
LLVMValueRef fe_divide_magic(lower *lw, LLVMValueRef count, LLVMValueRef total);
LLVMValueRef fe_collapse_iterator(lower *lw, int var, LLVMValueRef v);

/* align.c: a GPU loop's space laid out so that warps start at aligned
 * index values (see there).  The values the entry computes (ctx fields in
 * this order; a plain loop has the first two), and the body's view of them. */
#define FE_ALIGN_WARP 32
enum { FE_ALIGN_SPACE, FE_ALIGN_PAD, FE_ALIGN_ROW, FE_ALIGN_MAGIC, FE_ALIGN_FIELDS };
typedef struct fe_align {
    LLVMValueRef on;  /* i1: the body walks the padded space */
    LLVMValueRef pad, row, magic;
} fe_align;
int fe_align_wanted(lower *lw, int li, int var);
void fe_align_space(lower *lw, LLVMValueRef lb, LLVMValueRef inner, LLVMValueRef n, LLVMValueRef *out);
LLVMValueRef fe_align_on(lower *lw, LLVMValueRef walked, LLVMValueRef space);
void fe_align_plain(lower *lw, const fe_align *a, LLVMValueRef *b, LLVMValueRef *e);
void fe_align_unflatten(lower *lw, const fe_align *a, LLVMValueRef *ends, const LLVMValueRef *counts,
                        const LLVMValueRef *magic, int ncol, LLVMValueRef idx[2][FE_MAX_COLLAPSE + 1]);

/* parallel.c: the step of the range variable var walks, when it is a
 * constant (range with one or two arguments, or a literal step): 1 and
 * *step, else 0. */
int fe_const_range_step(lower *lw, int var, int64_t *step);

/* reduce.c: reduction operators.  Whether op applies to numbers of type
 * t; for && and || on a variable that is not a bool (its array's elements
 * for an array), FE_ERR_UNSUPPORTED at `at` (Python's and/or give an
 * operand, which no parallel order reproduces), else FE_OK; op's identity
 * in type t (-0.0 for a float sum, which leaves every x as it is); a op b
 * in type t (max and min as Python's, the first of equals); the update
 * statement of array a that op takes, into buf, for messages. */
int fe_red_fits(fe_red_op op, const fe_type *t);
fe_status fe_red_logic_of_bools(lower *lw, fe_red_op op, const fe_var *var, fe_loc at);
LLVMValueRef fe_red_identity(lower *lw, fe_red_op op, const fe_type *t);
/* In body function fn, the floating-point additions (op +) or
 * multiplications (op *) that update the reduction variable held in slot
 * (of type t) may be reassociated: the order of a floating-point
 * reduction's terms is the one exception to the plain function's results
 * the semantics make (chunks already add partial sums in their own order),
 * and without it the loop is one chain of dependent operations, which the
 * vectoriser leaves scalar: 4 cycles an element, not memory's pace. */
void fe_red_reassociate(LLVMValueRef fn, LLVMValueRef slot, fe_red_op op, const fe_type *t);
/* The one kind every update of reduction variable v in parallel loop li's
 * body stores (an index into f->kinds), or -1; the narrower type in which
 * the body holds its private copy of v (reduced by op, its updates' one
 * kind `kind` or -1), or NULL. */
int fe_red_update_kind(lower *lw, int li, int v);
const fe_type *fe_red_private_type(lower *lw, int v, fe_red_op op, int kind);
LLVMValueRef fe_red_combine(lower *lw, fe_red_op op, const fe_type *t, LLVMValueRef a, LLVMValueRef b);
const char *fe_red_update_form(fe_red_op op, const char *a, char *buf, size_t n);

/* parallel.c: lowers parallel loop li at its header, in the entry: the body
 * outlined into a function the pool runs, variables handed over by role,
 * reductions combined after. */
fe_status fe_lower_parallel(lower *lw, int li);
/* lanes.c: lane loop li, entered at block head in a parallel loop's
 * body: on a GPU (pyacc.on_gpu) its body is outlined like a parallel
 * loop's and run by the marker `pyacc.lane_loop(body, ctx, n, kinds)`,
 * which jit/gpu_lanes.c spreads over the threads of the gang's block (a
 * row loop, FE_LANES_ROW: `pyacc.row_loop`, over the threads of the
 * worker's row); elsewhere,
 * and where its variables cannot be handed over so, it branches to
 * `host`, the loop as any sequential loop; `out` is where the loop exits. */
fe_status fe_lower_lanes(lower *lw, int li, LLVMBasicBlockRef head, LLVMBasicBlockRef host, LLVMBasicBlockRef out);
LLVMValueRef fe_entry_alloca(lower *lw, LLVMTypeRef t, const char *name);
/* The LLVM function of a called Python function's instance:
 * i32 (ptr err, ptr ret, params...), made on first use; NULL on error. */
LLVMValueRef fe_routine_fn(lower *lw, fe_instance *x, LLVMTypeRef *fty);

#endif
