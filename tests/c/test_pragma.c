/* test_pragma.c - the OpenACC pragma parser (frontend/pragma.c): what it
 * records for each directive, where its spans point in the user's file
 * (continued lines included), and the error (status, location, message) for
 * each kind of malformed pragma.  Clauses and their arguments are tested in
 * test_clause.c; the helpers both use are in pragma_check.h.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"
#include "pragma_check.h"

/* ------------------------------------------------------------- helpers */

/* Parses lines that start at line 7 with every '#' at column 4. */
static fe_status parse_lines(const char *const *texts, int n, fe_directive **d, fe_error *e)
{
    fe_src_line l[8];
    for (int i = 0; i < n; i++)
        l[i] = (fe_src_line){texts[i], strlen(texts[i]), 7 + i, 4};
    return fe_pragma_parse(l, n, d, e);
}

/* -------------------------------------------------------- is_acc test */

static int is_acc(const char *s)
{
    return fe_pragma_is_acc(s, strlen(s));
}

Test(is_acc, accepts_plain_and_spaced_forms)
{
    cr_assert(is_acc("#pragma acc parallel"));
    cr_assert(is_acc("# pragma acc loop"));
    cr_assert(is_acc("#   pragma   acc   loop"));
    cr_assert(is_acc("#\tpragma\tacc\tkernels"));
    cr_assert(is_acc("#pragma acc"));
    cr_assert(is_acc("#pragma acc \\"));
    cr_assert(is_acc("#pragma acc\\"));
    cr_assert(is_acc("#pragma acc\\  "));
    cr_assert_not(is_acc("#pragma acc\\x"));
}

Test(is_acc, rejects_other_comments)
{
    cr_assert_not(is_acc("#pragma accel"));
    cr_assert_not(is_acc("#pragma acc_x"));
    cr_assert_not(is_acc("#pragma omp parallel"));
    cr_assert_not(is_acc("#pragmaacc parallel"));
    cr_assert_not(is_acc("#pragma"));
    cr_assert_not(is_acc("#pragma ac"));
    cr_assert_not(is_acc("# Pragma acc"));
    cr_assert_not(is_acc("pragma acc parallel"));
    cr_assert_not(is_acc(" #pragma acc parallel"));
    cr_assert_not(is_acc("# a pragma acc"));
    cr_assert_not(is_acc(""));
    cr_assert_not(fe_pragma_is_acc(NULL, 5));
}

Test(is_acc, stops_at_len)
{
    const char *s = "#pragma acc parallel";
    cr_assert(fe_pragma_is_acc(s, 11));     /* "#pragma acc" */
    cr_assert_not(fe_pragma_is_acc(s, 10)); /* "#pragma ac" */
    cr_assert_not(fe_pragma_is_acc(s, 0));
    /* An exact-size heap copy: ASan catches any read past the end. */
    char *h = malloc(11);
    memcpy(h, s, 11);
    cr_assert(fe_pragma_is_acc(h, 11));
    cr_assert_not(fe_pragma_is_acc(h, 9));
    free(h);
}

/* ---------------------------------------------------------- directives */

static const struct {
    const char *text;
    fe_dir_kind kind;
} plain_dirs[] = {
    {"#pragma acc parallel", FE_DIR_PARALLEL},
    {"#pragma acc kernels", FE_DIR_KERNELS},
    {"#pragma acc serial", FE_DIR_SERIAL},
    {"#pragma acc parallel loop", FE_DIR_PARALLEL_LOOP},
    {"#pragma acc kernels loop", FE_DIR_KERNELS_LOOP},
    {"#pragma acc serial loop", FE_DIR_SERIAL_LOOP},
    {"#pragma acc loop", FE_DIR_LOOP},
    {"#pragma acc data copy(a)", FE_DIR_DATA},
    {"#pragma acc enter data copyin(a)", FE_DIR_ENTER_DATA},
    {"#pragma acc exit data copyout(a)", FE_DIR_EXIT_DATA},
    {"#pragma acc host_data use_device(a)", FE_DIR_HOST_DATA},
    {"#pragma acc update self(a)", FE_DIR_UPDATE},
    {"#pragma acc declare create(a)", FE_DIR_DECLARE},
    {"#pragma acc atomic", FE_DIR_ATOMIC},
    {"#pragma acc routine", FE_DIR_ROUTINE},
    {"#pragma acc wait", FE_DIR_WAIT},
    {"#pragma acc cache(a)", FE_DIR_CACHE},
    {"#pragma acc init", FE_DIR_INIT},
    {"#pragma acc shutdown", FE_DIR_SHUTDOWN},
    {"#pragma acc set device_num(0)", FE_DIR_SET},
    {"#pragma acc end parallel", FE_DIR_END},
};

Test(directive, every_kind_parses)
{
    for (size_t i = 0; i < sizeof plain_dirs / sizeof plain_dirs[0]; i++) {
        fe_directive *d = parse_ok(plain_dirs[i].text);
        cr_assert_eq(d->kind, plain_dirs[i].kind, "%s", plain_dirs[i].text);
        cr_assert_str_eq(d->text, plain_dirs[i].text);
        cr_assert_eq(d->text_len, strlen(plain_dirs[i].text));
        fe_directive_free(d);
    }
}

Test(directive, loc_covers_the_directive_name)
{
    fe_directive *d = parse_ok("#pragma acc parallel loop gang");
    cr_assert_eq(d->loc.line, 1);
    cr_assert_eq(d->loc.col, 12);
    cr_assert_eq(d->loc.end_col, 25);
    fe_directive_free(d);
    d = parse_ok("#pragma acc enter  data create(a)");
    cr_assert_eq(d->loc.col, 12);
    cr_assert_eq(d->loc.end_col, 23);
    fe_directive_free(d);
}

Test(directive, spaced_hash_pragma)
{
    fe_directive *d = parse_ok("#  pragma \t acc \t kernels");
    cr_assert_eq(d->kind, FE_DIR_KERNELS);
    cr_assert_eq(d->loc.col, col_of("#  pragma \t acc \t kernels", "kernels"));
    fe_directive_free(d);
}

Test(directive, atomic_kinds)
{
    static const struct {
        const char *text;
        fe_atomic_kind kind;
    } cases[] = {
        {"#pragma acc atomic", FE_ATOMIC_UPDATE},
        {"#pragma acc atomic read", FE_ATOMIC_READ},
        {"#pragma acc atomic write", FE_ATOMIC_WRITE},
        {"#pragma acc atomic update", FE_ATOMIC_UPDATE},
        {"#pragma acc atomic capture", FE_ATOMIC_CAPTURE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fe_directive *d = parse_ok(cases[i].text);
        cr_assert_eq(d->kind, FE_DIR_ATOMIC);
        cr_assert_eq(d->atomic, cases[i].kind, "%s", cases[i].text);
        cr_assert_eq(d->nclauses, 0);
        fe_directive_free(d);
    }
}

Test(directive, end_of_each_block_construct)
{
    static const struct {
        const char *text;
        fe_dir_kind of;
    } cases[] = {
        {"#pragma acc end parallel", FE_DIR_PARALLEL},
        {"#pragma acc end kernels", FE_DIR_KERNELS},
        {"#pragma acc end serial", FE_DIR_SERIAL},
        {"#pragma acc end parallel loop", FE_DIR_PARALLEL_LOOP},
        {"#pragma acc end kernels loop", FE_DIR_KERNELS_LOOP},
        {"#pragma acc end serial loop", FE_DIR_SERIAL_LOOP},
        {"#pragma acc end data", FE_DIR_DATA},
        {"#pragma acc end host_data", FE_DIR_HOST_DATA},
        {"#pragma acc end atomic", FE_DIR_ATOMIC},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fe_directive *d = parse_ok(cases[i].text);
        cr_assert_eq(d->kind, FE_DIR_END);
        cr_assert_eq(d->end_of, cases[i].of, "%s", cases[i].text);
        cr_assert_eq(d->loc.col, 12);
        cr_assert_eq(d->loc.end_col, (int)strlen(cases[i].text));
        fe_directive_free(d);
    }
}

Test(directive, routine_with_name)
{
    fe_directive *d = parse_ok("#pragma acc routine(mod.func) worker nohost");
    cr_assert_eq(d->kind, FE_DIR_ROUTINE);
    cr_assert_eq(d->nargs, 1);
    expect_var(d, &d->args[0], "mod.func", 0);
    cr_assert_eq(d->args[0].name.loc.col, 20);
    cr_assert_eq(d->nclauses, 2);
    cr_assert_eq(clause(d, 0)->kind, FE_CL_WORKER);
    cr_assert_eq(clause(d, 1)->kind, FE_CL_NOHOST);
    fe_directive_free(d);
}

Test(directive, routine_without_name_takes_clauses)
{
    fe_directive *d = parse_ok("#pragma acc routine seq");
    cr_assert_eq(d->nargs, 0);
    cr_assert_eq(clause(d, 0)->kind, FE_CL_SEQ);
    fe_directive_free(d);
}

Test(directive, wait_with_queues_and_async)
{
    fe_directive *d = parse_ok("#pragma acc wait(q1, q[2]) async(3) if(ok)");
    cr_assert_eq(d->nargs, 2);
    expect_expr(d, &d->args[0], FE_KEY_NONE, "q1");
    expect_expr(d, &d->args[1], FE_KEY_NONE, "q[2]");
    cr_assert_eq(d->mods, 0);
    cr_assert_eq(clause(d, 0)->kind, FE_CL_ASYNC);
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "3");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_IF);
    fe_directive_free(d);
}

Test(directive, wait_devnum_and_queues)
{
    fe_directive *d = parse_ok("#pragma acc wait(devnum: dev + 1 : queues: 4, 5)");
    cr_assert_eq(d->nargs, 3);
    expect_expr(d, &d->args[0], FE_KEY_DEVNUM, "dev + 1");
    expect_expr(d, &d->args[1], FE_KEY_NONE, "4");
    expect_expr(d, &d->args[2], FE_KEY_NONE, "5");
    cr_assert_eq(d->mods, FE_MOD_QUEUES);
    fe_directive_free(d);
}

Test(directive, bare_wait_and_async)
{
    fe_directive *d = parse_ok("#pragma acc wait async");
    cr_assert_eq(d->nargs, 0);
    cr_assert_eq(d->nclauses, 1);
    cr_assert_eq(clause(d, 0)->has_args, 0);
    fe_directive_free(d);
}

Test(directive, cache_readonly_sections)
{
    fe_directive *d = parse_ok("#pragma acc cache(readonly: a[i-1:i+2], b)");
    cr_assert_eq(d->kind, FE_DIR_CACHE);
    cr_assert_eq(d->mods, FE_MOD_READONLY);
    cr_assert_eq(d->nargs, 2);
    expect_var(d, &d->args[0], "a", 1);
    expect_dim(d, &d->args[0], 0, "i-1", "i+2");
    expect_var(d, &d->args[1], "b", 0);
    fe_directive_free(d);
}

Test(directive, init_shutdown_set_clauses)
{
    fe_directive *d = parse_ok("#pragma acc init device_type(nvidia) device_num(1) if(go)");
    cr_assert_eq(d->nclauses, 3);
    cr_assert_eq(clause(d, 1)->kind, FE_CL_DEVICE_NUM);
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_NONE, "1");
    fe_directive_free(d);
    d = parse_ok("#pragma acc shutdown device_type(host)");
    cr_assert_eq(d->kind, FE_DIR_SHUTDOWN);
    fe_directive_free(d);
    d = parse_ok("#pragma acc set default_async(q) device_type(nvidia)");
    cr_assert_eq(clause(d, 0)->kind, FE_CL_DEFAULT_ASYNC);
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "q");
    fe_directive_free(d);
}

/* --------------------------------------------------------- continuation */

Test(continuation, two_lines_map_to_their_own_positions)
{
    const char *lines[] = {"#pragma acc parallel loop copyin(x[0:n]) \\",
                           "#    copyout(y[0:n]) gang"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 2, &d, &e), FE_OK, "%s", e.msg);
    cr_assert_eq(d->kind, FE_DIR_PARALLEL_LOOP);
    cr_assert_str_eq(d->text, "#pragma acc parallel loop copyin(x[0:n])  copyout(y[0:n]) gang");
    cr_assert_eq(d->nclauses, 3);
    /* line 7: '#' at column 4 */
    cr_assert_eq(clause(d, 0)->loc.line, 7);
    cr_assert_eq(clause(d, 0)->loc.col, 4 + 26);
    const fe_item *x = &clause(d, 0)->items[0];
    cr_assert_eq(x->name.loc.line, 7);
    cr_assert_eq(x->name.loc.col, 4 + 33);
    cr_assert_eq(x->name.loc.end_col, 4 + 34);
    /* line 8: "#    copyout" puts copyout at column 4 + 5 */
    const fe_clause *c = clause(d, 1);
    cr_assert_eq(c->loc.line, 8);
    cr_assert_eq(c->loc.col, 9);
    cr_assert_eq(c->loc.end_col, 16);
    const fe_item *y = &c->items[0];
    cr_assert_eq(y->name.loc.line, 8);
    cr_assert_eq(y->name.loc.col, 17);
    cr_assert_eq(y->dims[0].hi.loc.line, 8);
    cr_assert_eq(y->dims[0].hi.loc.col, 21);
    cr_assert_eq(y->dims[0].hi.loc.end_col, 22);
    cr_assert_eq(clause(d, 2)->loc.col, 4 + 21);
    fe_directive_free(d);
}

Test(continuation, span_across_lines_has_no_end_col)
{
    const char *lines[] = {"#pragma acc parallel if(n > \\", "#  limit)"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 2, &d, &e), FE_OK, "%s", e.msg);
    const fe_span s = clause(d, 0)->items[0].expr;
    cr_assert_str_eq(sp(d, s), "n >  limit");
    cr_assert_eq(s.loc.line, 7);
    cr_assert_eq(s.loc.col, 4 + 24);
    cr_assert_eq(s.loc.end_col, -1);
    fe_directive_free(d);
}

Test(continuation, three_lines_and_split_directive_name)
{
    const char *lines[] = {"#pragma acc parallel \\", "#loop \\", "# \t gang vector"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 3, &d, &e), FE_OK, "%s", e.msg);
    cr_assert_eq(d->kind, FE_DIR_PARALLEL_LOOP);
    cr_assert_eq(d->loc.line, 7);
    cr_assert_eq(d->loc.end_col, -1);
    cr_assert_eq(clause(d, 0)->loc.line, 9);
    cr_assert_eq(clause(d, 0)->loc.col, 4 + 4);
    cr_assert_eq(clause(d, 1)->loc.col, 4 + 9);
    fe_directive_free(d);
}

Test(continuation, trailing_blanks_after_backslash)
{
    const char *lines[] = {"#pragma acc kernels \\  \t", "# copy(a)"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 2, &d, &e), FE_OK, "%s", e.msg);
    cr_assert_eq(clause(d, 0)->kind, FE_CL_COPY);
    cr_assert_eq(clause(d, 0)->loc.col, 6);
    fe_directive_free(d);
}

Test(continuation, error_on_second_line_points_there)
{
    const char *lines[] = {"#pragma acc parallel copy(a) \\", "#   reduction(+:s)"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 2, &d, &e), FE_OK, "%s", e.msg);
    fe_directive_free(d);
    const char *bad[] = {"#pragma acc kernels copy(a) \\", "#   reduction(+:s)"};
    cr_assert_eq(parse_lines(bad, 2, &d, &e), FE_ERR_SYNTAX);
    cr_assert_null(d);
    cr_assert_eq(e.loc.line, 8);
    cr_assert_eq(e.loc.col, 8);
    cr_assert_eq(e.loc.end_col, 17);
    cr_assert(strstr(e.msg, "clause 'reduction' is not allowed on 'kernels'"), "%s", e.msg);
}

Test(continuation, unclosed_paren_across_lines)
{
    const char *lines[] = {"#pragma acc parallel copyin(a, \\", "#   b"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 2, &d, &e), FE_ERR_SYNTAX);
    cr_assert_eq(e.loc.line, 7);
    cr_assert_eq(e.loc.col, 4 + 27);
    cr_assert(strstr(e.msg, "expected ')' to close 'copyin('"), "%s", e.msg);
}

Test(continuation, backslash_on_the_last_line)
{
    const char *lines[] = {"#pragma acc parallel \\"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 1, &d, &e), FE_ERR_SYNTAX);
    cr_assert_eq(e.loc.line, 7);
    cr_assert_eq(e.loc.col, 4 + 21);
    cr_assert_eq(e.loc.end_col, 4 + 22);
    cr_assert(strstr(e.msg, "no comment line follows"), "%s", e.msg);
}

Test(continuation, empty_continuation_line)
{
    const char *lines[] = {"#pragma acc loop gang \\", "#"};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 2, &d, &e), FE_OK, "%s", e.msg);
    cr_assert_eq(d->nclauses, 1);
    fe_directive_free(d);
}

Test(continuation, error_at_end_points_after_last_line)
{
    const char *lines[] = {"#pragma acc parallel copy(a), \\", "#  "};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(parse_lines(lines, 2, &d, &e), FE_ERR_SYNTAX);
    cr_assert_eq(e.loc.line, 7);
    cr_assert_eq(e.loc.col, 4 + 28);
    cr_assert(strstr(e.msg, "expected a clause after ','"), "%s", e.msg);
}

Test(continuation, caller_mistakes_are_internal_errors)
{
    fe_directive *d = NULL;
    fe_error e;
    const char *no_hash[] = {"#pragma acc parallel \\", "copy(a)"};
    cr_assert_eq(parse_lines(no_hash, 2, &d, &e), FE_ERR_INTERNAL);
    cr_assert_eq(e.loc.line, 8);
    const char *not_continued[] = {"#pragma acc parallel", "# copy(a)"};
    cr_assert_eq(parse_lines(not_continued, 2, &d, &e), FE_ERR_INTERNAL);
    cr_assert_null(d);
    cr_assert_eq(fe_pragma_parse(NULL, 1, &d, &e), FE_ERR_INTERNAL);
    fe_src_line l = {"#pragma acc loop", 16, 1, 0};
    cr_assert_eq(fe_pragma_parse(&l, 0, &d, &e), FE_ERR_INTERNAL);
    cr_assert_eq(fe_pragma_parse(&l, 1, NULL, &e), FE_ERR_INTERNAL);
    /* No error record wanted: the status alone comes back. */
    fe_src_line bad = {"#pragma acc frob", 16, 1, 0};
    cr_assert_eq(fe_pragma_parse(&bad, 1, &d, NULL), FE_ERR_SYNTAX);
    cr_assert_null(d);
}

/* --------------------------------------------------------------- errors */

Test(error, not_an_acc_pragma)
{
    expect_err("#pragma omp parallel", 0, 11, "expected '#pragma acc'");
    expect_err("#pragma accparallel", 0, 19, "expected '#pragma acc'");
}

Test(error, missing_directive)
{
    expect_err("#pragma acc", 11, 11, "expected a directive name after '#pragma acc'");
    expect_err("#pragma acc   ", 11, 11, "expected a directive name");
    expect_err_at("#pragma acc (x)", "(", 1, "expected a directive name");
}

Test(error, unknown_directive_with_hint)
{
    expect_err_at("#pragma acc paralel loop", "paralel", 7,
                  "unknown directive 'paralel'; did you mean 'parallel'?");
    expect_err_at("#pragma acc kernles", "kernles", 7, "did you mean 'kernels'?");
    expect_err_at("#pragma acc Parallel", "Parallel", 8, "did you mean 'parallel'?");
}

Test(error, unknown_directive_without_hint)
{
    const char *t = "#pragma acc frobnicate";
    fe_error e = parse_err(t);
    cr_assert_eq(e.loc.col, 12);
    cr_assert_eq(e.loc.end_col, 22);
    cr_assert_str_eq(e.msg, "unknown directive 'frobnicate'");
}

Test(error, unknown_clause_with_hint)
{
    expect_err_at("#pragma acc parallel copyn(a)", "copyn", 5,
                  "unknown clause 'copyn'; did you mean 'copyin'?");
    expect_err_at("#pragma acc loop colapse(2)", "colapse", 7, "did you mean 'collapse'?");
    expect_err_at("#pragma acc loop redcution(+:s)", "redcution", 9, "did you mean 'reduction'?");
    expect_err_at("#pragma acc parallel COPYIN(a)", "COPYIN", 6, "did you mean 'copyin'?");
}

Test(error, unknown_clause_without_hint)
{
    fe_error e = parse_err("#pragma acc parallel shared(a)");
    cr_assert_str_eq(e.msg, "unknown clause 'shared'");
    cr_assert_eq(e.loc.col, 21);
    cr_assert_eq(e.loc.end_col, 27);
}

Test(error, long_words_are_shortened_in_messages)
{
    char t[400];
    snprintf(t, sizeof t, "#pragma acc parallel %0300d", 0);
    memset(t + 21, 'x', 300);
    fe_error e = parse_err(t);
    cr_assert(strstr(e.msg, "...'"), "%s", e.msg);
    cr_assert_lt(strlen(e.msg), 100);
    cr_assert_eq(e.loc.end_col, 321);
}

Test(error, clause_not_allowed_on_directive)
{
    expect_err_at("#pragma acc kernels reduction(+:s)", "reduction", 9,
                  "clause 'reduction' is not allowed on 'kernels'");
    expect_err_at("#pragma acc serial num_gangs(2)", "num_gangs", 9,
                  "clause 'num_gangs' is not allowed on 'serial'");
    expect_err_at("#pragma acc loop copyin(a)", "copyin", 6,
                  "clause 'copyin' is not allowed on 'loop'");
    expect_err_at("#pragma acc enter data copyout(a)", "copyout", 7,
                  "clause 'copyout' is not allowed on 'enter data'");
    expect_err_at("#pragma acc atomic update if(x)", "if", 2,
                  "clause 'if' is not allowed on 'atomic'");
    expect_err_at("#pragma acc declare private(a)", "private", 7,
                  "not allowed on 'declare'");
    expect_err_at("#pragma acc parallel host(a)", "host", 4, "not allowed on 'parallel'");
}

Test(error, unclosed_clause_paren)
{
    const char *t = "#pragma acc parallel copyin(a[0:n] async";
    expect_err_at(t, "(", 1, "expected ')' to close 'copyin('");
}

Test(error, unbalanced_brackets_point_at_the_bracket)
{
    expect_err_at("#pragma acc parallel copyin(a[0:n)", "[", 1, "'[' was never closed");
    expect_err_at("#pragma acc parallel copyin(a])", "]", 1, "unmatched ']'");
    expect_err("#pragma acc parallel if(f(x)))", 29, 30, "expected a clause, got ')'");
    expect_err_at("#pragma acc parallel num_gangs=n)", ")", 1, "unmatched ')'");
    expect_err_at("#pragma acc parallel num_gangs=(n", "(", 1, "'(' was never closed");
    expect_err_at("#pragma acc parallel if(x[{)", "{", 1, "'{' was never closed");
}

Test(error, stray_closer_after_clauses)
{
    fe_error e = parse_err("#pragma acc parallel copy(a) )");
    cr_assert_eq(e.loc.col, 29);
    cr_assert(strstr(e.msg, "expected a clause, got ')'"), "%s", e.msg);
}

Test(error, unterminated_string)
{
    expect_err_at("#pragma acc parallel if(s == 'abc)", "'", 1, "unterminated string");
    expect_err_at("#pragma acc parallel if(s == \"\"\"ab\")", "\"\"\"", 3, "unterminated string");
}

Test(error, brackets_nested_too_deeply)
{
    char t[600] = "#pragma acc parallel if(";
    size_t n = strlen(t);
    for (int i = 0; i < 250; i++)
        t[n++] = '(';
    t[n] = '\0';
    fe_error e = parse_err(t);
    cr_assert(strstr(e.msg, "nested too deeply"), "%s", e.msg);
    cr_assert_eq(e.loc.col, 24 + 200);
}

Test(error, unknown_reduction_operator_lists_the_valid_ones)
{
    const char *t = "#pragma acc parallel loop reduction(-:s)";
    fe_error e = parse_err(t);
    cr_assert_eq(e.loc.col, col_of(t, "-"));
    cr_assert_eq(e.loc.end_col, col_of(t, "-") + 1);
    cr_assert_str_eq(e.msg,
                     "unknown reduction operator '-'; expected one of + * max min & | ^ && ||");
    expect_err_at("#pragma acc loop reduction(maximum: s)", "maximum", 7,
                  "unknown reduction operator 'maximum'");
    expect_err_at("#pragma acc loop reduction(:s)", ":", 1, "expected a reduction operator");
}

Test(error, missing_colon_after_reduction_operator)
{
    expect_err_at("#pragma acc loop reduction(+ s)", "s)", 1,
                  "missing ':' after reduction operator '+'");
    expect_err_at("#pragma acc loop reduction(max)", ")", 1,
                  "missing ':' after reduction operator 'max'");
}

Test(error, clauses_that_may_appear_once)
{
    expect_err_at("#pragma acc parallel if(a) copy(b) if(c)", "if(c", 2,
                  "clause 'if' appears more than once");
    expect_err_at("#pragma acc parallel default(none) default(present)", "default(p", 7,
                  "clause 'default' appears more than once");
    expect_err_at("#pragma acc parallel num_gangs(1) num_gangs(2)", "num_gangs(2", 9,
                  "clause 'num_gangs' appears more than once");
    expect_err_at("#pragma acc parallel self self(x)", "self(", 4,
                  "clause 'self' appears more than once");
    expect_err_at("#pragma acc loop collapse(1) collapse(2)", "collapse(2", 8, "more than once");
    expect_err_at("#pragma acc set device_num(0) device_num(1)", "device_num(1", 10,
                  "more than once");
    expect_err_at("#pragma acc routine seq bind(a) bind(b)", "bind(b", 4, "more than once");
}

Test(error, device_type_allows_per_device_repeats)
{
    fe_directive *d = parse_ok("#pragma acc parallel loop num_gangs(1) vector_length(32) gang "
                               "device_type(nvidia) num_gangs(8) vector_length(128) gang vector "
                               "device_type(host) num_gangs(2) async(1) seq");
    cr_assert_eq(d->nclauses, 12);
    fe_directive_free(d);
    expect_err_at("#pragma acc parallel device_type(nvidia) num_gangs(1) num_gangs(2)",
                  "num_gangs(2", 9, "more than once after this device_type");
}

Test(error, device_type_keeps_whole_construct_clauses_once)
{
    expect_err_at("#pragma acc parallel if(a) device_type(nvidia) async if(b)", "if(b", 2, "");
    fe_error e = parse_err("#pragma acc parallel if(a) device_type(nvidia) async if(b)");
    cr_assert(strstr(e.msg, "cannot follow 'device_type'"), "%s", e.msg);
}

Test(error, only_device_clauses_follow_device_type)
{
    expect_err_at("#pragma acc parallel device_type(nvidia) copyin(a)", "copyin", 6,
                  "clause 'copyin' cannot follow 'device_type' on 'parallel'");
    expect_err_at("#pragma acc loop device_type(*) private(t)", "private", 7,
                  "cannot follow 'device_type' on 'loop'");
}

Test(error, seq_conflicts)
{
    expect_err_at("#pragma acc loop gang seq", "seq", 3, "'seq' cannot be combined with 'gang'");
    expect_err_at("#pragma acc loop seq vector", "vector", 6,
                  "'vector' cannot be combined with 'seq'");
    expect_err_at("#pragma acc loop seq auto", "auto", 4, "'auto' cannot be combined with 'seq'");
    expect_err_at("#pragma acc loop auto independent", "independent", 11,
                  "'independent' cannot be combined with 'auto'");
    expect_err_at("#pragma acc loop independent seq", "seq", 3,
                  "'seq' cannot be combined with 'independent'");
    fe_directive *d = parse_ok("#pragma acc loop gang worker vector independent");
    fe_directive_free(d);
}

Test(error, routine_takes_one_level)
{
    expect_err_at("#pragma acc routine gang worker", "worker", 6,
                  "'routine' takes only one of gang, worker, vector, seq");
    expect_err_at("#pragma acc routine(f) vector seq", "seq", 3, "takes only one of");
    fe_directive *d = parse_ok("#pragma acc routine gang device_type(nvidia) vector");
    cr_assert_eq(d->nclauses, 3);
    fe_directive_free(d);
}

Test(error, required_clauses)
{
    fe_error e = parse_err("#pragma acc host_data if(x)");
    cr_assert_str_eq(e.msg, "'host_data' needs a 'use_device' clause");
    cr_assert_eq(e.loc.col, 12);
    cr_assert_eq(e.loc.end_col, 21);
    e = parse_err("#pragma acc update if_present");
    cr_assert(strstr(e.msg, "'update' needs a 'self', 'host' or 'device' clause"), "%s", e.msg);
    e = parse_err("#pragma acc enter data async");
    cr_assert(strstr(e.msg, "'enter data' needs a 'copyin', 'create' or 'attach'"), "%s", e.msg);
    cr_assert_eq(e.loc.end_col, 22);
    e = parse_err("#pragma acc exit data finalize");
    cr_assert(strstr(e.msg, "'exit data' needs"), "%s", e.msg);
    e = parse_err("#pragma acc data if(x)");
    cr_assert(strstr(e.msg, "'data' needs a data clause"), "%s", e.msg);
    e = parse_err("#pragma acc declare");
    cr_assert(strstr(e.msg, "'declare' needs"), "%s", e.msg);
    e = parse_err("#pragma acc set if(x)");
    cr_assert(strstr(e.msg, "'set' needs"), "%s", e.msg);
}

Test(error, two_word_directives)
{
    expect_err_at("#pragma acc enter copyin(a)", "copyin", 6, "expected 'data' after 'enter'");
    expect_err("#pragma acc exit", 16, 16, "expected 'data' after 'exit'");
}

Test(error, end_directive_errors)
{
    expect_err("#pragma acc end", 15, 15, "expected a directive name after 'end'");
    expect_err_at("#pragma acc end loop", "loop", 4, "'loop' has no 'end' directive");
    expect_err_at("#pragma acc end enter data", "enter data", 10, "'enter data' has no 'end'");
    expect_err_at("#pragma acc end paralel", "paralel", 7, "did you mean 'parallel'?");
    expect_err_at("#pragma acc end parallel copy(a)", "copy(a)", 7,
                  "unexpected 'copy(a)' after 'end parallel'");
}

Test(error, atomic_errors)
{
    expect_err_at("#pragma acc atomic reed", "reed", 4,
                  "unknown atomic kind 'reed'; did you mean 'read'?");
    expect_err_at("#pragma acc atomic read write", "write", 5,
                  "'atomic' takes one of read, write, update, capture");
    expect_err_at("#pragma acc atomic bogus", "bogus", 5, "unknown clause 'bogus'");
}

Test(error, directive_argument_errors)
{
    expect_err("#pragma acc cache", 17, 17, "expected '(' after 'cache'");
    expect_err_at("#pragma acc cache()", ")", 1, "expected a variable in 'cache('");
    expect_err_at("#pragma acc cache(a", "(", 1, "expected ')' to close 'cache('");
    expect_err_at("#pragma acc routine(f, g)", "f, g", 4, "expected a name in 'routine('");
    expect_err_at("#pragma acc wait(devnum: 1, 2)", ",", 1,
                  "expected ':' after the device number in 'wait('");
    expect_err_at("#pragma acc wait(queue: 1)", "queue", 5, "unknown modifier 'queue:'");
    expect_err_at("#pragma acc wait()", ")", 1, "expected a queue in 'wait('");
}

Test(error, wait_directive_rejects_other_clauses)
{
    expect_err_at("#pragma acc wait(1) copy(a)", "copy", 4, "not allowed on 'wait'");
}

Test(error, trailing_garbage)
{
    expect_err_at("#pragma acc parallel copy(a) 42", "42", 2, "expected a clause, got '42'");
    expect_err_at("#pragma acc loop gang # comment", "# c", 1, "expected a clause, got '#'");
}

Test(error, loc_line_comes_from_the_input)
{
    fe_src_line l = {"#pragma acc loop bogus", 22, 123, 8};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(fe_pragma_parse(&l, 1, &d, &e), FE_ERR_SYNTAX);
    cr_assert_eq(e.loc.line, 123);
    cr_assert_eq(e.loc.col, 8 + 17);
    cr_assert_eq(e.loc.end_col, 8 + 22);
}

/* ------------------------------------------------------ names and memory */

Test(names, directive_clause_and_operator_names)
{
    cr_assert_str_eq(fe_dir_name(FE_DIR_PARALLEL_LOOP), "parallel loop");
    cr_assert_str_eq(fe_dir_name(FE_DIR_ENTER_DATA), "enter data");
    cr_assert_str_eq(fe_dir_name(FE_DIR_HOST_DATA), "host_data");
    cr_assert_str_eq(fe_dir_name(FE_DIR_END), "end");
    cr_assert_str_eq(fe_dir_name(FE_DIR_COUNT_), "?");
    cr_assert_str_eq(fe_clause_name(FE_CL_COPYIN), "copyin");
    cr_assert_str_eq(fe_clause_name(FE_CL_DEFAULT_ASYNC), "default_async");
    cr_assert_str_eq(fe_clause_name(FE_CL_COUNT_), "?");
    cr_assert_str_eq(fe_red_op_name(FE_RED_AND), "&&");
    cr_assert_str_eq(fe_red_op_name(FE_RED_MIN), "min");
    cr_assert_str_eq(fe_red_op_name((fe_red_op)99), "?");
    for (int k = 0; k < FE_CL_COUNT_; k++)
        cr_assert_neq(strcmp(fe_clause_name((fe_clause_kind)k), "?"), 0, "clause %d", k);
    for (int k = 0; k < FE_DIR_COUNT_; k++)
        cr_assert_neq(strcmp(fe_dir_name((fe_dir_kind)k), "?"), 0, "directive %d", k);
}

Test(memory, free_null_is_harmless)
{
    fe_directive_free(NULL);
    cr_assert(1);
}

Test(memory, exact_size_buffers_are_not_overread)
{
    /* Not NUL-terminated, exact heap sizes: ASan / valgrind catch overreads. */
    static const char *texts[] = {
        "#pragma acc parallel copyin(a[0:n]",
        "#pragma acc parallel if(s == 'x",
        "#pragma acc parallel loop gang vector",
        "#pragma acc parallel copyout=ret[0:len(data)]",
        "#pragma acc loop reduction(&&",
        "#pragma acc wait(devnum:",
        "#",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = strlen(texts[i]);
        char *h = malloc(n);
        memcpy(h, texts[i], n);
        fe_src_line l = {h, n, 1, 0};
        fe_directive *d = NULL;
        fe_error e;
        fe_status st = fe_pragma_parse(&l, 1, &d, &e);
        cr_assert((st == FE_OK) == (d != NULL));
        fe_directive_free(d);
        free(h);
    }
}

Test(memory, text_is_owned_and_terminated)
{
    char buf[] = "#pragma acc loop gang";
    fe_src_line l = {buf, strlen(buf), 1, 0};
    fe_directive *d = NULL;
    fe_error e;
    cr_assert_eq(fe_pragma_parse(&l, 1, &d, &e), FE_OK);
    memset(buf, 'x', sizeof buf - 1);
    cr_assert_str_eq(d->text, "#pragma acc loop gang");
    cr_assert_eq(d->text[d->text_len], '\0');
    fe_directive_free(d);
}

Test(memory, many_clauses_and_items_grow)
{
    char t[8192] = "#pragma acc parallel";
    size_t n = strlen(t);
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(t + n, sizeof t - n, " copy(a%d, b%d[0:%d])", i, i, i);
    fe_directive *d = parse_ok(t);
    cr_assert_eq(d->nclauses, 100);
    cr_assert_eq(d->clauses[99].nitems, 2);
    expect_var(d, &d->clauses[99].items[1], "b99", 1);
    expect_dim(d, &d->clauses[99].items[1], 0, "0", "99");
    fe_directive_free(d);
}

Test(error_set, formats_the_message_and_returns_the_status)
{
    fe_error e;
    fe_loc loc = {3, 4, 9};
    cr_assert_eq(fe_error_set(&e, FE_ERR_TYPE, loc, "bad %s #%d", "thing", 7), FE_ERR_TYPE);
    cr_assert_eq(e.status, FE_ERR_TYPE);
    cr_assert_eq(e.loc.line, 3);
    cr_assert_eq(e.loc.end_col, 9);
    cr_assert_str_eq(e.msg, "bad thing #7");
    cr_assert_eq(fe_error_set(NULL, FE_ERR_SYNTAX, loc, "ignored"), FE_ERR_SYNTAX);
    char big[700];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fe_error_set(&e, FE_ERR_SYNTAX, loc, "%s", big);
    cr_assert_eq(strlen(e.msg), sizeof e.msg - 1);
}
