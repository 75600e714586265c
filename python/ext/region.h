/* region.h - the Region type's data, shared by the files that make up its
 * methods: region.c (the dispatcher and compiling), inspect.c (the code
 * shown on demand), gpu.c (regions on a GPU). */
#ifndef PYACC_EXT_REGION_H
#define PYACC_EXT_REGION_H

#include "args.h"
#include "code.h"

#include "jit.h"
#include "rt.h"

#include <stdatomic.h>

typedef struct pyext_tier_job pyext_tier_job;

#define RG_MAXARGS PYEXT_MAXARGS

typedef int32_t (*rg_fn)(int64_t *slots, rt_error *err);

/* A region's kernels loaded on a GPU (gpu.c). */
typedef struct pyext_gpu_code {
    rt_device *dev;
    void *module;              /* the loaded PTX (a CUmodule) */
    char *ptx;
    int nkernels;
    jit_gpu_kernel *kernels;   /* what each launch moves, as the split found it */
    rt_gpu_kernel *infos;      /* what the host code's launches read */
} pyext_gpu_code;

/* Where a region runs: @acc(device=...). */
enum { RG_DEVICE_DEFAULT, RG_DEVICE_HOST, RG_DEVICE_NVIDIA };

typedef struct rg_entry {
    fe_argtype sig[RG_MAXARGS];
    int fallback;            /* this signature runs in the interpreter */
    _Atomic(rg_fn) fn;       /* atomic: tier.c puts the O3 code in while calls read it */
    void *handle;             /* its code's (for jit_host_remove) */
    void *quick_handle;       /* the quick code's, when it ran first (tier.c); kept till the entry goes */
    struct pyext_tier_job *tier_job; /* its O3 code being made (tier.c's, under its lock) */
    int quick;                /* it runs the quick code (tier.c's, under its lock) */
    double o3_ms;             /* what the O3 code made in the background took */
    fe_argtype *outtypes;
    fe_argtype *listout_types;
    uint8_t *written;
    char **files;             /* where errors point: the region's file, callees' */
    int nfiles;
    fe_argtype kinds[16];     /* what a result's kind slot indexes */
    int nkinds;
    fe_argtype *outitems;     /* a tuple result's item types */
    char *notes;              /* which loops run in parallel and why */
    char symbol[64];          /* its entry's name, when named after its cache key */
    double compile_ms, opt_ms, codegen_ms;
    rt_device *gpu;           /* the GPU the entry is for (NULL: the host) */
    pyext_gpu_code *gcode;    /* its kernels there; NULL when it runs on the host */
    int stale;                /* its GPU was shut down: never used again */
    int device_args;          /* some array arguments are in GPU memory */
} rg_entry;

typedef struct rg_region {
    PyObject_HEAD
    pyext_code pc;             /* the code, as the frontend reads it */
    char *filename, *qualname, *label;
    /* what the pragmas say */
    fe_dir_kind construct;
    fe_loc loc;
    fe_loopspec *loops;
    int nloops;
    fe_listout *listouts;
    int nlistouts;
    fe_atomic *atomics;
    int natomics;
    int loop_depth;            /* how deep its loops nest (tier.c's estimate of a call's work), -1 unknown yet */
    int threads_param;         /* the parameter holding max_threads, or -1 */
    int shape_param;           /* the parameter holding a GPU launch's shape, or -1 */
    PyObject *present;         /* present(...) of whole parameters, checked by the call: ((index, name), ...) or NULL */
    int present_at[RG_MAXARGS]; /* their parameters' indices (npresent of them) */
    int npresent;
    uint8_t *is_listout;       /* per parameter */
    int nouts;
    int strict, boundscheck, warned;
    int device;                /* RG_DEVICE_* */
    PyObject *ptx;             /* {signature: PTX} made for the GPU */
    PyObject *gpu_notes;       /* {signature: notes} of what compile(target="nvidia") made */
    int use_cache;             /* @acc(cache=True): entries go to and come from disk */
    char *static_key;          /* hash of the region's code and pragmas (pyacc.regions.content_key) */
    PyObject *func;            /* the region as a Python function */
    PyObject *fglobals;        /* the globals its names resolve in */
    /* the dispatch table */
    rg_entry **entries;        /* each allocated apart: a call running with
                                  the GIL released keeps its pointer while
                                  another thread adds entries */
    int nentries, capentries, mru;
    long long compiles, memory_hits, disk_hits, fallbacks;
    double compile_ms;
    PyObject *weakreflist;     /* identical regions share one Region */
} rg_region;


/* region_compile.c: the entry for sig (on GPU gpu, or the host when
 * NULL): the one in the table, or NULL (pyext_region_find); found, loaded
 * from the disk cache or compiled, NULL with an exception set or when the
 * region falls back (pyext_region_entry, which takes the compile lock).
 * An entry's parts freed (not the entry itself); a loaded symbol given up. */
rg_entry *pyext_region_find(rg_region *r, const fe_argtype *sig, rt_device *gpu);
rg_entry *pyext_region_entry(rg_region *r, const fe_argtype *sig, rt_device *gpu, int64_t extent);
void pyext_region_entry_free(rg_entry *e);
void pyext_symbol_release(const char *name);

/* The region lowered for sig into a fresh context (region_compile.c); on
 * success *ctx and res->module are the caller's. */
fe_status pyext_region_lower(rg_region *r, const fe_argtype *sig, const char *symbol, jit_ctx **ctx, fe_result *res,
                             fe_error *err);

/* "(float64[:], int64)" */
PyObject *pyext_region_signature(rg_region *r, const fe_argtype *sig);

/* Compiles run one at a time in the process (region_compile.c). */
void pyext_compile_lock(void);
void pyext_compile_unlock(void);

/* Numbers symbols apart. */
extern long long pyext_symbol_counter;

/* region_compile.c's helpers for the files beside it: the monotonic clock in ms;
 * whether an entry symbol is loaded already; reporting a compile's error
 * (a PyaccTypeError raised: -1, else a warning and 0); the disk cache key
 * of sig (gt: the GPU target text, or NULL for the host), 0 or -1; saving
 * an entry to the disk cache. */
double pyext_now_ms(void);
int pyext_symbol_live(const char *name);
int pyext_region_report(rg_region *r, const fe_error *err);
int pyext_region_key(rg_region *r, const fe_argtype *sig, const char *gt, char *key);
void pyext_region_store(rg_region *r, const rg_entry *e, const char *key, const jit_compiled *out, const char *gt);

/* region_gpu.c: keeps the PTX made for sig (-1 with an exception set);
 * makes a lowered region's module code for GPU gpu (*gcode) or leaves it
 * for the host after one warning (*relower: lower again first), -1 with an
 * exception set; compile(args, "nvidia") without a GPU. */
int pyext_region_keep_ptx(rg_region *r, const fe_argtype *sig, const char *ptx);
/* Keeps a GPU build's notes beside its PTX, for notes(). */
int pyext_region_keep_notes(rg_region *r, const fe_argtype *sig, const char *notes);
int pyext_region_gpu_build(rg_region *r, const fe_argtype *sig, jit_host *host, fe_result *res, const char *symbol,
                           rt_device *gpu, pyext_gpu_code **gcode, int *relower);
PyObject *pyext_region_compile_ptx(rg_region *r, const fe_argtype *sig);

/* inspect(kind) -> {signature: text} (inspect.c). */
PyObject *pyext_region_inspect(PyObject *self, PyObject *args);

/* Calls of regions meant for a GPU: [0] ran there, [1] ran on the host
 * (gpu.c; read by _pyacc.gpu_counters()). */
extern long long pyext_gpu_calls[2];

/* gpu.c: the GPU a call of a region with @acc(device=...) runs on now,
 * or NULL for the host. */
rt_device *pyext_gpu_device(int device);

/* What GPU d's code is made for, for cache keys ("nvidia sm_90 +ptx80";
 * without d, PYACC_GPU_ARCH or sm_90). */
void pyext_gpu_target(rt_device *d, char *buf, size_t n);

/* Splits a lowered region's module (entry `symbol`) for GPU d: the
 * kernels as PTX in *ptx (malloc'd) and, with d, loaded there (*code),
 * the module turned into host code launching them; whole: the entry
 * itself runs on the GPU (jit_gpu_serial: one thread for a region with no
 * parallel loop, else the grid's first thread), the module untouched.
 * With d NULL the code is loaded nowhere (for the disk cache).  Returns 0;
 * 1 when the region cannot run on a GPU (module untouched); -1 on failure
 * (the module may have changed); why says why. */
int pyext_gpu_build(jit_host *h, void *module, const char *symbol, int whole, rt_device *d, int line,
                    pyext_gpu_code **code, char **ptx, char *why, size_t whylen);

/* Whether regions with no parallel loop go to the GPU (one thread running
 * the region, as OpenACC's serial construct says): yes unless
 * PYACC_GPU_SERIAL=0, which leaves them on the host, their arrays kept in
 * step. */
int pyext_gpu_serial_enabled(void);

/* Runs an entry's kernel (c->kernels[0].serial: on one thread, or on a
 * grid) for a call: as the host entry would, with the call's slots
 * (nslots of them); tuple_outs: the results that are tuples (bit o), each
 * slot pointing at FE_MAX_OUT_ITEMS cells; shape: the region's num_gangs,
 * num_workers and vector_length (rt.h's RT_SHAPE_*), or 0. */
int32_t pyext_gpu_serial(pyext_gpu_code *c, const fe_argtype *sig, const pyext_arg *a, int n, int nslots,
                         int64_t *slots, uint64_t tuple_outs, int64_t shape, rt_error *err);

/* Loads PTX and its kernels' descriptions (from a build, or the disk
 * cache: checked) on d.  0, or -1 with why. */
int pyext_gpu_load(rt_device *d, const char *ptx, const jit_gpu_kernel *kernels, int nkernels, int line,
                   pyext_gpu_code **code, char *why, size_t whylen);

/* Once the host code of entry `symbol` is added: points its launches at
 * c's kernels.  0, or -1 with why. */
int pyext_gpu_bind(pyext_gpu_code *c, jit_host *h, const char *symbol, char *why, size_t whylen);
void pyext_gpu_code_free(pyext_gpu_code *c);

/* Copies the GPU's copies of the present array arguments to the host
 * (to_host) or back; -1 with an exception set. */
int pyext_gpu_sync(rt_device *d, const fe_argtype *sig, const pyext_arg *a, int n, int to_host);

#endif
