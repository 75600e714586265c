/* test_clause.c - the clauses of OpenACC pragmas (frontend/clause.c): what
 * the parser records for each clause and its arguments (variable lists,
 * array sections, expressions, keyword arguments), clauses written with `=`
 * and separated by blanks or commas, and the spans of Python expression
 * text it finds.  The helpers it shares with test_pragma.c are in
 * pragma_check.h.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "fe.h"
#include "pragma_check.h"

/* ------------------------------------------------------------- helpers */

/* Two parses of the same clauses agree item by item, span texts included. */
static void expect_same(const char *a, const char *b)
{
    fe_directive *x = parse_ok(a), *y = parse_ok(b);
    cr_assert_eq(x->kind, y->kind);
    cr_assert_eq(x->nclauses, y->nclauses, "%s | %s", a, b);
    for (int i = 0; i < x->nclauses; i++) {
        const fe_clause *c = &x->clauses[i], *e = &y->clauses[i];
        cr_assert_eq(c->kind, e->kind);
        cr_assert_eq(c->has_args, e->has_args);
        cr_assert_eq(c->mods, e->mods);
        cr_assert_eq(c->red_op, e->red_op);
        cr_assert_eq(c->def, e->def);
        cr_assert_eq(c->nitems, e->nitems, "%s | %s: clause %d", a, b, i);
        for (int j = 0; j < c->nitems; j++) {
            const fe_item *p = &c->items[j], *q = &e->items[j];
            cr_assert_eq(p->kind, q->kind);
            cr_assert_eq(p->key, q->key);
            cr_assert_str_eq(sp(x, p->expr), sp(y, q->expr));
            cr_assert_str_eq(sp(x, p->name), sp(y, q->name));
            cr_assert_eq(p->ndims, q->ndims);
            for (int k = 0; k < p->ndims; k++) {
                cr_assert_eq(p->dims[k].is_index, q->dims[k].is_index);
                cr_assert_str_eq(sp(x, p->dims[k].lo), sp(y, q->dims[k].lo));
                cr_assert_str_eq(sp(x, p->dims[k].hi), sp(y, q->dims[k].hi));
            }
        }
    }
    fe_directive_free(x);
    fe_directive_free(y);
}

/* ------------------------------------------------------------- clauses */

Test(clause, if_records_the_condition_span)
{
    const char *t = "#pragma acc parallel if(n > 10000)";
    fe_directive *d = parse_ok(t);
    const fe_clause *c = clause(d, 0);
    cr_assert_eq(c->kind, FE_CL_IF);
    cr_assert_eq(c->has_args, 1);
    cr_assert_eq(c->loc.col, col_of(t, "if"));
    cr_assert_eq(c->loc.end_col, col_of(t, "if") + 2);
    cr_assert_eq(c->nitems, 1);
    expect_expr(d, &c->items[0], FE_KEY_NONE, "n > 10000");
    cr_assert_eq(c->items[0].expr.loc.col, col_of(t, "n >"));
    cr_assert_eq(c->items[0].expr.loc.end_col, col_of(t, ")"));
    fe_directive_free(d);
}

Test(clause, self_condition_on_compute)
{
    fe_directive *d = parse_ok("#pragma acc kernels self");
    cr_assert_eq(clause(d, 0)->kind, FE_CL_SELF);
    cr_assert_eq(clause(d, 0)->has_args, 0);
    cr_assert_eq(clause(d, 0)->nitems, 0);
    fe_directive_free(d);
    d = parse_ok("#pragma acc serial self(on_host)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "on_host");
    fe_directive_free(d);
}

Test(clause, self_host_device_are_var_lists_on_update)
{
    fe_directive *d =
        parse_ok("#pragma acc update self(a[0:n]) host(b) device(c, d[1:2]) if_present async(1)");
    cr_assert_eq(d->nclauses, 5);
    expect_var(d, &clause(d, 0)->items[0], "a", 1);
    expect_dim(d, &clause(d, 0)->items[0], 0, "0", "n");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_HOST);
    expect_var(d, &clause(d, 1)->items[0], "b", 0);
    cr_assert_eq(clause(d, 2)->kind, FE_CL_DEVICE);
    cr_assert_eq(clause(d, 2)->nitems, 2);
    cr_assert_eq(clause(d, 3)->kind, FE_CL_IF_PRESENT);
    fe_directive_free(d);
}

Test(clause, update_self_may_repeat)
{
    fe_directive *d = parse_ok("#pragma acc update self(a) self(b)");
    cr_assert_eq(d->nclauses, 2);
    fe_directive_free(d);
}

Test(clause, async_appears_once)
{
    expect_err("#pragma acc parallel async(1) async", 30, 35,
               "clause 'async' appears more than once");
}

Test(clause, async_forms)
{
    fe_directive *d = parse_ok("#pragma acc parallel loop async(queue[i])");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "queue[i]");
    fe_directive_free(d);
    d = parse_ok("#pragma acc update device(a) async");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_ASYNC);
    cr_assert_eq(clause(d, 1)->has_args, 0);
    fe_directive_free(d);
}

Test(clause, wait_clause_forms)
{
    fe_directive *d = parse_ok("#pragma acc parallel wait wait(1, q) wait(devnum: 0 : 2)");
    cr_assert_eq(clause(d, 0)->nitems, 0);
    cr_assert_eq(clause(d, 1)->nitems, 2);
    expect_expr(d, &clause(d, 1)->items[1], FE_KEY_NONE, "q");
    cr_assert_eq(clause(d, 2)->nitems, 2);
    expect_expr(d, &clause(d, 2)->items[0], FE_KEY_DEVNUM, "0");
    expect_expr(d, &clause(d, 2)->items[1], FE_KEY_NONE, "2");
    cr_assert_eq(clause(d, 2)->mods, 0);
    fe_directive_free(d);
    d = parse_ok("#pragma acc enter data copyin(a) wait(queues: 1)");
    cr_assert_eq(clause(d, 1)->mods, FE_MOD_QUEUES);
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_NONE, "1");
    fe_directive_free(d);
}

Test(clause, num_gangs_workers_vector_length)
{
    fe_directive *d =
        parse_ok("#pragma acc parallel num_gangs(n // 4) num_workers(8) vector_length(128)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "n // 4");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_NUM_WORKERS);
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_NONE, "8");
    cr_assert_eq(clause(d, 2)->kind, FE_CL_VECTOR_LENGTH);
    expect_expr(d, &clause(d, 2)->items[0], FE_KEY_NONE, "128");
    fe_directive_free(d);
}

Test(clause, num_gangs_takes_up_to_three_values)
{
    fe_directive *d = parse_ok("#pragma acc parallel num_gangs(a, b, f(c, d))");
    cr_assert_eq(clause(d, 0)->nitems, 3);
    expect_expr(d, &clause(d, 0)->items[2], FE_KEY_NONE, "f(c, d)");
    fe_directive_free(d);
    expect_err_at("#pragma acc parallel num_gangs(1, 2, 3, 4)", "4", 1,
                  "'num_gangs' takes at most 3 values");
}

Test(clause, device_type_names_and_star)
{
    fe_directive *d = parse_ok("#pragma acc parallel device_type(nvidia, host) device_type(*)");
    const fe_clause *c = clause(d, 0);
    cr_assert_eq(c->kind, FE_CL_DEVICE_TYPE);
    cr_assert_eq(c->nitems, 2);
    expect_expr(d, &c->items[0], FE_KEY_NONE, "nvidia");
    expect_expr(d, &c->items[1], FE_KEY_NONE, "host");
    cr_assert_eq(clause(d, 1)->items[0].kind, FE_ITEM_STAR);
    cr_assert_str_eq(sp(d, clause(d, 1)->items[0].expr), "*");
    fe_directive_free(d);
    expect_err_at("#pragma acc parallel device_type(a.b)", "a.b", 3,
                  "expected a device type name or '*'");
}

Test(clause, default_none_and_present)
{
    fe_directive *d = parse_ok("#pragma acc parallel default(none)");
    cr_assert_eq(clause(d, 0)->def, FE_DEFAULT_NONE);
    cr_assert_eq(clause(d, 0)->nitems, 0);
    fe_directive_free(d);
    d = parse_ok("#pragma acc data default( present )");
    cr_assert_eq(clause(d, 0)->def, FE_DEFAULT_PRESENT);
    fe_directive_free(d);
    expect_err_at("#pragma acc parallel default(shared)", "shared", 6,
                  "expected 'none' or 'present' in 'default('");
}

Test(clause, reduction_every_operator)
{
    static const struct {
        const char *op;
        fe_red_op red;
    } ops[] = {
        {"+", FE_RED_ADD},    {"*", FE_RED_MUL},   {"max", FE_RED_MAX},
        {"min", FE_RED_MIN},  {"&", FE_RED_BITAND}, {"|", FE_RED_BITOR},
        {"^", FE_RED_BITXOR}, {"&&", FE_RED_AND},  {"||", FE_RED_OR},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        char t[96];
        snprintf(t, sizeof t, "#pragma acc parallel loop reduction(%s:acc_v)", ops[i].op);
        fe_directive *d = parse_ok(t);
        const fe_clause *c = clause(d, 0);
        cr_assert_eq(c->red_op, ops[i].red, "%s", t);
        cr_assert_str_eq(fe_red_op_name(c->red_op), ops[i].op);
        expect_var(d, &c->items[0], "acc_v", 0);
        fe_directive_free(d);
    }
}

Test(clause, reduction_list_with_spaces_and_sections)
{
    fe_directive *d = parse_ok("#pragma acc loop reduction( max : hi, hist[0:nb] )");
    const fe_clause *c = clause(d, 0);
    cr_assert_eq(c->red_op, FE_RED_MAX);
    cr_assert_eq(c->nitems, 2);
    expect_var(d, &c->items[0], "hi", 0);
    expect_var(d, &c->items[1], "hist", 1);
    expect_dim(d, &c->items[1], 0, "0", "nb");
    fe_directive_free(d);
}

Test(clause, copyin_readonly_modifier)
{
    fe_directive *d = parse_ok("#pragma acc parallel copyin(readonly: a, b) copyin(c)");
    cr_assert_eq(clause(d, 0)->mods, FE_MOD_READONLY);
    cr_assert_eq(clause(d, 0)->nitems, 2);
    expect_var(d, &clause(d, 0)->items[0], "a", 0);
    cr_assert_eq(clause(d, 1)->mods, 0);
    fe_directive_free(d);
}

Test(clause, zero_modifier_on_create_and_copyout)
{
    fe_directive *d = parse_ok("#pragma acc data create(zero: t) copyout(zero:r[0:n])");
    cr_assert_eq(clause(d, 0)->mods, FE_MOD_ZERO);
    cr_assert_eq(clause(d, 1)->mods, FE_MOD_ZERO);
    expect_var(d, &clause(d, 1)->items[0], "r", 1);
    fe_directive_free(d);
}

Test(clause, modifier_on_the_wrong_clause)
{
    expect_err_at("#pragma acc parallel copyin(zero: a)", "zero", 4,
                  "modifier 'zero:' is not allowed in 'copyin('");
    expect_err_at("#pragma acc parallel copy(readonly: a)", "readonly", 8,
                  "modifier 'readonly:' is not allowed in 'copy('");
    expect_err_at("#pragma acc parallel copyin(always: a)", "always", 6,
                  "unknown modifier 'always:' in 'copyin('");
}

Test(clause, every_var_list_clause)
{
    static const struct {
        const char *text;
        fe_clause_kind kind;
    } cases[] = {
        {"#pragma acc parallel copy(v)", FE_CL_COPY},
        {"#pragma acc parallel copyin(v)", FE_CL_COPYIN},
        {"#pragma acc parallel copyout(v)", FE_CL_COPYOUT},
        {"#pragma acc parallel create(v)", FE_CL_CREATE},
        {"#pragma acc parallel no_create(v)", FE_CL_NO_CREATE},
        {"#pragma acc parallel present(v)", FE_CL_PRESENT},
        {"#pragma acc parallel deviceptr(v)", FE_CL_DEVICEPTR},
        {"#pragma acc parallel attach(v)", FE_CL_ATTACH},
        {"#pragma acc parallel private(v)", FE_CL_PRIVATE},
        {"#pragma acc parallel firstprivate(v)", FE_CL_FIRSTPRIVATE},
        {"#pragma acc exit data detach(v)", FE_CL_DETACH},
        {"#pragma acc exit data delete(v)", FE_CL_DELETE},
        {"#pragma acc host_data use_device(v)", FE_CL_USE_DEVICE},
        {"#pragma acc declare device_resident(v)", FE_CL_DEVICE_RESIDENT},
        {"#pragma acc declare link(v)", FE_CL_LINK},
        {"#pragma acc update host(v)", FE_CL_HOST},
        {"#pragma acc update device(v)", FE_CL_DEVICE},
        {"#pragma acc update self(v)", FE_CL_SELF},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fe_directive *d = parse_ok(cases[i].text);
        const fe_clause *c = clause(d, 0);
        cr_assert_eq(c->kind, cases[i].kind, "%s", cases[i].text);
        cr_assert_eq(c->nitems, 1);
        expect_var(d, &c->items[0], "v", 0);
        cr_assert_eq(c->items[0].name.loc.col, (int)strlen(cases[i].text) - 2);
        fe_directive_free(d);
    }
}

Test(clause, collapse_plain_and_force)
{
    fe_directive *d = parse_ok("#pragma acc loop collapse(2)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "2");
    fe_directive_free(d);
    d = parse_ok("#pragma acc loop collapse(force: 3)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_FORCE, "3");
    fe_directive_free(d);
    expect_err_at("#pragma acc loop collapse(2, 3)", "3", 1, "'collapse' takes a value, not a list");
}

Test(clause, gang_forms)
{
    fe_directive *d = parse_ok("#pragma acc loop gang");
    cr_assert_eq(clause(d, 0)->has_args, 0);
    cr_assert_eq(clause(d, 0)->nitems, 0);
    fe_directive_free(d);
    d = parse_ok("#pragma acc loop gang(n // 2)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "n // 2");
    fe_directive_free(d);
    d = parse_ok("#pragma acc loop gang(num: 8, static: *, dim: 2)");
    const fe_clause *c = clause(d, 0);
    cr_assert_eq(c->nitems, 3);
    expect_expr(d, &c->items[0], FE_KEY_NUM, "8");
    cr_assert_eq(c->items[1].kind, FE_ITEM_STAR);
    cr_assert_eq(c->items[1].key, FE_KEY_STATIC);
    expect_expr(d, &c->items[2], FE_KEY_DIM, "2");
    fe_directive_free(d);
    d = parse_ok("#pragma acc loop gang(static: chunk)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_STATIC, "chunk");
    fe_directive_free(d);
}

Test(clause, gang_argument_errors)
{
    expect_err_at("#pragma acc loop gang(4, num: 5)", "num", 3, "'gang' takes one 'num' argument");
    expect_err_at("#pragma acc loop gang(*)", "*", 1, "'*' is only allowed after 'static:'");
    expect_err_at("#pragma acc loop gang(size: 4)", "size", 4, "unknown modifier 'size:'");
    expect_err_at("#pragma acc loop gang(static:)", ":", 1, "expected a value after 'static:'");
}

Test(clause, worker_and_vector_forms)
{
    fe_directive *d = parse_ok("#pragma acc loop worker(4) vector(length: 128)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "4");
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_LENGTH, "128");
    fe_directive_free(d);
    d = parse_ok("#pragma acc loop worker(num: w) vector(32)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NUM, "w");
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_NONE, "32");
    fe_directive_free(d);
    expect_err_at("#pragma acc loop worker(length: 4)", "length", 6, "unknown modifier 'length:'");
}

Test(clause, tile_sizes_and_stars)
{
    fe_directive *d = parse_ok("#pragma acc loop tile(8, *, t + 1)");
    const fe_clause *c = clause(d, 0);
    cr_assert_eq(c->nitems, 3);
    expect_expr(d, &c->items[0], FE_KEY_NONE, "8");
    cr_assert_eq(c->items[1].kind, FE_ITEM_STAR);
    expect_expr(d, &c->items[2], FE_KEY_NONE, "t + 1");
    fe_directive_free(d);
}

Test(clause, bind_name_or_string)
{
    fe_directive *d = parse_ok("#pragma acc routine seq bind(fast_impl)");
    expect_var(d, &clause(d, 1)->items[0], "fast_impl", 0);
    fe_directive_free(d);
    d = parse_ok("#pragma acc routine(f) vector bind(\"_Z1fv\")");
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_NONE, "\"_Z1fv\"");
    fe_directive_free(d);
    expect_err_at("#pragma acc routine bind(f(x))", "f(x)", 4, "expected a name or a string");
}

Test(clause, flags_without_arguments)
{
    fe_directive *d = parse_ok("#pragma acc exit data delete(a) finalize");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_FINALIZE);
    cr_assert_eq(clause(d, 1)->has_args, 0);
    fe_directive_free(d);
    d = parse_ok("#pragma acc loop auto");
    cr_assert_eq(clause(d, 0)->kind, FE_CL_AUTO);
    fe_directive_free(d);
    d = parse_ok("#pragma acc loop independent");
    cr_assert_eq(clause(d, 0)->kind, FE_CL_INDEPENDENT);
    fe_directive_free(d);
    d = parse_ok("#pragma acc host_data use_device(p) if_present");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_IF_PRESENT);
    fe_directive_free(d);
}

Test(clause, flag_with_arguments_is_an_error)
{
    const char *t = "#pragma acc loop seq(1)";
    expect_err_at(t, "(", 1, "clause 'seq' takes no arguments");
    expect_err_at("#pragma acc loop independent=1", "=", 1,
                  "clause 'independent' takes no arguments");
}

Test(clause, required_argument_missing)
{
    expect_err_at("#pragma acc parallel copyin async", "copyin", 6, "expected '(' after 'copyin'");
    expect_err("#pragma acc parallel if", 21, 23, "expected '(' after 'if'");
    expect_err("#pragma acc loop tile", 17, 21, "expected '(' after 'tile'");
}

Test(clause, empty_argument_lists)
{
    expect_err_at("#pragma acc parallel copyin()", ")", 1, "expected a variable in 'copyin('");
    expect_err_at("#pragma acc parallel if( )", ")", 1, "expected a condition in 'if('");
    expect_err_at("#pragma acc parallel num_gangs()", ")", 1, "expected a value in 'num_gangs('");
    expect_err_at("#pragma acc parallel copyin(a,)", ")", 1, "expected a variable");
    expect_err_at("#pragma acc parallel copyin(,a)", ",", 1, "expected a variable");
    expect_err_at("#pragma acc parallel async()", ")", 1, "expected a value in 'async('");
}

Test(clause, kernels_loop_takes_loop_clauses)
{
    fe_directive *d = parse_ok("#pragma acc kernels loop private(t) reduction(+:s) copy(a)");
    cr_assert_eq(d->nclauses, 3);
    cr_assert_eq(clause(d, 0)->kind, FE_CL_PRIVATE);
    cr_assert_eq(clause(d, 1)->kind, FE_CL_REDUCTION);
    fe_directive_free(d);
}

Test(clause, serial_loop_and_parallel_loop_unions)
{
    fe_directive *d = parse_ok("#pragma acc serial loop gang copyin(a) firstprivate(b) "
                               "collapse(2) default(present)");
    cr_assert_eq(d->nclauses, 5);
    fe_directive_free(d);
    d = parse_ok("#pragma acc parallel loop num_gangs(4) vector_length(32) gang vector tile(4)");
    cr_assert_eq(d->nclauses, 5);
    fe_directive_free(d);
}

/* OpenACC 2.0's present_or_ names are 2.7's alternate names for the data
 * clauses. */
Test(clause, present_or_aliases_are_the_data_clauses)
{
    static const struct {
        const char *text;
        fe_clause_kind kind;
    } cases[] = {
        {"#pragma acc data pcopy(a)", FE_CL_COPY},
        {"#pragma acc data present_or_copy(a)", FE_CL_COPY},
        {"#pragma acc enter data pcopyin(a)", FE_CL_COPYIN},
        {"#pragma acc data present_or_copyin(a)", FE_CL_COPYIN},
        {"#pragma acc parallel pcopyout(a)", FE_CL_COPYOUT},
        {"#pragma acc exit data present_or_copyout(a)", FE_CL_COPYOUT},
        {"#pragma acc kernels pcreate(a)", FE_CL_CREATE},
        {"#pragma acc declare present_or_create(a)", FE_CL_CREATE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fe_directive *d = parse_ok(cases[i].text);
        cr_assert_eq(d->nclauses, 1, "%s", cases[i].text);
        cr_assert_eq(d->clauses[0].kind, cases[i].kind, "%s", cases[i].text);
        cr_assert_eq(d->clauses[0].nitems, 1);
        fe_directive_free(d);
    }
}

/* --------------------------------------------------------- separators */

Test(separators, commas_and_blanks_mean_the_same)
{
    expect_same("#pragma acc parallel copy(a), copyin(b) ,async, if(c)",
                "#pragma acc parallel copy(a) copyin(b) async if(c)");
    expect_same("#pragma acc parallel copy(a)copyin(b)", "#pragma acc parallel copy(a) copyin(b)");
    expect_same("#pragma acc loop gang,vector", "#pragma acc loop gang vector");
}

Test(separators, stray_commas)
{
    expect_err_at("#pragma acc parallel, copy(a)", ",", 1, "unexpected ',' before the first clause");
    expect_err_at("#pragma acc parallel copy(a),", ",", 1, "expected a clause after ','");
    expect_err_at("#pragma acc parallel copy(a),, async", ",", 1, "expected a clause after ','");
}

Test(separators, blanks_inside_clauses)
{
    expect_same("#pragma acc parallel copyin ( a [ 0 : n ] ) num_gangs ( 4 )",
                "#pragma acc parallel copyin(a[0:n]) num_gangs(4)");
}

/* -------------------------------------------------------------- aliases */

Test(alias, copyout_eq_is_copyout_paren)
{
    expect_same("#pragma acc parallel loop copyout=ret[0:len(data)]",
                "#pragma acc parallel loop copyout(ret[0:len(data)])");
    fe_directive *d = parse_ok("#pragma acc parallel loop copyout=ret[0:len(data)]");
    const fe_clause *c = clause(d, 0);
    cr_assert_eq(c->has_args, 1);
    expect_var(d, &c->items[0], "ret", 1);
    expect_dim(d, &c->items[0], 0, "0", "len(data)");
    cr_assert_eq(c->items[0].dims[0].hi.loc.col, col_of(d->text, "len"));
    fe_directive_free(d);
}

Test(alias, value_ends_at_next_clause_name)
{
    const char *t = "#pragma acc parallel num_gangs=n // 4 async";
    fe_directive *d = parse_ok(t);
    cr_assert_eq(d->nclauses, 2);
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "n // 4");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_ASYNC);
    cr_assert_eq(clause(d, 1)->loc.col, col_of(t, "async"));
    fe_directive_free(d);
}

Test(alias, value_ends_at_top_level_comma)
{
    expect_same("#pragma acc parallel copyin=a[0:n], copyout=b, num_workers=f(x, y)",
                "#pragma acc parallel copyin(a[0:n]) copyout(b) num_workers(f(x, y))");
}

Test(alias, parenthesised_value_is_the_argument_list)
{
    expect_same("#pragma acc parallel copyin=(a, b[0:n]) async",
                "#pragma acc parallel copyin(a, b[0:n]) async");
    expect_same("#pragma acc loop reduction=(+:s)", "#pragma acc loop reduction(+:s)");
}

Test(alias, parenthesised_start_of_an_expression)
{
    fe_directive *d = parse_ok("#pragma acc parallel num_gangs=(n + 1) // 2 vector_length=64");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "(n + 1) // 2");
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_NONE, "64");
    fe_directive_free(d);
}

Test(alias, blanks_around_equals_and_names_that_look_like_clauses)
{
    fe_directive *d = parse_ok("#pragma acc parallel if = n > self.limit copy(a)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "n > self.limit");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_COPY);
    fe_directive_free(d);
    /* A word that is a clause elsewhere but not here does not end the value. */
    d = parse_ok("#pragma acc parallel if=x and seq");
    cr_assert_eq(d->nclauses, 1);
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "x and seq");
    fe_directive_free(d);
}

Test(alias, empty_value)
{
    expect_err_at("#pragma acc parallel copyin= ", "=", 1, "expected a value after 'copyin='");
    expect_err_at("#pragma acc parallel copyin=, async", "=", 1, "expected a value after 'copyin='");
}

Test(alias, optional_argument_clause_with_value)
{
    fe_directive *d = parse_ok("#pragma acc parallel async=q wait=w");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "q");
    expect_expr(d, &clause(d, 1)->items[0], FE_KEY_NONE, "w");
    cr_assert_eq(clause(d, 1)->has_args, 1);
    fe_directive_free(d);
}

Test(alias, var_list_junk_in_value_names_it)
{
    expect_err_at("#pragma acc parallel copyin=a b", "a b", 3,
                  "'a b' is not a variable or array section in 'copyin='");
}

/* -------------------------------------------------------------- sections */

Test(section, bare_name_and_dotted_name)
{
    fe_directive *d = parse_ok("#pragma acc parallel present(a, obj.arr, obj . inner.x[0:2])");
    const fe_clause *c = clause(d, 0);
    expect_var(d, &c->items[0], "a", 0);
    expect_var(d, &c->items[1], "obj.arr", 0);
    expect_var(d, &c->items[2], "obj . inner.x", 1);
    fe_directive_free(d);
}

Test(section, multi_dimensional_comma_and_c_style_agree)
{
    expect_same("#pragma acc data copy(m[0:n, 1:k-1])", "#pragma acc data copy(m[0:n][1:k-1])");
    fe_directive *d = parse_ok("#pragma acc data copy(m[0:n, 1:k-1][2:3])");
    const fe_item *it = &clause(d, 0)->items[0];
    expect_var(d, it, "m", 3);
    expect_dim(d, it, 0, "0", "n");
    expect_dim(d, it, 1, "1", "k-1");
    expect_dim(d, it, 2, "2", "3");
    fe_directive_free(d);
}

Test(section, omitted_bounds_are_empty_spans)
{
    fe_directive *d = parse_ok("#pragma acc data copy(a[:], b[:n], c[2:], e[ : ])");
    const fe_clause *c = clause(d, 0);
    expect_dim(d, &c->items[0], 0, "", "");
    expect_dim(d, &c->items[1], 0, "", "n");
    expect_dim(d, &c->items[2], 0, "2", "");
    expect_dim(d, &c->items[3], 0, "", "");
    cr_assert_eq(c->items[1].dims[0].lo.len, 0);
    cr_assert_eq(c->items[2].dims[0].hi.len, 0);
    fe_directive_free(d);
}

Test(section, element_index)
{
    const char *t = "#pragma acc loop reduction(+: hist[k], grid[i, 0:m])";
    fe_directive *d = parse_ok(t);
    const fe_clause *c = clause(d, 0);
    const fe_item *h = &c->items[0];
    expect_var(d, h, "hist", 1);
    cr_assert_eq(h->dims[0].is_index, 1);
    cr_assert_str_eq(sp(d, h->dims[0].lo), "k");
    cr_assert_eq(h->dims[0].lo.loc.col, col_of(t, "k]"));
    const fe_item *g = &c->items[1];
    expect_var(d, g, "grid", 2);
    cr_assert_eq(g->dims[0].is_index, 1);
    expect_dim(d, g, 1, "0", "m");
    fe_directive_free(d);
}

Test(section, nested_brackets_and_strings_in_bounds)
{
    fe_directive *d = parse_ok(
        "#pragma acc data copy(a[f(b[1:2], {'k': (3, 4)}['k'][0]):len(\"]),\")])");
    const fe_item *it = &clause(d, 0)->items[0];
    expect_var(d, it, "a", 1);
    expect_dim(d, it, 0, "f(b[1:2], {'k': (3, 4)}['k'][0])", "len(\"]),\")");
    fe_directive_free(d);
}

Test(section, blanks_inside_sections)
{
    fe_directive *d = parse_ok("#pragma acc data copy( a [ lo : hi ] [ 0 : 2 ] )");
    const fe_item *it = &clause(d, 0)->items[0];
    expect_var(d, it, "a", 2);
    expect_dim(d, it, 0, "lo", "hi");
    expect_dim(d, it, 1, "0", "2");
    fe_directive_free(d);
}

Test(section, eight_dimensions_fit_nine_do_not)
{
    fe_directive *d = parse_ok("#pragma acc data copy(a[0:1,0:1,0:1,0:1,0:1,0:1,0:1,0:1])");
    cr_assert_eq(clause(d, 0)->items[0].ndims, FE_MAX_DIMS);
    fe_directive_free(d);
    expect_err_at("#pragma acc data copy(a[0:1,0:1,0:1,0:1][0:1,0:1,0:1,0:1][9:9])", "9:9", 3,
                  "too many dimensions (at most 8)");
}

Test(section, step_and_empty_dim_are_errors)
{
    expect_err_at("#pragma acc data copy(a[0:n:2])", ":2", 1, "an array section takes no step");
    expect_err_at("#pragma acc data copy(a[])", "]", 1, "expected an index or a section in '['");
    expect_err_at("#pragma acc data copy(a[1,])", "]", 1, "expected an index or a section");
}

Test(section, non_variables_are_errors_naming_the_item)
{
    expect_err_at("#pragma acc parallel copyin(x, a+1)", "a+1", 3,
                  "'a+1' is not a variable or array section in 'copyin('");
    expect_err_at("#pragma acc parallel copyin(3)", "3", 1, "'3' is not a variable");
    expect_err_at("#pragma acc parallel copyin(f(x))", "f(x)", 4, "'f(x)' is not a variable");
    expect_err_at("#pragma acc parallel copyin(a[0:n] b)", "a[0:n] b", 8, "is not a variable");
    expect_err_at("#pragma acc parallel private(a.)", "a.", 2, "'a.' is not a variable");
}

/* ------------------------------------------------------------ expressions */

Test(expr, strings_with_brackets_commas_and_escapes)
{
    fe_directive *d = parse_ok("#pragma acc parallel if(s == ')' or t != \"a,\\\"b(\") copy(a)");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "s == ')' or t != \"a,\\\"b(\"");
    cr_assert_eq(clause(d, 1)->kind, FE_CL_COPY);
    fe_directive_free(d);
}

Test(expr, triple_quoted_and_prefixed_strings)
{
    fe_directive *d = parse_ok("#pragma acc parallel if(m == '''x)''' or r'\\)' == b\"(\")");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "m == '''x)''' or r'\\)' == b\"(\"");
    fe_directive_free(d);
}

Test(expr, nested_brackets_of_every_kind)
{
    fe_directive *d = parse_ok("#pragma acc parallel num_gangs(len({k: [v, (1, 2)] for k in d}))");
    expect_expr(d, &clause(d, 0)->items[0], FE_KEY_NONE, "len({k: [v, (1, 2)] for k in d})");
    fe_directive_free(d);
}

Test(expr, top_level_comma_splits_single_value_clauses)
{
    expect_err_at("#pragma acc parallel if(a, b)", "b", 1, "'if' takes a condition, not a list");
}

Test(expr, star_is_not_an_expression)
{
    expect_err_at("#pragma acc parallel async(*)", "*", 1, "'*' is not allowed in 'async('");
}
