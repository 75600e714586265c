/* bytecode.c - decoding CPython 3.11/3.12 instruction bytes.
 *
 * Owns the opcode table (fe_optable) and fe_decode.  Jump semantics are
 * keyed on the opcode's name and the Python version: 3.11 has separate
 * forward and backward conditional jumps, 3.12 has only forward ones, and
 * 3.12's FOR_ITER skips the END_FOR it points at.
 */
#include "bytecode.h"

#include <stdlib.h>
#include <string.h>

static const char *const fe_pyop_names[FE_OP_COUNT_] = {
    [FE_OP_UNKNOWN] = "?",
#define FE_PYOP_NAME(n) [FE_OP_##n] = #n,
    FE_PYOPS(FE_PYOP_NAME)
#undef FE_PYOP_NAME
};

/* Returns a new table owned by the caller, or NULL when out of memory. */
fe_optable *fe_optable_new(int py_minor, const char *const names[256],
                           const uint8_t ncache[256])
{
    fe_optable *ot = calloc(1, sizeof *ot);
    if (!ot)
        return NULL;
    ot->py_minor = py_minor;
    for (int i = 0; i < 256; i++) {
        ot->ncache[i] = ncache[i];
        if (!names[i] || !names[i][0])
            continue;
        ot->name[i] = strdup(names[i]);
        if (!ot->name[i]) {
            fe_optable_free(ot);
            return NULL;
        }
        for (int k = 1; k < FE_OP_COUNT_; k++) {
            if (strcmp(names[i], fe_pyop_names[k]) == 0) {
                ot->op[i] = (uint8_t)k;
                break;
            }
        }
    }
    return ot;
}

void fe_optable_free(fe_optable *ot)
{
    if (!ot)
        return;
    for (int i = 0; i < 256; i++)
        free(ot->name[i]);
    free(ot);
}

const char *fe_instr_name(const fe_optable *ot, const fe_instr *in)
{
    const char *n = ot->name[in->raw];
    return n ? n : "<unknown opcode>";
}

/* Whether op jumps, and if so where to (*to, a byte offset).  `next` is the
 * offset after the instruction and its caches. */
static int jump_offset(fe_pyop op, int32_t arg, int32_t next, int64_t *to)
{
    /* In 64 bits: 2 * arg overflows int32 for a large (malformed) arg. */
    switch (op) {
    case FE_OP_JUMP_FORWARD:
    case FE_OP_POP_JUMP_FORWARD_IF_FALSE:
    case FE_OP_POP_JUMP_FORWARD_IF_TRUE:
    case FE_OP_POP_JUMP_FORWARD_IF_NONE:
    case FE_OP_POP_JUMP_FORWARD_IF_NOT_NONE:
    case FE_OP_POP_JUMP_IF_FALSE: /* 3.12: relative, forward only */
    case FE_OP_POP_JUMP_IF_TRUE:
    case FE_OP_POP_JUMP_IF_NONE:
    case FE_OP_POP_JUMP_IF_NOT_NONE:
    case FE_OP_JUMP_IF_FALSE_OR_POP: /* 3.11: relative forward */
    case FE_OP_JUMP_IF_TRUE_OR_POP:
    case FE_OP_FOR_ITER:
    case FE_OP_SEND:
        *to = (int64_t)next + 2 * (int64_t)arg;
        return 1;
    case FE_OP_JUMP_BACKWARD:
    case FE_OP_JUMP_BACKWARD_NO_INTERRUPT:
    case FE_OP_POP_JUMP_BACKWARD_IF_FALSE:
    case FE_OP_POP_JUMP_BACKWARD_IF_TRUE:
    case FE_OP_POP_JUMP_BACKWARD_IF_NONE:
    case FE_OP_POP_JUMP_BACKWARD_IF_NOT_NONE:
        *to = (int64_t)next - 2 * (int64_t)arg;
        return 1;
    default:
        return 0;
    }
}

/* Decodes into an array the caller frees.  See bytecode.h. */
fe_status fe_decode(const fe_optable *ot, const fe_code *code, fe_instr **out, int *n,
                    fe_error *err)
{
    *out = NULL;
    *n = 0;
    size_t nunits = code->ncode / 2;
    fe_loc noloc = {0, 0, -1};
    if (code->ncode % 2)
        return fe_error_set(err, FE_ERR_INTERNAL, noloc, "odd bytecode length %zu",
                            code->ncode);
    fe_instr *ins = calloc(nunits ? nunits : 1, sizeof *ins);
    /* index of the instruction starting at each code unit, -1 inside one */
    int32_t *at = malloc((nunits + 1) * sizeof *at);
    if (!ins || !at) {
        free(ins);
        free(at);
        return fe_error_set(err, FE_ERR_NOMEM, noloc, "out of memory");
    }
    for (size_t u = 0; u <= nunits; u++)
        at[u] = -1;

    int count = 0;
    int32_t ext = 0;
    int32_t start = -1; /* offset of the first EXTENDED_ARG of a prefix */
    for (size_t u = 0; u < nunits;) {
        uint8_t raw = code->code[2 * u];
        /* Each EXTENDED_ARG shifts the argument 8 bits left.  CPython emits
         * at most three, keeping it within int32; more (malformed code)
         * would overflow the shift. */
        if (ext > (INT32_MAX >> 8)) {
            fe_status st = fe_error_set(err, FE_ERR_INTERNAL,
                                        code->positions ? code->positions[u] : noloc,
                                        "EXTENDED_ARG prefixes overflow the argument at offset %zu",
                                        2 * u);
            free(ins);
            free(at);
            return st;
        }
        int32_t arg = code->code[2 * u + 1] | (ext << 8);
        fe_pyop op = (fe_pyop)ot->op[raw];
        int32_t off = (int32_t)(2 * u);
        size_t next_u = u + 1 + ot->ncache[raw];
        if (op == FE_OP_EXTENDED_ARG) {
            ext = arg;
            if (start < 0)
                start = off;
            u = next_u;
            continue;
        }
        fe_instr *in = &ins[count];
        in->op = op;
        in->raw = raw;
        in->arg = arg;
        in->offset = off;
        in->next = (int32_t)(2 * next_u);
        in->target = -1;
        in->loc = code->positions ? code->positions[u] : noloc;
        /* A jump to an EXTENDED_ARG prefix lands on this instruction. */
        at[start >= 0 ? (size_t)start / 2 : u] = count;
        at[u] = count;
        ext = 0;
        start = -1;
        count++;
        u = next_u;
    }

    for (int i = 0; i < count; i++) {
        fe_instr *in = &ins[i];
        int64_t t;
        if (!jump_offset(in->op, in->arg, in->next, &t))
            continue;
        if (t < 0 || (uint64_t)t / 2 > nunits || ((size_t)t / 2 < nunits && at[t / 2] < 0)) {
            fe_status st = fe_error_set(err, FE_ERR_INTERNAL, in->loc,
                                        "bad jump target %lld at offset %d", (long long)t,
                                        in->offset);
            free(ins);
            free(at);
            return st;
        }
        int32_t ti = (size_t)t / 2 == nunits ? count : at[t / 2];
        /* 3.12: an exhausted FOR_ITER pops its iterator and skips the
         * END_FOR it names, so the loop's exit is the instruction after. */
        if (in->op == FE_OP_FOR_ITER && ti < count && ins[ti].op == FE_OP_END_FOR)
            ti++;
        in->target = ti;
    }
    free(at);
    *out = ins;
    *n = count;
    return FE_OK;
}
