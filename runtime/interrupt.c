/* interrupt.c - Ctrl-C during a compiled region.
 *
 * A region runs with the GIL released, so Python's own SIGINT handler can
 * only note the signal; the interpreter raises KeyboardInterrupt once the
 * region returns, which for a long loop is far too late.  Here a handler
 * placed in front of Python's counts each SIGINT in pyacc_rt_sigints and
 * then calls Python's.  Compiled code reads the count when a function
 * starts and compares at its polls (loop back edges, and between strips of
 * a parallel loop's iterations); a change records RT_ERR_INTERRUPT, and the
 * extension raises the KeyboardInterrupt Python's handler asks for.
 *
 * The handler is placed once, and only over a handler function: SIG_DFL and
 * SIG_IGN are left alone, and a handler the program installs later (Python's
 * signal.signal) replaces it, after which its regions run to their end as
 * any C extension's code would. */
#include "rt.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>

_Atomic int32_t pyacc_rt_sigints;

static struct sigaction chained;
static atomic_int placed;

static void on_sigint(int sig, siginfo_t *info, void *uctx)
{
    int saved = errno;
    atomic_fetch_add_explicit(&pyacc_rt_sigints, 1, memory_order_relaxed);
    if (chained.sa_flags & SA_SIGINFO)
        chained.sa_sigaction(sig, info, uctx);
    else
        chained.sa_handler(sig);
    errno = saved;
}

int rt_interrupt_install(void)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&placed, &expected, 1))
        return 0;
    struct sigaction now;
    if (sigaction(SIGINT, NULL, &now) != 0)
        return -1;
    int is_function = (now.sa_flags & SA_SIGINFO) ? now.sa_sigaction != NULL
                                                   : now.sa_handler != SIG_DFL && now.sa_handler != SIG_IGN;
    if (!is_function) {
        atomic_store(&placed, 0); /* perhaps later, once the program has a handler */
        return 0;
    }
    chained = now;
    struct sigaction mine = now;
    mine.sa_flags |= SA_SIGINFO;
    mine.sa_sigaction = on_sigint;
    return sigaction(SIGINT, &mine, NULL);
}
