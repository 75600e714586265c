/* fe.h - the public interface of pyacc's frontend.
 *
 * The frontend knows OpenACC pragmas and CPython bytecode, and nothing of
 * LLVM targets or of PyObject: the extension hands it plain C descriptions,
 * so Criterion tests and fuzzers drive it directly.  Everything here carries
 * the prefix fe_.  Errors are values (fe_error) holding a source location;
 * nothing in this folder prints or exits.
 */
#ifndef PYACC_FE_H
#define PYACC_FE_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ errors */

typedef enum fe_status {
    FE_OK = 0,
    FE_ERR_SYNTAX,      /* malformed pragma: a SyntaxError at the boundary */
    FE_ERR_UNSUPPORTED, /* valid Python outside the compiled subset: fall back */
    FE_ERR_TYPE,        /* a type error the user must fix (reported, not run) */
    FE_ERR_INTERNAL,    /* a bug in pyacc: reported with its location */
    FE_ERR_NOMEM
} fe_status;

/* A position in the user's file: line is 1-based, col is 0-based (as in
 * Python's ast and SyntaxError.offset - 1); end_col < 0 when unknown. */
typedef struct fe_loc {
    int line;
    int col;
    int end_col;
} fe_loc;

typedef struct fe_error {
    fe_status status;
    fe_loc loc;
    char file[256];   /* "": the region's own file; else a called function's */
    char msg[512];
} fe_error;

/* Fills err and returns its status; msg is printf-formatted. */
fe_status fe_error_set(fe_error *err, fe_status st, fe_loc loc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* ----------------------------------------------------------------- pragmas
 *
 * A pragma arrives as one or more comment lines (a trailing backslash
 * continues it on the next comment line).  Each line is the comment's text
 * from its '#' on, with the position of that '#' in the file.  The parser
 * joins them, reads the directive and its clauses, and records for every
 * expression only its text span: the Python side compiles those spans in
 * the function's own scope, so clause arguments mean what Python means.
 * The grammar is written beside the code in frontend/pragma.c.
 */

typedef struct fe_src_line {
    const char *text; /* the comment, starting at '#'; not NUL-terminated */
    size_t len;
    int line; /* 1-based line of the '#' */
    int col;  /* 0-based column of the '#' */
} fe_src_line;

typedef enum fe_dir_kind {
    FE_DIR_PARALLEL,
    FE_DIR_KERNELS,
    FE_DIR_SERIAL,
    FE_DIR_PARALLEL_LOOP,
    FE_DIR_KERNELS_LOOP,
    FE_DIR_SERIAL_LOOP,
    FE_DIR_LOOP,
    FE_DIR_DATA,
    FE_DIR_ENTER_DATA,
    FE_DIR_EXIT_DATA,
    FE_DIR_HOST_DATA,
    FE_DIR_UPDATE,
    FE_DIR_DECLARE,
    FE_DIR_ATOMIC,
    FE_DIR_ROUTINE,
    FE_DIR_WAIT,
    FE_DIR_CACHE,
    FE_DIR_INIT,
    FE_DIR_SHUTDOWN,
    FE_DIR_SET,
    FE_DIR_END, /* `end X`: fe_directive.end_of says which X */
    FE_DIR_COUNT_
} fe_dir_kind;

typedef enum fe_atomic_kind {
    FE_ATOMIC_NONE,
    FE_ATOMIC_READ,
    FE_ATOMIC_WRITE,
    FE_ATOMIC_UPDATE,
    FE_ATOMIC_CAPTURE
} fe_atomic_kind;

typedef enum fe_clause_kind {
    /* compute */
    FE_CL_IF,
    FE_CL_SELF, /* condition on compute constructs, var list on update */
    FE_CL_ASYNC,
    FE_CL_WAIT,
    FE_CL_NUM_GANGS,
    FE_CL_NUM_WORKERS,
    FE_CL_VECTOR_LENGTH,
    FE_CL_DEVICE_TYPE,
    FE_CL_DEFAULT,
    FE_CL_PRIVATE,
    FE_CL_FIRSTPRIVATE,
    FE_CL_REDUCTION,
    /* data */
    FE_CL_COPY,
    FE_CL_COPYIN,
    FE_CL_COPYOUT,
    FE_CL_CREATE,
    FE_CL_NO_CREATE,
    FE_CL_PRESENT,
    FE_CL_DEVICEPTR,
    FE_CL_ATTACH,
    FE_CL_DETACH,
    FE_CL_DELETE,
    FE_CL_FINALIZE,
    FE_CL_USE_DEVICE,
    FE_CL_IF_PRESENT,
    FE_CL_HOST,   /* update host(list) */
    FE_CL_DEVICE, /* update device(list) */
    FE_CL_DEVICE_RESIDENT,
    FE_CL_LINK,
    /* loop */
    FE_CL_COLLAPSE,
    FE_CL_GANG,
    FE_CL_WORKER,
    FE_CL_VECTOR,
    FE_CL_SEQ,
    FE_CL_AUTO,
    FE_CL_INDEPENDENT,
    FE_CL_TILE,
    /* routine */
    FE_CL_BIND,
    FE_CL_NOHOST,
    /* set / init / shutdown */
    FE_CL_DEVICE_NUM,
    FE_CL_DEFAULT_ASYNC,
    FE_CL_COUNT_
} fe_clause_kind;

/* Reduction operators, in the C spelling users write. */
typedef enum fe_red_op {
    FE_RED_NONE,
    FE_RED_ADD, /* +  */
    FE_RED_MUL, /* *  */
    FE_RED_MAX, /* max */
    FE_RED_MIN, /* min */
    FE_RED_BITAND, /* &  */
    FE_RED_BITOR,  /* |  */
    FE_RED_BITXOR, /* ^  */
    FE_RED_AND,    /* && */
    FE_RED_OR      /* || */
} fe_red_op;

/* A span of the joined pragma text (fe_directive.text) with the position of
 * its first character in the user's file. */
typedef struct fe_span {
    uint32_t off;
    uint32_t len;
    fe_loc loc;
} fe_span;

/* One dimension of an array section `a[lo:hi]` (Python slice meaning).  An
 * omitted bound has len == 0.  A plain index `a[i]` has is_index set and its
 * expression in lo. */
typedef struct fe_section_dim {
    fe_span lo;
    fe_span hi;
    int is_index;
} fe_section_dim;

typedef enum fe_item_kind {
    FE_ITEM_EXPR, /* an expression: expr */
    FE_ITEM_VAR,  /* a variable, maybe with a section: name, dims */
    FE_ITEM_STAR  /* `*` in tile, device_type, gang(static:*) */
} fe_item_kind;

/* Keyword prefixes of gang/worker/vector/collapse arguments. */
typedef enum fe_item_key {
    FE_KEY_NONE,
    FE_KEY_NUM,    /* gang(num:), worker(num:) */
    FE_KEY_STATIC, /* gang(static:) */
    FE_KEY_DIM,    /* gang(dim:) (3.3) */
    FE_KEY_LENGTH, /* vector(length:) */
    FE_KEY_FORCE,  /* collapse(force:) (3.3) */
    FE_KEY_DEVNUM  /* wait(devnum:) (3.0) */
} fe_item_key;

#define FE_MAX_DIMS 8

typedef struct fe_item {
    fe_item_kind kind;
    fe_item_key key;
    fe_span expr;  /* FE_ITEM_EXPR: the expression */
    fe_span name;  /* FE_ITEM_VAR: the variable name */
    int ndims;     /* FE_ITEM_VAR: 0 for a bare name */
    fe_section_dim dims[FE_MAX_DIMS];
} fe_item;

/* Clause modifiers. */
enum {
    FE_MOD_READONLY = 1 << 0, /* copyin(readonly: ...) */
    FE_MOD_ZERO = 1 << 1,     /* create(zero: ...), copyout(zero: ...) (3.0) */
    FE_MOD_QUEUES = 1 << 2    /* wait(queues: ...) */
};

typedef enum fe_default_kind {
    FE_DEFAULT_NONE_GIVEN,
    FE_DEFAULT_NONE,
    FE_DEFAULT_PRESENT
} fe_default_kind;

typedef struct fe_clause {
    fe_clause_kind kind;
    fe_loc loc;          /* the clause name */
    int has_args;        /* written with parentheses or `=value` */
    unsigned mods;       /* FE_MOD_* */
    fe_red_op red_op;    /* reduction */
    fe_default_kind def; /* default(...) */
    int nitems;
    fe_item *items;
} fe_clause;

typedef struct fe_directive {
    fe_dir_kind kind;
    fe_dir_kind end_of;     /* FE_DIR_END: the directive being closed */
    fe_atomic_kind atomic;  /* FE_DIR_ATOMIC (FE_ATOMIC_UPDATE when bare) */
    fe_loc loc;             /* the directive name */
    char *text;             /* the joined pragma text; spans index into it */
    size_t text_len;
    int nclauses;
    fe_clause *clauses;
    /* routine(name), wait(list), cache(list): the directive's own argument */
    int nargs;
    fe_item *args;
    unsigned mods; /* FE_MOD_* of that argument: cache(readonly:), wait(queues:) */
} fe_directive;

/* Is this comment text (from its '#') a pragma line: '#', optional spaces,
 * "pragma", spaces, "acc" and then a space or the end?  Cheap; used by the
 * Python side to pick comments. */
int fe_pragma_is_acc(const char *text, size_t len);

/* Parses one pragma from nlines comment lines (the first holds
 * "#pragma acc", the rest are its backslash continuations).
 * On success returns FE_OK and *out owns a new directive, to be released
 * with fe_directive_free.  On a malformed pragma returns FE_ERR_SYNTAX with
 * err->loc at the offending token and *out NULL. */
fe_status fe_pragma_parse(const fe_src_line *lines, int nlines, fe_directive **out,
                          fe_error *err);
void fe_directive_free(fe_directive *d);

/* Names for messages and for the Python side: "parallel loop", "copyin",
 * "+", ... */
const char *fe_dir_name(fe_dir_kind k);
const char *fe_clause_name(fe_clause_kind k);
const char *fe_red_op_name(fe_red_op op);

/* ---------------------------------------------------------------- regions
 *
 * A compute region arrives as the code object Python compiled for it (the
 * outliner in python/pyacc makes one function per compute construct), in
 * plain C values: the instruction bytes, constants, names, positions and the
 * running Python's opcode table, plus the types of this call's arguments and
 * what the pragmas say about its loops.  fe_lower_region turns it into an
 * LLVM module that is target-neutral: parallel loops are outlined and marked
 * with calls to `pyacc.parallel_loop`, which jit/ maps onto a target.
 */

typedef struct fe_optable fe_optable;

/* Builds the opcode table of the running Python from dis: names[i] is the
 * name of opcode i (NULL or "" where unused), ncache[i] its inline cache
 * entries.  The caller owns the result (fe_optable_free). */
fe_optable *fe_optable_new(int py_minor, const char *const names[256],
                           const uint8_t ncache[256]);
void fe_optable_free(fe_optable *ot);

typedef enum fe_const_kind {
    FE_CONST_NONE,
    FE_CONST_BOOL,
    FE_CONST_INT,   /* fits in int64 */
    FE_CONST_FLOAT,
    FE_CONST_COMPLEX,
    FE_CONST_STR,
    FE_CONST_TUPLE,
    FE_CONST_OTHER  /* anything else (bytes, code, big ints): unsupported if used */
} fe_const_kind;

typedef struct fe_const {
    fe_const_kind kind;
    int64_t i;
    double f, imag;
    const char *s;               /* FE_CONST_STR, NUL-terminated */
    int nitems;                  /* FE_CONST_TUPLE */
    const struct fe_const *items;
} fe_const;

/* What a global name read by the region is bound to, as the Python side
 * found it when compiling.  Constants are compiled in (and are part of the
 * cache key on the Python side). */
typedef enum fe_global_kind {
    FE_GLOBAL_UNBOUND,   /* not found, or not a name read with LOAD_GLOBAL */
    FE_GLOBAL_BUILTIN,   /* a builtin function: name says which */
    FE_GLOBAL_MODULE,    /* math or numpy: name says which ("math", "numpy") */
    FE_GLOBAL_CONST,     /* an int, float or bool: value */
    FE_GLOBAL_OTHER,     /* anything else */
    FE_GLOBAL_FUNCTION   /* a Python function, compiled and inlined where called */
} fe_global_kind;

struct fe_code;

typedef struct fe_global {
    fe_global_kind kind;
    const char *name;    /* builtin or module name; a function's qualified name */
    fe_const value;      /* FE_GLOBAL_CONST */
    const struct fe_code *code; /* FE_GLOBAL_FUNCTION: its code, globals resolved */
} fe_global;

typedef struct fe_code {
    const uint8_t *code;        /* co_code */
    size_t ncode;
    int nconsts;
    const fe_const *consts;
    int nnames;
    const char *const *names;   /* co_names */
    const fe_global *globals;   /* one per names[i] */
    int nlocals;
    const char *const *varnames; /* co_varnames, parameters first */
    int nargs;                  /* co_argcount */
    int ndefaults;              /* a called function's __defaults__ (the last parameters') */
    const fe_const *defaults;
    const fe_loc *positions;    /* one per 2-byte code unit (co_positions) */
    int has_exception_table;
    int has_cells;              /* co_cellvars or co_freevars non-empty */
    const char *filename;
    const char *qualname;
} fe_code;

typedef enum fe_dtype {
    FE_DT_BOOL,
    FE_DT_INT8, FE_DT_INT16, FE_DT_INT32, FE_DT_INT64,
    FE_DT_UINT8, FE_DT_UINT16, FE_DT_UINT32, FE_DT_UINT64,
    FE_DT_FLOAT32, FE_DT_FLOAT64,
    FE_DT_COMPLEX64, FE_DT_COMPLEX128,
    FE_DT_COUNT_
} fe_dtype;

#define FE_MAX_NDIM 4

typedef enum fe_layout { FE_LAYOUT_C, FE_LAYOUT_F, FE_LAYOUT_A } fe_layout;

/* Set in an array argument's layout byte when its memory overlaps another
 * array argument's: kernels then runs loops writing it in order. */
#define FE_LAYOUT_OVERLAPS 0x80

/* Set when an array argument's memory is the GPU's (__cuda_array_interface__):
 * only code running there may touch it. */
#define FE_LAYOUT_DEVICE 0x40

/* The type of one argument of one call.  Four bytes, compared as bytes by
 * the dispatcher: it is the signature. */
typedef enum fe_argkind {
    FE_ARG_NONE,
    FE_ARG_BOOL,      /* Python bool */
    FE_ARG_INT,       /* Python int, as int64 */
    FE_ARG_FLOAT,     /* Python float */
    FE_ARG_NPSCALAR,  /* a NumPy scalar of dtype */
    FE_ARG_ARRAY,     /* an array of dtype, ndim, layout (a buffer) */
    FE_ARG_LIST,      /* a list (layout 0) or tuple (layout 1) of Python numbers, copied
                         in as dtype bool/int64/float64, and a written list back out */
    FE_ARG_LIST_OUT,  /* a list the region appends to (copyout target) */
    FE_ARG_OPAQUE,    /* anything else: usable only if the region ignores it */
    FE_ARG_TUPLE      /* a result only: a tuple of ndim numbers (fe_result.outitems) */
} fe_argkind;

typedef struct fe_argtype {
    uint8_t kind;   /* fe_argkind */
    uint8_t dtype;  /* fe_dtype */
    uint8_t ndim;
    uint8_t layout; /* fe_layout */
} fe_argtype;

/* How an array, list or list-out argument is passed: slot k holds a pointer
 * to one of these.  Strides are in bytes. */
typedef struct fe_arraydesc {
    void *data;
    int64_t shape[FE_MAX_NDIM];
    int64_t strides[FE_MAX_NDIM];
} fe_arraydesc;

/* What a loop directive says about the `for` on the given line. */
typedef enum fe_par {
    FE_PAR_NONE,        /* a loop with no directive: sequential */
    FE_PAR_INDEPENDENT, /* parallel: iterations may run in any order */
    FE_PAR_AUTO,        /* the compiler decides (kernels, `auto`) */
    FE_PAR_SEQ          /* sequential, in order */
} fe_par;

typedef struct fe_reduction {
    const char *name;
    fe_red_op op;
} fe_reduction;

typedef struct fe_loopspec {
    int line;          /* line of the `for` statement */
    fe_par par;
    int collapse;      /* 1 when not given */
    int nred;
    const fe_reduction *reds;
    int nprivate;
    const char *const *privates;
    uint8_t levels;    /* FE_LEVEL_*: the gang, worker and vector clauses it has for a GPU */
} fe_loopspec;

enum { FE_LEVEL_GANG = 1, FE_LEVEL_WORKER = 2, FE_LEVEL_VECTOR = 4 };

/* A list the region appends to: parameter `param`, with the number of
 * elements (the copyout section's length) in parameter `len_param`. */
typedef struct fe_listout {
    int param;
    int len_param;
} fe_listout;

/* An atomic directive: its kind and the source lines of its statement(s). */
typedef struct fe_atomic {
    fe_atomic_kind kind;
    int first_line, last_line;
} fe_atomic;

typedef struct fe_region {
    const fe_optable *optable;
    const fe_code *code;
    const fe_argtype *argtypes; /* code->nargs of them */
    fe_dir_kind construct;      /* parallel, kernels, serial or a loop form */
    fe_loc loc;                 /* the construct's pragma, for messages */
    int nloops;
    const fe_loopspec *loops;
    int nlistouts;
    const fe_listout *listouts;
    int nouts;                  /* the code returns a tuple of this many values */
    int natomics;
    const fe_atomic *atomics;
    int threads_param;          /* the parameter holding the launch's max_threads, or -1 */
    int shape_param;            /* the parameter holding a GPU launch's shape (rt.h's RT_SHAPE_*), or -1 */
    const char *symbol;         /* the entry's symbol name, unique in the process */
    int boundscheck;
} fe_region;

/* What fe_lower_region produces beside the module. */
typedef struct fe_result {
    void *module;              /* LLVMModuleRef, in the caller's context */
    fe_argtype *outtypes;      /* nouts: the type of each live-out value */
    fe_argtype *listout_types; /* nlistouts: the type of the appended values */
    uint8_t *written;          /* nargs: 1 where the region stores into the array */
    int nparallel;             /* parallel loops compiled as such */
    int host_elements;         /* code outside the parallel loops reads or writes array elements */
    char *notes;               /* NUL-terminated diagnostics for PYACC_DEBUG, or NULL */
    char **files;              /* rt_error.file -> file name (the region's first) */
    int nfiles;
    fe_argtype kinds[16];      /* the kinds a result's kind slot indexes */
    int nkinds;
    fe_argtype *outitems;      /* nouts * FE_MAX_OUT_ITEMS: a tuple result's item types */
} fe_result;

/* A tuple result holds at most this many numbers: its slot points to as
 * many int64/double cells, which the caller provides. */
#define FE_MAX_OUT_ITEMS 16

/* Lowers a region to LLVM IR in ctx (an LLVMContextRef) for the given
 * argument types.  The entry has the shape
 *     i32 symbol(ptr slots, ptr rt_error)
 * where slots[i] holds parameter i (int64, double, bool as int64, or a
 * pointer to an fe_arraydesc) followed by one slot per live-out value, then a
 * mask of the results that are bound, then each result's kind (an index into
 * fe_result.kinds: the Python type it holds), all of which the entry fills;
 * it returns 0, or an rt_error kind after filling *rt_error.
 * On success res owns the module and arrays (fe_result_free).  Errors:
 * FE_ERR_UNSUPPORTED (run in the interpreter), FE_ERR_TYPE (report). */
fe_status fe_lower_region(const fe_region *r, void *llvm_ctx, fe_result *res, fe_error *err);
void fe_result_free(fe_result *res);

/* Text forms of types, for signatures and messages ("float32[:]",
 * "float64[:, :](F)", "int64", "list[int64]").  Writes at most cap bytes. */
int fe_argtype_str(const fe_argtype *t, char *buf, size_t cap);
const char *fe_dtype_name(fe_dtype d);
int fe_dtype_bits(fe_dtype d);      /* 8 for bool */
int fe_dtype_is_float(fe_dtype d);  /* float32 or float64 */

#endif
