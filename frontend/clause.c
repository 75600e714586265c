/* clause.c - the clauses of an OpenACC pragma and their arguments, for the
 * parser in pragma.c: clause names and their `(args)` or `=value` forms,
 * the argument forms of the grammar (variable lists with array sections,
 * expressions, reduction operators, gang/worker/vector/collapse keywords,
 * wait arguments, device types, tile sizes, bind names), and the spec's
 * restrictions on which clauses combine and which a directive needs.
 *
 * The grammar is written at the top of pragma.c.  Arguments are recorded
 * as items (fe_item) of the clause being read, or of the directive's own
 * argument (routine, wait, cache), which reuses these forms.
 */
#include "pragma.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Clauses that may appear once per directive, and once per device_type
 * part (before the first device_type, and after each one). */
#define ONCE_CL (B(IF) | B(DEFAULT) | B(SELF) | B(DEVICE_NUM) | B(DEFAULT_ASYNC))
#define ONCE_PER_DEVICE_CL                                                         \
    (B(ASYNC) | B(NUM_GANGS) | B(NUM_WORKERS) | B(VECTOR_LENGTH) | B(COLLAPSE) |   \
     B(GANG) | B(WORKER) | B(VECTOR) | B(SEQ) | B(AUTO) | B(INDEPENDENT) | B(TILE) | \
     B(BIND))
#define GWV_CL (B(GANG) | B(WORKER) | B(VECTOR))
#define SAI_CL (B(SEQ) | B(AUTO) | B(INDEPENDENT))

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
    int star = b - a == 1 && fe_at(p, a) == '*';
    fe_item *it = new_item(p, star ? FE_ITEM_STAR : FE_ITEM_EXPR);
    if (!it)
        return fe_nomem(p);
    it->key = key;
    it->expr = fe_span_of(p, a, b - a);
    return FE_OK;
}

static int is_star(const parser *p, uint32_t a, uint32_t b)
{
    return b - a == 1 && fe_at(p, a) == '*';
}

/* Cuts the next item of a comma-separated list out of [*pos, end): the
 * item is [*a, *b) trimmed, *sep the ',' after it or end.  An empty item is
 * an error naming `what` was expected. */
static fe_status next_item(parser *p, uint32_t *pos, uint32_t end, const char *what,
                           uint32_t *a, uint32_t *b, uint32_t *sep)
{
    uint32_t start = *pos;
    fe_status st = fe_scan(p, start, end, 0, STOP_COMMA, sep);
    if (st)
        return st;
    *a = start;
    *b = *sep;
    fe_trim(p, a, b);
    if (*a == *b)
        return fe_syntax_at(p, *sep, fe_len_at(p, *sep), "expected %s in '%s%c'", what, p->cname,
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
        fe_status st = fe_scan(p, pos, end, '[', STOP_COMMA | STOP_COLON, &stop);
        if (st)
            return st;
        if (stop >= end)
            return fe_syntax_at(p, open, 1, "'[' was never closed");
        b = stop;
        fe_trim(p, &a, &b);
        if (fe_at(p, stop) == ':') {
            dim.lo = fe_span_of(p, a, b - a);
            uint32_t hs = stop + 1;
            st = fe_scan(p, hs, end, '[', STOP_COMMA | STOP_COLON, &stop);
            if (st)
                return st;
            if (stop >= end)
                return fe_syntax_at(p, open, 1, "'[' was never closed");
            a = hs;
            b = stop;
            fe_trim(p, &a, &b);
            dim.hi = fe_span_of(p, a, b - a);
            if (fe_at(p, stop) == ':')
                return fe_syntax_at(p, stop, 1, "an array section takes no step");
        } else {
            if (a == b)
                return fe_syntax_at(p, stop, 1, "expected an index or a section in '['");
            dim.lo = fe_span_of(p, a, b - a);
            dim.is_index = 1;
        }
        a = pos;
        b = stop;
        fe_trim(p, &a, &b);
        if (it->ndims == FE_MAX_DIMS)
            return fe_syntax_at(p, a, b - a, "too many dimensions (at most %d)", FE_MAX_DIMS);
        it->dims[it->ndims++] = dim;
        if (fe_at(p, stop) == ']') {
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
        return fe_nomem(p);
    uint32_t e = fe_name_end(p, a, b);
    if (e == a)
        goto not_var;
    it->name = fe_span_of(p, a, e - a);
    uint32_t pos = fe_skip_blanks(p, e, b);
    while (pos < b && fe_at(p, pos) == '[') {
        fe_status st = parse_section(p, it, pos, b, &pos);
        if (st)
            return st;
        pos = fe_skip_blanks(p, pos, b);
    }
    if (pos == b)
        return FE_OK;
not_var:
    return fe_syntax_at(p, a, b - a, "'%.*s%s' is not a variable or array section in '%s%c'",
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
fe_status fe_parse_vars_with_mods(parser *p, uint32_t pos, uint32_t end, unsigned allowed,
                                  unsigned *mods)
{
    static const struct {
        const char *word;
        unsigned mod;
    } var_mods[] = {{"readonly", FE_MOD_READONLY}, {"zero", FE_MOD_ZERO}};
    uint32_t ws, we, after;
    if (fe_modifier_at(p, pos, end, &ws, &we, &after)) {
        unsigned mod = 0;
        for (size_t i = 0; i < sizeof var_mods / sizeof var_mods[0]; i++)
            if (fe_word_is(p, ws, we - ws, var_mods[i].word))
                mod = var_mods[i].mod;
        if (!mod)
            return fe_bad_modifier(p, ws, we);
        if (!(mod & allowed))
            return fe_syntax_at(p, ws, we - ws, "modifier '%.*s%s:' is not allowed in '%s%c'",
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
                return fe_syntax_at(p, a, b - a, "'%s' takes %s, not a list", p->cname, what);
            return fe_syntax_at(p, a, b - a, "'%s' takes at most %d values", p->cname, max);
        }
        if (is_star(p, a, b))
            return fe_syntax_at(p, a, 1, "'*' is not allowed in '%s%c'", p->cname, p->copen);
        st = add_expr(p, a, b, key);
        if (st || sep >= end)
            return st;
    }
}

/* wait-args = ["devnum" ":" expr ":"] ["queues" ":"] expr ("," expr)* */
fe_status fe_parse_wait_args(parser *p, uint32_t pos, uint32_t end, unsigned *mods)
{
    uint32_t ws, we, after;
    if (fe_modifier_at(p, pos, end, &ws, &we, &after) && fe_word_is(p, ws, we - ws, "devnum")) {
        uint32_t stop, a = after, b;
        fe_status st = fe_scan(p, after, end, 0, STOP_COMMA | STOP_COLON, &stop);
        if (st)
            return st;
        b = stop;
        fe_trim(p, &a, &b);
        if (a == b)
            return fe_syntax_at(p, stop, fe_len_at(p, stop),
                                "expected a device number after 'devnum:'");
        if (stop >= end || fe_at(p, stop) != ':')
            return fe_syntax_at(p, stop, fe_len_at(p, stop),
                                "expected ':' after the device number in '%s%c'", p->cname,
                                p->copen);
        st = add_expr(p, a, b, FE_KEY_DEVNUM);
        if (st)
            return st;
        pos = stop + 1;
    }
    if (fe_modifier_at(p, pos, end, &ws, &we, &after)) {
        if (!fe_word_is(p, ws, we - ws, "queues"))
            return fe_bad_modifier(p, ws, we);
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
        int keyed = fe_modifier_at(p, a, b, &ws, &we, &after);
        if (keyed) {
            k = -1;
            for (int i = 0; i < 3; i++)
                if (fe_word_is(p, ws, we - ws, keys[i]))
                    k = i;
            if (k < 0)
                return fe_bad_modifier(p, ws, we);
            a = after;
            fe_trim(p, &a, &b);
            if (a == b)
                return fe_syntax_at(p, we, after - we, "expected a value after '%s:'", keys[k]);
        } else {
            ws = a;
            we = b;
        }
        if (seen & (1u << k))
            return fe_syntax_at(p, ws, we - ws, "'gang' takes one '%s' argument", keys[k]);
        seen |= 1u << k;
        if (is_star(p, a, b) && k != 1)
            return fe_syntax_at(p, a, 1, "'*' is only allowed after 'static:'");
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
    if (fe_modifier_at(p, pos, end, &ws, &we, &after)) {
        if (!fe_word_is(p, ws, we - ws, kw))
            return fe_bad_modifier(p, ws, we);
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
    pos = fe_skip_blanks(p, pos, end);
    uint32_t e = fe_ident_end(p, pos, end);
    if (e > pos) {
        if (fe_word_is(p, pos, e - pos, "max"))
            c->red_op = FE_RED_MAX;
        else if (fe_word_is(p, pos, e - pos, "min"))
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
        while (e < end && fe_at(p, e) != ':' && !fe_is_blank(fe_at(p, e)))
            e++;
        if (e == pos)
            return fe_syntax_at(p, pos, fe_len_at(p, pos),
                                "expected a reduction operator in '%s%c'", p->cname, p->copen);
        return fe_syntax_at(p, pos, e - pos,
                            "unknown reduction operator '%.*s%s'; "
                            "expected one of + * max min & | ^ && ||",
                            QUOTE(p, pos, e - pos));
    }
    uint32_t q = fe_skip_blanks(p, e, end);
    if (q >= end || fe_at(p, q) != ':')
        return fe_syntax_at(p, q, fe_len_at(p, q), "missing ':' after reduction operator '%s'",
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
        if (!is_star(p, a, b) && fe_ident_end(p, a, b) != b)
            return fe_syntax_at(p, a, b - a, "expected a device type name or '*', got '%.*s%s'",
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
fe_status fe_parse_name_arg(parser *p, uint32_t pos, uint32_t end, int string_ok)
{
    uint32_t a = pos, b = end;
    fe_trim(p, &a, &b);
    if (string_ok && a < b && (fe_at(p, a) == '"' || fe_at(p, a) == '\'')) {
        uint32_t after;
        fe_status st = fe_skip_string(p, a, b, &after);
        if (st)
            return st;
        if (after == b)
            return add_expr(p, a, b, FE_KEY_NONE);
    } else if (a < b && fe_name_end(p, a, b) == b) {
        fe_item *it = new_item(p, FE_ITEM_VAR);
        if (!it)
            return fe_nomem(p);
        it->name = fe_span_of(p, a, b - a);
        return FE_OK;
    }
    if (a == b)
        return fe_syntax_at(p, b, fe_len_at(p, b), "expected a name in '%s%c'", p->cname, p->copen);
    return fe_syntax_at(p, a, b - a, "expected %s in '%s%c', got '%.*s%s'",
                        string_ok ? "a name or a string" : "a name", p->cname, p->copen,
                        QUOTE(p, a, b - a));
}

/* "none" | "present" */
static fe_status parse_default(parser *p, fe_clause *c, uint32_t pos, uint32_t end)
{
    uint32_t a = pos, b = end;
    fe_trim(p, &a, &b);
    if (fe_word_is(p, a, b - a, "none"))
        c->def = FE_DEFAULT_NONE;
    else if (fe_word_is(p, a, b - a, "present"))
        c->def = FE_DEFAULT_PRESENT;
    else
        return fe_syntax_at(p, a, b - a, "expected 'none' or 'present' in '%s%c'", p->cname,
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
        return fe_parse_wait_args(p, pos, end, &c->mods);
    case ARG_DEVTYPE:
        return parse_device_types(p, pos, end);
    case ARG_DEFAULT:
        return parse_default(p, c, pos, end);
    case ARG_VARS:
        return fe_parse_vars_with_mods(p, pos, end, fe_clause_info[c->kind].mods, &c->mods);
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
        return fe_parse_name_arg(p, pos, end, 1);
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
    const char *name = fe_clause_info[k].name;
    fe_dir_kind dk = p->d->kind;
    if (sn->after_dtype && k != FE_CL_DEVICE_TYPE && !(fe_dir_info[dk].after_dtype & BIT(k)))
        return fe_syntax_at(p, off, len, "clause '%s' cannot follow 'device_type' on '%s'", name,
                            p->label);
    uint64_t once = ONCE_PER_DEVICE_CL | ONCE_CL;
    if (k == FE_CL_SELF && dk == FE_DIR_UPDATE)
        once = 0;
    if ((once & BIT(k)) && (((ONCE_CL & BIT(k)) ? sn->all : sn->part) & BIT(k)))
        return fe_syntax_at(p, off, len, "clause '%s' appears more than once%s", name,
                            sn->after_dtype && !(ONCE_CL & BIT(k)) ? " after this device_type"
                                                                  : "");
    uint64_t gwvs = GWV_CL | B(SEQ);
    if (dk == FE_DIR_ROUTINE && (gwvs & BIT(k)) && (sn->part & gwvs))
        return fe_syntax_at(p, off, len, "'routine' takes only one of gang, worker, vector, seq");
    uint64_t clash = 0;
    if (k == FE_CL_SEQ)
        clash = sn->part & (GWV_CL | SAI_CL);
    else if (GWV_CL & BIT(k))
        clash = sn->part & B(SEQ);
    else if (SAI_CL & BIT(k))
        clash = sn->part & SAI_CL;
    for (int j = 0; j < FE_CL_COUNT_; j++)
        if (clash & BIT(j))
            return fe_syntax_at(p, off, len, "'%s' cannot be combined with '%s'", name,
                                fe_clause_info[j].name);
    return FE_OK;
}

/* Unknown clause: suggest the closest allowed here, else any clause. */
static fe_status unknown_clause(parser *p, uint32_t off, uint32_t len)
{
    guess g = {NULL, INT_MAX, 0};
    if (p->d->kind == FE_DIR_ATOMIC) {
        for (int i = 0; i < 4; i++) {
            if (fe_word_is(p, off, len, fe_atomic_words[i]))
                return fe_syntax_at(p, off, len,
                                    "'atomic' takes one of read, write, update, capture");
            fe_consider(&g, p, off, len, fe_atomic_words[i]);
        }
        if (g.word)
            return fe_unknown_word(p, off, len, "atomic kind", &g);
    }
    for (int pass = 0; pass < 2 && !g.word; pass++)
        for (int k = 0; k < FE_CL_COUNT_; k++)
            if (pass || (p->allowed & BIT(k)))
                fe_consider(&g, p, off, len, fe_clause_info[k].name);
    return fe_unknown_word(p, off, len, "clause", &g);
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
    uint32_t ns = *pos, ne = fe_ident_end(p, ns, p->n);
    if (ne == ns) {
        uint32_t e = ns + 1;
        while (e < p->n && !fe_is_blank(fe_at(p, e)) && !fe_is_id_start(fe_at(p, e)))
            e++;
        return fe_syntax_at(p, ns, e - ns, "expected a clause, got '%.*s%s'", QUOTE(p, ns, e - ns));
    }
    int k = fe_clause_lookup(p, ns, ne - ns);
    if (k < 0)
        return unknown_clause(p, ns, ne - ns);
    if (!(p->allowed & BIT(k)))
        return fe_syntax_at(p, ns, ne - ns, "clause '%s' is not allowed on '%s'",
                            fe_clause_info[k].name, p->label);
    fe_status st = check_combination(p, sn, k, ns, ne - ns);
    if (st)
        return st;
    fe_clause *c = new_clause(p);
    if (!c)
        return fe_nomem(p);
    c->kind = (fe_clause_kind)k;
    c->loc = fe_loc_of(p, ns, ne - ns);
    p->items = &c->items;
    p->nitems = &c->nitems;
    p->item_cap = 0;
    p->cname = fe_clause_info[k].name;

    arg_form form = fe_clause_info[k].form;
    if (k == FE_CL_SELF && p->d->kind == FE_DIR_UPDATE)
        form = ARG_VARS;
    uint32_t q = fe_skip_blanks(p, ne, p->n), a, b;
    *pos = ne;
    if (q < p->n && fe_at(p, q) == '(') {
        p->copen = '(';
        uint32_t close;
        st = fe_find_close(p, q, p->cname, &close);
        if (st)
            return st;
        a = q + 1;
        b = close;
        *pos = close + 1;
    } else if (q < p->n && fe_at(p, q) == '=') {
        p->copen = '=';
        uint32_t vs = fe_skip_blanks(p, q + 1, p->n), ve, close;
        st = fe_scan(p, vs, p->n, 0, STOP_COMMA | STOP_CLAUSE, &ve);
        if (st)
            return st;
        a = vs;
        b = ve;
        fe_trim(p, &a, &b);
        if (a == b)
            return fe_syntax_at(p, q, 1, "expected a value after '%s='", p->cname);
        /* `name=(list)` is `name(list)`; `name=(n+1)//2` is an expression. */
        if (fe_at(p, a) == '(' && !fe_scan(p, a + 1, b, '(', 0, &close) && close == b - 1) {
            a++;
            b--;
        }
        *pos = ve;
    } else {
        if (form != ARG_NONE && !fe_clause_info[k].optional)
            return fe_syntax_at(p, ns, ne - ns, "expected '(' after '%s'", p->cname);
        form = ARG_NONE;
        a = b = q;
    }
    if (fe_clause_info[k].form == ARG_NONE && *pos != ne)
        return fe_syntax_at(p, q, 1, "clause '%s' takes no arguments", p->cname);
    c->has_args = *pos != ne;
    st = parse_args(p, c, form, a, b);
    if (st)
        return st;

    sn->all |= BIT(k);
    sn->part |= BIT(k);
    if (k == FE_CL_DEVICE_TYPE && fe_dir_info[p->d->kind].after_dtype) {
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
fe_status fe_parse_clauses(parser *p, uint32_t pos)
{
    seen sn = {0, 0, 0};
    int nclauses = 0;
    for (;;) {
        pos = fe_skip_blanks(p, pos, p->n);
        if (pos < p->n && fe_at(p, pos) == ',') {
            if (nclauses == 0)
                return fe_syntax_at(p, pos, 1, "unexpected ',' before the first clause");
            uint32_t comma = pos;
            pos = fe_skip_blanks(p, pos + 1, p->n);
            if (pos >= p->n || fe_at(p, pos) == ',')
                return fe_syntax_at(p, comma, 1, "expected a clause after ','");
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
