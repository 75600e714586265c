/* test_infer.c - type inference: Python's rules for Python numbers, NumPy
 * 2's for NumPy scalars, and variables that would change type. */
#include "fixture.h"
#include "ir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void check_types(const char *name)
{
    for (int minor = 11; minor <= 12; minor++) {
        char path[512], err[256];
        snprintf(path, sizeof path, "%s/%s.py3%d.fixture", FIXTURE_DIR, name, minor);
        fx_fixture fx;
        cr_assert_eq(fx_load(path, &fx, err, sizeof err), 0, "%s", err);
        fe_region r = fx_region(&fx, "x");
        fe_func f = {0};
        fe_error e;
        fe_status st = fe_build(&r, &f, &e);
        if (st == FE_OK)
            st = fe_track_unbound(&f, &e);
        if (st == FE_OK)
            st = fe_infer(&f, &e);
        if (fx.error_kind) {
            cr_expect_eq(st, FE_ERR_TYPE, "%s: status %d", path, st);
            cr_expect(strstr(e.msg, fx.error_text) != NULL, "%s: %s", path, e.msg);
        } else {
            cr_assert_eq(st, FE_OK, "%s: %s", path, e.msg);
            cr_expect_gt(fx.ntypes, 0);
            for (int t = 0; t < fx.ntypes; t++) {
                int found = 0;
                for (int v = 0; v < f.nvars; v++) {
                    if (strcmp(f.vars[v].name, fx.type_var[t]) != 0)
                        continue;
                    char got[64];
                    fe_t_str(f.vars[v].type, got, sizeof got);
                    cr_expect_str_eq(got, fx.type_str[t], "%s: %s is %s, not %s", path, fx.type_var[t], got,
                                     fx.type_str[t]);
                    found = 1;
                }
                cr_expect(found, "%s: no variable %s", path, fx.type_var[t]);
            }
        }
        fe_func_free(&f);
        fx_free(&fx);
    }
}

Test(infer, numpy_2_promotion_and_python_scalars) { check_types("promote"); }
Test(infer, an_int_accumulator_of_floats_becomes_float64) { check_types("accumulate"); }
Test(infer, a_variable_holding_int64_and_a_float_computes_in_float64) { check_types("mixed"); }
Test(infer, a_variable_holding_an_array_and_a_float_is_reported) { check_types("mixed_bad"); }

/* The promotion table itself, against values checked with NumPy 2. */
Test(infer, promotion_table_matches_numpy)
{
    fe_types *ts = fe_types_new();
    struct {
        fe_dtype a, b, want;
    } cases[] = {
        {FE_DT_INT8, FE_DT_UINT8, FE_DT_INT16},       {FE_DT_INT32, FE_DT_UINT32, FE_DT_INT64},
        {FE_DT_INT64, FE_DT_UINT64, FE_DT_FLOAT64},   {FE_DT_FLOAT32, FE_DT_INT16, FE_DT_FLOAT32},
        {FE_DT_FLOAT32, FE_DT_INT32, FE_DT_FLOAT64},  {FE_DT_UINT16, FE_DT_INT8, FE_DT_INT32},
        {FE_DT_BOOL, FE_DT_INT8, FE_DT_INT8},         {FE_DT_FLOAT32, FE_DT_FLOAT64, FE_DT_FLOAT64},
        {FE_DT_UINT8, FE_DT_FLOAT32, FE_DT_FLOAT32},  {FE_DT_UINT32, FE_DT_INT16, FE_DT_INT64},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const fe_type *t = fe_t_promote(ts, fe_t_np(ts, cases[i].a), fe_t_np(ts, cases[i].b));
        cr_expect_eq(t->dtype, cases[i].want, "%s + %s gave %s", fe_dtype_name(cases[i].a),
                     fe_dtype_name(cases[i].b), fe_dtype_name(t->dtype));
    }
    /* NEP 50: Python scalars take the NumPy type when its kind holds them */
    const fe_type *pf = fe_t_simple(ts, FE_T_FLOAT), *pi = fe_t_simple(ts, FE_T_INT);
    cr_expect_eq(fe_t_promote(ts, pf, fe_t_np(ts, FE_DT_FLOAT32))->dtype, FE_DT_FLOAT32);
    cr_expect_eq(fe_t_promote(ts, pi, fe_t_np(ts, FE_DT_INT8))->dtype, FE_DT_INT8);
    cr_expect_eq(fe_t_promote(ts, pf, fe_t_np(ts, FE_DT_INT32))->dtype, FE_DT_FLOAT64);
    cr_expect_eq(fe_t_promote(ts, pi, pf)->kind, FE_T_FLOAT);
    fe_types_free(ts);
}
