/* jit.h - the public interface of pyacc's code generation.
 *
 * jit/ knows LLVM and targets, not Python or bytecode.  It takes the
 * target-neutral modules the frontend makes, maps their parallel-loop
 * markers onto a target, optimises them and makes machine code: host code
 * through ORC LLJIT here.  Every symbol carries the prefix jit_.  LLVM
 * version differences live in llvm_compat.h alone.
 */
#ifndef PYACC_JIT_H
#define PYACC_JIT_H

#include <stddef.h>
#include <stdint.h>

/* The LLVM version pyacc was built with ("19.1.7"): part of cache keys. */
const char *jit_llvm_version(void);

/* An LLVM context a module is built in: one per compile, never shared
 * between threads (an ORC thread-safe context underneath). */
typedef struct jit_ctx jit_ctx;
jit_ctx *jit_ctx_new(void);
void *jit_ctx_llvm(jit_ctx *c); /* its LLVMContextRef */
void jit_ctx_free(jit_ctx *c);

/* A name the compiled code may call, and its address in this process. */
typedef struct jit_symbol {
    const char *name;
    void *addr;
} jit_symbol;

/* The process's host JIT.  Creating it costs a few milliseconds, so it is
 * made once, on the first compile. */
typedef struct jit_host jit_host;

/* Returns a new host JIT resolving syms (and anything else in the process,
 * libm among it), or NULL with a message in err. */
jit_host *jit_host_create(const jit_symbol *syms, int nsyms, char *err, size_t errlen);
void jit_host_free(jit_host *h);

/* The host's LLVMTargetMachineRef (its data layout is the one ctx uses). */
void *jit_host_machine(jit_host *h);

/* The target as text, for cache keys and messages: triple, CPU name and
 * its features.  Owned by h. */
const char *jit_host_triple(const jit_host *h);
const char *jit_host_cpu(const jit_host *h);
const char *jit_host_features(const jit_host *h);

typedef struct jit_options {
    int keep_ir;     /* return the optimised IR as text */
    int keep_asm;    /* return the assembly as text */
    int keep_object; /* return the object code and the optimised bitcode, to cache */
    int quick;       /* the quick code (host.c): a first call's, made in a fraction of O3's time;
                        its entry is renamed `<entry>.quick`, leaving `entry` to the O3 code */
    int keep_source; /* return the module as given (before renaming and optimising), as bitcode */
} jit_options;

/* What a compile produced.  ir and asm_text are malloc'd (or NULL) and
 * belong to the caller; handle is for jit_host_remove. */
typedef struct jit_compiled {
    void *entry;       /* address of the entry symbol */
    void *handle;
    char *ir;
    char *asm_text;
    void *object;      /* keep_object: the relocatable object (ELF) the code came from */
    size_t object_size;
    void *bitcode;     /* keep_object: the optimised module, as bitcode */
    size_t bitcode_size;
    void *source;      /* keep_source: the module as given, as bitcode (for jit_host_build_object) */
    size_t source_size;
    double opt_ms;     /* optimisation */
    double codegen_ms; /* machine code and linking */
} jit_compiled;

/* Optimises `module` (an LLVMModuleRef made in c) for the host, adds it to
 * the JIT and looks up `entry`.  Takes the module in every case; c may be
 * freed afterwards.  Thread-safe: compiles run one at a time.  Returns 0, or
 * -1 with a message in err. */
int jit_host_add(jit_host *h, jit_ctx *c, void *module, const char *entry, const jit_options *opt,
                 jit_compiled *out, char *err, size_t errlen);

/* Adds object code made by jit_host_add (maybe in another process, for the
 * same target) and looks up `entry`: no code is generated.  Returns 0, or -1
 * with a message in err (a damaged object, a symbol defined twice). */
int jit_host_add_object(jit_host *h, const void *object, size_t size, const char *entry, jit_compiled *out,
                        char *err, size_t errlen);

/* Optimises a lowered module given as bitcode (written before
 * jit_host_add took it) as jit_host_add does at O3 and makes its object
 * code (out->object, and with want_bitcode out->bitcode), in a context and
 * target machine of its own: a background thread's compile, run while
 * other threads use the JIT, which it does not touch (jit_host_add_object
 * adds the object).  0, or -1 with a message in err. */
int jit_host_build_object(jit_host *h, const void *bitcode, size_t size, int want_bitcode, jit_compiled *out,
                          char *err, size_t errlen);

/* The IR text, or the assembly for this host, of bitcode jit_host_add kept
 * (malloc'd; NULL with a message in err). */
char *jit_bitcode_text(jit_host *h, const void *bitcode, size_t size, int want_asm, char *err, size_t errlen);

/* Optimises module as jit_host_add would and returns the IR and/or the
 * assembly (as opt asks) without adding it to the JIT; takes the module. */
int jit_host_inspect(jit_host *h, void *module, const jit_options *opt, jit_compiled *out, char *err,
                     size_t errlen);

/* The address of a symbol added code defines (NULL when none). */
void *jit_host_lookup(jit_host *h, const char *name);

/* Frees the code of one compile (its handle); its entry must not run again. */
void jit_host_remove(jit_host *h, void *handle);

/* ------------------------------------------------------------- the GPU
 *
 * nvptx.c: PTX from a module (made in its own context) whose kernels use
 * the PTX kernel calling convention, for compute capability `sm` ("sm_90")
 * with PTX features ("+ptx80"); libdevice is linked in when the module
 * calls __nv_* functions.  Takes the module.  The PTX text (malloc'd), or
 * NULL with a message in err; *ms the time taken. */
char *jit_nvptx_compile(void *module, const char *sm, const char *features, double *ms, char *err,
                        size_t errlen);

/* Where libdevice.10.bc is (PYACC_LIBDEVICE, else the CUDA toolkit's usual
 * places), or NULL. */
const char *jit_libdevice_path(void);

/* gpu.c: a region's module mapped onto a GPU.  jit_gpu_split makes the
 * device module (the loop bodies behind kernels "pyacc_k0", ...) and turns
 * `module` itself (whose entry is `symbol`) into host code whose
 * parallel-loop markers are calls of pyacc_rt_gpu_loop(*info_i, ctx, n,
 * slots, ..., walk), info_i a pointer the host code defines under the name
 * jit_gpu_info_symbol gives, for the caller to set (jit_host_lookup) to
 * the loaded kernel's description once the code is added.  Returns 0; 1
 * when the region cannot run on a GPU (why says why; module untouched); -1
 * on an internal error (err). */
#define JIT_GPU_MAX_KERNELS 32
#define JIT_GPU_MAX_FIELDS 128
#define JIT_GPU_MAX_LANES 16 /* lane loops in a parallel loop's body */
#define JIT_GPU_MAX_ROWS 15 /* a block's rows of workers over vector lanes: named barriers 1 to 15 */
#define JIT_GPU_PRIVATE_MAX 32768 /* bytes of an array a block may sum in shared memory (gpu.c) */
typedef struct jit_gpu_kernel {
    char name[32];
    int nfields;
    int64_t ctx_size;                      /* bytes of the loop's ctx */
    uint8_t kinds[2 * JIT_GPU_MAX_FIELDS]; /* rt.h's RT_CTX_* of each field, then the second bytes */
    int64_t offsets[JIT_GPU_MAX_FIELDS];   /* each field's byte offset */
    int32_t ndims[JIT_GPU_MAX_FIELDS];     /* an array field's dimensions */
    int32_t serial;                        /* the entry itself on the GPU: JIT_GPU_ONE_THREAD or JIT_GPU_GRID */
    int32_t lanes;                         /* lane loops in the body: a block per gang (gpu.c) */
    int32_t rows;                          /* JIT_GPU_ROWS_*: the block in rows of workers (gpu_lanes.c), or 0 */
    int64_t work_fixed;                    /* JIT_GPU_GRID: bytes of the work area before the blocks' part */
    int32_t work_parts;                    /* JIT_GPU_GRID: partial results a block leaves there (8 bytes each) */
    int32_t private_field;                 /* 1 + an ARED field summed in shared memory (ndims[it]: its array's field) */
} jit_gpu_kernel;
enum { JIT_GPU_ONE_THREAD = 1, JIT_GPU_GRID = 2 };
/* rows: a worker lane loop's vector loops across its row's threads (a
 * block a gang), or a worker parallel loop's iterations taken by rows,
 * its vector loops across their threads */
enum { JIT_GPU_ROWS_LANES = 1, JIT_GPU_ROWS_ITERATIONS = 2 };
typedef struct jit_gpu_parts {
    void *device_module; /* owned until handed to jit_nvptx_compile (then set NULL) */
    jit_gpu_kernel *kernels;
    int nkernels;
    char why[512];
} jit_gpu_parts;
int jit_gpu_split(jit_host *h, void *module, const char *symbol, jit_gpu_parts *out, char *err, size_t errlen);
void jit_gpu_info_symbol(const char *symbol, int i, char *buf, size_t n);

/* A region whose entry (`symbol`) itself runs on the GPU: the device
 * module in out holds it behind one kernel pyacc_k0, kernels[0].serial
 * saying how it runs:
 *   - JIT_GPU_ONE_THREAD, a region with no parallel loop (serial, kernels
 *     of seq loops): pyacc_k0(slots, err) on one GPU thread;
 *   - JIT_GPU_GRID, a region with parallel loops and code outside them
 *     that touches arrays (gpu_grid.c): pyacc_k0(slots, err, work), the
 *     grid's first thread running the entry, all threads its loops, work
 *     a zeroed area of work_fixed + blocks * work_parts * 8 bytes.
 * The module itself is untouched.  0; 1 refused (why); -1 error. */
int jit_gpu_serial(void *module, const char *symbol, jit_gpu_parts *out, char *err, size_t errlen);
void jit_gpu_parts_free(jit_gpu_parts *s);

/* ------------------------------------------------------------- the cache
 *
 * Compiled code on disk (cache.c): payloads under hex keys, with an index
 * of what each is.  Never a crash, never a wrong entry: a damaged one is
 * dropped and reported, and the caller compiles again. */
typedef struct jit_cache jit_cache;

/* One entry's row in the index. */
typedef struct jit_cache_meta {
    char key[129];
    char qualname[256];
    char file[1024];
    int line;
    char signature[1024];
    char target[512];
    int64_t size;      /* bytes on disk */
    double compile_ms;
    int64_t created, last_used, hits; /* seconds since 1970; loads */
} jit_cache_meta;

/* Opens the cache in dir (made if missing) with a size limit in bytes (0:
 * 1 GiB).  A directory that cannot be written opens read-only.  NULL with a
 * message when there is no cache to be had. */
jit_cache *jit_cache_open(const char *dir, int64_t limit, char *err, size_t errlen);
void jit_cache_close(jit_cache *c);

/* What opening had to repair (an index rebuilt), or NULL. */
const char *jit_cache_note(const jit_cache *c);
int jit_cache_read_only(const jit_cache *c);
const char *jit_cache_dir(const jit_cache *c);

/* The payload under key: 1 with *data (malloc'd) and *size, 0 when absent,
 * -1 when the entry was damaged (it is dropped; why in err) or the index
 * failed.  A hit counts in the index. */
int jit_cache_get(jit_cache *c, const char *key, void **data, size_t *size, char *err, size_t errlen);

/* As jit_cache_get, for a look that is not a use (counts nothing). */
int jit_cache_read(jit_cache *c, const char *key, void **data, size_t *size, char *err, size_t errlen);

/* Stores a payload under m->key (the other fields describe it), atomically,
 * then evicts least recently used entries past the limit.  0 or -1. */
int jit_cache_put(jit_cache *c, const jit_cache_meta *m, const void *data, size_t size, char *err,
                  size_t errlen);

/* Takes the lock of key (shared with keys of the same two-digit prefix),
 * waiting up to half a minute for another process compiling it: a file
 * descriptor for jit_cache_unlock, or -1 (go on without it). */
int jit_cache_lock(jit_cache *c, const char *key);
void jit_cache_unlock(int fd);

/* Removes one entry. */
int jit_cache_drop(jit_cache *c, const char *key);

/* The rows whose key starts with key_prefix ("" for all), malloc'd. */
int jit_cache_list(jit_cache *c, const char *key_prefix, jit_cache_meta **out, int *n, char *err,
                   size_t errlen);

/* Removes the entries unused for older_than_days (<= 0: all, and whatever
 * files a crash left behind). */
int jit_cache_clear(jit_cache *c, double older_than_days, int *removed, char *err, size_t errlen);

/* Reads every entry, checks its frame and then check(payload) (may be
 * NULL): entries failing either are reported and dropped. */
typedef int (*jit_cache_check)(const jit_cache_meta *m, const void *data, size_t size, void *arg, char *why,
                               size_t whylen);
typedef void (*jit_cache_report)(const jit_cache_meta *m, const char *why, void *arg);
int jit_cache_verify(jit_cache *c, jit_cache_check check, jit_cache_report report, void *arg, int *checked,
                     int *bad, char *err, size_t errlen);

#endif
