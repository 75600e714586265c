/* tier.h - tiered compilation of host regions (tier.c): quick code for a
 * first call on little data, O3 code made on a background thread and
 * switched to when ready. */
#ifndef PYACC_EXT_TIER_H
#define PYACC_EXT_TIER_H

#include "ext.h"

struct rg_entry;

/* What PYACC_TIER asks for. */
enum { PYEXT_TIER_AUTO, PYEXT_TIER_OPTIMISED, PYEXT_TIER_QUICK };
int pyext_tier_mode(void);

/* Whether a region's first call gets the quick code: on the host, in auto
 * mode, when its work (tier.c's estimate: the largest extent of an array
 * or int argument, to the power of the region's loop depth) is small; or
 * always in quick mode; never for extent INT64_MAX, a compile ahead of any
 * call (compile(), `pyacc warmup`), which is for the disk cache. */
int pyext_tier_quick(int64_t extent, int loop_depth);

/* Queues the O3 compile of entry e (of the region labelled label), which
 * runs the quick code now: from
 * source (the lowered module as bitcode, jit_host_add's keep_source; taken)
 * whose entry is `symbol`.  With c, the O3 code is saved there under meta:
 * payload (pyext_payload_pack's, without object code; taken) gets it,
 * and the cache's lock on its key (jit_cache_lock's fd, or -1; taken) is
 * held until then, so that other processes wait and load it.
 * Returns 0; -1 (out of memory: e stays quick, source and payload freed). */
int pyext_tier_submit(struct rg_entry *e, const char *label, void *source, size_t source_size, const char *symbol,
                      jit_cache *c, const jit_cache_meta *meta, void *payload, size_t payload_size, int lock);

/* Warns (a PyaccWarning, GIL held) about the latest background failure not
 * yet told: a compile that failed (the quick code stays) or an entry not
 * saved.  Called before each compile and after each wait. */
void pyext_tier_report(void);

/* Forgets e's pending compile (before e is freed): its O3 code, when made,
 * is still saved to the disk cache, then freed. */
void pyext_tier_detach(struct rg_entry *e);

/* Whether e runs the quick code, and what its O3 compile took (0 before). */
void pyext_tier_read(const struct rg_entry *e, int *quick, double *o3_ms);

/* Waits until every queued compile is done (GIL held; released while
 * waiting). */
void pyext_tier_wait(void);

/* Waits as pyext_tier_wait, then stops the background thread (at exit,
 * before the JIT is freed); a later submit starts it again. */
void pyext_tier_stop(void);

/* tier_wait(), tier_info() */
extern PyMethodDef pyext_tier_methods[];

#endif
