/* test_lower.c - the frontend from bytecode to LLVM IR, on fixtures made by
 * lower/make_fixtures.py for Python 3.11 and 3.12.  Each fixture says what
 * the unoptimised IR must and must not contain, or how lowering fails. */
#include "bytecode.h"
#include "fixture.h"

#include <criterion/criterion.h>
#include <llvm-c/Core.h>
#include <stdio.h>
#include <string.h>

#ifndef FIXTURE_DIR
#error "FIXTURE_DIR must name tests/c/lower"
#endif

static const char *status_name(fe_status st)
{
    switch (st) {
    case FE_OK: return "ok";
    case FE_ERR_SYNTAX: return "syntax";
    case FE_ERR_UNSUPPORTED: return "unsupported";
    case FE_ERR_TYPE: return "type";
    case FE_ERR_INTERNAL: return "internal";
    default: return "nomem";
    }
}

static void check_fixture(const char *path)
{
    fx_fixture fx;
    char err[256];
    cr_assert_eq(fx_load(path, &fx, err, sizeof err), 0, "%s", err);
    LLVMContextRef ctx = LLVMContextCreate();
    fe_region r = fx_region(&fx, "region_under_test");
    fe_result res;
    fe_error e;
    fe_status st = fe_lower_region(&r, ctx, &res, &e);
    if (fx.error_kind) {
        cr_expect_str_eq(status_name(st), fx.error_kind, "%s: lowered with status %s (%s)", path,
                         status_name(st), e.msg);
        cr_expect(strstr(e.msg, fx.error_text) != NULL, "%s: message '%s' lacks '%s'", path, e.msg,
                  fx.error_text);
        cr_expect(e.loc.line > 0, "%s: the error has no line", path);
    } else {
        cr_assert_eq(st, FE_OK, "%s: %s error at line %d: %s", path, status_name(st), e.loc.line, e.msg);
        char *ir = LLVMPrintModuleToString(res.module);
        const char *at = ir;
        for (int i = 0; i < fx.nexpect; i++) {
            const char *hit = strstr(at, fx.expect[i]);
            cr_expect(hit != NULL, "%s: '%s' missing (in order) from\n%s", path, fx.expect[i], ir);
            if (hit)
                at = hit;
        }
        for (int i = 0; i < fx.nreject; i++)
            cr_expect(strstr(ir, fx.reject[i]) == NULL, "%s: '%s' should not appear in\n%s", path,
                      fx.reject[i], ir);
        LLVMDisposeMessage(ir);
        LLVMDisposeModule(res.module);
        fe_result_free(&res);
    }
    LLVMContextDispose(ctx);
    fx_free(&fx);
}

static void check_case(const char *name)
{
    int found = 0;
    const char *tags[] = {"py311", "py312"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s.%s.fixture", FIXTURE_DIR, name, tags[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        fclose(f);
        found++;
        check_fixture(path);
    }
    cr_assert_eq(found, 2, "fixtures of %s for both Python versions", name);
}

Test(lower, saxpy_outlines_a_parallel_float32_loop) { check_case("saxpy"); }
Test(lower, seed_appends_become_stores) { check_case("seed"); }
Test(lower, serial_loop_with_negative_step_stays_in_the_entry) { check_case("serial_steps"); }
Test(lower, python_int_floor_division_checks_for_zero) { check_case("floordiv"); }
Test(lower, dict_is_unsupported) { check_case("with_dict"); }
Test(lower, array_plus_list_is_a_type_error) { check_case("bad_types"); }
Test(lower, carried_scalar_blocks_a_parallel_loop) { check_case("carried"); }
Test(lower, carried_scalar_compiles_in_a_seq_loop) { check_case("carried_seq"); }
Test(lower, last_value_comes_back_from_the_last_chunk) { check_case("lastvalue"); }
Test(lower, while_loop_inside_a_parallel_loop) { check_case("escape"); }
Test(lower, two_dimensional_c_arrays) { check_case("matrix_c"); }
Test(lower, two_dimensional_f_and_strided_arrays) { check_case("matrix_f"); }

/* ------------------------------------------------ found by fuzz_lower
 *
 * Code the fuzzer (tests/fuzz) found crashing the frontend, written out
 * with the opcode table of a fixture's own Python version; each of these
 * once crashed while lowering.  Its reproducers are tests/fuzz/crashes/lower/. */

typedef struct asm_ {
    const fx_fixture *fx;
    uint8_t code[256];
    size_t n;
} asm_;

/* Appends `name arg` and its inline cache entries to a->code. */
static void op(asm_ *a, const char *name, int arg)
{
    const fe_optable *ot = a->fx->optable;
    int num = -1;
    for (int i = 0; i < 256 && num < 0; i++)
        if (ot->name[i] && strcmp(ot->name[i], name) == 0)
            num = i;
    cr_assert_geq(num, 0, "%s: no opcode %s", a->fx->name, name);
    cr_assert_leq(a->n + 2 + 2 * ot->ncache[num], sizeof a->code);
    a->code[a->n++] = (uint8_t)num;
    a->code[a->n++] = (uint8_t)arg;
    for (int k = 0; k < ot->ncache[num]; k++) {
        a->code[a->n++] = 0;
        a->code[a->n++] = 0;
    }
}

typedef void (*asm_fn)(asm_ *a);

/* Lowers fixture `name` of both Python versions with its code replaced by
 * what `body` writes, expecting status `want` and a message holding msg. */
static void expect_patched(const char *name, asm_fn body, fe_status want, const char *msg)
{
    const char *tags[] = {"py311", "py312"};
    for (int t = 0; t < 2; t++) {
        char path[512], err[256];
        snprintf(path, sizeof path, "%s/%s.%s.fixture", FIXTURE_DIR, name, tags[t]);
        fx_fixture fx;
        cr_assert_eq(fx_load(path, &fx, err, sizeof err), 0, "%s", err);
        asm_ a = {.fx = &fx};
        body(&a);
        cr_assert_leq(a.n, fx.code.ncode, "%s: the positions cover only the fixture's code", path);
        fx.code.code = a.code;
        fx.code.ncode = a.n;
        LLVMContextRef ctx = LLVMContextCreate();
        fe_region r = fx_region(&fx, "region_under_test");
        fe_result res;
        fe_error e;
        fe_status st = fe_lower_region(&r, ctx, &res, &e);
        if (st == FE_OK) {
            LLVMDisposeModule(res.module);
            fe_result_free(&res);
        }
        cr_expect_eq(st, want, "%s: status %s (%s), want %s", path, status_name(st),
                     st ? e.msg : "", status_name(want));
        cr_expect(st == FE_OK || strstr(e.msg, msg), "%s: message '%s' lacks '%s'", path, e.msg, msg);
        LLVMContextDispose(ctx);
        fx_free(&fx);
    }
}

/* accumulate(x, n) with locals s, i:  i = x[()]; return (n,) */
static void index_by_empty_tuple(asm_ *a)
{
    op(a, "RESUME", 0);
    op(a, "LOAD_FAST", 0);
    op(a, "BUILD_TUPLE", 0);
    op(a, "BINARY_SUBSCR", 0);
    op(a, "STORE_FAST", 3);
    op(a, "LOAD_FAST", 1);
    op(a, "BUILD_TUPLE", 1);
    op(a, "RETURN_VALUE", 0);
}

Test(lower, array_indexed_by_empty_tuple_runs_in_the_interpreter)
{
    expect_patched("accumulate", index_by_empty_tuple, FE_ERR_UNSUPPORTED,
                   "indexing an array with an empty tuple");
}

/* accumulate(x, n) with locals s, i, s never assigned:  i = s; return (n,) */
static void store_unassigned(asm_ *a)
{
    op(a, "RESUME", 0);
    op(a, "LOAD_FAST", 2);
    op(a, "STORE_FAST", 3);
    op(a, "LOAD_FAST", 1);
    op(a, "BUILD_TUPLE", 1);
    op(a, "RETURN_VALUE", 0);
}

Test(lower, storing_a_never_assigned_local_runs_in_the_interpreter)
{
    expect_patched("accumulate", store_unassigned, FE_ERR_UNSUPPORTED,
                   "local variable 's' is used before it is assigned");
}
