/* pragma.c - the OpenACC 2.7 pragma parser (with the 3.x additions listed
 * in notes/openacc-checklist.md): comment lines in, one fe_directive out.
 *
 * Clause arguments are Python expressions, but this file never parses
 * Python: it finds where each expression starts and ends (balancing
 * brackets, skipping string literals) and keeps the span, which the Python
 * side compiles in the function's own scope.
 *
 * The grammar, in the C spelling users write.  Blanks (spaces, tabs) may
 * separate any two tokens; `ident` is a Python identifier.
 *
 *   pragma      = "#" "pragma" "acc" directive
 *   directive   = ("parallel" | "kernels" | "serial") ["loop"] clauses
 *               | "loop" clauses | "data" clauses
 *               | "enter" "data" clauses | "exit" "data" clauses
 *               | "host_data" clauses | "update" clauses | "declare" clauses
 *               | "init" clauses | "shutdown" clauses | "set" clauses
 *               | "atomic" ["read" | "write" | "update" | "capture"]
 *               | "routine" ["(" name ")"] clauses
 *               | "wait" ["(" wait-args ")"] clauses
 *               | "cache" "(" ["readonly" ":"] var-list ")"
 *               | "end" end-target
 *   end-target  = ("parallel" | "kernels" | "serial") ["loop"]
 *               | "data" | "host_data" | "atomic"
 *   clauses     = [clause ([","] clause)*]
 *   clause      = clause-name ["(" args ")" | "=" value]
 *                 -- clause-name may be a 2.0 alternate name: pcopy,
 *                    present_or_copy (copy), pcopyin, present_or_copyin,
 *                    pcopyout, present_or_copyout, pcreate, present_or_create
 *   value       = "(" args ")" | args
 *                 -- a value ends at a top-level ",", at blanks followed by
 *                    a clause name allowed on this directive (and not by
 *                    "." or "["), or at the end of the pragma
 *   args, by clause:
 *     if, self (compute)            expr
 *     async, num_workers, vector_length, device_num, default_async
 *                                   expr
 *     num_gangs                     expr ["," expr ["," expr]]
 *     wait                          wait-args
 *     device_type                   (ident | "*") ("," (ident | "*"))*
 *     default                       "none" | "present"
 *     reduction                     red-op ":" var-list
 *     copyin                        ["readonly" ":"] var-list
 *     copyout, create               ["zero" ":"] var-list
 *     copy, no_create, present, deviceptr, attach, detach, delete,
 *     private, firstprivate, use_device, device_resident, link,
 *     self, host, device (update)   var-list
 *     collapse                      ["force" ":"] expr
 *     gang                          gang-arg ("," gang-arg)*
 *     worker                        ["num" ":"] expr
 *     vector                        ["length" ":"] expr
 *     tile                          (expr | "*") ("," (expr | "*"))*
 *     bind                          name | string
 *     seq, auto, independent, finalize, if_present, nohost   (none)
 *   gang-arg    = ["num" ":"] expr | "static" ":" (expr | "*") | "dim" ":" expr
 *   wait-args   = ["devnum" ":" expr ":"] ["queues" ":"] expr ("," expr)*
 *   red-op      = "+" | "*" | "max" | "min" | "&" | "|" | "^" | "&&" | "||"
 *   var-list    = var ("," var)*
 *   var         = name ("[" dim ("," dim)* "]")*
 *   dim         = [expr] ":" [expr] | expr
 *   name        = ident ("." ident)*
 *   expr        = Python text with balanced (), [] and {} and whole string
 *                 literals, ending before a top-level "," (or before ":"
 *                 where the rule goes on with one)
 *
 * What the parser records for each form: expressions as FE_ITEM_EXPR, `*`
 * as FE_ITEM_STAR (its span in expr), variables and routine/bind names as
 * FE_ITEM_VAR, a bind string as FE_ITEM_EXPR (quotes included).  Keyword
 * prefixes go to fe_item.key (a plain gang/worker/vector expression keeps
 * FE_KEY_NONE: it means num, resp. length), modifiers to mods.
 *
 * Beyond the grammar, check_combination and check_required enforce the
 * spec's restrictions (clauses that appear once, what may follow
 * device_type, seq against gang/worker/vector, clauses a directive needs).
 * Continued lines are joined first (join_lines); every span keeps the file
 * position of its first character, so error carets land on the user's text.
 */
#include "fe.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pragma longer than this is surely not one a person wrote; the cap keeps
 * offsets, columns and allocations far from overflow on hostile input. */
#define MAX_TEXT (1u << 20)
/* Bracket nesting is tracked in a fixed stack: scanning never recurses. */
#define MAX_DEPTH 200
/* Longest user text quoted in a message. */
#define QUOTE_MAX 40

#define BIT(k) (UINT64_C(1) << (k))
#define B(name) BIT(FE_CL_##name)

_Static_assert(FE_CL_COUNT_ <= 64, "clause sets are 64-bit masks");

/* --------------------------------------------------------------- tables */

typedef enum arg_form {
    ARG_NONE,      /* takes no argument */
    ARG_EXPR,      /* one expression */
    ARG_NUM_GANGS, /* one to three expressions */
    ARG_WAIT,
    ARG_DEVTYPE,
    ARG_DEFAULT,
    ARG_VARS,
    ARG_REDUCTION,
    ARG_COLLAPSE,
    ARG_GANG,
    ARG_WORKER,
    ARG_VECTOR,
    ARG_TILE,
    ARG_BIND
} arg_form;

static const struct clause_info {
    const char *name;
    arg_form form;
    int optional;  /* the argument may be left out */
    unsigned mods; /* modifiers its var list accepts */
} clause_info[FE_CL_COUNT_] = {
    [FE_CL_IF] = {"if", ARG_EXPR, 0, 0},
    [FE_CL_SELF] = {"self", ARG_EXPR, 1, 0}, /* var list on update */
    [FE_CL_ASYNC] = {"async", ARG_EXPR, 1, 0},
    [FE_CL_WAIT] = {"wait", ARG_WAIT, 1, 0},
    [FE_CL_NUM_GANGS] = {"num_gangs", ARG_NUM_GANGS, 0, 0},
    [FE_CL_NUM_WORKERS] = {"num_workers", ARG_EXPR, 0, 0},
    [FE_CL_VECTOR_LENGTH] = {"vector_length", ARG_EXPR, 0, 0},
    [FE_CL_DEVICE_TYPE] = {"device_type", ARG_DEVTYPE, 0, 0},
    [FE_CL_DEFAULT] = {"default", ARG_DEFAULT, 0, 0},
    [FE_CL_PRIVATE] = {"private", ARG_VARS, 0, 0},
    [FE_CL_FIRSTPRIVATE] = {"firstprivate", ARG_VARS, 0, 0},
    [FE_CL_REDUCTION] = {"reduction", ARG_REDUCTION, 0, 0},
    [FE_CL_COPY] = {"copy", ARG_VARS, 0, 0},
    [FE_CL_COPYIN] = {"copyin", ARG_VARS, 0, FE_MOD_READONLY},
    [FE_CL_COPYOUT] = {"copyout", ARG_VARS, 0, FE_MOD_ZERO},
    [FE_CL_CREATE] = {"create", ARG_VARS, 0, FE_MOD_ZERO},
    [FE_CL_NO_CREATE] = {"no_create", ARG_VARS, 0, 0},
    [FE_CL_PRESENT] = {"present", ARG_VARS, 0, 0},
    [FE_CL_DEVICEPTR] = {"deviceptr", ARG_VARS, 0, 0},
    [FE_CL_ATTACH] = {"attach", ARG_VARS, 0, 0},
    [FE_CL_DETACH] = {"detach", ARG_VARS, 0, 0},
    [FE_CL_DELETE] = {"delete", ARG_VARS, 0, 0},
    [FE_CL_FINALIZE] = {"finalize", ARG_NONE, 0, 0},
    [FE_CL_USE_DEVICE] = {"use_device", ARG_VARS, 0, 0},
    [FE_CL_IF_PRESENT] = {"if_present", ARG_NONE, 0, 0},
    [FE_CL_HOST] = {"host", ARG_VARS, 0, 0},
    [FE_CL_DEVICE] = {"device", ARG_VARS, 0, 0},
    [FE_CL_DEVICE_RESIDENT] = {"device_resident", ARG_VARS, 0, 0},
    [FE_CL_LINK] = {"link", ARG_VARS, 0, 0},
    [FE_CL_COLLAPSE] = {"collapse", ARG_COLLAPSE, 0, 0},
    [FE_CL_GANG] = {"gang", ARG_GANG, 1, 0},
    [FE_CL_WORKER] = {"worker", ARG_WORKER, 1, 0},
    [FE_CL_VECTOR] = {"vector", ARG_VECTOR, 1, 0},
    [FE_CL_SEQ] = {"seq", ARG_NONE, 0, 0},
    [FE_CL_AUTO] = {"auto", ARG_NONE, 0, 0},
    [FE_CL_INDEPENDENT] = {"independent", ARG_NONE, 0, 0},
    [FE_CL_TILE] = {"tile", ARG_TILE, 0, 0},
    [FE_CL_BIND] = {"bind", ARG_BIND, 0, 0},
    [FE_CL_NOHOST] = {"nohost", ARG_NONE, 0, 0},
    [FE_CL_DEVICE_NUM] = {"device_num", ARG_EXPR, 0, 0},
    [FE_CL_DEFAULT_ASYNC] = {"default_async", ARG_EXPR, 0, 0},
};

#define DATA_CL                                                                 \
    (B(COPY) | B(COPYIN) | B(COPYOUT) | B(CREATE) | B(NO_CREATE) | B(PRESENT) | \
     B(DEVICEPTR) | B(ATTACH))
#define PARALLEL_CL                                                                \
    (B(ASYNC) | B(WAIT) | B(NUM_GANGS) | B(NUM_WORKERS) | B(VECTOR_LENGTH) |       \
     B(DEVICE_TYPE) | B(IF) | B(SELF) | B(REDUCTION) | DATA_CL | B(PRIVATE) |      \
     B(FIRSTPRIVATE) | B(DEFAULT))
#define SERIAL_CL (PARALLEL_CL & ~(B(NUM_GANGS) | B(NUM_WORKERS) | B(VECTOR_LENGTH)))
#define KERNELS_CL (PARALLEL_CL & ~(B(REDUCTION) | B(PRIVATE) | B(FIRSTPRIVATE)))
#define LOOP_CL                                                                    \
    (B(COLLAPSE) | B(GANG) | B(WORKER) | B(VECTOR) | B(SEQ) | B(AUTO) | B(TILE) |  \
     B(DEVICE_TYPE) | B(INDEPENDENT) | B(PRIVATE) | B(REDUCTION))
/* What may follow a device_type clause (spec 2.7: 2.5.13, 2.9, 2.14.4, 2.15.1). */
#define COMPUTE_DT (B(ASYNC) | B(WAIT) | B(NUM_GANGS) | B(NUM_WORKERS) | B(VECTOR_LENGTH))
#define LOOP_DT                                                                    \
    (B(COLLAPSE) | B(GANG) | B(WORKER) | B(VECTOR) | B(SEQ) | B(INDEPENDENT) |     \
     B(AUTO) | B(TILE))
#define ROUTINE_DT (B(GANG) | B(WORKER) | B(VECTOR) | B(SEQ) | B(BIND))

static const struct dir_info {
    const char *name;
    uint64_t allowed;
    uint64_t after_dtype; /* 0: device_type does not split the clauses */
} dir_info[FE_DIR_COUNT_] = {
    [FE_DIR_PARALLEL] = {"parallel", PARALLEL_CL, COMPUTE_DT},
    [FE_DIR_KERNELS] = {"kernels", KERNELS_CL, COMPUTE_DT},
    [FE_DIR_SERIAL] = {"serial", SERIAL_CL, COMPUTE_DT & SERIAL_CL},
    [FE_DIR_PARALLEL_LOOP] = {"parallel loop", PARALLEL_CL | LOOP_CL, COMPUTE_DT | LOOP_DT},
    [FE_DIR_KERNELS_LOOP] = {"kernels loop", KERNELS_CL | LOOP_CL, COMPUTE_DT | LOOP_DT},
    [FE_DIR_SERIAL_LOOP] = {"serial loop", SERIAL_CL | LOOP_CL,
                            (COMPUTE_DT & SERIAL_CL) | LOOP_DT},
    [FE_DIR_LOOP] = {"loop", LOOP_CL, LOOP_DT},
    [FE_DIR_DATA] = {"data", B(IF) | DATA_CL | B(DEFAULT) | B(ASYNC) | B(WAIT) | B(DEVICE_TYPE),
                     B(ASYNC) | B(WAIT)},
    [FE_DIR_ENTER_DATA] = {"enter data", B(IF) | B(ASYNC) | B(WAIT) | B(COPYIN) | B(CREATE) |
                                             B(ATTACH), 0},
    [FE_DIR_EXIT_DATA] = {"exit data", B(IF) | B(ASYNC) | B(WAIT) | B(COPYOUT) | B(DELETE) |
                                           B(DETACH) | B(FINALIZE), 0},
    [FE_DIR_HOST_DATA] = {"host_data", B(USE_DEVICE) | B(IF) | B(IF_PRESENT), 0},
    [FE_DIR_UPDATE] = {"update", B(ASYNC) | B(WAIT) | B(DEVICE_TYPE) | B(IF) | B(IF_PRESENT) |
                                     B(SELF) | B(HOST) | B(DEVICE),
                       B(ASYNC) | B(WAIT)},
    [FE_DIR_DECLARE] = {"declare", B(COPY) | B(COPYIN) | B(COPYOUT) | B(CREATE) | B(PRESENT) |
                                       B(DEVICEPTR) | B(DEVICE_RESIDENT) | B(LINK), 0},
    [FE_DIR_ATOMIC] = {"atomic", 0, 0},
    [FE_DIR_ROUTINE] = {"routine", B(GANG) | B(WORKER) | B(VECTOR) | B(SEQ) | B(BIND) |
                                       B(DEVICE_TYPE) | B(NOHOST), ROUTINE_DT},
    [FE_DIR_WAIT] = {"wait", B(ASYNC) | B(IF), 0},
    [FE_DIR_CACHE] = {"cache", 0, 0},
    [FE_DIR_INIT] = {"init", B(DEVICE_TYPE) | B(DEVICE_NUM) | B(IF), 0},
    [FE_DIR_SHUTDOWN] = {"shutdown", B(DEVICE_TYPE) | B(DEVICE_NUM) | B(IF), 0},
    [FE_DIR_SET] = {"set", B(DEFAULT_ASYNC) | B(DEVICE_NUM) | B(DEVICE_TYPE) | B(IF), 0},
    [FE_DIR_END] = {"end", 0, 0},
};

/* Clauses that may appear once per directive, and once per device_type
 * part (before the first device_type, and after each one). */
#define ONCE_CL (B(IF) | B(DEFAULT) | B(SELF) | B(DEVICE_NUM) | B(DEFAULT_ASYNC))
#define ONCE_PER_DEVICE_CL                                                         \
    (B(ASYNC) | B(NUM_GANGS) | B(NUM_WORKERS) | B(VECTOR_LENGTH) | B(COLLAPSE) |   \
     B(GANG) | B(WORKER) | B(VECTOR) | B(SEQ) | B(AUTO) | B(INDEPENDENT) | B(TILE) | \
     B(BIND))
#define GWV_CL (B(GANG) | B(WORKER) | B(VECTOR))
#define SAI_CL (B(SEQ) | B(AUTO) | B(INDEPENDENT))

/* The first words of directives; `second` is a word that must follow. */
static const struct dir_word {
    const char *word;
    fe_dir_kind kind;
    fe_dir_kind with_loop; /* FE_DIR_COUNT_: no combined form */
    const char *second;
} dir_words[] = {
    {"parallel", FE_DIR_PARALLEL, FE_DIR_PARALLEL_LOOP, NULL},
    {"kernels", FE_DIR_KERNELS, FE_DIR_KERNELS_LOOP, NULL},
    {"serial", FE_DIR_SERIAL, FE_DIR_SERIAL_LOOP, NULL},
    {"loop", FE_DIR_LOOP, FE_DIR_COUNT_, NULL},
    {"data", FE_DIR_DATA, FE_DIR_COUNT_, NULL},
    {"enter", FE_DIR_ENTER_DATA, FE_DIR_COUNT_, "data"},
    {"exit", FE_DIR_EXIT_DATA, FE_DIR_COUNT_, "data"},
    {"host_data", FE_DIR_HOST_DATA, FE_DIR_COUNT_, NULL},
    {"update", FE_DIR_UPDATE, FE_DIR_COUNT_, NULL},
    {"declare", FE_DIR_DECLARE, FE_DIR_COUNT_, NULL},
    {"atomic", FE_DIR_ATOMIC, FE_DIR_COUNT_, NULL},
    {"routine", FE_DIR_ROUTINE, FE_DIR_COUNT_, NULL},
    {"wait", FE_DIR_WAIT, FE_DIR_COUNT_, NULL},
    {"cache", FE_DIR_CACHE, FE_DIR_COUNT_, NULL},
    {"init", FE_DIR_INIT, FE_DIR_COUNT_, NULL},
    {"shutdown", FE_DIR_SHUTDOWN, FE_DIR_COUNT_, NULL},
    {"set", FE_DIR_SET, FE_DIR_COUNT_, NULL},
    {"end", FE_DIR_END, FE_DIR_COUNT_, NULL},
};
#define NDIR_WORDS (int)(sizeof dir_words / sizeof dir_words[0])

static const char *const atomic_words[] = {"read", "write", "update", "capture"};
static const fe_atomic_kind atomic_kinds[] = {FE_ATOMIC_READ, FE_ATOMIC_WRITE, FE_ATOMIC_UPDATE,
                                              FE_ATOMIC_CAPTURE};

static const char *const red_names[] = {
    [FE_RED_NONE] = "",   [FE_RED_ADD] = "+",    [FE_RED_MUL] = "*",
    [FE_RED_MAX] = "max", [FE_RED_MIN] = "min",  [FE_RED_BITAND] = "&",
    [FE_RED_BITOR] = "|", [FE_RED_BITXOR] = "^", [FE_RED_AND] = "&&",
    [FE_RED_OR] = "||",
};

const char *fe_dir_name(fe_dir_kind k)
{
    return (unsigned)k < FE_DIR_COUNT_ ? dir_info[k].name : "?";
}

const char *fe_clause_name(fe_clause_kind k)
{
    return (unsigned)k < FE_CL_COUNT_ ? clause_info[k].name : "?";
}

const char *fe_red_op_name(fe_red_op op)
{
    return (unsigned)op <= FE_RED_OR ? red_names[op] : "?";
}

/* --------------------------------------------------------------- lexing */

/* One source line's share of the joined text: text[off, off+len) came from
 * file line `line`, starting at column `col`. */
typedef struct seg {
    uint32_t off;
    uint32_t len;
    uint32_t src; /* where the share starts in its line's text */
    int line;
    int col;
} seg;

typedef struct parser {
    const char *s; /* the joined text, NUL-terminated */
    uint32_t n;
    const seg *segs;
    int nsegs;
    fe_directive *d;
    fe_error *err;
    uint64_t allowed;    /* clauses this directive takes */
    char label[32];      /* the directive as messages name it */
    int clause_cap;
    /* Where item parsers append: the current clause's items or the
     * directive's own argument. */
    fe_item **items;
    int *nitems;
    int item_cap;
    /* The clause whose arguments are being read, for messages: "copyin(". */
    const char *cname;
    char copen;
} parser;

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Bytes >= 0x80 count as identifier characters: Python's own compiler
 * judges non-ASCII names later. */
static int is_id_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static int is_id_char(int c)
{
    return is_id_start(c) || (c >= '0' && c <= '9');
}

static int at(const parser *p, uint32_t pos)
{
    return (unsigned char)p->s[pos];
}

static uint32_t skip_blanks(const parser *p, uint32_t pos, uint32_t end)
{
    while (pos < end && is_blank(at(p, pos)))
        pos++;
    return pos;
}

static uint32_t ident_end(const parser *p, uint32_t pos, uint32_t end)
{
    if (pos >= end || !is_id_start(at(p, pos)))
        return pos;
    pos++;
    while (pos < end && is_id_char(at(p, pos)))
        pos++;
    return pos;
}

static int word_is(const parser *p, uint32_t pos, uint32_t len, const char *w)
{
    return strlen(w) == len && memcmp(p->s + pos, w, len) == 0;
}

/* Narrows [*a, *b) to its non-blank middle. */
static void trim(const parser *p, uint32_t *a, uint32_t *b)
{
    while (*a < *b && is_blank(at(p, *a)))
        (*a)++;
    while (*b > *a && is_blank(at(p, *b - 1)))
        (*b)--;
}

/* name = ident ("." ident)*; returns where it ends, or pos if none starts here. */
static uint32_t name_end(const parser *p, uint32_t pos, uint32_t end)
{
    uint32_t e = ident_end(p, pos, end);
    if (e == pos)
        return pos;
    for (;;) {
        uint32_t q = skip_blanks(p, e, end);
        if (q >= end || at(p, q) != '.')
            return e;
        q = skip_blanks(p, q + 1, end);
        uint32_t e2 = ident_end(p, q, end);
        if (e2 == q)
            return e;
        e = e2;
    }
}

/* ------------------------------------------------- locations and errors */

static int seg_of(const parser *p, uint32_t off)
{
    int lo = 0, hi = p->nsegs - 1;
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (p->segs[mid].off <= off)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Maps text[off, off+len) back to the file; end_col is -1 when the range
 * runs onto another line. */
static fe_loc loc_of(const parser *p, uint32_t off, uint32_t len)
{
    int i = seg_of(p, off);
    const seg *g = &p->segs[i];
    fe_loc l = {g->line, g->col + (int)(off - g->off), -1};
    if (len == 0)
        l.end_col = l.col;
    else if (seg_of(p, off + len - 1) == i)
        l.end_col = l.col + (int)len;
    return l;
}

static fe_span span_of(const parser *p, uint32_t off, uint32_t len)
{
    fe_span sp = {off, len, loc_of(p, off, len)};
    return sp;
}

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static fe_status syntax_at(parser *p, uint32_t off, uint32_t len, const char *fmt, ...)
{
    char buf[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return fe_error_set(p->err, FE_ERR_SYNTAX, loc_of(p, off, len), "%s", buf);
}

/* Arguments for "'%.*s%s'": user text, shortened for messages. */
#define QUOTE(p, off, len)                                                         \
    (int)((len) > QUOTE_MAX ? QUOTE_MAX : (len)), (p)->s + (off),                  \
        ((len) > QUOTE_MAX ? "..." : "")

static fe_status nomem(parser *p)
{
    return fe_error_set(p->err, FE_ERR_NOMEM, loc_of(p, 0, 0), "out of memory");
}

/* Where a one-character error at pos points: the character, or the end. */
static uint32_t len_at(const parser *p, uint32_t pos)
{
    return pos < p->n ? 1 : 0;
}

/* Optimal string alignment distance, case-folded; large when either word
 * is too long to be a typo of a keyword. */
static int edit_distance(const char *a, size_t na, const char *b)
{
    enum { W = 24 };
    size_t nb = strlen(b);
    int d[W + 1][W + 1];
    if (na > W || nb > W)
        return INT_MAX;
    for (size_t i = 0; i <= na; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++) {
            int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
            int best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) && (a[i - 2] | 0x20) == cb &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[na][nb];
}

/* Is a[0, na) what is left of b after dropping letters?  Dropped letters
 * are the commonest typo, so such a candidate wins a tie (copyn: copyin,
 * not copy). */
static int is_subsequence(const char *a, size_t na, const char *b)
{
    size_t i = 0;
    for (; *b && i < na; b++)
        i += (a[i] | 0x20) == (*b | 0x20);
    return i == na;
}

/* Keeps the closest of the candidates so far. */
typedef struct guess {
    const char *word;
    int dist;
    int dropped; /* the word is the candidate with letters dropped */
} guess;

static void consider(guess *g, const parser *p, uint32_t off, uint32_t len, const char *cand)
{
    int dist = edit_distance(p->s + off, len, cand);
    if (dist > 2 || (size_t)dist >= strlen(cand) || dist > g->dist)
        return;
    int dropped = is_subsequence(p->s + off, len, cand);
    if (dist < g->dist || (dropped && !g->dropped)) {
        g->word = cand;
        g->dist = dist;
        g->dropped = dropped;
    }
}

/* "unknown X 'word'" plus a hint when a candidate is close. */
static fe_status unknown_word(parser *p, uint32_t off, uint32_t len, const char *what,
                              const guess *g)
{
    if (g->word)
        return syntax_at(p, off, len, "unknown %s '%.*s%s'; did you mean '%s'?", what,
                         QUOTE(p, off, len), g->word);
    return syntax_at(p, off, len, "unknown %s '%.*s%s'", what, QUOTE(p, off, len));
}

/* ------------------------------------------------------------- scanning */

enum { STOP_COMMA = 1, STOP_COLON = 2, STOP_CLAUSE = 4 };

static int closer_of(int c)
{
    return c == '(' ? ')' : c == '[' ? ']' : c == '{' ? '}' : 0;
}

/* string = quote ... quote, or a triple-quoted one; backslash escapes the
 * next character.  Prefixes (r, b, f) scan as identifiers before it. */
static fe_status skip_string(parser *p, uint32_t pos, uint32_t end, uint32_t *after)
{
    int q = at(p, pos);
    int triple = pos + 2 < end && at(p, pos + 1) == q && at(p, pos + 2) == q;
    uint32_t i = pos + (triple ? 3 : 1);
    while (i < end) {
        int c = at(p, i);
        if (c == '\\') {
            i += 2;
            continue;
        }
        if (c == q) {
            if (!triple) {
                *after = i + 1;
                return FE_OK;
            }
            if (i + 2 < end && at(p, i + 1) == q && at(p, i + 2) == q) {
                *after = i + 3;
                return FE_OK;
            }
        }
        i++;
    }
    return syntax_at(p, pos, triple ? 3 : 1, "unterminated string");
}

/* OpenACC 2.0's names, which 2.7 keeps as alternate names (2.7.5-2.7.8):
 * since 2.5 copy and friends act only on absent data anyway. */
static const struct {
    const char *name;
    int clause;
} clause_aliases[] = {
    {"pcopy", FE_CL_COPY},           {"present_or_copy", FE_CL_COPY},
    {"pcopyin", FE_CL_COPYIN},       {"present_or_copyin", FE_CL_COPYIN},
    {"pcopyout", FE_CL_COPYOUT},     {"present_or_copyout", FE_CL_COPYOUT},
    {"pcreate", FE_CL_CREATE},       {"present_or_create", FE_CL_CREATE},
};

static int clause_lookup(const parser *p, uint32_t off, uint32_t len)
{
    for (int k = 0; k < FE_CL_COUNT_; k++)
        if (word_is(p, off, len, clause_info[k].name))
            return k;
    for (size_t k = 0; k < sizeof clause_aliases / sizeof clause_aliases[0]; k++)
        if (word_is(p, off, len, clause_aliases[k].name))
            return clause_aliases[k].clause;
    return -1;
}

/* Does a clause of this directive start at pos?  A name followed by '.' or
 * '[' is a variable that happens to share a clause's name (self.x). */
static int clause_starts(const parser *p, uint32_t pos, uint32_t end)
{
    uint32_t e = ident_end(p, pos, end);
    if (e == pos || (e < end && (at(p, e) == '.' || at(p, e) == '[')))
        return 0;
    int k = clause_lookup(p, pos, e - pos);
    return k >= 0 && (p->allowed & BIT(k));
}

/* Finds where the expression text starting at pos ends: at `end`, at the
 * top-level closer of `base` (an opening bracket before pos, or 0), or at a
 * top-level stop (STOP_*).  Brackets must balance and strings must close;
 * otherwise the error points at the bracket or quote to blame.
 * expr = (string | "(" expr* ")" | "[" expr* "]" | "{" expr* "}" | other)* */
static fe_status scan(parser *p, uint32_t pos, uint32_t end, int base, unsigned stops,
                      uint32_t *stop)
{
    char open[MAX_DEPTH];
    uint32_t where[MAX_DEPTH];
    int depth = 0;
    while (pos < end) {
        int c = at(p, pos);
        if (c == '\'' || c == '"') {
            fe_status st = skip_string(p, pos, end, &pos);
            if (st)
                return st;
            continue;
        }
        if (depth == 0) {
            if ((c == ',' && (stops & STOP_COMMA)) || (c == ':' && (stops & STOP_COLON)))
                break;
            if (is_blank(c) && (stops & STOP_CLAUSE)) {
                uint32_t q = skip_blanks(p, pos, end);
                if (clause_starts(p, q, end))
                    break;
                pos = q;
                continue;
            }
        }
        if (closer_of(c)) {
            if (depth == MAX_DEPTH)
                return syntax_at(p, pos, 1, "brackets nested too deeply");
            open[depth] = (char)c;
            where[depth++] = pos;
        } else if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) {
                if (base && c == closer_of(base))
                    break;
                return syntax_at(p, pos, 1, "unmatched '%c'", c);
            }
            if (c != closer_of(open[depth - 1])) {
                /* If an outer bracket wants c, the inner one was left open. */
                int outer = base && c == closer_of(base);
                for (int i = 0; i < depth - 1; i++)
                    outer |= c == closer_of(open[i]);
                if (outer)
                    return syntax_at(p, where[depth - 1], 1, "'%c' was never closed",
                                     open[depth - 1]);
                return syntax_at(p, pos, 1, "unmatched '%c'", c);
            }
            depth--;
        }
        pos++;
    }
    if (depth > 0)
        return syntax_at(p, where[depth - 1], 1, "'%c' was never closed", open[depth - 1]);
    *stop = pos;
    return FE_OK;
}

/* Finds the ')' that closes the '(' at pos; `what` names the opener. */
static fe_status find_close(parser *p, uint32_t pos, const char *what, uint32_t *close)
{
    fe_status st = scan(p, pos + 1, p->n, '(', 0, close);
    if (st)
        return st;
    if (*close >= p->n)
        return syntax_at(p, pos, 1, "expected ')' to close '%s('", what);
    return FE_OK;
}

/* Is there `ident :` at pos?  Sets the word's extent and where its ':' ends.
 * A Python expression cannot start that way, so this is a modifier. */
static int modifier_at(const parser *p, uint32_t pos, uint32_t end, uint32_t *ws,
                       uint32_t *we, uint32_t *after)
{
    pos = skip_blanks(p, pos, end);
    uint32_t e = ident_end(p, pos, end);
    if (e == pos)
        return 0;
    uint32_t q = skip_blanks(p, e, end);
    if (q >= end || at(p, q) != ':')
        return 0;
    *ws = pos;
    *we = e;
    *after = q + 1;
    return 1;
}

static fe_status bad_modifier(parser *p, uint32_t ws, uint32_t we)
{
    return syntax_at(p, ws, we - ws, "unknown modifier '%.*s%s:' in '%s%c'", QUOTE(p, ws, we - ws),
                     p->cname, p->copen);
}

/* ---------------------------------------------------------------- items */

/* Appends a zeroed item to the current sink; the sink's owner (clause or
 * directive) owns it.  NULL when out of memory. */
static fe_item *new_item(parser *p, fe_item_kind kind)
{
    if (*p->nitems == p->item_cap) {
        if (p->item_cap > INT_MAX / 4)
            return NULL;
        int cap = p->item_cap ? p->item_cap * 2 : 4;
        fe_item *v = realloc(*p->items, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        *p->items = v;
        p->item_cap = cap;
    }
    fe_item *it = &(*p->items)[(*p->nitems)++];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    return it;
}

/* An expression item over the trimmed, non-empty text [a, b). */
static fe_status add_expr(parser *p, uint32_t a, uint32_t b, fe_item_key key)
{
    int star = b - a == 1 && at(p, a) == '*';
    fe_item *it = new_item(p, star ? FE_ITEM_STAR : FE_ITEM_EXPR);
    if (!it)
        return nomem(p);
    it->key = key;
    it->expr = span_of(p, a, b - a);
    return FE_OK;
}

static int is_star(const parser *p, uint32_t a, uint32_t b)
{
    return b - a == 1 && at(p, a) == '*';
}

/* Cuts the next item of a comma-separated list out of [*pos, end): the
 * item is [*a, *b) trimmed, *sep the ',' after it or end.  An empty item is
 * an error naming `what` was expected. */
static fe_status next_item(parser *p, uint32_t *pos, uint32_t end, const char *what,
                           uint32_t *a, uint32_t *b, uint32_t *sep)
{
    uint32_t start = *pos;
    fe_status st = scan(p, start, end, 0, STOP_COMMA, sep);
    if (st)
        return st;
    *a = start;
    *b = *sep;
    trim(p, a, b);
    if (*a == *b)
        return syntax_at(p, *sep, len_at(p, *sep), "expected %s in '%s%c'", what, p->cname,
                         p->copen);
    *pos = *sep < end ? *sep + 1 : end;
    return FE_OK;
}

/* dim = [expr] ":" [expr] | expr   (inside "[" ... "]", comma-separated)
 * Reads the dims of one section whose '[' is at open; *after is past ']'. */
static fe_status parse_section(parser *p, fe_item *it, uint32_t open, uint32_t end,
                               uint32_t *after)
{
    uint32_t pos = open + 1;
    for (;;) {
        fe_section_dim dim = {0};
        uint32_t stop, a = pos, b;
        fe_status st = scan(p, pos, end, '[', STOP_COMMA | STOP_COLON, &stop);
        if (st)
            return st;
        if (stop >= end)
            return syntax_at(p, open, 1, "'[' was never closed");
        b = stop;
        trim(p, &a, &b);
        if (at(p, stop) == ':') {
            dim.lo = span_of(p, a, b - a);
            uint32_t hs = stop + 1;
            st = scan(p, hs, end, '[', STOP_COMMA | STOP_COLON, &stop);
            if (st)
                return st;
            if (stop >= end)
                return syntax_at(p, open, 1, "'[' was never closed");
            a = hs;
            b = stop;
            trim(p, &a, &b);
            dim.hi = span_of(p, a, b - a);
            if (at(p, stop) == ':')
                return syntax_at(p, stop, 1, "an array section takes no step");
        } else {
            if (a == b)
                return syntax_at(p, stop, 1, "expected an index or a section in '['");
            dim.lo = span_of(p, a, b - a);
            dim.is_index = 1;
        }
        a = pos;
        b = stop;
        trim(p, &a, &b);
        if (it->ndims == FE_MAX_DIMS)
            return syntax_at(p, a, b - a, "too many dimensions (at most %d)", FE_MAX_DIMS);
        it->dims[it->ndims++] = dim;
        if (at(p, stop) == ']') {
            *after = stop + 1;
            return FE_OK;
        }
        pos = stop + 1;
    }
}

/* var = name ("[" dim ("," dim)* "]")*   over the trimmed text [a, b) */
static fe_status parse_var(parser *p, uint32_t a, uint32_t b)
{
    fe_item *it = new_item(p, FE_ITEM_VAR);
    if (!it)
        return nomem(p);
    uint32_t e = name_end(p, a, b);
    if (e == a)
        goto not_var;
    it->name = span_of(p, a, e - a);
    uint32_t pos = skip_blanks(p, e, b);
    while (pos < b && at(p, pos) == '[') {
        fe_status st = parse_section(p, it, pos, b, &pos);
        if (st)
            return st;
        pos = skip_blanks(p, pos, b);
    }
    if (pos == b)
        return FE_OK;
not_var:
    return syntax_at(p, a, b - a, "'%.*s%s' is not a variable or array section in '%s%c'",
                     QUOTE(p, a, b - a), p->cname, p->copen);
}

/* var-list = var ("," var)* */
static fe_status parse_var_list(parser *p, uint32_t pos, uint32_t end)
{
    for (;;) {
        uint32_t a, b, sep;
        fe_status st = next_item(p, &pos, end, "a variable", &a, &b, &sep);
        if (!st)
            st = parse_var(p, a, b);
        if (st || sep >= end)
            return st;
    }
}

/* [modifier ":"] var-list, where `allowed` says which FE_MOD_* may appear */
static fe_status parse_vars_with_mods(parser *p, uint32_t pos, uint32_t end, unsigned allowed,
                                      unsigned *mods)
{
    static const struct {
        const char *word;
        unsigned mod;
    } var_mods[] = {{"readonly", FE_MOD_READONLY}, {"zero", FE_MOD_ZERO}};
    uint32_t ws, we, after;
    if (modifier_at(p, pos, end, &ws, &we, &after)) {
        unsigned mod = 0;
        for (size_t i = 0; i < sizeof var_mods / sizeof var_mods[0]; i++)
            if (word_is(p, ws, we - ws, var_mods[i].word))
                mod = var_mods[i].mod;
        if (!mod)
            return bad_modifier(p, ws, we);
        if (!(mod & allowed))
            return syntax_at(p, ws, we - ws, "modifier '%.*s%s:' is not allowed in '%s%c'",
                             QUOTE(p, ws, we - ws), p->cname, p->copen);
        *mods |= mod;
        pos = after;
    }
    return parse_var_list(p, pos, end);
}

/* expr-list = expr ("," expr)*, at most `max` of them, or just one when
 * max is 1; `what` is one item ("a value"). */
static fe_status parse_exprs(parser *p, uint32_t pos, uint32_t end, int max, const char *what,
                             fe_item_key key)
{
    for (int count = 0;; count++) {
        uint32_t a, b, sep;
        fe_status st = next_item(p, &pos, end, what, &a, &b, &sep);
        if (st)
            return st;
        if (count == max) {
            if (max == 1)
                return syntax_at(p, a, b - a, "'%s' takes %s, not a list", p->cname, what);
            return syntax_at(p, a, b - a, "'%s' takes at most %d values", p->cname, max);
        }
        if (is_star(p, a, b))
            return syntax_at(p, a, 1, "'*' is not allowed in '%s%c'", p->cname, p->copen);
        st = add_expr(p, a, b, key);
        if (st || sep >= end)
            return st;
    }
}

/* wait-args = ["devnum" ":" expr ":"] ["queues" ":"] expr ("," expr)* */
static fe_status parse_wait_args(parser *p, uint32_t pos, uint32_t end, unsigned *mods)
{
    uint32_t ws, we, after;
    if (modifier_at(p, pos, end, &ws, &we, &after) && word_is(p, ws, we - ws, "devnum")) {
        uint32_t stop, a = after, b;
        fe_status st = scan(p, after, end, 0, STOP_COMMA | STOP_COLON, &stop);
        if (st)
            return st;
        b = stop;
        trim(p, &a, &b);
        if (a == b)
            return syntax_at(p, stop, len_at(p, stop), "expected a device number after 'devnum:'");
        if (stop >= end || at(p, stop) != ':')
            return syntax_at(p, stop, len_at(p, stop),
                             "expected ':' after the device number in '%s%c'", p->cname, p->copen);
        st = add_expr(p, a, b, FE_KEY_DEVNUM);
        if (st)
            return st;
        pos = stop + 1;
    }
    if (modifier_at(p, pos, end, &ws, &we, &after)) {
        if (!word_is(p, ws, we - ws, "queues"))
            return bad_modifier(p, ws, we);
        *mods |= FE_MOD_QUEUES;
        pos = after;
    }
    return parse_exprs(p, pos, end, INT_MAX, "a queue", FE_KEY_NONE);
}

/* gang-arg = ["num" ":"] expr | "static" ":" (expr | "*") | "dim" ":" expr */
static fe_status parse_gang(parser *p, uint32_t pos, uint32_t end)
{
    static const char *const keys[] = {"num", "static", "dim"};
    static const fe_item_key key_of[] = {FE_KEY_NUM, FE_KEY_STATIC, FE_KEY_DIM};
    unsigned seen = 0;
    for (;;) {
        uint32_t a, b, sep, ws, we, after;
        fe_status st = next_item(p, &pos, end, "an argument", &a, &b, &sep);
        if (st)
            return st;
        int k = 0; /* a plain expression is the num argument */
        int keyed = modifier_at(p, a, b, &ws, &we, &after);
        if (keyed) {
            k = -1;
            for (int i = 0; i < 3; i++)
                if (word_is(p, ws, we - ws, keys[i]))
                    k = i;
            if (k < 0)
                return bad_modifier(p, ws, we);
            a = after;
            trim(p, &a, &b);
            if (a == b)
                return syntax_at(p, we, after - we, "expected a value after '%s:'", keys[k]);
        } else {
            ws = a;
            we = b;
        }
        if (seen & (1u << k))
            return syntax_at(p, ws, we - ws, "'gang' takes one '%s' argument", keys[k]);
        seen |= 1u << k;
        if (is_star(p, a, b) && k != 1)
            return syntax_at(p, a, 1, "'*' is only allowed after 'static:'");
        st = add_expr(p, a, b, keyed ? key_of[k] : FE_KEY_NONE);
        if (st || sep >= end)
            return st;
    }
}

/* ["kw" ":"] expr  for worker(num:), vector(length:), collapse(force:) */
static fe_status parse_keyed_expr(parser *p, uint32_t pos, uint32_t end, const char *kw,
                                  fe_item_key key)
{
    uint32_t ws, we, after;
    fe_item_key k = FE_KEY_NONE;
    if (modifier_at(p, pos, end, &ws, &we, &after)) {
        if (!word_is(p, ws, we - ws, kw))
            return bad_modifier(p, ws, we);
        k = key;
        pos = after;
    }
    return parse_exprs(p, pos, end, 1, "a value", k);
}

/* red-op ":" var-list */
static fe_status parse_reduction(parser *p, fe_clause *c, uint32_t pos, uint32_t end)
{
    static const struct {
        const char *tok;
        fe_red_op op;
    } ops[] = {{"&&", FE_RED_AND}, {"||", FE_RED_OR}, {"+", FE_RED_ADD},    {"*", FE_RED_MUL},
               {"&", FE_RED_BITAND}, {"|", FE_RED_BITOR}, {"^", FE_RED_BITXOR}};
    pos = skip_blanks(p, pos, end);
    uint32_t e = ident_end(p, pos, end);
    if (e > pos) {
        if (word_is(p, pos, e - pos, "max"))
            c->red_op = FE_RED_MAX;
        else if (word_is(p, pos, e - pos, "min"))
            c->red_op = FE_RED_MIN;
    } else {
        for (size_t i = 0; i < sizeof ops / sizeof ops[0] && !c->red_op; i++) {
            size_t n = strlen(ops[i].tok);
            if (end - pos >= n && memcmp(p->s + pos, ops[i].tok, n) == 0) {
                c->red_op = ops[i].op;
                e = pos + (uint32_t)n;
            }
        }
    }
    if (!c->red_op) {
        /* Name the whole would-be operator: up to ':' or a blank. */
        e = pos;
        while (e < end && at(p, e) != ':' && !is_blank(at(p, e)))
            e++;
        if (e == pos)
            return syntax_at(p, pos, len_at(p, pos), "expected a reduction operator in '%s%c'",
                             p->cname, p->copen);
        return syntax_at(p, pos, e - pos,
                         "unknown reduction operator '%.*s%s'; "
                         "expected one of + * max min & | ^ && ||",
                         QUOTE(p, pos, e - pos));
    }
    uint32_t q = skip_blanks(p, e, end);
    if (q >= end || at(p, q) != ':')
        return syntax_at(p, q, len_at(p, q), "missing ':' after reduction operator '%s'",
                         fe_red_op_name(c->red_op));
    return parse_var_list(p, q + 1, end);
}

/* (ident | "*") ("," (ident | "*"))* */
static fe_status parse_device_types(parser *p, uint32_t pos, uint32_t end)
{
    for (;;) {
        uint32_t a, b, sep;
        fe_status st = next_item(p, &pos, end, "a device type", &a, &b, &sep);
        if (st)
            return st;
        if (!is_star(p, a, b) && ident_end(p, a, b) != b)
            return syntax_at(p, a, b - a, "expected a device type name or '*', got '%.*s%s'",
                             QUOTE(p, a, b - a));
        st = add_expr(p, a, b, FE_KEY_NONE);
        if (st || sep >= end)
            return st;
    }
}

/* (expr | "*") ("," (expr | "*"))* */
static fe_status parse_tile(parser *p, uint32_t pos, uint32_t end)
{
    for (;;) {
        uint32_t a, b, sep;
        fe_status st = next_item(p, &pos, end, "a tile size", &a, &b, &sep);
        if (!st)
            st = add_expr(p, a, b, FE_KEY_NONE);
        if (st || sep >= end)
            return st;
    }
}

/* name | string, for bind(...); routine(name) takes only the name. */
static fe_status parse_name_arg(parser *p, uint32_t pos, uint32_t end, int string_ok)
{
    uint32_t a = pos, b = end;
    trim(p, &a, &b);
    if (string_ok && a < b && (at(p, a) == '"' || at(p, a) == '\'')) {
        uint32_t after;
        fe_status st = skip_string(p, a, b, &after);
        if (st)
            return st;
        if (after == b)
            return add_expr(p, a, b, FE_KEY_NONE);
    } else if (a < b && name_end(p, a, b) == b) {
        fe_item *it = new_item(p, FE_ITEM_VAR);
        if (!it)
            return nomem(p);
        it->name = span_of(p, a, b - a);
        return FE_OK;
    }
    if (a == b)
        return syntax_at(p, b, len_at(p, b), "expected a name in '%s%c'", p->cname, p->copen);
    return syntax_at(p, a, b - a, "expected %s in '%s%c', got '%.*s%s'",
                     string_ok ? "a name or a string" : "a name", p->cname, p->copen,
                     QUOTE(p, a, b - a));
}

/* "none" | "present" */
static fe_status parse_default(parser *p, fe_clause *c, uint32_t pos, uint32_t end)
{
    uint32_t a = pos, b = end;
    trim(p, &a, &b);
    if (word_is(p, a, b - a, "none"))
        c->def = FE_DEFAULT_NONE;
    else if (word_is(p, a, b - a, "present"))
        c->def = FE_DEFAULT_PRESENT;
    else
        return syntax_at(p, a, b - a, "expected 'none' or 'present' in '%s%c'", p->cname,
                         p->copen);
    return FE_OK;
}

/* The arguments of clause c, in [pos, end) (inside its parentheses, or its
 * `=` value). */
static fe_status parse_args(parser *p, fe_clause *c, arg_form form, uint32_t pos, uint32_t end)
{
    switch (form) {
    case ARG_NONE:
        break;
    case ARG_EXPR:
        return parse_exprs(p, pos, end, 1,
                           c->kind == FE_CL_IF || c->kind == FE_CL_SELF ? "a condition" : "a value",
                           FE_KEY_NONE);
    case ARG_NUM_GANGS:
        return parse_exprs(p, pos, end, 3, "a value", FE_KEY_NONE);
    case ARG_WAIT:
        return parse_wait_args(p, pos, end, &c->mods);
    case ARG_DEVTYPE:
        return parse_device_types(p, pos, end);
    case ARG_DEFAULT:
        return parse_default(p, c, pos, end);
    case ARG_VARS:
        return parse_vars_with_mods(p, pos, end, clause_info[c->kind].mods, &c->mods);
    case ARG_REDUCTION:
        return parse_reduction(p, c, pos, end);
    case ARG_COLLAPSE:
        return parse_keyed_expr(p, pos, end, "force", FE_KEY_FORCE);
    case ARG_GANG:
        return parse_gang(p, pos, end);
    case ARG_WORKER:
        return parse_keyed_expr(p, pos, end, "num", FE_KEY_NUM);
    case ARG_VECTOR:
        return parse_keyed_expr(p, pos, end, "length", FE_KEY_LENGTH);
    case ARG_TILE:
        return parse_tile(p, pos, end);
    case ARG_BIND:
        return parse_name_arg(p, pos, end, 1);
    }
    return FE_OK;
}

/* -------------------------------------------------------------- clauses */

/* The per-directive bookkeeping of which clauses were seen. */
typedef struct seen {
    uint64_t all;    /* in the whole directive */
    uint64_t part;   /* since the last device_type (or the start) */
    int after_dtype; /* a device_type clause came before */
} seen;

/* The spec's rules on how clauses combine, checked as clause k arrives at
 * [off, off+len). */
static fe_status check_combination(parser *p, const seen *sn, int k, uint32_t off, uint32_t len)
{
    const char *name = clause_info[k].name;
    fe_dir_kind dk = p->d->kind;
    if (sn->after_dtype && k != FE_CL_DEVICE_TYPE && !(dir_info[dk].after_dtype & BIT(k)))
        return syntax_at(p, off, len, "clause '%s' cannot follow 'device_type' on '%s'", name,
                         p->label);
    uint64_t once = ONCE_PER_DEVICE_CL | ONCE_CL;
    if (k == FE_CL_SELF && dk == FE_DIR_UPDATE)
        once = 0;
    if ((once & BIT(k)) && (((ONCE_CL & BIT(k)) ? sn->all : sn->part) & BIT(k)))
        return syntax_at(p, off, len, "clause '%s' appears more than once%s", name,
                         sn->after_dtype && !(ONCE_CL & BIT(k)) ? " after this device_type"
                                                                  : "");
    uint64_t gwvs = GWV_CL | B(SEQ);
    if (dk == FE_DIR_ROUTINE && (gwvs & BIT(k)) && (sn->part & gwvs))
        return syntax_at(p, off, len, "'routine' takes only one of gang, worker, vector, seq");
    uint64_t clash = 0;
    if (k == FE_CL_SEQ)
        clash = sn->part & (GWV_CL | SAI_CL);
    else if (GWV_CL & BIT(k))
        clash = sn->part & B(SEQ);
    else if (SAI_CL & BIT(k))
        clash = sn->part & SAI_CL;
    for (int j = 0; j < FE_CL_COUNT_; j++)
        if (clash & BIT(j))
            return syntax_at(p, off, len, "'%s' cannot be combined with '%s'", name,
                             clause_info[j].name);
    return FE_OK;
}

/* Unknown clause: suggest the closest allowed here, else any clause. */
static fe_status unknown_clause(parser *p, uint32_t off, uint32_t len)
{
    guess g = {NULL, INT_MAX, 0};
    if (p->d->kind == FE_DIR_ATOMIC) {
        for (int i = 0; i < 4; i++) {
            if (word_is(p, off, len, atomic_words[i]))
                return syntax_at(p, off, len, "'atomic' takes one of read, write, update, capture");
            consider(&g, p, off, len, atomic_words[i]);
        }
        if (g.word)
            return unknown_word(p, off, len, "atomic kind", &g);
    }
    for (int pass = 0; pass < 2 && !g.word; pass++)
        for (int k = 0; k < FE_CL_COUNT_; k++)
            if (pass || (p->allowed & BIT(k)))
                consider(&g, p, off, len, clause_info[k].name);
    return unknown_word(p, off, len, "clause", &g);
}

/* Adds an empty clause to the directive, which owns it; NULL when out of
 * memory. */
static fe_clause *new_clause(parser *p)
{
    fe_directive *d = p->d;
    if (d->nclauses == p->clause_cap) {
        if (p->clause_cap > INT_MAX / 4)
            return NULL;
        int cap = p->clause_cap ? p->clause_cap * 2 : 4;
        fe_clause *v = realloc(d->clauses, (size_t)cap * sizeof *v);
        if (!v)
            return NULL;
        d->clauses = v;
        p->clause_cap = cap;
    }
    fe_clause *c = &d->clauses[d->nclauses++];
    memset(c, 0, sizeof *c);
    return c;
}

/* clause = clause-name ["(" args ")" | "=" value]; *pos is at the name. */
static fe_status parse_clause(parser *p, seen *sn, uint32_t *pos)
{
    uint32_t ns = *pos, ne = ident_end(p, ns, p->n);
    if (ne == ns) {
        uint32_t e = ns + 1;
        while (e < p->n && !is_blank(at(p, e)) && !is_id_start(at(p, e)))
            e++;
        return syntax_at(p, ns, e - ns, "expected a clause, got '%.*s%s'", QUOTE(p, ns, e - ns));
    }
    int k = clause_lookup(p, ns, ne - ns);
    if (k < 0)
        return unknown_clause(p, ns, ne - ns);
    if (!(p->allowed & BIT(k)))
        return syntax_at(p, ns, ne - ns, "clause '%s' is not allowed on '%s'",
                         clause_info[k].name, p->label);
    fe_status st = check_combination(p, sn, k, ns, ne - ns);
    if (st)
        return st;
    fe_clause *c = new_clause(p);
    if (!c)
        return nomem(p);
    c->kind = (fe_clause_kind)k;
    c->loc = loc_of(p, ns, ne - ns);
    p->items = &c->items;
    p->nitems = &c->nitems;
    p->item_cap = 0;
    p->cname = clause_info[k].name;

    arg_form form = clause_info[k].form;
    if (k == FE_CL_SELF && p->d->kind == FE_DIR_UPDATE)
        form = ARG_VARS;
    uint32_t q = skip_blanks(p, ne, p->n), a, b;
    *pos = ne;
    if (q < p->n && at(p, q) == '(') {
        p->copen = '(';
        uint32_t close;
        st = find_close(p, q, p->cname, &close);
        if (st)
            return st;
        a = q + 1;
        b = close;
        *pos = close + 1;
    } else if (q < p->n && at(p, q) == '=') {
        p->copen = '=';
        uint32_t vs = skip_blanks(p, q + 1, p->n), ve, close;
        st = scan(p, vs, p->n, 0, STOP_COMMA | STOP_CLAUSE, &ve);
        if (st)
            return st;
        a = vs;
        b = ve;
        trim(p, &a, &b);
        if (a == b)
            return syntax_at(p, q, 1, "expected a value after '%s='", p->cname);
        /* `name=(list)` is `name(list)`; `name=(n+1)//2` is an expression. */
        if (at(p, a) == '(' && !scan(p, a + 1, b, '(', 0, &close) && close == b - 1) {
            a++;
            b--;
        }
        *pos = ve;
    } else {
        if (form != ARG_NONE && !clause_info[k].optional)
            return syntax_at(p, ns, ne - ns, "expected '(' after '%s'", p->cname);
        form = ARG_NONE;
        a = b = q;
    }
    if (clause_info[k].form == ARG_NONE && *pos != ne)
        return syntax_at(p, q, 1, "clause '%s' takes no arguments", p->cname);
    c->has_args = *pos != ne;
    st = parse_args(p, c, form, a, b);
    if (st)
        return st;

    sn->all |= BIT(k);
    sn->part |= BIT(k);
    if (k == FE_CL_DEVICE_TYPE && dir_info[p->d->kind].after_dtype) {
        sn->part = 0;
        sn->after_dtype = 1;
    }
    return FE_OK;
}

/* What a directive needs among its clauses (spec 2.7 restrictions). */
static fe_status check_required(parser *p, uint64_t all)
{
    static const struct {
        fe_dir_kind kind;
        uint64_t any;
        const char *msg;
    } needs[] = {
        {FE_DIR_HOST_DATA, B(USE_DEVICE), "a 'use_device' clause"},
        {FE_DIR_UPDATE, B(SELF) | B(HOST) | B(DEVICE), "a 'self', 'host' or 'device' clause"},
        {FE_DIR_ENTER_DATA, B(COPYIN) | B(CREATE) | B(ATTACH),
         "a 'copyin', 'create' or 'attach' clause"},
        {FE_DIR_EXIT_DATA, B(COPYOUT) | B(DELETE) | B(DETACH),
         "a 'copyout', 'delete' or 'detach' clause"},
        {FE_DIR_DATA, DATA_CL | B(DEFAULT), "a data clause or 'default'"},
        {FE_DIR_DECLARE, ~UINT64_C(0), "a data clause"},
        {FE_DIR_SET, B(DEFAULT_ASYNC) | B(DEVICE_NUM) | B(DEVICE_TYPE),
         "a 'default_async', 'device_num' or 'device_type' clause"},
    };
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
        if (p->d->kind == needs[i].kind && !(all & needs[i].any))
            return fe_error_set(p->err, FE_ERR_SYNTAX, p->d->loc, "'%s' needs %s", p->label,
                                needs[i].msg);
    return FE_OK;
}

/* clauses = [clause ([","] clause)*] */
static fe_status parse_clauses(parser *p, uint32_t pos)
{
    seen sn = {0, 0, 0};
    int nclauses = 0;
    for (;;) {
        pos = skip_blanks(p, pos, p->n);
        if (pos < p->n && at(p, pos) == ',') {
            if (nclauses == 0)
                return syntax_at(p, pos, 1, "unexpected ',' before the first clause");
            uint32_t comma = pos;
            pos = skip_blanks(p, pos + 1, p->n);
            if (pos >= p->n || at(p, pos) == ',')
                return syntax_at(p, comma, 1, "expected a clause after ','");
        }
        if (pos >= p->n)
            break;
        fe_status st = parse_clause(p, &sn, &pos);
        if (st)
            return st;
        nclauses++;
    }
    return check_required(p, sn.all);
}

/* ----------------------------------------------------------- directives */

/* dir-name = ("parallel" | "kernels" | "serial") ["loop"] | "loop" | "data"
 *          | "enter" "data" | "exit" "data" | "host_data" | ... | "end"
 * Reads the name at *pos and leaves *pos after it; ctx is what came before,
 * for messages. */
static fe_status parse_dir_name(parser *p, uint32_t *pos, fe_dir_kind *kind, const char *ctx)
{
    uint32_t ws = *pos, we = ident_end(p, ws, p->n);
    if (we == ws)
        return syntax_at(p, ws, len_at(p, ws), "expected a directive name after '%s'", ctx);
    const struct dir_word *w = NULL;
    for (int i = 0; i < NDIR_WORDS && !w; i++)
        if (word_is(p, ws, we - ws, dir_words[i].word))
            w = &dir_words[i];
    if (!w) {
        guess g = {NULL, INT_MAX, 0};
        for (int i = 0; i < NDIR_WORDS; i++)
            consider(&g, p, ws, we - ws, dir_words[i].word);
        return unknown_word(p, ws, we - ws, "directive", &g);
    }
    *kind = w->kind;
    uint32_t q = skip_blanks(p, we, p->n), qe = ident_end(p, q, p->n);
    if (w->second) {
        if (!word_is(p, q, qe - q, w->second))
            return syntax_at(p, q, qe > q ? qe - q : len_at(p, q), "expected '%s' after '%s'",
                             w->second, w->word);
        we = qe;
    } else if (w->with_loop != FE_DIR_COUNT_ && word_is(p, q, qe - q, "loop")) {
        *kind = w->with_loop;
        we = qe;
    }
    *pos = we;
    return FE_OK;
}

/* The directive's own parenthesised argument at pos (routine, wait, cache);
 * the directive owns the items. */
static fe_status parse_dir_args(parser *p, uint32_t *pos)
{
    fe_directive *d = p->d;
    uint32_t q = skip_blanks(p, *pos, p->n), close;
    if (q >= p->n || at(p, q) != '(') {
        if (d->kind == FE_DIR_CACHE)
            return syntax_at(p, q, len_at(p, q), "expected '(' after 'cache'");
        return FE_OK;
    }
    p->items = &d->args;
    p->nitems = &d->nargs;
    p->item_cap = 0;
    p->cname = p->label;
    p->copen = '(';
    fe_status st = find_close(p, q, p->label, &close);
    if (st)
        return st;
    *pos = close + 1;
    if (d->kind == FE_DIR_ROUTINE)
        return parse_name_arg(p, q + 1, close, 0);
    if (d->kind == FE_DIR_WAIT)
        return parse_wait_args(p, q + 1, close, &d->mods);
    return parse_vars_with_mods(p, q + 1, close, FE_MOD_READONLY, &d->mods);
}

/* end-target = ("parallel" | "kernels" | "serial") ["loop"]
 *            | "data" | "host_data" | "atomic" */
static fe_status parse_end(parser *p, uint32_t ds, uint32_t pos)
{
    static const uint32_t endable =
        1u << FE_DIR_PARALLEL | 1u << FE_DIR_KERNELS | 1u << FE_DIR_SERIAL |
        1u << FE_DIR_PARALLEL_LOOP | 1u << FE_DIR_KERNELS_LOOP | 1u << FE_DIR_SERIAL_LOOP |
        1u << FE_DIR_DATA | 1u << FE_DIR_HOST_DATA | 1u << FE_DIR_ATOMIC;
    fe_directive *d = p->d;
    uint32_t ts = skip_blanks(p, pos, p->n);
    pos = ts;
    fe_status st = parse_dir_name(p, &pos, &d->end_of, "end");
    if (st)
        return st;
    if (!(endable & (1u << d->end_of)))
        return syntax_at(p, ts, pos - ts, "'%s' has no 'end' directive", fe_dir_name(d->end_of));
    snprintf(p->label, sizeof p->label, "end %s", fe_dir_name(d->end_of));
    d->loc = loc_of(p, ds, pos - ds);
    pos = skip_blanks(p, pos, p->n);
    if (pos < p->n)
        return syntax_at(p, pos, p->n - pos, "unexpected '%.*s%s' after '%s'",
                         QUOTE(p, pos, p->n - pos), p->label);
    return FE_OK;
}

/* pragma = "#" "pragma" "acc" directive */
static fe_status parse_pragma(parser *p)
{
    fe_directive *d = p->d;
    uint32_t pos = skip_blanks(p, 1, p->n), e = ident_end(p, pos, p->n);
    int ok = p->n > 0 && at(p, 0) == '#' && word_is(p, pos, e - pos, "pragma");
    if (ok) {
        pos = skip_blanks(p, e, p->n);
        ok = pos > e;
        e = ident_end(p, pos, p->n);
        ok = ok && word_is(p, pos, e - pos, "acc") && (e == p->n || is_blank(at(p, e)));
    }
    if (!ok)
        return syntax_at(p, 0, e < p->n ? e : p->n, "expected '#pragma acc'");
    pos = skip_blanks(p, e, p->n);
    uint32_t ds = pos;
    fe_status st = parse_dir_name(p, &pos, &d->kind, "#pragma acc");
    if (st)
        return st;
    d->loc = loc_of(p, ds, pos - ds);
    snprintf(p->label, sizeof p->label, "%s", fe_dir_name(d->kind));
    p->allowed = dir_info[d->kind].allowed;
    switch (d->kind) {
    case FE_DIR_END:
        return parse_end(p, ds, pos);
    case FE_DIR_ATOMIC: {
        uint32_t q = skip_blanks(p, pos, p->n), qe = ident_end(p, q, p->n);
        d->atomic = FE_ATOMIC_UPDATE;
        for (int i = 0; i < 4; i++)
            if (word_is(p, q, qe - q, atomic_words[i])) {
                d->atomic = atomic_kinds[i];
                pos = qe;
            }
        break;
    }
    case FE_DIR_ROUTINE:
    case FE_DIR_WAIT:
    case FE_DIR_CACHE:
        st = parse_dir_args(p, &pos);
        if (st)
            return st;
        break;
    default:
        break;
    }
    return parse_clauses(p, pos);
}

/* Mirrors the start of parse_pragma without allocating, for the Python side
 * to pick pragma comments out of a function's source. */
int fe_pragma_is_acc(const char *text, size_t len)
{
    size_t i = 1;
    if (!text || len == 0 || text[0] != '#')
        return 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (len - i < 6 || memcmp(text + i, "pragma", 6) != 0)
        return 0;
    i += 6;
    if (i >= len || (text[i] != ' ' && text[i] != '\t'))
        return 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (len - i < 3 || memcmp(text + i, "acc", 3) != 0)
        return 0;
    i += 3;
    if (i < len && text[i] == '\\') /* "#pragma acc\" continued on the next line */
        while (++i < len && is_blank((unsigned char)text[i]))
            ;
    return i == len || is_blank((unsigned char)text[i]);
}

/* ---------------------------------------------------------- entry point */

static fe_status bad_call(fe_error *err, const fe_src_line *l, const char *what)
{
    fe_loc loc = {l ? l->line : 0, l ? l->col : 0, -1};
    return fe_error_set(err, FE_ERR_INTERNAL, loc, "fe_pragma_parse: %s", what);
}

/* Joins the lines into *text (owned by the caller on success) and fills
 * segs[0..nlines).  The trailing backslash of a continued line becomes a
 * blank, and what follows it is dropped, so offsets on each line stay exact. */
static fe_status join_lines(const fe_src_line *lines, int nlines, seg *segs, char **text,
                            uint32_t *total, fe_error *err)
{
    fe_loc first = {lines[0].line, lines[0].col, -1};
    size_t sum = 0;
    for (int i = 0; i < nlines; i++) {
        const fe_src_line *l = &lines[i];
        if (!l->text && l->len)
            return bad_call(err, l, "a line has no text");
        if (l->col < 0 || l->col > INT_MAX - (int)MAX_TEXT - 2)
            return bad_call(err, l, "a line's column is out of range");
        if (l->len > MAX_TEXT)
            return fe_error_set(err, FE_ERR_SYNTAX, first, "pragma is too long");
        size_t start = 0, end = l->len;
        if (i > 0) {
            if (end == 0 || l->text[0] != '#')
                return bad_call(err, l, "a continuation line does not start with '#'");
            start = 1;
            while (start < end && (l->text[start] == ' ' || l->text[start] == '\t'))
                start++;
        }
        while (end > start && is_blank((unsigned char)l->text[end - 1]))
            end--;
        int cont = end > start && l->text[end - 1] == '\\';
        if (!cont && i + 1 < nlines)
            return bad_call(err, &lines[i + 1], "a line follows one that does not end in '\\'");
        if (cont && i + 1 == nlines) {
            fe_loc loc = {l->line, l->col + (int)(end - 1), l->col + (int)end};
            return fe_error_set(err, FE_ERR_SYNTAX, loc,
                                "'\\' continues the pragma, but no comment line follows");
        }
        if (end - start > MAX_TEXT - sum)
            return fe_error_set(err, FE_ERR_SYNTAX, first, "pragma is too long");
        segs[i] = (seg){(uint32_t)sum, (uint32_t)(end - start), (uint32_t)start, l->line,
                        l->col + (int)start};
        sum += end - start;
    }
    char *t = malloc(sum + 1);
    if (!t)
        return fe_error_set(err, FE_ERR_NOMEM, first, "out of memory");
    for (int i = 0; i < nlines; i++) {
        if (segs[i].len)
            memcpy(t + segs[i].off, lines[i].text + segs[i].src, segs[i].len);
        if (i + 1 < nlines)
            t[segs[i].off + segs[i].len - 1] = ' ';
    }
    t[sum] = '\0';
    *text = t;
    *total = (uint32_t)sum;
    return FE_OK;
}

/* On success *out is a new directive that the caller owns and releases
 * with fe_directive_free. */
fe_status fe_pragma_parse(const fe_src_line *lines, int nlines, fe_directive **out,
                          fe_error *err)
{
    if (out)
        *out = NULL;
    if (!out || !lines || nlines <= 0)
        return bad_call(err, NULL, "no lines or no output");
    seg *segs = malloc((size_t)nlines * sizeof *segs);
    fe_directive *d = calloc(1, sizeof *d);
    if (!segs || !d) {
        free(segs);
        free(d);
        return fe_error_set(err, FE_ERR_NOMEM, (fe_loc){lines[0].line, lines[0].col, -1},
                            "out of memory");
    }
    uint32_t total = 0;
    fe_status st = join_lines(lines, nlines, segs, &d->text, &total, err);
    if (!st) {
        d->text_len = total;
        parser p = {0};
        p.s = d->text;
        p.n = total;
        p.segs = segs;
        p.nsegs = nlines;
        p.d = d;
        p.err = err;
        fe_error scratch;
        if (!p.err)
            p.err = &scratch;
        st = parse_pragma(&p);
    }
    free(segs);
    if (st) {
        fe_directive_free(d);
        return st;
    }
    *out = d;
    return FE_OK;
}

void fe_directive_free(fe_directive *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nclauses; i++)
        free(d->clauses[i].items);
    free(d->clauses);
    free(d->args);
    free(d->text);
    free(d);
}
