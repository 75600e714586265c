/* fuzz_pragma.c - libFuzzer harness for the OpenACC pragma parser
 * (frontend/pragma.c, clause.c and pragma_lex.c).
 *
 * The input is the pragma's comment lines separated by '\n', e.g.
 *     #pragma acc parallel loop copy(a[0:n]) \
 *     #    reduction(+:s)
 * Each line is copied into a buffer of exactly its length, not
 * NUL-terminated (as fe_src_line promises), so AddressSanitizer catches a
 * read past a line's end.  Line k is file line 7 + k, its '#' at column 4.
 *
 * Beyond "no crash, leak, hang or UBSan report", it checks what
 * fe_pragma_parse promises: a status and message on error and a NULL
 * directive, and on success a directive whose every span lies inside its
 * text and whose location points at the same character in the user's line.
 */
#include "fe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_LINE 7
#define COL 4
/* The Python side passes at most this many lines (python/ext/pragma.c). */
#define MAX_LINES 1024

#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "fuzz_pragma: %s:%d: check '%s' failed: ", __FILE__,  \
                    __LINE__, #cond);                                              \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
            abort();                                                               \
        }                                                                          \
    } while (0)

static const fe_src_line *g_lines;
static int g_nlines;

/* A location lies on one of the input lines, at or after its '#'. */
static void check_loc(fe_loc l, const char *what)
{
    CHECK(l.line >= FIRST_LINE && l.line < FIRST_LINE + g_nlines, "%s: line %d", what, l.line);
    CHECK(l.col >= COL, "%s: col %d", what, l.col);
    CHECK(l.end_col == -1 || l.end_col >= l.col, "%s: end_col %d < col %d", what, l.end_col,
          l.col);
    const fe_src_line *src = &g_lines[l.line - FIRST_LINE];
    /* One past the end: an error at the end of the pragma. */
    CHECK((size_t)(l.col - COL) <= src->len, "%s: col %d past the line (%zu)", what, l.col,
          src->len);
}

/* A span lies inside the text and its location shows its first character. */
static void check_span(const fe_directive *d, fe_span s, const char *what)
{
    CHECK((size_t)s.off + s.len <= d->text_len, "%s: span %u+%u past %zu", what, s.off, s.len,
          d->text_len);
    check_loc(s.loc, what);
    if (s.len == 0)
        return;
    const fe_src_line *src = &g_lines[s.loc.line - FIRST_LINE];
    size_t c = (size_t)(s.loc.col - COL);
    CHECK(c < src->len, "%s: col %d at the end of its line", what, s.loc.col);
    CHECK(src->text[c] == d->text[s.off], "%s: loc shows '%c', span starts with '%c'", what,
          src->text[c], d->text[s.off]);
    if (s.loc.end_col >= 0)
        CHECK((size_t)(s.loc.end_col - COL) <= src->len &&
                  s.loc.end_col - s.loc.col == (int)s.len,
              "%s: end_col %d for a span of %u", what, s.loc.end_col, s.len);
}

static void check_items(const fe_directive *d, const fe_item *items, int n)
{
    CHECK(n >= 0 && (n == 0 || items), "%d items", n);
    for (int i = 0; i < n; i++) {
        const fe_item *it = &items[i];
        CHECK(it->kind <= FE_ITEM_STAR && it->key <= FE_KEY_DEVNUM, "item kind %d key %d",
              it->kind, it->key);
        if (it->kind == FE_ITEM_VAR) {
            check_span(d, it->name, "name");
            CHECK(it->name.len > 0, "empty name");
            CHECK(it->ndims >= 0 && it->ndims <= FE_MAX_DIMS, "ndims %d", it->ndims);
            for (int k = 0; k < it->ndims; k++) {
                check_span(d, it->dims[k].lo, "lo");
                if (it->dims[k].is_index) /* an index has no hi: all zero */
                    CHECK(it->dims[k].hi.len == 0 && it->dims[k].hi.loc.line == 0, "hi");
                else
                    check_span(d, it->dims[k].hi, "hi");
            }
        } else {
            check_span(d, it->expr, "expr");
            CHECK(it->expr.len > 0, "empty expression");
        }
    }
}

static void check_directive(const fe_directive *d)
{
    CHECK(d->text, "no text");
    CHECK(d->text[d->text_len] == '\0', "text not NUL-terminated");
    CHECK(d->kind < FE_DIR_COUNT_ && strcmp(fe_dir_name(d->kind), "?") != 0, "kind %d",
          d->kind);
    if (d->kind == FE_DIR_END)
        CHECK(d->end_of < FE_DIR_COUNT_ && d->end_of != FE_DIR_END, "end_of %d", d->end_of);
    check_loc(d->loc, "directive");
    CHECK(d->nclauses >= 0 && (d->nclauses == 0 || d->clauses), "%d clauses", d->nclauses);
    for (int i = 0; i < d->nclauses; i++) {
        const fe_clause *c = &d->clauses[i];
        CHECK(c->kind < FE_CL_COUNT_ && strcmp(fe_clause_name(c->kind), "?") != 0,
              "clause kind %d", c->kind);
        CHECK(c->red_op <= FE_RED_OR && strcmp(fe_red_op_name(c->red_op), "?") != 0,
              "red_op %d", c->red_op);
        CHECK((c->kind == FE_CL_REDUCTION) == (c->red_op != FE_RED_NONE), "red_op %d on %s",
              c->red_op, fe_clause_name(c->kind));
        check_loc(c->loc, "clause");
        check_items(d, c->items, c->nitems);
    }
    check_items(d, d->args, d->nargs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int n = 1;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    if (n > MAX_LINES)
        return -1; /* the Python side never passes so many: not in the corpus */
    fe_src_line *lines = calloc((size_t)n, sizeof *lines);
    CHECK(lines, "out of memory");
    size_t start = 0;
    for (int k = 0; k < n; k++) {
        size_t end = start;
        while (end < size && data[end] != '\n')
            end++;
        char *text = malloc(end - start ? end - start : 1);
        CHECK(text, "out of memory");
        memcpy(text, data + start, end - start);
        lines[k] = (fe_src_line){text, end - start, FIRST_LINE + k, COL};
        /* The Python side asks this of every comment; it must not read past one. */
        (void)fe_pragma_is_acc(text, end - start);
        start = end + 1;
    }
    g_lines = lines;
    g_nlines = n;

    fe_directive *d = (fe_directive *)lines; /* must come back NULL on error */
    fe_error err;
    memset(&err, 0xA5, sizeof err); /* the parser must fill what it reports */
    fe_status st = fe_pragma_parse(lines, n, &d, &err);
    if (st == FE_OK) {
        CHECK(d, "FE_OK without a directive");
        check_directive(d);
        fe_directive_free(d);
    } else {
        CHECK(d == NULL, "status %d with a directive", st);
        CHECK(st == FE_ERR_SYNTAX || st == FE_ERR_INTERNAL || st == FE_ERR_NOMEM, "status %d",
              st);
        CHECK(err.status == st, "err.status %d, returned %d", err.status, st);
        CHECK(memchr(err.msg, '\0', sizeof err.msg) && err.msg[0], "no message");
        CHECK(err.file[0] == '\0', "a file in a pragma error");
        if (st == FE_ERR_SYNTAX)
            check_loc(err.loc, "error");
    }
    /* A caller that wants no details passes no error. */
    st = fe_pragma_parse(lines, n, &d, NULL);
    if (st == FE_OK)
        fe_directive_free(d);

    for (int k = 0; k < n; k++)
        free((void *)lines[k].text);
    free(lines);
    return 0;
}
