/* test_launch.c - Criterion tests of how a parallel loop starts
 * (runtime/launch.c): which of its two bodies runs, over which iterations.
 * A loop whose iterations hold loops comes with a second body without
 * Ctrl-C polls inside them (frontend/unpolled.c); it must run only where
 * an iteration is short, and a collapsed nest has rows enough to share. */
#include "rt.h"

#include <criterion/criterion.h>
#include <stdatomic.h>

struct seen {
    atomic_llong polled, unpolled; /* iterations each body ran */
};

static void polled(void *p, int64_t b, int64_t e, int32_t tid)
{
    (void)tid;
    atomic_fetch_add(&((struct seen *)p)->polled, e - b);
}

static void unpolled(void *p, int64_t b, int64_t e, int32_t tid)
{
    (void)tid;
    atomic_fetch_add(&((struct seen *)p)->unpolled, e - b);
}

/* Runs a launch of n iterations (fast_n for the unpolled body) with the
 * given work bound and max_threads; returns what each body ran. */
static struct seen launch(int64_t n, int64_t fast_n, int64_t work, int64_t max_threads, int with_fast)
{
    struct seen s = {0};
    pyacc_rt_launch(polled, &s, n, 1, max_threads, RT_LAUNCH_BALANCE, pyacc_rt_num_threads(), NULL, 0,
                    with_fast ? unpolled : NULL, fast_n, 1, work);
    return s;
}

Test(launch, short_iterations_take_the_unpolled_body)
{
    rt_set_num_threads(4);
    struct seen s = launch(1000, 1000, 100, 0, 1);
    cr_assert_eq(s.unpolled, 1000);
    cr_assert_eq(s.polled, 0);
    s = launch(1000, 1000, RT_UNPOLLED_WORK, 0, 1); /* the bound itself */
    cr_assert_eq(s.unpolled, 1000);
}

Test(launch, long_or_unknown_iterations_keep_the_polled_one)
{
    rt_set_num_threads(4);
    int64_t works[] = {RT_UNPOLLED_WORK + 1, INT64_MAX, -1};
    for (int i = 0; i < 3; i++) {
        struct seen s = launch(1000, 1000, works[i], 0, 1);
        cr_assert_eq(s.polled, 1000, "work %lld", (long long)works[i]);
        cr_assert_eq(s.unpolled, 0);
    }
    struct seen s = launch(1000, 1000, 1, 0, 0); /* no second body */
    cr_assert_eq(s.polled, 1000);
}

Test(launch, a_collapsed_nest_runs_by_rows_only_with_rows_enough)
{
    rt_set_num_threads(4);
    /* 64 rows of 50: four threads get 16 rows each */
    struct seen s = launch(64 * 50, 64, 50, 0, 1);
    cr_assert_eq(s.unpolled, 64);
    cr_assert_eq(s.polled, 0);
    /* 15 rows of 1000 would leave a thread with 3: the flat space instead */
    s = launch(15 * 1000, 15, 1000, 0, 1);
    cr_assert_eq(s.polled, 15 * 1000);
    cr_assert_eq(s.unpolled, 0);
    s = launch(16 * 1000, 16, 1000, 0, 1);
    cr_assert_eq(s.unpolled, 16);
}

Test(launch, the_calling_thread_and_gangs_take_it_too)
{
    rt_set_num_threads(4);
    struct seen s = launch(100, 100, 10, -1, 1); /* if(false) */
    cr_assert_eq(s.unpolled, 100);
    s = launch(100, 100, 10, 3, 1); /* num_gangs(3) */
    cr_assert_eq(s.unpolled, 100);
    cr_assert_eq(s.polled, 0);
}
