/* ir.h - the frontend's intermediate form of a region.
 *
 * build.c turns bytecode into this by running the operand stack
 * symbolically: within a block, values are nodes (SSA); a local variable is
 * a fe_var read and written with LOADVAR/STOREVAR; a stack entry that lives
 * across a block boundary becomes a variable of its own.  infer.c gives
 * every node and variable a type; lower.c emits LLVM IR, with one alloca per
 * variable for LLVM to promote.
 */
#ifndef PYACC_FE_IR_H
#define PYACC_FE_IR_H

#include "bytecode.h"
#include "types.h"

typedef int32_t fe_val; /* a node index; FE_NOVAL when absent */
#define FE_NOVAL (-1)

typedef enum fe_irop {
    IR_CONST,       /* c */
    IR_NULL,        /* PUSH_NULL / the NULL of LOAD_GLOBAL: marks a plain call */
    IR_LOADVAR,     /* var; aux = FE_LOAD_CHECKED: may be unbound, raise if it
                       is; aux = FE_LOAD_OUT: a result, its flag says if bound */
    IR_STOREVAR,    /* var := a0 */
    IR_GLOBAL,      /* name: a global read (resolved through code->globals) */
    IR_ATTR,        /* a0.name; sub = 1 when loaded as a method */
    IR_BINOP,       /* a0 op a1; sub = BINARY_OP argument (NB_*) */
    IR_UNOP,        /* sub = FE_UN_* */
    IR_CMP,         /* a0 cmp a1; sub = FE_CMP_* */
    IR_TRUTH,       /* bool(a0), for branches */
    IR_SUBSCR,      /* a0[a1] */
    IR_STORE_SUBSCR,/* a0[a1] := a2 */
    IR_TUPLE,       /* (args...) */
    IR_ITEM,        /* a0[sub] of a tuple of aux items (UNPACK_SEQUENCE) */
    IR_CALL,        /* a0(args[1..]) */
    IR_GETITER,     /* iter(a0) */
    IR_ITERNEXT,    /* first node of a loop body: the next element of iterator
                       variable `var`, advancing it */
    /* terminators: the last node of each block */
    IR_FORITER,     /* iterator variable `var` has more? succ[0] body : succ[1] exit */
    IR_BR,          /* goto succ[0] */
    IR_CBR,         /* a0 (a TRUTH) ? succ[0] : succ[1] */
    IR_RET          /* return a0 */
} fe_irop;

enum { FE_UN_NEG, FE_UN_POS, FE_UN_NOT, FE_UN_INVERT };
enum { FE_LOAD_PLAIN, FE_LOAD_CHECKED, FE_LOAD_OUT };
enum { FE_CMP_LT, FE_CMP_LE, FE_CMP_EQ, FE_CMP_NE, FE_CMP_GT, FE_CMP_GE, FE_CMP_IS, FE_CMP_ISNOT };

/* BINARY_OP arguments (CPython's NB_* numbering, stable in 3.11 and 3.12). */
enum {
    FE_NB_ADD, FE_NB_AND, FE_NB_FLOOR_DIVIDE, FE_NB_LSHIFT, FE_NB_MATRIX_MULTIPLY,
    FE_NB_MULTIPLY, FE_NB_REMAINDER, FE_NB_OR, FE_NB_POWER, FE_NB_RSHIFT,
    FE_NB_SUBTRACT, FE_NB_TRUE_DIVIDE, FE_NB_XOR, FE_NB_INPLACE_ADD
    /* the in-place forms are FE_NB_INPLACE_ADD + (op - FE_NB_ADD) */
};

typedef struct fe_node {
    uint8_t op;      /* fe_irop */
    int16_t sub;
    int32_t block;
    int32_t var;     /* LOADVAR/STOREVAR/ITERNEXT/FORITER; name index for GLOBAL/ATTR */
    int32_t nargs;
    int32_t args;    /* first of nargs entries in fe_func.argpool */
    int32_t aux;
    fe_const c;      /* IR_CONST */
    fe_loc loc;
    const fe_type *type;
} fe_node;

typedef struct fe_var {
    const char *name;   /* the local's name, or "$stackN" */
    int is_param;
    int param;          /* parameter index when is_param */
    int is_stack;
    const fe_type *type;
    fe_loc first_store; /* for messages */
    int flag;           /* the bool variable saying whether it is bound, or -1 */
    int tag;            /* the int8 variable saying which kind it holds, or -1 */
    int owned_name;     /* name is malloc'd (flag and tag variables) */
} fe_var;

/* The number types a region's values may have at run time (kinds.c). */
#define FE_MAX_KINDS 16

typedef struct fe_block {
    int32_t first_instr;  /* bytecode range [first_instr, end_instr) */
    int32_t end_instr;
    int32_t *nodes;       /* node indices in order; the last is the terminator */
    int32_t nnodes, capnodes;
    int32_t succ[2];      /* -1 when absent */
    int32_t entry_depth;  /* operand stack depth on entry, -1 until reached */
    int32_t iter_body_of; /* >= 0: this block is the body of the FORITER in that block */
    int reachable;
} fe_block;

struct fe_func;

/* A Python function a region calls, compiled for one list of argument
 * types (and inlined by LLVM where it is called). */
typedef struct fe_instance {
    fe_region region;          /* the callee seen as a region (no loops, no results) */
    const fe_type *args[16];
    int nargs;
    struct fe_func *func;      /* built and typed */
    int busy;                  /* being typed: a call back into it is recursion */
    void *llvm_fn;             /* LLVMValueRef once lowered */
} fe_instance;

typedef struct fe_instances {
    fe_instance **v;
    int n, cap;
} fe_instances;

typedef struct fe_func {
    const fe_region *region;
    const fe_code *code;
    fe_instr *instrs;
    int ninstrs;
    fe_block *blocks;
    int nblocks;
    int32_t *block_of_instr; /* instr index -> block that starts there, or -1 */
    fe_node *nodes;
    int nnodes, capnodes;
    int32_t *argpool;
    int nargpool, capargpool;
    fe_var *vars;
    int nvars, capvars;
    fe_types *types;
    int owns_types;               /* a callee shares its caller's types */
    const fe_type **listout_elem; /* per parameter: the type appended, or NULL */
    /* a called function (fe_instance) rather than a region */
    int is_routine;
    const fe_type *const *param_types;
    const fe_type *ret_type;      /* the unification of what it returns */
    fe_instances *inst;           /* shared by a region and all it calls */
    /* kinds.c: the types values may have at run time, where one static
     * type does not say (bit k of a set: kinds[k]) */
    const fe_type *kinds[FE_MAX_KINDS];
    int nkinds;
    uint16_t *kset;               /* per node; 0: just its static type */
    uint16_t *vkset;              /* per variable */
    int owns_inst;
    int depth;                    /* calls between the region and this function */
} fe_func;

/* build.c: decodes and builds the blocks, nodes and variables of r's code
 * into *f (zeroed by the caller; released with fe_func_free). */
fe_status fe_build(const fe_region *r, fe_func *f, fe_error *err);
void fe_func_free(fe_func *f);

/* unbound.c: gives each variable that may be read before it is assigned a
 * flag variable ("$bound_x") set where it is assigned, and marks the reads
 * that must test it (FE_LOAD_CHECKED) and the results that report it
 * (FE_LOAD_OUT).  Runs after fe_build, before fe_infer. */
fe_status fe_track_unbound(fe_func *f, fe_error *err);

/* infer.c: the instance of callee `code` for these argument types, built
 * and typed on first use; NULL with *err set when it cannot be. */
fe_instance *fe_instantiate(fe_func *caller, const fe_code *code, int nargs, const fe_type *const *args,
                            fe_loc at, fe_error *err);
void fe_instances_free(fe_instances *in);

/* infer.c: binds the arguments of call n (from arg index `first` on, the
 * last ones named by n->c, a tuple of names) to the parameters of `code`:
 * slot[i] is the index of the node argument for parameter i, or -1 - k for
 * the k-th default.  Returns 0, or -1 with Python's TypeError message. */
int fe_bind_args(const fe_func *f, const fe_node *n, int first, const fe_code *code, int *slot, char *why,
                 size_t whylen);

/* kinds.c: finds the kinds of values and gives tag variables to those
 * variables that may hold more than one (after fe_infer). */
fe_status fe_infer_kinds(fe_func *f, fe_error *err);
int fe_kind_of_type(fe_func *f, const fe_type *t);

/* infer.c: the result type of an operator on two numbers (NULL when it
 * does not apply), and of a unary operator. */
const fe_type *fe_binop_result(fe_types *ts, int op, const fe_type *a, const fe_type *b);
const fe_type *fe_unop_result(fe_types *ts, int sub, const fe_type *a);

/* infer.c: types every node and variable, or reports where it cannot. */
fe_status fe_infer(fe_func *f, fe_error *err);

/* infer.c: sets written[p] for each array parameter p the region stores
 * into (through views too), for the dispatcher's read-only check. */
void fe_mark_written(fe_func *f, uint8_t *written);

/* infer.c: math.pi, numpy.inf, ...: 1 and *value when name is one. */
int fe_module_constant(const char *name, double *value);

/* The int constant pyacc.name (acc_device_*, _OPENACC): 1 and *value, or 0. */
int fe_pyacc_constant(const char *name, int64_t *value);

/* Node accessors. */
static inline fe_node *fe_node_at(fe_func *f, fe_val v) { return &f->nodes[v]; }
static inline fe_val fe_arg(const fe_func *f, const fe_node *n, int i)
{
    return f->argpool[n->args + i];
}

#endif
