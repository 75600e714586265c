/* test_queues.c - Criterion tests of the async queues (runtime/queues.c).
 *
 * Each test runs in its own process (Criterion's default), so each starts
 * with no queue and no worker thread.  Tests that need a task to block use
 * a gate (an atomic flag the test opens) and bound every wait, so a broken
 * queue fails the test instead of hanging it.
 */
#include "rt.h"

#include <criterion/criterion.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Spins until *flag is set or `seconds` pass; returns whether it was set. */
static int await(atomic_int *flag, double seconds)
{
    double end = now_s() + seconds;
    while (!atomic_load(flag))
        if (now_s() > end)
            return 0;
        else
            sched_yield();
    return 1;
}

static int32_t gate_task(void *ctx)
{
    return await(ctx, 10.0) ? RT_ACC_OK : rt_fail(RT_ACC_DEVICE, "gate never opened");
}

/* Appends its number to a shared log. */
typedef struct logger {
    int log[2000];
    atomic_int n;
} logger;

typedef struct log_ctx {
    logger *lg;
    int value;
} log_ctx;

static int32_t log_task(void *ctx)
{
    log_ctx *c = ctx;
    c->lg->log[atomic_fetch_add(&c->lg->n, 1)] = c->value;
    return RT_ACC_OK;
}

static void submit_log(int32_t queue, logger *lg, int value)
{
    log_ctx *c = malloc(sizeof *c);
    *c = (log_ctx){lg, value};
    cr_assert_eq(rt_queue_submit(queue, log_task, c, free), RT_ACC_OK);
}

Test(queues, a_program_without_async_starts_no_thread)
{
    cr_assert_eq(rt_queue_wait_all(), RT_ACC_OK);
    cr_assert_eq(rt_queue_test_all(), 1);
    cr_assert_eq(rt_queue_wait(5), RT_ACC_OK);
    cr_assert_eq(rt_queue_test(5), 1);
    cr_assert_eq(rt_queue_wait_async(1, 2), RT_ACC_OK);
    logger lg = {.n = 0};
    submit_log(RT_ASYNC_SYNC, &lg, 7);
    cr_assert_eq(lg.n, 1, "a synchronous task runs at once");
    cr_assert_eq(rt_queue_workers(), 0);
}

Test(queues, tasks_of_one_queue_run_in_order)
{
    logger lg = {.n = 0};
    for (int i = 0; i < 1000; i++)
        submit_log(1, &lg, i);
    cr_assert_eq(rt_queue_wait(1), RT_ACC_OK);
    cr_assert_eq(lg.n, 1000);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(lg.log[i], i);
}

/* Task A (queue 1) can only finish once task B (queue 2) has run: the
 * queues must run at the same time. */
typedef struct pair {
    atomic_int b_ran;
    atomic_int a_saw_b;
} pair;

static int32_t task_a(void *ctx)
{
    pair *p = ctx;
    atomic_store(&p->a_saw_b, await(&p->b_ran, 10.0));
    return RT_ACC_OK;
}

static int32_t task_b(void *ctx)
{
    atomic_store(&((pair *)ctx)->b_ran, 1);
    return RT_ACC_OK;
}

Test(queues, different_queues_run_concurrently)
{
    pair p = {0, 0};
    cr_assert_eq(rt_queue_submit(1, task_a, &p, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_submit(2, task_b, &p, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_wait_all(), RT_ACC_OK);
    cr_assert(p.a_saw_b);
    cr_assert_eq(rt_queue_test_all(), 1);
}

Test(queues, async_work_overlaps_with_the_caller_and_test_reports_progress)
{
    atomic_int gate = 0;
    cr_assert_eq(rt_queue_submit(4, gate_task, &gate, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_test(4), 0, "submit returned while the task waits");
    cr_assert_eq(rt_queue_test_all(), 0);
    cr_assert_eq(rt_queue_test(5), 1, "another queue is idle");
    atomic_store(&gate, 1);
    cr_assert_eq(rt_queue_wait(4), RT_ACC_OK);
    cr_assert_eq(rt_queue_test(4), 1);
}

static atomic_int freed;
static void count_free(void *ctx)
{
    (void)ctx;
    atomic_fetch_add(&freed, 1);
}

static int32_t fail_task(void *ctx)
{
    (void)ctx;
    return rt_fail(RT_ACC_DEVICE, "boom in task %d", 1);
}

static int32_t flag_task(void *ctx)
{
    atomic_store((atomic_int *)ctx, 1);
    return RT_ACC_OK;
}

Test(queues, a_failure_is_kept_for_the_wait_and_skips_the_rest_of_the_queue)
{
    atomic_int ran = 0, gate = 0;
    cr_assert_eq(rt_queue_submit(1, gate_task, &gate, count_free), RT_ACC_OK);
    cr_assert_eq(rt_queue_submit(1, fail_task, NULL, count_free), RT_ACC_OK);
    cr_assert_eq(rt_queue_submit(1, flag_task, &ran, count_free), RT_ACC_OK);
    atomic_store(&gate, 1);
    cr_assert_eq(rt_queue_test(1) >= 0, 1);
    cr_assert_eq(rt_queue_wait(2), RT_ACC_OK, "another queue's wait does not see it");
    cr_assert_eq(rt_queue_wait(1), RT_ACC_DEVICE);
    cr_assert(strstr(rt_fault_last()->msg, "boom in task 1"), "%s", rt_fault_last()->msg);
    cr_assert_eq(ran, 0, "the task after the failure was skipped");
    cr_assert_eq(freed, 3, "every context was freed, skipped or not");
    cr_assert_eq(rt_queue_wait(1), RT_ACC_OK, "reported once");
    cr_assert_eq(rt_queue_submit(1, flag_task, &ran, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_wait(1), RT_ACC_OK);
    cr_assert_eq(ran, 1, "the queue works again after the wait");
}

Test(queues, wait_all_reports_each_failure_once)
{
    cr_assert_eq(rt_queue_submit(1, fail_task, NULL, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_submit(2, fail_task, NULL, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_wait_all(), RT_ACC_DEVICE);
    cr_assert_eq(rt_queue_wait_all(), RT_ACC_DEVICE);
    cr_assert_eq(rt_queue_wait_all(), RT_ACC_OK);
}

Test(queues, a_synchronous_task_runs_on_the_caller_and_returns_its_status)
{
    cr_assert_eq(rt_queue_submit(RT_ASYNC_SYNC, fail_task, NULL, count_free), RT_ACC_DEVICE);
    cr_assert(strstr(rt_fault_last()->msg, "boom"));
    cr_assert_eq(freed, 1);
    cr_assert_eq(rt_queue_workers(), 0);
}

typedef struct chain {
    atomic_int gate;
    atomic_int x;
    atomic_int seen;
} chain;

static int32_t chain_first(void *ctx)
{
    chain *c = ctx;
    if (!await(&c->gate, 10.0))
        return rt_fail(RT_ACC_DEVICE, "gate never opened");
    atomic_store(&c->x, 42);
    return RT_ACC_OK;
}

static int32_t chain_second(void *ctx)
{
    chain *c = ctx;
    atomic_store(&c->seen, atomic_load(&c->x));
    return RT_ACC_OK;
}

Test(queues, wait_async_orders_one_queue_after_another)
{
    chain c = {0, 0, -1};
    cr_assert_eq(rt_queue_submit(1, chain_first, &c, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_wait_async(1, 2), RT_ACC_OK);
    cr_assert_eq(rt_queue_submit(2, chain_second, &c, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_test(2), 0, "queue 2 waits for queue 1");
    atomic_store(&c.gate, 1);
    cr_assert_eq(rt_queue_wait(2), RT_ACC_OK);
    cr_assert_eq(c.seen, 42);
}

Test(queues, wait_all_async_orders_a_queue_after_all_others)
{
    chain c = {0, 0, -1};
    chain c2 = {1, 0, -1};
    cr_assert_eq(rt_queue_submit(1, chain_first, &c, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_submit(3, chain_first, &c2, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_wait_all_async(7), RT_ACC_OK);
    cr_assert_eq(rt_queue_submit(7, chain_second, &c, NULL), RT_ACC_OK);
    atomic_store(&c.gate, 1);
    cr_assert_eq(rt_queue_wait(7), RT_ACC_OK);
    cr_assert_eq(c.seen, 42);
    cr_assert_eq(rt_queue_wait_async(1, RT_ASYNC_SYNC), RT_ACC_OK, "sync: a plain wait");
}

Test(queues, the_default_async_queue_follows_acc_set_default_async)
{
    cr_assert_eq(rt_queue_get_default(), RT_ASYNC_NOVAL);
    logger lg = {.n = 0};
    atomic_int gate = 0;
    cr_assert_eq(rt_queue_set_default(3), RT_ACC_OK);
    cr_assert_eq(rt_queue_get_default(), 3);
    cr_assert_eq(rt_queue_submit(3, gate_task, &gate, NULL), RT_ACC_OK);
    submit_log(RT_ASYNC_NOVAL, &lg, 1);
    cr_assert_eq(rt_queue_test(3), 0, "noval went to queue 3, behind the gate");
    cr_assert_eq(rt_queue_test(RT_ASYNC_NOVAL), 0);
    atomic_store(&gate, 1);
    cr_assert_eq(rt_queue_wait(RT_ASYNC_NOVAL), RT_ACC_OK);
    cr_assert_eq(lg.n, 1);
    cr_assert_eq(rt_queue_set_default(RT_ASYNC_NOVAL), RT_ACC_OK);
    cr_assert_eq(rt_queue_get_default(), RT_ASYNC_NOVAL);
    cr_assert_eq(rt_queue_set_default(-5), RT_ACC_INVALID);
    cr_assert_eq(rt_queue_set_default(RT_ASYNC_SYNC), RT_ACC_OK);
    submit_log(RT_ASYNC_NOVAL, &lg, 2);
    cr_assert_eq(lg.n, 2, "a synchronous default runs noval work at once");
}

Test(queues, bad_queue_numbers_are_errors_and_free_the_context)
{
    cr_assert_eq(rt_queue_submit(-3, flag_task, NULL, count_free), RT_ACC_INVALID);
    cr_assert(strstr(rt_fault_last()->msg, "-3"));
    cr_assert_eq(freed, 1);
    cr_assert_eq(rt_queue_wait(-9), RT_ACC_INVALID);
    cr_assert_eq(rt_queue_test(-9), -RT_ACC_INVALID);
    cr_assert_eq(rt_queue_wait_async(1, -9), RT_ACC_INVALID);
}

static int32_t wait_self_task(void *ctx)
{
    atomic_int *status = ctx;
    atomic_store(status, rt_queue_wait(6));
    return RT_ACC_OK;
}

Test(queues, a_task_cannot_wait_for_its_own_queue)
{
    atomic_int status = -1;
    cr_assert_eq(rt_queue_submit(6, wait_self_task, &status, NULL), RT_ACC_OK);
    cr_assert_eq(rt_queue_wait(6), RT_ACC_OK);
    cr_assert_eq(status, RT_ACC_INVALID);
}

Test(queues, idle_workers_exit_and_shutdown_joins_them)
{
    logger lg = {.n = 0};
    submit_log(1, &lg, 1);
    submit_log(2, &lg, 2);
    cr_assert_eq(rt_queue_wait_all(), RT_ACC_OK);
    cr_assert_leq(rt_queue_workers(), 2);
    double end = now_s() + 5.0;
    while (rt_queue_workers() > 0 && now_s() < end)
        sched_yield();
    cr_assert_eq(rt_queue_workers(), 0, "idle workers exit by themselves");

    atomic_int gate = 0;
    cr_assert_eq(rt_queue_submit(1, gate_task, &gate, NULL), RT_ACC_OK);
    submit_log(1, &lg, 3);
    cr_assert_eq(rt_queue_workers(), 1);
    atomic_store(&gate, 1);
    cr_assert_eq(rt_queue_shutdown(), RT_ACC_OK);
    cr_assert_eq(lg.n, 3, "shutdown finished the queued work");
    cr_assert_eq(rt_queue_workers(), 0, "and the workers are gone");
}

Test(queues, many_queues_at_once)
{
    logger lg = {.n = 0};
    for (int round = 0; round < 10; round++)
        for (int q = 0; q < 50; q++)
            submit_log(q, &lg, q);
    cr_assert_eq(rt_queue_wait_all(), RT_ACC_OK);
    cr_assert_eq(lg.n, 500);
    int seen[50] = {0};
    for (int i = 0; i < 500; i++)
        seen[lg.log[i]]++;
    for (int q = 0; q < 50; q++)
        cr_assert_eq(seen[q], 10);
}
