/* bytecode.h - CPython bytecode as the frontend sees it.
 *
 * Opcode numbers differ between Python versions, so the running Python hands
 * its own table (opcode name and inline-cache count for each number, from the
 * `dis` module) and the decoder maps names onto the version-neutral fe_pyop
 * below.  What each opcode does is known here by name and version, never by
 * number.
 */
#ifndef PYACC_FE_BYTECODE_H
#define PYACC_FE_BYTECODE_H

#include "fe.h"

/* X-macro: every opcode of 3.11 and 3.12 the frontend understands. */
#define FE_PYOPS(X)                                                                  \
    X(NOP) X(RESUME) X(CACHE) X(EXTENDED_ARG) X(PUSH_NULL) X(POP_TOP) X(COPY) X(SWAP) \
    X(LOAD_FAST) X(LOAD_FAST_CHECK) X(LOAD_FAST_AND_CLEAR) X(STORE_FAST)             \
    X(DELETE_FAST) X(LOAD_CONST) X(RETURN_CONST) X(RETURN_VALUE) X(LOAD_GLOBAL)      \
    X(LOAD_ATTR) X(LOAD_METHOD) X(STORE_ATTR) X(LOAD_DEREF) X(STORE_DEREF)            \
    X(LOAD_CLOSURE) X(MAKE_CELL) X(COPY_FREE_VARS) X(LOAD_NAME) X(STORE_NAME)         \
    X(STORE_GLOBAL)                                                                   \
    X(BINARY_OP) X(UNARY_NEGATIVE) X(UNARY_POSITIVE) X(UNARY_NOT) X(UNARY_INVERT)     \
    X(CALL_INTRINSIC_1) X(COMPARE_OP) X(IS_OP) X(CONTAINS_OP) X(BINARY_SUBSCR)        \
    X(STORE_SUBSCR) X(BINARY_SLICE) X(STORE_SLICE) X(BUILD_SLICE) X(BUILD_TUPLE)      \
    X(BUILD_LIST) X(UNPACK_SEQUENCE) X(PRECALL) X(CALL) X(KW_NAMES) X(CALL_FUNCTION_EX) \
    X(GET_ITER) X(FOR_ITER) X(END_FOR) X(JUMP_FORWARD) X(JUMP_BACKWARD)               \
    X(JUMP_BACKWARD_NO_INTERRUPT) X(POP_JUMP_FORWARD_IF_FALSE)                        \
    X(POP_JUMP_FORWARD_IF_TRUE) X(POP_JUMP_FORWARD_IF_NONE)                           \
    X(POP_JUMP_FORWARD_IF_NOT_NONE) X(POP_JUMP_BACKWARD_IF_FALSE)                     \
    X(POP_JUMP_BACKWARD_IF_TRUE) X(POP_JUMP_BACKWARD_IF_NONE)                         \
    X(POP_JUMP_BACKWARD_IF_NOT_NONE) X(POP_JUMP_IF_FALSE) X(POP_JUMP_IF_TRUE)         \
    X(POP_JUMP_IF_NONE) X(POP_JUMP_IF_NOT_NONE) X(JUMP_IF_FALSE_OR_POP)               \
    X(JUMP_IF_TRUE_OR_POP) X(RAISE_VARARGS) X(MAKE_FUNCTION) X(LOAD_BUILD_CLASS)      \
    X(GET_LEN) X(LIST_APPEND) X(DICT_MERGE) X(BUILD_MAP) X(FORMAT_VALUE)              \
    X(BUILD_STRING) X(YIELD_VALUE) X(RETURN_GENERATOR) X(SEND) X(PUSH_EXC_INFO)       \
    X(POP_EXCEPT) X(RERAISE) X(CHECK_EXC_MATCH) X(BEFORE_WITH) X(IMPORT_NAME)         \
    X(IMPORT_FROM)

typedef enum fe_pyop {
    FE_OP_UNKNOWN = 0,
#define FE_PYOP_ENUM(n) FE_OP_##n,
    FE_PYOPS(FE_PYOP_ENUM)
#undef FE_PYOP_ENUM
    FE_OP_COUNT_
} fe_pyop;

/* The running Python's opcode table: built once at import. */
struct fe_optable {
    int py_minor;            /* 11 or 12 */
    uint8_t op[256];         /* number -> fe_pyop */
    uint8_t ncache[256];     /* inline cache entries after each opcode */
    char *name[256];         /* owned copies, for messages */
};

/* One decoded instruction.  EXTENDED_ARG is folded into the argument of the
 * instruction it extends, and cache entries are skipped. */
typedef struct fe_instr {
    fe_pyop op;
    int32_t arg;
    int32_t offset;   /* byte offset of the instruction (its EXTENDED_ARG prefix excluded) */
    int32_t next;     /* byte offset of the next instruction */
    int32_t target;   /* jump target as an instruction index, or -1 */
    uint8_t raw;      /* the opcode number, for messages */
    fe_loc loc;
} fe_instr;

/* Decodes code->code into *out (an array owned by the caller, released with
 * free) of *n instructions, with jump targets resolved to instruction indices.
 * For FOR_ITER the target is the first instruction after the loop (past
 * 3.12's END_FOR).  An opcode the table does not know is decoded as
 * FE_OP_UNKNOWN: the builder reports it where it is reached. */
fe_status fe_decode(const fe_optable *ot, const fe_code *code, fe_instr **out, int *n,
                    fe_error *err);

/* The name of a decoded instruction's opcode, for messages. */
const char *fe_instr_name(const fe_optable *ot, const fe_instr *in);

#endif
