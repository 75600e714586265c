/* pragma_lex.c - the text under the OpenACC pragma parser (pragma.c,
 * clause.c): words and names, where a piece of the joined pragma text lies
 * in the user's file, syntax errors with their location and typo hints, and
 * scanning Python expression text for where it ends.
 *
 * The parser never parses Python: scanning balances brackets and skips
 * string literals until a top-level stop (a comma, a colon, the next clause
 * name or the closing bracket), and the span found is compiled later by the
 * Python side.
 */
#include "pragma.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bracket nesting is tracked in a fixed stack: scanning never recurses. */
#define MAX_DEPTH 200

/* --------------------------------------------------------------- lexing */

/* name = ident ("." ident)*; returns where it ends, or pos if none starts here. */
uint32_t fe_name_end(const parser *p, uint32_t pos, uint32_t end)
{
    uint32_t e = fe_ident_end(p, pos, end);
    if (e == pos)
        return pos;
    for (;;) {
        uint32_t q = fe_skip_blanks(p, e, end);
        if (q >= end || fe_at(p, q) != '.')
            return e;
        q = fe_skip_blanks(p, q + 1, end);
        uint32_t e2 = fe_ident_end(p, q, end);
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
fe_loc fe_loc_of(const parser *p, uint32_t off, uint32_t len)
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

fe_span fe_span_of(const parser *p, uint32_t off, uint32_t len)
{
    fe_span sp = {off, len, fe_loc_of(p, off, len)};
    return sp;
}

fe_status fe_syntax_at(parser *p, uint32_t off, uint32_t len, const char *fmt, ...)
{
    char buf[sizeof p->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return fe_error_set(p->err, FE_ERR_SYNTAX, fe_loc_of(p, off, len), "%s", buf);
}

fe_status fe_nomem(parser *p)
{
    return fe_error_set(p->err, FE_ERR_NOMEM, fe_loc_of(p, 0, 0), "out of memory");
}

/* Where a one-character error at pos points: the character, or the end. */
uint32_t fe_len_at(const parser *p, uint32_t pos)
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

void fe_consider(guess *g, const parser *p, uint32_t off, uint32_t len, const char *cand)
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
fe_status fe_unknown_word(parser *p, uint32_t off, uint32_t len, const char *what,
                          const guess *g)
{
    if (g->word)
        return fe_syntax_at(p, off, len, "unknown %s '%.*s%s'; did you mean '%s'?", what,
                            QUOTE(p, off, len), g->word);
    return fe_syntax_at(p, off, len, "unknown %s '%.*s%s'", what, QUOTE(p, off, len));
}

/* ------------------------------------------------------------- scanning */

static int closer_of(int c)
{
    return c == '(' ? ')' : c == '[' ? ']' : c == '{' ? '}' : 0;
}

/* string = quote ... quote, or a triple-quoted one; backslash escapes the
 * next character.  Prefixes (r, b, f) scan as identifiers before it. */
fe_status fe_skip_string(parser *p, uint32_t pos, uint32_t end, uint32_t *after)
{
    int q = fe_at(p, pos);
    int triple = pos + 2 < end && fe_at(p, pos + 1) == q && fe_at(p, pos + 2) == q;
    uint32_t i = pos + (triple ? 3 : 1);
    while (i < end) {
        int c = fe_at(p, i);
        if (c == '\\') {
            i += 2;
            continue;
        }
        if (c == q) {
            if (!triple) {
                *after = i + 1;
                return FE_OK;
            }
            if (i + 2 < end && fe_at(p, i + 1) == q && fe_at(p, i + 2) == q) {
                *after = i + 3;
                return FE_OK;
            }
        }
        i++;
    }
    return fe_syntax_at(p, pos, triple ? 3 : 1, "unterminated string");
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

int fe_clause_lookup(const parser *p, uint32_t off, uint32_t len)
{
    for (int k = 0; k < FE_CL_COUNT_; k++)
        if (fe_word_is(p, off, len, fe_clause_info[k].name))
            return k;
    for (size_t k = 0; k < sizeof clause_aliases / sizeof clause_aliases[0]; k++)
        if (fe_word_is(p, off, len, clause_aliases[k].name))
            return clause_aliases[k].clause;
    return -1;
}

/* Does a clause of this directive start at pos?  A name followed by '.' or
 * '[' is a variable that happens to share a clause's name (self.x). */
static int clause_starts(const parser *p, uint32_t pos, uint32_t end)
{
    uint32_t e = fe_ident_end(p, pos, end);
    if (e == pos || (e < end && (fe_at(p, e) == '.' || fe_at(p, e) == '[')))
        return 0;
    int k = fe_clause_lookup(p, pos, e - pos);
    return k >= 0 && (p->allowed & BIT(k));
}

/* Finds where the expression text starting at pos ends: at `end`, at the
 * top-level closer of `base` (an opening bracket before pos, or 0), or at a
 * top-level stop (STOP_*).  Brackets must balance and strings must close;
 * otherwise the error points at the bracket or quote to blame.
 * expr = (string | "(" expr* ")" | "[" expr* "]" | "{" expr* "}" | other)* */
fe_status fe_scan(parser *p, uint32_t pos, uint32_t end, int base, unsigned stops,
                  uint32_t *stop)
{
    char open[MAX_DEPTH];
    uint32_t where[MAX_DEPTH];
    int depth = 0;
    while (pos < end) {
        int c = fe_at(p, pos);
        if (c == '\'' || c == '"') {
            fe_status st = fe_skip_string(p, pos, end, &pos);
            if (st)
                return st;
            continue;
        }
        if (depth == 0) {
            if ((c == ',' && (stops & STOP_COMMA)) || (c == ':' && (stops & STOP_COLON)))
                break;
            if (fe_is_blank(c) && (stops & STOP_CLAUSE)) {
                uint32_t q = fe_skip_blanks(p, pos, end);
                if (clause_starts(p, q, end))
                    break;
                pos = q;
                continue;
            }
        }
        if (closer_of(c)) {
            if (depth == MAX_DEPTH)
                return fe_syntax_at(p, pos, 1, "brackets nested too deeply");
            open[depth] = (char)c;
            where[depth++] = pos;
        } else if (c == ')' || c == ']' || c == '}') {
            if (depth == 0) {
                if (base && c == closer_of(base))
                    break;
                return fe_syntax_at(p, pos, 1, "unmatched '%c'", c);
            }
            if (c != closer_of(open[depth - 1])) {
                /* If an outer bracket wants c, the inner one was left open. */
                int outer = base && c == closer_of(base);
                for (int i = 0; i < depth - 1; i++)
                    outer |= c == closer_of(open[i]);
                if (outer)
                    return fe_syntax_at(p, where[depth - 1], 1, "'%c' was never closed",
                                        open[depth - 1]);
                return fe_syntax_at(p, pos, 1, "unmatched '%c'", c);
            }
            depth--;
        }
        pos++;
    }
    if (depth > 0)
        return fe_syntax_at(p, where[depth - 1], 1, "'%c' was never closed", open[depth - 1]);
    *stop = pos;
    return FE_OK;
}

/* Finds the ')' that closes the '(' at pos; `what` names the opener. */
fe_status fe_find_close(parser *p, uint32_t pos, const char *what, uint32_t *close)
{
    fe_status st = fe_scan(p, pos + 1, p->n, '(', 0, close);
    if (st)
        return st;
    if (*close >= p->n)
        return fe_syntax_at(p, pos, 1, "expected ')' to close '%s('", what);
    return FE_OK;
}

/* Is there `ident :` at pos?  Sets the word's extent and where its ':' ends.
 * A Python expression cannot start that way, so this is a modifier. */
int fe_modifier_at(const parser *p, uint32_t pos, uint32_t end, uint32_t *ws,
                   uint32_t *we, uint32_t *after)
{
    pos = fe_skip_blanks(p, pos, end);
    uint32_t e = fe_ident_end(p, pos, end);
    if (e == pos)
        return 0;
    uint32_t q = fe_skip_blanks(p, e, end);
    if (q >= end || fe_at(p, q) != ':')
        return 0;
    *ws = pos;
    *we = e;
    *after = q + 1;
    return 1;
}

fe_status fe_bad_modifier(parser *p, uint32_t ws, uint32_t we)
{
    return fe_syntax_at(p, ws, we - ws, "unknown modifier '%.*s%s:' in '%s%c'",
                        QUOTE(p, ws, we - ws), p->cname, p->copen);
}
