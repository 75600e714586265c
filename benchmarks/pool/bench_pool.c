/* bench_pool.c - pyacc's thread pool (runtime/pool.c) against libgomp.
 *
 * Measures, for both runtimes in one process and with the same thread count:
 *   launch   launch + join of an (almost) empty loop, n = nthreads, back to back
 *   wake     the same after the runtime sat idle 10 ms (threads asleep)
 *   saxpy    y = a*x + y over float32, 2^16, 2^20 and 2^24 elements
 *   gap      launch latency after the caller was busy for a gap of G us
 *            (as the interpreter is between two calls): shows where each
 *            runtime's spin ends and the futex wake-up begins
 *   idle CPU CPU time the process burns per loop followed by 10 ms idle
 *            (the spin-then-sleep cost)
 * Prints medians and the ratio pool/omp.  Both runtimes' threads spin after
 * a loop, so each block of samples starts after a quiet pause long enough for
 * the other runtime's threads to fall asleep (they would steal the cores),
 * and blocks alternate (pool, omp, omp, pool, ...) to cancel drift.
 *
 * Thread count: PYACC_NUM_THREADS (else the affinity mask) decides pyacc's;
 * libgomp is set to the same with omp_set_num_threads.  PIN=1 pins both
 * runtimes' thread k to the k-th CPU of the affinity mask.  Build: run.sh.
 */
#include "rt.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ utilities */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void sleep_us(double us)
{
    struct timespec ts = {(time_t)(us / 1e6), (long)(fmod(us, 1e6) * 1e3)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The caller stays busy (it does not sleep), as an interpreter would. */
static void busy_us(double us)
{
    double end = now_us() + us;
    while (now_us() < end)
        ;
}

/* Long enough for libgomp's default spin (GOMP_SPINCOUNT 300000 pauses, a
 * few ms) and for ours to end, so the other runtime's threads sleep. */
static void quiesce(void) { sleep_us(50000); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ------------------------------------------------------------ the loops */

static volatile int sink[4096];

static void empty_body(void *ctx, int64_t b, int64_t e, int32_t tid)
{
    (void)ctx;
    (void)e;
    sink[tid * 16] = (int)b; /* a store per chunk, as a real body has */
}

static void pool_empty(int64_t n) { pyacc_rt_parallel_for(empty_body, NULL, n, 0); }

static void omp_empty(int64_t n)
{
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        sink[omp_get_thread_num() * 16] = (int)i;
}

struct saxpy {
    float a;
    const float *x;
    float *y;
};

static void saxpy_body(void *ctx, int64_t b, int64_t e, int32_t tid)
{
    const struct saxpy *s = ctx;
    const float a = s->a;
    const float *restrict x = s->x;
    float *restrict y = s->y;
    (void)tid;
    for (int64_t i = b; i < e; i++)
        y[i] = a * x[i] + y[i];
}

static struct saxpy g_saxpy;

static void pool_saxpy(int64_t n) { pyacc_rt_parallel_for(saxpy_body, &g_saxpy, n, 0); }

static void omp_saxpy(int64_t n)
{
    const float a = g_saxpy.a;
    const float *restrict x = g_saxpy.x;
    float *restrict y = g_saxpy.y;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

/* ------------------------------------------------------------ measuring */

typedef void (*loop_fn)(int64_t n);

/* Times `reps` calls of f(n), each preceded by `pre_us` of idle (sleep) or
 * busy time; appends the per-call times to out. */
static int time_calls(loop_fn f, int64_t n, int reps, double pre_us, int busy, double *out)
{
    for (int r = 0; r < reps; r++) {
        if (pre_us > 0)
            busy ? busy_us(pre_us) : sleep_us(pre_us);
        double t0 = now_us();
        f(n);
        out[r] = now_us() - t0;
    }
    return reps;
}

/* Alternates blocks of pool and omp samples, ROUNDS pairs in the order
 * pool, omp, omp, pool, pool, ... so that drift on a shared machine hits
 * both alike; a quiet pause and a warm-up call before each block. */
#define ROUNDS 4

static void abba(loop_fn pool, loop_fn omp, int64_t n, int reps, double pre_us, int busy,
                 double *med_pool, double *med_omp)
{
    double *v[2] = {malloc(sizeof(double) * (size_t)reps), malloc(sizeof(double) * (size_t)reps)};
    loop_fn fn[2] = {pool, omp};
    int done[2] = {0, 0}, blocks[2] = {0, 0};
    for (int r = 0; r < 2 * ROUNDS; r++) {
        int who = (r % 4 == 0 || r % 4 == 3) ? 0 : 1;
        int k = ++blocks[who] == ROUNDS ? reps - done[who] : reps / ROUNDS;
        quiesce();
        fn[who](n);
        time_calls(fn[who], n, k, pre_us, busy, v[who] + done[who]);
        done[who] += k;
    }
    *med_pool = median(v[0], done[0]);
    *med_omp = median(v[1], done[1]);
    free(v[0]);
    free(v[1]);
}

static void row(const char *what, double p, double o, const char *unit)
{
    printf("| %-26s | %10.2f | %10.2f | %5.2f | %s\n", what, p, o, p / o, unit);
}

/* CPU time per (loop + 10 ms idle): what the spin costs an idle process. */
static double idle_cpu(loop_fn f, int64_t n)
{
    quiesce();
    f(n);
    sleep_us(10000);
    const int reps = 50;
    double c0 = cpu_us();
    for (int r = 0; r < reps; r++) {
        f(n);
        sleep_us(10000);
    }
    return (cpu_us() - c0) / reps;
}

/* ------------------------------------------------------------ pinning */

static int pin_cpu[1024];
static int pin_ncpu;

static void pin_self(int32_t tid)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(pin_cpu[tid % pin_ncpu], &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void pin_body(void *ctx, int64_t b, int64_t e, int32_t tid)
{
    (void)ctx;
    (void)b;
    (void)e;
    pin_self(tid);
}

static void pin_all(int nthreads)
{
    cpu_set_t set;
    sched_getaffinity(0, sizeof set, &set);
    for (int c = 0; c < CPU_SETSIZE && pin_ncpu < 1024; c++)
        if (CPU_ISSET(c, &set))
            pin_cpu[pin_ncpu++] = c;
    /* One chunk per thread: n = nthreads.  Each worker keeps its tid, so
     * pinning once holds for later loops; likewise libgomp's team. */
    pyacc_rt_parallel_for(pin_body, NULL, nthreads, 0);
#pragma omp parallel
    pin_self(omp_get_thread_num());
    /* The caller is tid 0 of both: already pinned by both, to the same CPU. */
}

/* Other load on the machine spoils every number here (a spinning waiter
 * then holds a CPU the thread it waits for needs): print the load average
 * and the runnable count so a reader can tell a quiet run. */
static void print_load(const char *when)
{
    char buf[128] = "?";
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            strcpy(buf, "?\n");
        fclose(f);
    }
    printf("load %s: %s", when, buf);
}

/* ------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "all";
    int nthreads = pyacc_rt_num_threads();
    omp_set_dynamic(0);
    omp_set_num_threads(nthreads);
    const char *pin = getenv("PIN");
    int pinned = pin && strcmp(pin, "1") == 0;
    if (pinned)
        pin_all(nthreads);
    const char *spin = getenv("PYACC_SPIN_US");

    printf("threads %d, cpus %ld, pinned %s, PYACC_SPIN_US %s, OMP_WAIT_POLICY %s, "
           "GOMP_SPINCOUNT %s\n\n",
           nthreads, sysconf(_SC_NPROCESSORS_ONLN), pinned ? "yes" : "no", spin ? spin : "default",
           getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "default",
           getenv("GOMP_SPINCOUNT") ? getenv("GOMP_SPINCOUNT") : "default");

    /* Warm both runtimes up for 100 ms each: threads created, and placed on
     * their CPUs by the scheduler (a new thread may start on its creator's
     * CPU and take a while to move). */
    for (double end = now_us() + 1e5; now_us() < end;)
        pool_empty(nthreads);
    quiesce();
    for (double end = now_us() + 1e5; now_us() < end;)
        omp_empty(nthreads);
    print_load("before");
    double p, o;
    if (strcmp(mode, "all") == 0) {
        printf("| %-26s | %10s | %10s | %5s | unit\n", "median of", "pyacc pool", "libgomp",
               "ratio");
        printf("|%s|%s|%s|%s|-----\n", "----------------------------", "------------",
               "------------", "-------");
        abba(pool_empty, omp_empty, nthreads, 20000, 0, 0, &p, &o);
        row("launch+join, back to back", p, o, "us");
        abba(pool_empty, omp_empty, nthreads, 200, 10000, 0, &p, &o);
        row("launch+join after 10 ms idle", p, o, "us");

        const int64_t big = (int64_t)1 << 24;
        float *x = aligned_alloc(64, sizeof(float) * (size_t)big);
        float *y = aligned_alloc(64, sizeof(float) * (size_t)big);
        for (int64_t i = 0; i < big; i++) {
            x[i] = (float)(i % 1000) * 0.001f;
            y[i] = 1.0f;
        }
        /* Both runtimes compute the same thing: one pass each from the
         * same start, compared element by element. */
        float *y2 = malloc(sizeof(float) * (size_t)big);
        g_saxpy = (struct saxpy){0.5f, x, y};
        pool_saxpy(big);
        g_saxpy.y = y2;
        for (int64_t i = 0; i < big; i++)
            y2[i] = 1.0f;
        omp_saxpy(big);
        for (int64_t i = 0; i < big; i++)
            if (fabsf(y[i] - y2[i]) > 1e-6f || fabsf(y[i] - (1.0f + 0.5f * x[i])) > 1e-6f) {
                fprintf(stderr, "saxpy mismatch at %lld\n", (long long)i);
                return 1;
            }
        free(y2);
        g_saxpy.y = y;
        const struct {
            int lg, reps;
        } sz[] = {{16, 4000}, {20, 400}, {24, 40}};
        for (size_t k = 0; k < sizeof sz / sizeof sz[0]; k++) {
            int64_t n = (int64_t)1 << sz[k].lg;
            abba(pool_saxpy, omp_saxpy, n, sz[k].reps, 0, 0, &p, &o);
            char what[64];
            snprintf(what, sizeof what, "saxpy 2^%d float32", sz[k].lg);
            row(what, p, o, "us");
            snprintf(what, sizeof what, "  (GB/s at 12 B/elem)");
            printf("| %-26s | %10.1f | %10.1f |       |\n", what, 12.0 * n / p / 1e3,
                   12.0 * n / o / 1e3);
        }
        free(x);
        free(y);
        printf("\n");
    }

    if (strcmp(mode, "all") == 0 || strcmp(mode, "gap") == 0) {
        printf("| %-26s | %10s | %10s | %5s | unit\n", "launch+join after busy gap", "pyacc pool",
               "libgomp", "ratio");
        printf("|%s|%s|%s|%s|-----\n", "----------------------------", "------------",
               "------------", "-------");
        const double gaps[] = {0, 5, 20, 50, 100, 200, 500, 2000, 10000};
        for (size_t k = 0; k < sizeof gaps / sizeof gaps[0]; k++) {
            int reps = gaps[k] >= 2000 ? 200 : 2000;
            abba(pool_empty, omp_empty, nthreads, reps, gaps[k], 1, &p, &o);
            char what[64];
            snprintf(what, sizeof what, "gap %g us", gaps[k]);
            row(what, p, o, "us");
        }
        p = idle_cpu(pool_empty, nthreads);
        o = idle_cpu(omp_empty, nthreads);
        row("CPU per loop + 10 ms idle", p, o, "us of CPU");
    }
    print_load("after");
    rt_pool_shutdown();
    return 0;
}
