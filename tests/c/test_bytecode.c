/* test_bytecode.c - the decoder and the builder on real 3.11 and 3.12
 * bytecode (fixtures from lower/make_fixtures.py). */
#include "fixture.h"
#include "ir.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static void load(const char *name, int minor, fx_fixture *fx)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/%s.py3%d.fixture", FIXTURE_DIR, name, minor);
    cr_assert_eq(fx_load(path, fx, err, sizeof err), 0, "%s", err);
}

static int find(const fe_instr *ins, int n, fe_pyop op, int from)
{
    for (int i = from; i < n; i++)
        if (ins[i].op == op)
            return i;
    return -1;
}

static void loop_targets(int minor)
{
    fx_fixture fx;
    load("saxpy", minor, &fx);
    fe_instr *ins;
    int n;
    fe_error err;
    cr_assert_eq(fe_decode(fx.optable, &fx.code, &ins, &n, &err), FE_OK, "%s", err.msg);
    int fi = find(ins, n, FE_OP_FOR_ITER, 0), jb = find(ins, n, FE_OP_JUMP_BACKWARD, 0);
    cr_assert(fi >= 0 && jb > fi, "a for loop: FOR_ITER then JUMP_BACKWARD");
    cr_expect_eq(ins[jb].target, fi, "the back edge goes to FOR_ITER");
    /* the loop's exit: after the back edge, past 3.12's END_FOR */
    cr_expect_eq(ins[fi].target, jb + 1 + (minor >= 12), "exit at %d", ins[fi].target);
    cr_expect_neq(ins[ins[fi].target].op, FE_OP_END_FOR);
    for (int i = 0; i < n; i++) {
        cr_expect_neq(ins[i].op, FE_OP_UNKNOWN, "instruction %d unknown", i);
        cr_expect_neq(ins[i].op, FE_OP_CACHE, "cache entries are skipped");
        if (ins[i].op != FE_OP_RESUME)
            cr_expect_gt(ins[i].loc.line, 0, "instruction %d has a line", i);
    }
    free(ins);
    fx_free(&fx);
}

Test(bytecode, loop_jumps_resolve_on_3_11) { loop_targets(11); }
Test(bytecode, loop_jumps_resolve_on_3_12_past_end_for) { loop_targets(12); }

static void extended(int minor)
{
    fx_fixture fx;
    load("many_consts", minor, &fx);
    fe_instr *ins;
    int n;
    fe_error err;
    cr_assert_eq(fe_decode(fx.optable, &fx.code, &ins, &n, &err), FE_OK, "%s", err.msg);
    int big = 0;
    for (int i = 0; i < n; i++) {
        cr_expect_neq(ins[i].op, FE_OP_EXTENDED_ARG, "EXTENDED_ARG is folded into the next instruction");
        if (ins[i].op == FE_OP_LOAD_CONST && ins[i].arg >= 256) {
            big++;
            const fe_const *c = &fx.code.consts[ins[i].arg];
            cr_expect_eq(c->kind, FE_CONST_FLOAT);
        }
    }
    cr_expect_gt(big, 40, "constants past 255 are reached through EXTENDED_ARG (%d)", big);
    free(ins);
    fx_free(&fx);
}

Test(bytecode, extended_arg_is_folded_on_3_11) { extended(11); }
Test(bytecode, extended_arg_is_folded_on_3_12) { extended(12); }

Test(bytecode, an_opcode_the_table_lacks_is_reported_by_name)
{
    fx_fixture fx;
    load("saxpy", 11, &fx);
    /* a table without BINARY_OP: the builder reaches it and names it */
    const char *names[256] = {0};
    uint8_t ncache[256] = {0};
    for (int i = 0; i < 256; i++) {
        names[i] = fx.optable->name[i];
        ncache[i] = fx.optable->ncache[i];
        if (names[i] && strcmp(names[i], "BINARY_OP") == 0)
            names[i] = "BINARY_FROBNICATE";
    }
    fe_optable *ot = fe_optable_new(11, names, ncache);
    fe_region r = fx_region(&fx, "x");
    r.optable = ot;
    fe_func f = {0};
    fe_error err;
    cr_assert_eq(fe_build(&r, &f, &err), FE_ERR_UNSUPPORTED);
    cr_expect(strstr(err.msg, "BINARY_FROBNICATE") != NULL, "%s", err.msg);
    cr_expect_gt(err.loc.line, 0);
    fe_func_free(&f);
    fe_optable_free(ot);
    fx_free(&fx);
}

Test(bytecode, a_jump_out_of_the_code_is_an_internal_error)
{
    fx_fixture fx;
    load("saxpy", 12, &fx);
    fe_instr *ins;
    int n;
    fe_error err;
    cr_assert_eq(fe_decode(fx.optable, &fx.code, &ins, &n, &err), FE_OK);
    int jb = find(ins, n, FE_OP_JUMP_BACKWARD, 0);
    uint8_t *code = (uint8_t *)fx.code.code;
    code[ins[jb].offset + 1] = 250; /* jump back before the start */
    free(ins);
    cr_expect_eq(fe_decode(fx.optable, &fx.code, &ins, &n, &err), FE_ERR_INTERNAL);
    cr_expect(strstr(err.msg, "jump") != NULL, "%s", err.msg);
    fx_free(&fx);
}

Test(bytecode, blocks_and_stack_variables_of_a_conditional_expression)
{
    fx_fixture fx;
    load("escape", 12, &fx); /* `while a and b`: values cross blocks */
    fe_region r = fx_region(&fx, "x");
    fe_func f = {0};
    fe_error err;
    cr_assert_eq(fe_build(&r, &f, &err), FE_OK, "%s", err.msg);
    int reachable = 0, loops = 0;
    for (int k = 0; k < f.nblocks; k++) {
        reachable += f.blocks[k].reachable;
        if (f.blocks[k].nnodes && f.nodes[f.blocks[k].nodes[f.blocks[k].nnodes - 1]].op == IR_FORITER)
            loops++;
    }
    cr_expect_gt(reachable, 4);
    cr_expect_eq(loops, 1, "one for loop");
    /* every block ends in exactly one terminator */
    for (int k = 0; k < f.nblocks; k++) {
        if (!f.blocks[k].reachable)
            continue;
        for (int i = 0; i < f.blocks[k].nnodes; i++) {
            int op = f.nodes[f.blocks[k].nodes[i]].op;
            int last = i == f.blocks[k].nnodes - 1;
            cr_expect_eq(op >= IR_FORITER, last, "block %d node %d", k, i);
        }
    }
    fe_func_free(&f);
    fx_free(&fx);
}
