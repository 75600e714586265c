/* pragma_check.h - what test_pragma.c and test_clause.c share: parsing a
 * pragma that must parse (or must fail), and asserting on the spans, items
 * and errors that the parser (frontend/pragma.c) records.  The helpers are
 * static inline, so each test executable has its own copy and those that a
 * file leaves unused cost nothing.
 */
#ifndef PYACC_TEST_PRAGMA_CHECK_H
#define PYACC_TEST_PRAGMA_CHECK_H

#include <criterion/criterion.h>

#include <string.h>

#include "fe.h"

/* Parses `text` as one comment line at line 1, column 0; the test fails
 * unless it parses.  The caller frees the result. */
static inline fe_directive *parse_ok(const char *text)
{
    fe_src_line l = {text, strlen(text), 1, 0};
    fe_directive *d = NULL;
    fe_error e = {0};
    fe_status st = fe_pragma_parse(&l, 1, &d, &e);
    cr_assert_eq(st, FE_OK, "\"%s\" failed: %s", text, e.msg);
    cr_assert_not_null(d);
    return d;
}

static inline fe_error parse_err(const char *text)
{
    fe_src_line l = {text, strlen(text), 1, 0};
    fe_directive *d = (fe_directive *)&l; /* must come back NULL */
    fe_error e = {0};
    fe_status st = fe_pragma_parse(&l, 1, &d, &e);
    cr_assert_neq(st, FE_OK, "\"%s\" parsed but should not", text);
    cr_assert_null(d);
    cr_assert_eq(e.status, st);
    return e;
}

/* Column of needle's first occurrence in text. */
static inline int col_of(const char *text, const char *needle)
{
    const char *s = strstr(text, needle);
    cr_assert_not_null(s, "'%s' not in '%s'", needle, text);
    return (int)(s - text);
}

/* Asserts a syntax error on line 1 at [col, end_col) whose message holds msg. */
static inline void expect_err(const char *text, int col, int end_col, const char *msg)
{
    fe_error e = parse_err(text);
    cr_assert_eq(e.status, FE_ERR_SYNTAX, "\"%s\": status %d (%s)", text, e.status, e.msg);
    cr_assert_eq(e.loc.line, 1);
    cr_assert_eq(e.loc.col, col, "\"%s\": col %d, want %d (%s)", text, e.loc.col, col, e.msg);
    cr_assert_eq(e.loc.end_col, end_col, "\"%s\": end_col %d, want %d (%s)", text, e.loc.end_col,
                 end_col, e.msg);
    cr_assert(strstr(e.msg, msg), "\"%s\": message \"%s\" lacks \"%s\"", text, e.msg, msg);
}

/* Asserts an error at the first occurrence of `at` in text, len long. */
static inline void expect_err_at(const char *text, const char *at, int len, const char *msg)
{
    int col = col_of(text, at);
    expect_err(text, col, col + len, msg);
}

/* The text of a span (rotating buffers, so several fit in one assert). */
static inline const char *sp(const fe_directive *d, fe_span s)
{
    static char buf[8][256];
    static int next;
    char *b = buf[next++ % 8];
    cr_assert_leq(s.off + s.len, d->text_len);
    cr_assert_lt(s.len, sizeof buf[0]);
    memcpy(b, d->text + s.off, s.len);
    b[s.len] = '\0';
    return b;
}

static inline const fe_clause *clause(const fe_directive *d, int i)
{
    cr_assert_lt(i, d->nclauses, "clause %d of %d", i, d->nclauses);
    return &d->clauses[i];
}

static inline void expect_var(const fe_directive *d, const fe_item *it, const char *name, int ndims)
{
    cr_assert_eq(it->kind, FE_ITEM_VAR);
    cr_assert_str_eq(sp(d, it->name), name);
    cr_assert_eq(it->ndims, ndims);
}

static inline void expect_dim(const fe_directive *d, const fe_item *it, int i, const char *lo,
                              const char *hi)
{
    cr_assert_lt(i, it->ndims);
    cr_assert_eq(it->dims[i].is_index, 0);
    cr_assert_str_eq(sp(d, it->dims[i].lo), lo);
    cr_assert_str_eq(sp(d, it->dims[i].hi), hi);
}

static inline void expect_expr(const fe_directive *d, const fe_item *it, fe_item_key key,
                               const char *e)
{
    cr_assert_eq(it->kind, FE_ITEM_EXPR);
    cr_assert_eq(it->key, key);
    cr_assert_str_eq(sp(d, it->expr), e);
}

#endif
