/* pragma.c - the OpenACC 2.7 pragma parser (with the 3.x additions listed
 * in notes/openacc-checklist.md): comment lines in, one fe_directive out.
 *
 * Clause arguments are Python expressions, but the parser never parses
 * Python: it finds where each expression starts and ends (balancing
 * brackets, skipping string literals) and keeps the span, which the Python
 * side compiles in the function's own scope.
 *
 * This file holds the grammar, the tables of directives and clauses, the
 * directives and the entry points; clause.c reads the clauses and their
 * arguments, pragma_lex.c the text under both (pragma.h is what they share).
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
 * Beyond the grammar, check_combination and check_required (clause.c)
 * enforce the spec's restrictions (clauses that appear once, what may follow
 * device_type, seq against gang/worker/vector, clauses a directive needs).
 * Continued lines are joined first (join_lines); every span keeps the file
 * position of its first character, so error carets land on the user's text.
 */
#include "pragma.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pragma longer than this is surely not one a person wrote; the cap keeps
 * offsets, columns and allocations far from overflow on hostile input. */
#define MAX_TEXT (1u << 20)

/* --------------------------------------------------------------- tables */

const struct clause_info fe_clause_info[FE_CL_COUNT_] = {
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

const struct dir_info fe_dir_info[FE_DIR_COUNT_] = {
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

const char *const fe_atomic_words[4] = {"read", "write", "update", "capture"};
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
    return (unsigned)k < FE_DIR_COUNT_ ? fe_dir_info[k].name : "?";
}

const char *fe_clause_name(fe_clause_kind k)
{
    return (unsigned)k < FE_CL_COUNT_ ? fe_clause_info[k].name : "?";
}

const char *fe_red_op_name(fe_red_op op)
{
    return (unsigned)op <= FE_RED_OR ? red_names[op] : "?";
}

/* ----------------------------------------------------------- directives */

/* dir-name = ("parallel" | "kernels" | "serial") ["loop"] | "loop" | "data"
 *          | "enter" "data" | "exit" "data" | "host_data" | ... | "end"
 * Reads the name at *pos and leaves *pos after it; ctx is what came before,
 * for messages. */
static fe_status parse_dir_name(parser *p, uint32_t *pos, fe_dir_kind *kind, const char *ctx)
{
    uint32_t ws = *pos, we = fe_ident_end(p, ws, p->n);
    if (we == ws)
        return fe_syntax_at(p, ws, fe_len_at(p, ws), "expected a directive name after '%s'", ctx);
    const struct dir_word *w = NULL;
    for (int i = 0; i < NDIR_WORDS && !w; i++)
        if (fe_word_is(p, ws, we - ws, dir_words[i].word))
            w = &dir_words[i];
    if (!w) {
        guess g = {NULL, INT_MAX, 0};
        for (int i = 0; i < NDIR_WORDS; i++)
            fe_consider(&g, p, ws, we - ws, dir_words[i].word);
        return fe_unknown_word(p, ws, we - ws, "directive", &g);
    }
    *kind = w->kind;
    uint32_t q = fe_skip_blanks(p, we, p->n), qe = fe_ident_end(p, q, p->n);
    if (w->second) {
        if (!fe_word_is(p, q, qe - q, w->second))
            return fe_syntax_at(p, q, qe > q ? qe - q : fe_len_at(p, q), "expected '%s' after '%s'",
                                w->second, w->word);
        we = qe;
    } else if (w->with_loop != FE_DIR_COUNT_ && fe_word_is(p, q, qe - q, "loop")) {
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
    uint32_t q = fe_skip_blanks(p, *pos, p->n), close;
    if (q >= p->n || fe_at(p, q) != '(') {
        if (d->kind == FE_DIR_CACHE)
            return fe_syntax_at(p, q, fe_len_at(p, q), "expected '(' after 'cache'");
        return FE_OK;
    }
    p->items = &d->args;
    p->nitems = &d->nargs;
    p->item_cap = 0;
    p->cname = p->label;
    p->copen = '(';
    fe_status st = fe_find_close(p, q, p->label, &close);
    if (st)
        return st;
    *pos = close + 1;
    if (d->kind == FE_DIR_ROUTINE)
        return fe_parse_name_arg(p, q + 1, close, 0);
    if (d->kind == FE_DIR_WAIT)
        return fe_parse_wait_args(p, q + 1, close, &d->mods);
    return fe_parse_vars_with_mods(p, q + 1, close, FE_MOD_READONLY, &d->mods);
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
    uint32_t ts = fe_skip_blanks(p, pos, p->n);
    pos = ts;
    fe_status st = parse_dir_name(p, &pos, &d->end_of, "end");
    if (st)
        return st;
    if (!(endable & (1u << d->end_of)))
        return fe_syntax_at(p, ts, pos - ts, "'%s' has no 'end' directive", fe_dir_name(d->end_of));
    snprintf(p->label, sizeof p->label, "end %s", fe_dir_name(d->end_of));
    d->loc = fe_loc_of(p, ds, pos - ds);
    pos = fe_skip_blanks(p, pos, p->n);
    if (pos < p->n)
        return fe_syntax_at(p, pos, p->n - pos, "unexpected '%.*s%s' after '%s'",
                            QUOTE(p, pos, p->n - pos), p->label);
    return FE_OK;
}

/* pragma = "#" "pragma" "acc" directive */
static fe_status parse_pragma(parser *p)
{
    fe_directive *d = p->d;
    uint32_t pos = fe_skip_blanks(p, 1, p->n), e = fe_ident_end(p, pos, p->n);
    int ok = p->n > 0 && fe_at(p, 0) == '#' && fe_word_is(p, pos, e - pos, "pragma");
    if (ok) {
        pos = fe_skip_blanks(p, e, p->n);
        ok = pos > e;
        e = fe_ident_end(p, pos, p->n);
        ok = ok && fe_word_is(p, pos, e - pos, "acc") && (e == p->n || fe_is_blank(fe_at(p, e)));
    }
    if (!ok)
        return fe_syntax_at(p, 0, e < p->n ? e : p->n, "expected '#pragma acc'");
    pos = fe_skip_blanks(p, e, p->n);
    uint32_t ds = pos;
    fe_status st = parse_dir_name(p, &pos, &d->kind, "#pragma acc");
    if (st)
        return st;
    d->loc = fe_loc_of(p, ds, pos - ds);
    snprintf(p->label, sizeof p->label, "%s", fe_dir_name(d->kind));
    p->allowed = fe_dir_info[d->kind].allowed;
    switch (d->kind) {
    case FE_DIR_END:
        return parse_end(p, ds, pos);
    case FE_DIR_ATOMIC: {
        uint32_t q = fe_skip_blanks(p, pos, p->n), qe = fe_ident_end(p, q, p->n);
        d->atomic = FE_ATOMIC_UPDATE;
        for (int i = 0; i < 4; i++)
            if (fe_word_is(p, q, qe - q, fe_atomic_words[i])) {
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
    return fe_parse_clauses(p, pos);
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
        while (++i < len && fe_is_blank((unsigned char)text[i]))
            ;
    return i == len || fe_is_blank((unsigned char)text[i]);
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
        while (end > start && fe_is_blank((unsigned char)l->text[end - 1]))
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
