/* pool.c - pyacc's host thread pool: the pool section of rt.h.
 *
 * Owns the persistent worker threads that run compiled parallel loops on all
 * cores, the split of [0, n) into contiguous chunks, the thread count
 * (PYACC_NUM_THREADS, the affinity mask, rt_set_num_threads), shutdown, and
 * fork safety.  Nothing else in the runtime touches the workers.
 *
 * Design, in short.  One loop at a time runs on the pool; callers take turns
 * on `pool_lock`.  The caller writes the job (body, ctx, chunk sizes) into a
 * shared descriptor, then publishes it by moving a generation counter
 * forward; workers watch that counter, run their chunk, and count down a
 * `pending` word that the caller watches.  Both waits spin for a bounded
 * time with a pause instruction (back-to-back loops, the common case when a
 * Python function is called in a loop, then never enter the kernel), yielding
 * the CPU every few microseconds (YIELD_EVERY_US says why), and then sleep
 * on a futex, so an idle process burns no CPU.  Each futex word carries
 * a "sleeper" bit set by whoever goes to sleep, so the other side makes the
 * wake-up system call only when somebody actually sleeps.
 *
 * Worker i always runs chunk i, so a thread's tid is stable from loop to loop
 * (good for caches and for later per-thread reduction slots).  Under the
 * balanced schedule (rt_parallel_for_balanced) chunk i is still worker i's
 * first, but handed out in pieces, and a worker done with its own takes the
 * pieces others have not started (struct share): uneven loops (escape-time
 * fractals, triangular nests) then keep every core busy.  A worker that
 * finds itself on the caller's CPU when a loop starts moves itself off it
 * (move_off_cpu says why).
 *
 * The tunable spin length (PYACC_SPIN_US, microseconds; an internal knob for
 * benchmarking, see benchmarks/pool/README.md) defaults to DEFAULT_SPIN_US,
 * chosen by measurement.  Workers are not pinned to CPUs: measured, pinning
 * did not speed up back-to-back loops or saxpy (see the README); it helps
 * the wake-up after idle only if the caller, the user's Python thread, is
 * pinned too, which a library must not do; and it would fight the process's
 * affinity, other thread pools in the process (BLAS, OpenMP), forked
 * children pinning the same CPUs, and the scheduler's load balancing.
 */
#include "rt.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* A thread count past this is certainly a typo in PYACC_NUM_THREADS; it
 * would only exhaust memory with thread stacks. */
#define RT_MAX_THREADS 4096

/* How long a waiter spins before it sleeps, in microseconds.  A call that
 * comes later than this pays a futex wake-up (measured 20-50 us on a KVM
 * guest, less on bare metal); spinning ~ten times that bounds the wake-up
 * to ~10% of the gap between calls, and covers the Python-side gap between
 * two calls of a decorated function many times over.  The cost: each worker
 * burns up to this much CPU after the last loop (libgomp: ~8 ms).
 * Measured: benchmarks/pool/README.md. */
#define DEFAULT_SPIN_US 300

/* Spin length when there are more threads than CPUs: a spinning thread then
 * takes the CPU from the thread it waits for, so sleep almost at once. */
#define OVERSUBSCRIBED_SPIN_US 4

/* A spinning waiter calls sched_yield every this many microseconds.  When
 * the thread it waits for was woken onto the waiter's own CPU (the
 * scheduler does that when the other CPUs look busy, or, in a VM, when their
 * virtual CPUs are halted), pausing alone would keep that thread off the CPU
 * until the spin ends: measured on a 2-vCPU KVM guest, a loop after 10 ms
 * idle took 220 us without yields and 20 us with them.  With nothing else
 * runnable a yield costs ~0.5 us, so spinning stays as responsive. */
#define YIELD_EVERY_US 2

/* Bit 31 of a futex word: "a thread sleeps on this word, wake it". */
#define SLEEPER_BIT 0x80000000u

/* The generation counter moves in steps of 2: bit 0 is its sleeper bit (the
 * counter wraps, which is harmless: only equality is ever tested). */
#define GEN_STEP 2u
#define GEN_SLEEPER 1u

/* ------------------------------------------------------------ shared state */

/* The job the workers read.  Written by the caller (holding pool_lock) before
 * it publishes a new generation with a release store; read by the workers
 * after an acquire load sees that generation.  Not rewritten until every
 * worker has counted `pending` down, so plain fields suffice. */
struct job {
    rt_body_fn body; /* NULL: the workers exit */
    void *ctx;
    int64_t q;       /* every chunk has q or q + 1 indices ... */
    int64_t r;       /* ... the first r of them q + 1 */
    int32_t nchunks; /* chunks of this loop, <= nworkers + 1 */
    int32_t caller_cpu; /* the CPU the caller published from, or -1 */
    bool balanced;   /* chunks are handed out in pieces (g_shares) */
    bool piece_tids; /* the body's tid argument is the piece's index */
};

/* The balanced schedule's chunks: chunk k still has [next, end) to hand out,
 * in pieces of `piece` indices.  Its own thread takes pieces from the front;
 * a thread done with its own chunk takes pieces of the others'.  A loop
 * whose work is even thus runs as the static schedule does (each thread
 * its own contiguous chunk, the same from call to call, so its data stays
 * in that core's cache); an uneven one ends with every thread busy.  One
 * line per chunk: the owner's fetch-adds do not disturb its neighbours. */
struct share {
    _Alignas(64) _Atomic int64_t next;
    int64_t end;
    int64_t piece;
};

/* Read by every worker on every loop: job and generation share one cache
 * line, so a worker waking for a loop fetches one line. */
static struct {
    _Alignas(64) struct job job;
    _Atomic uint32_t gen;
} g_go;

/* Written by every worker at the end of every loop: its own line, so those
 * writes do not evict the line the workers read. */
static struct {
    _Alignas(64) _Atomic uint32_t pending; /* workers still busy | SLEEPER_BIT */
    char pad[64 - sizeof(uint32_t)];       /* keep other globals off the line */
} g_done;

/* Written by the caller before it publishes a balanced loop (like the job),
 * then consumed with relaxed fetch-adds: the pieces' writes are published
 * by worker_done like any chunk's. */
static struct share g_shares[RT_MAX_THREADS];

/* The pool proper.  All fields but the atomics are guarded by pool_lock. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t *pool_threads;   /* nworkers entries */
static int32_t pool_nworkers;     /* workers running, the caller not counted */
static int32_t pool_started_for;  /* thread count they were started for; 0: none */
static uint32_t pool_start_gen;   /* generation the workers start from */

/* Thread count for later loops; 0 until first asked for.  Relaxed accesses
 * throughout: it is a lone value, published with nothing else, and a loop
 * that starts just before a change may use the old count. */
static _Atomic int32_t cfg_nthreads;

/* Spin iterations a waiter makes before it sleeps, for the thread count the
 * pool was started for, and how often it yields meanwhile.  Written under
 * pool_lock before the workers are created (pthread_create orders it for
 * them) and read by the caller under the same lock: plain variables. */
static uint32_t spin_iters;
static uint32_t yield_every = 1; /* never 0: a divisor */
static bool move_off_caller;     /* see move_off_cpu; same rules */

/* Pause iterations per microsecond, measured once (0: not yet). */
static double pauses_per_us;

/* Set while this thread runs a loop body (always on workers): a parallel
 * loop started from there runs inline, since the pool is busy running us. */
static _Thread_local bool tl_in_loop;

/* Set when this thread's fork prepare handler took pool_lock. */
static _Thread_local bool tl_fork_locked;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------- helpers */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("isb" ::: "memory");
#else
    __asm__ __volatile__("" ::: "memory");
#endif
}

/* One spin iteration's wait: a pause, and now and then a yield (see
 * YIELD_EVERY_US).  i counts from 1. */
static inline void spin_pause(uint32_t i)
{
    cpu_relax();
    if (i % yield_every == 0)
        sched_yield();
}

/* The futex calls.  Private futexes: the words never leave this process.
 * Errors (EAGAIN when the word already moved, EINTR) need no handling: every
 * caller re-checks its condition in a loop. */
static void futex_wait(_Atomic uint32_t *word, uint32_t expected)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int count)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

/* Parses a positive integer environment variable; -1 when unset or bad. */
static long env_positive(const char *name)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n')
        end++;
    if (errno != 0 || *end != '\0' || v < 0)
        return -1;
    return v;
}

static int32_t clamp_threads(long n)
{
    if (n < 1)
        return 1;
    if (n > RT_MAX_THREADS)
        return RT_MAX_THREADS;
    return (int32_t)n;
}

static int32_t affinity_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n >= 1)
            return n;
    }
    /* A mask wider than cpu_set_t (over 1024 CPUs) or no syscall: fall
     * back on the online count. */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? clamp_threads(n) : 1;
}

/* ------------------------------------------------------------------- fork */

/* Before fork: take the lock so that the child copies a pool at rest (no loop
 * half-published).  Not from inside a loop body: the lock is then held by the
 * loop's caller, maybe this very thread, and waiting for it would deadlock. */
static void atfork_prepare(void)
{
    if (!tl_in_loop) {
        pthread_mutex_lock(&pool_lock);
        tl_fork_locked = true;
    }
}

static void atfork_parent(void)
{
    if (tl_fork_locked) {
        tl_fork_locked = false;
        pthread_mutex_unlock(&pool_lock);
    }
}

/* In the child only the forking thread exists: forget the parent's workers
 * (their pthread_t mean nothing here) so that the next loop starts fresh
 * ones.  The lock is re-made rather than unlocked: after a fork from inside
 * a loop body it may be held by a thread the child does not have. */
static void atfork_child(void)
{
    tl_fork_locked = false;
    pthread_mutex_init(&pool_lock, NULL);
    free(pool_threads);
    pool_threads = NULL;
    pool_nworkers = 0;
    pool_started_for = 0;
    /* Relaxed: the child is single-threaded here. */
    atomic_store_explicit(&g_done.pending, 0, memory_order_relaxed);
    uint32_t g = atomic_load_explicit(&g_go.gen, memory_order_relaxed);
    atomic_store_explicit(&g_go.gen, g & ~GEN_SLEEPER, memory_order_relaxed);
}

static void init_once_fn(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* ---------------------------------------------------------------- waiting */

/* Worker side: waits until the generation moves past `seen`; returns the new
 * one (sleeper bit clear).  Acquire on every load that may see the new value:
 * the job it publishes is read right after. */
static uint32_t wait_for_generation(uint32_t seen)
{
    uint32_t g;
    for (uint32_t i = 1; i <= spin_iters; i++) {
        g = atomic_load_explicit(&g_go.gen, memory_order_acquire) & ~GEN_SLEEPER;
        if (g != seen)
            return g;
        spin_pause(i);
    }
    for (;;) {
        /* Announce the sleeper.  One read-modify-write on the same word as
         * the caller's exchange: either it lands first and the caller sees
         * the bit (and wakes us), or it lands after and we see the new
         * generation.  Acquire for the latter case. */
        uint32_t old = atomic_fetch_or_explicit(&g_go.gen, GEN_SLEEPER, memory_order_acquire);
        g = old & ~GEN_SLEEPER;
        if (g != seen)
            return g;
        futex_wait(&g_go.gen, seen | GEN_SLEEPER);
        g = atomic_load_explicit(&g_go.gen, memory_order_acquire) & ~GEN_SLEEPER;
        if (g != seen)
            return g;
    }
}

/* Caller side: publishes generation `next` and wakes the workers that
 * sleep.  Release: the workers read the job written before this. */
static void publish_generation(uint32_t next)
{
    uint32_t old = atomic_exchange_explicit(&g_go.gen, next, memory_order_release);
    if (old & GEN_SLEEPER)
        futex_wake(&g_go.gen, INT_MAX);
}

/* Caller side: waits until every worker has counted `pending` down.  Acquire:
 * the workers' writes (their chunks' results) must be visible on return. */
static void wait_for_workers(void)
{
    for (uint32_t i = 1; i <= spin_iters; i++) {
        if (atomic_load_explicit(&g_done.pending, memory_order_acquire) == 0)
            return;
        spin_pause(i);
    }
    for (;;) {
        /* Same pattern as wait_for_generation: the sleeper bit and the
         * workers' decrements are read-modify-writes of one word, so the
         * last worker sees the bit or we see the count reach 0. */
        uint32_t old = atomic_fetch_or_explicit(&g_done.pending, SLEEPER_BIT, memory_order_acquire);
        if ((old & ~SLEEPER_BIT) == 0)
            break;
        futex_wait(&g_done.pending, old | SLEEPER_BIT);
        if ((atomic_load_explicit(&g_done.pending, memory_order_acquire) & ~SLEEPER_BIT) == 0)
            break;
    }
    /* Clear the bit for the next loop; relaxed: nobody else touches the
     * word until the next generation is published (with release). */
    atomic_store_explicit(&g_done.pending, 0, memory_order_relaxed);
}

/* Worker side: one worker done with this loop. */
static void worker_done(void)
{
    /* Release: publishes this chunk's writes to the caller's acquire.  The
     * decrements of all workers form one release sequence, so the caller
     * that reads 0 synchronises with every worker. */
    uint32_t old = atomic_fetch_sub_explicit(&g_done.pending, 1, memory_order_release);
    if (old == (SLEEPER_BIT | 1u))
        futex_wake(&g_done.pending, 1);
}

/* ---------------------------------------------------------------- workers */

/* Moves the calling worker off `cpu` (the caller's), onto a CPU of its own
 * affinity mask chosen by tid so that workers moved together spread out, by
 * narrowing its mask to that CPU for a moment; the full mask is restored at
 * once, so the scheduler stays free to balance later.
 *
 * Why: when the caller wakes a sleeping worker, the scheduler may queue it
 * on the caller's own CPU (seen on a KVM guest, where idle virtual CPUs look
 * busy, in most wake-ups).  The two then share one CPU, and since both spin
 * with yields they both keep running "cache hot", so the load balancer
 * never separates them: measured, back-to-back loops stayed at 7.6 us
 * instead of 0.12 us for over 100 ms.  A worker that finds itself on the
 * caller's CPU when a loop starts therefore moves away before running its
 * chunk: a few system calls and a migration once, instead of a shared CPU
 * for every later loop.  Only when there are no more threads than CPUs;
 * workers sharing a CPU with each other (not the caller's) are left to the
 * scheduler. */
static void move_off_cpu(int32_t tid, int cpu)
{
    cpu_set_t mask, one;
    pthread_t self = pthread_self();
    if (pthread_getaffinity_np(self, sizeof mask, &mask) != 0)
        return;
    int others = CPU_COUNT(&mask) - (CPU_ISSET(cpu, &mask) ? 1 : 0);
    if (others < 1)
        return;
    int k = (tid - 1) % others, target = -1;
    for (int c = 0; c < CPU_SETSIZE && target < 0; c++)
        if (c != cpu && CPU_ISSET(c, &mask) && k-- == 0)
            target = c;
    CPU_ZERO(&one);
    CPU_SET(target, &one);
    if (pthread_setaffinity_np(self, sizeof one, &one) == 0)
        pthread_setaffinity_np(self, sizeof mask, &mask);
}

static inline void chunk_bounds(const struct job *j, int32_t tid, int64_t *b, int64_t *e)
{
    int64_t t = tid;
    *b = t * j->q + (t < j->r ? t : j->r);
    *e = *b + j->q + (t < j->r ? 1 : 0);
}

/* Thread tid's part of a loop: its chunk, or under the balanced schedule
 * its chunk's pieces and then whatever pieces the others have left. */
static void run_part(const struct job *j, int32_t tid)
{
    if (!j->balanced) {
        int64_t b, e;
        chunk_bounds(j, tid, &b, &e);
        j->body(j->ctx, b, e, tid);
        return;
    }
    for (int32_t k = 0; k < j->nchunks; k++) {
        int32_t c = (tid + k) % j->nchunks;
        struct share *sh = &g_shares[c];
        int64_t first = c * j->q + (c < j->r ? c : j->r);
        for (;;) {
            int64_t b = atomic_fetch_add_explicit(&sh->next, sh->piece, memory_order_relaxed);
            if (b >= sh->end)
                break;
            int32_t who = j->piece_tids ? c * RT_PIECES + (int32_t)((b - first) / sh->piece) : tid;
            j->body(j->ctx, b, b + sh->piece < sh->end ? b + sh->piece : sh->end, who);
        }
    }
}

static void *worker_main(void *arg)
{
    const int32_t tid = (int32_t)(intptr_t)arg;
    tl_in_loop = true; /* every loop started from a worker is nested */
    uint32_t seen = pool_start_gen;
    for (;;) {
        seen = wait_for_generation(seen);
        const struct job j = g_go.job;
        if (j.body == NULL)
            return NULL;
        /* On the caller's CPU, the chunk would wait for the caller's own:
         * move first.  sched_getcpu reads the kernel's rseq area: a few ns. */
        if (move_off_caller && sched_getcpu() == j.caller_cpu)
            move_off_cpu(tid, j.caller_cpu);
        if (tid < j.nchunks)
            run_part(&j, tid);
        /* Also when idle this loop: the caller must not rewrite the job
         * while any worker may still be reading it. */
        worker_done();
    }
}

/* Measures how many spin iterations (a pause and a load) fit in a
 * microsecond: pause costs from a few to ~150 cycles depending on the CPU,
 * so a fixed count would mean very different times.  The shortest of a few
 * rounds, since being preempted can only make a round longer. */
static void calibrate_pause(void)
{
    if (pauses_per_us > 0)
        return;
    const uint32_t n = 500;
    double best = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now_us();
        for (uint32_t i = 0; i < n; i++) {
            /* Relaxed: only the load's cost matters here, not its value. */
            (void)atomic_load_explicit(&g_go.gen, memory_order_relaxed);
            cpu_relax();
        }
        double dt = now_us() - t0;
        if (dt > 0 && (best == 0 || dt < best))
            best = dt;
    }
    pauses_per_us = best > 0 ? n / best : 1000.0;
}

/* Stops and joins the workers.  Holding pool_lock. */
static void stop_workers_locked(void)
{
    if (pool_nworkers > 0) {
        g_go.job.body = NULL;
        uint32_t g = atomic_load_explicit(&g_go.gen, memory_order_relaxed) & ~GEN_SLEEPER;
        publish_generation(g + GEN_STEP);
        for (int32_t i = 0; i < pool_nworkers; i++)
            pthread_join(pool_threads[i], NULL);
    }
    free(pool_threads);
    pool_threads = NULL;
    pool_nworkers = 0;
    pool_started_for = 0;
}

/* Starts nthreads - 1 workers.  Holding pool_lock, with none running.  If
 * the system refuses threads, runs with those it got. */
static void start_workers_locked(int32_t nthreads)
{
    calibrate_pause();
    long us = env_positive("PYACC_SPIN_US");
    if (us < 0)
        us = DEFAULT_SPIN_US;
    /* The mask now, not at first use: the process may have moved. */
    const int32_t ncpus = affinity_cpus();
    if (nthreads > ncpus && us > OVERSUBSCRIBED_SPIN_US)
        us = OVERSUBSCRIBED_SPIN_US;
    double it = (double)us * pauses_per_us;
    spin_iters = it > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)it;
    double ye = YIELD_EVERY_US * pauses_per_us;
    yield_every = ye < 1 ? 1 : ye > (double)UINT32_MAX ? UINT32_MAX : (uint32_t)ye;
    /* With more threads than CPUs, sharing is unavoidable: leave placement
     * to the scheduler. */
    move_off_caller = nthreads <= ncpus;

    pool_started_for = nthreads;
    pool_nworkers = 0;
    if (nthreads <= 1)
        return;
    pool_threads = malloc(sizeof *pool_threads * (size_t)(nthreads - 1));
    if (pool_threads == NULL)
        return;
    /* Relaxed: read by the workers after pthread_create, which orders it. */
    pool_start_gen = atomic_load_explicit(&g_go.gen, memory_order_relaxed) & ~GEN_SLEEPER;

    /* Workers block the asynchronous signals, so that those (SIGINT for
     * Python's KeyboardInterrupt, say) reach the interpreter's threads.  Not
     * the ones a faulting body raises: blocked, they would kill the process
     * without running Python's faulthandler or a sanitiser's report. */
    sigset_t mask, old;
    sigfillset(&mask);
    const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t k = 0; k < sizeof faults / sizeof faults[0]; k++)
        sigdelset(&mask, faults[k]);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    for (int32_t i = 0; i < nthreads - 1; i++) {
        if (pthread_create(&pool_threads[i], NULL, worker_main, (void *)(intptr_t)(i + 1)) != 0)
            break;
        pool_nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ----------------------------------------------------------------- public */

int32_t pyacc_rt_num_threads(void)
{
    int32_t n = atomic_load_explicit(&cfg_nthreads, memory_order_relaxed);
    if (n > 0)
        return n;
    long env = env_positive("PYACC_NUM_THREADS");
    n = env >= 1 ? clamp_threads(env) : affinity_cpus();
    /* First one to decide wins; relaxed as for every cfg_nthreads access.
     * A racing rt_set_num_threads wins over the default. */
    int32_t expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&cfg_nthreads, &expected, n,
                                                 memory_order_relaxed, memory_order_relaxed))
        n = expected;
    return n;
}

int32_t rt_set_num_threads(int32_t n)
{
    int32_t want = clamp_threads(n);
    atomic_store_explicit(&cfg_nthreads, want, memory_order_relaxed);
    /* Stop workers now if their number is wrong (not from inside a loop
     * body: the pool is busy running it).  The next loop starts the right
     * number; stopping now frees the threads that are no longer wanted. */
    if (!tl_in_loop) {
        pthread_mutex_lock(&pool_lock);
        if (pool_started_for != 0 && pool_started_for != want)
            stop_workers_locked();
        pthread_mutex_unlock(&pool_lock);
    }
    return want;
}

void rt_pool_shutdown(void)
{
    if (tl_in_loop)
        return; /* from a loop body: the pool is running us, cannot stop */
    pthread_mutex_lock(&pool_lock);
    stop_workers_locked();
    pthread_mutex_unlock(&pool_lock);
}

static void run_inline(rt_body_fn body, void *ctx, int64_t n)
{
    bool was = tl_in_loop;
    tl_in_loop = true;
    body(ctx, 0, n, 0);
    tl_in_loop = was;
}

static void parallel_for(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int32_t max_tids,
                         bool balanced, bool piece_tids);

void pyacc_rt_parallel_for(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel)
{
    parallel_for(body, ctx, n, min_parallel, INT32_MAX, false, false);
}

void rt_parallel_for_limited(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int32_t max_tids)
{
    parallel_for(body, ctx, n, min_parallel, max_tids, false, false);
}

void rt_parallel_for_balanced(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int32_t max_tids,
                              bool piece_tids)
{
    parallel_for(body, ctx, n, min_parallel, max_tids, true, piece_tids);
}

static void parallel_for(rt_body_fn body, void *ctx, int64_t n, int64_t min_parallel, int32_t max_tids,
                         bool balanced, bool piece_tids)
{
    if (n <= 0)
        return;
    if (tl_in_loop || n < min_parallel || n == 1) {
        run_inline(body, ctx, n);
        return;
    }
    int32_t nthreads = pyacc_rt_num_threads();
    if (nthreads <= 1) {
        run_inline(body, ctx, n);
        return;
    }

    pthread_once(&init_once, init_once_fn);
    pthread_mutex_lock(&pool_lock);
    if (pool_started_for != nthreads) {
        stop_workers_locked();
        start_workers_locked(nthreads);
    }
    /* as many chunks as threads, fewer when the body's tids must stay below
     * max_tids (its per-thread slots were counted before the loop) */
    int64_t avail = (int64_t)pool_nworkers + 1;
    int64_t cap = piece_tids ? max_tids / RT_PIECES : max_tids;
    if (avail > cap)
        avail = cap > 1 ? cap : 1;
    if (avail == 1) { /* no threads to be had, or no slots for them */
        pthread_mutex_unlock(&pool_lock);
        run_inline(body, ctx, n);
        return;
    }
    int32_t nchunks = (int32_t)(n < avail ? n : avail);
    struct job *j = &g_go.job;
    j->body = body;
    j->ctx = ctx;
    j->q = n / nchunks;
    j->r = n % nchunks;
    j->nchunks = nchunks;
    j->caller_cpu = sched_getcpu();
    j->balanced = balanced && nchunks > 1;
    j->piece_tids = j->balanced && piece_tids;
    if (j->balanced)
        for (int32_t k = 0; k < nchunks; k++) {
            int64_t b, e;
            chunk_bounds(j, k, &b, &e);
            /* eight pieces a chunk: a thread idle at the end waits for at
             * most an eighth of someone's share */
            g_shares[k].end = e;
            g_shares[k].piece = (e - b + RT_PIECES - 1) / RT_PIECES;
            atomic_store_explicit(&g_shares[k].next, b, memory_order_relaxed);
        }
    /* Relaxed: published to the workers by the release in
     * publish_generation, and nobody touches it before that. */
    atomic_store_explicit(&g_done.pending, (uint32_t)pool_nworkers, memory_order_relaxed);
    /* Only this thread (holding the lock) moves the counter, so a relaxed
     * read of it is exact. */
    uint32_t g = atomic_load_explicit(&g_go.gen, memory_order_relaxed) & ~GEN_SLEEPER;
    publish_generation(g + GEN_STEP);

    tl_in_loop = true;
    run_part(j, 0);
    tl_in_loop = false;

    wait_for_workers();
    pthread_mutex_unlock(&pool_lock);
}
