/* test_carry.c - values carried over a loop's back edge (jit/carry.c), on
 * small functions written as IR: what is carried, that the module stays
 * valid, and the loops the pass must leave alone. */
#include "carry.h"

#include <criterion/criterion.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/IRReader.h>
#include <string.h>

static LLVMModuleRef parse(LLVMContextRef C, const char *ir)
{
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "test");
    LLVMModuleRef m = NULL;
    char *msg = NULL;
    cr_assert_eq(LLVMParseIRInContext(C, buf, &m, &msg), 0, "%s", msg ? msg : "?");
    return m;
}

/* Runs the pass on ir: it carries `carried` values, leaves a valid
 * module, and the module's text holds `has` and not `lacks` (each NULL:
 * not checked). */
static void check(const char *ir, int carried, const char *has, const char *lacks)
{
    LLVMContextRef C = LLVMContextCreate();
    LLVMModuleRef m = parse(C, ir);
    cr_assert_eq(jit_carry_values(m), carried);
    char *msg = NULL;
    cr_assert_eq(LLVMVerifyModule(m, LLVMReturnStatusAction, &msg), 0, "invalid after the pass: %s", msg);
    LLVMDisposeMessage(msg);
    char *text = LLVMPrintModuleToString(m);
    if (has)
        cr_assert_not_null(strstr(text, has), "no `%s` in:\n%s", has, text);
    if (lacks)
        cr_assert_null(strstr(text, lacks), "`%s` left in:\n%s", lacks, text);
    LLVMDisposeMessage(text);
    LLVMDisposeModule(m);
    LLVMContextDispose(C);
}

/* Mandelbrot's shape: x * x in the header, x' * x' for the test. */
static const char *SQUARES = "define double @f(double %c, i64 %n) {\n"
                             "entry:\n"
                             "  br label %h\n"
                             "h:\n"
                             "  %x = phi double [ 0.0, %entry ], [ %x2, %latch ]\n"
                             "  %k = phi i64 [ 0, %entry ], [ %k1, %latch ]\n"
                             "  %sq = fmul double %x, %x\n"
                             "  %x2 = fadd double %sq, %c\n"
                             "  %sq2 = fmul double %x2, %x2\n"
                             "  %k1 = add i64 %k, 1\n"
                             "  %small = fcmp olt double %sq2, 4.0\n"
                             "  br i1 %small, label %latch, label %exit\n"
                             "latch:\n"
                             "  %go = icmp slt i64 %k1, %n\n"
                             "  br i1 %go, label %h, label %exit\n"
                             "exit:\n"
                             "  ret double %x2\n"
                             "}\n";

Test(carry, a_square_the_last_iteration_made_is_taken_not_made_again)
{
    /* the first iteration's square folds to 0; then the test's */
    check(SQUARES, 1, "phi double [ 0.000000e+00, %entry ], [ %sq2, %latch ]", "fmul double %x, %x");
}

Test(carry, the_carried_value_keeps_only_the_flags_both_had)
{
    /* i * i (no nsw) in the body, i' * i' nsw for the test: the test's
     * multiplication now stands for both, so it loses nsw */
    static const char *ir = "define i64 @f(i64 %a, i64 %lim) {\n"
                            "entry:\n"
                            "  br label %h\n"
                            "h:\n"
                            "  %v = phi i64 [ %a, %entry ], [ %v2, %h ]\n"
                            "  %p = mul i64 %v, %v\n"
                            "  %v2 = urem i64 %p, 1000\n"
                            "  %p2 = mul nsw i64 %v2, %v2\n"
                            "  %go = icmp slt i64 %p2, %lim\n"
                            "  br i1 %go, label %h, label %exit\n"
                            "exit:\n"
                            "  ret i64 %v2\n"
                            "}\n";
    check(ir, 1, "mul i64 %a, %a", "mul nsw"); /* the first iteration's square, at the entry */
}

Test(carry, a_header_entered_by_two_edges_from_one_block_is_left_alone)
{
    /* its phis have an entry an edge: three, for two predecessors */
    static const char *ir = "define double @f(double %c, i1 %b, i64 %n) {\n"
                            "entry:\n"
                            "  br i1 %b, label %h, label %h\n"
                            "h:\n"
                            "  %x = phi double [ 0.0, %entry ], [ 0.0, %entry ], [ %x2, %h ]\n"
                            "  %sq = fmul double %x, %x\n"
                            "  %x2 = fadd double %sq, %c\n"
                            "  %sq2 = fmul double %x2, %x2\n"
                            "  %small = fcmp olt double %sq2, 4.0\n"
                            "  br i1 %small, label %h, label %exit\n"
                            "exit:\n"
                            "  ret double %x2\n"
                            "}\n";
    check(ir, 0, "fmul double %x, %x", NULL);
}

Test(carry, a_latch_reached_through_a_branch_of_the_body_is_left_alone)
{
    /* x' * x' is made on one side of an if only: not every iteration
     * that goes round made it */
    static const char *ir = "define double @f(double %c, i64 %n) {\n"
                            "entry:\n"
                            "  br label %h\n"
                            "h:\n"
                            "  %x = phi double [ 1.0, %entry ], [ %x2, %join ]\n"
                            "  %sq = fmul double %x, %x\n"
                            "  %x2 = fadd double %sq, %c\n"
                            "  %pos = fcmp ogt double %x2, 0.0\n"
                            "  br i1 %pos, label %a, label %b\n"
                            "a:\n"
                            "  %sq2 = fmul double %x2, %x2\n"
                            "  br label %join\n"
                            "b:\n"
                            "  br label %join\n"
                            "join:\n"
                            "  %t = phi double [ %sq2, %a ], [ 0.0, %b ]\n"
                            "  %small = fcmp olt double %t, 4.0\n"
                            "  br i1 %small, label %h, label %exit\n"
                            "exit:\n"
                            "  ret double %x2\n"
                            "}\n";
    check(ir, 0, NULL, NULL);
}
