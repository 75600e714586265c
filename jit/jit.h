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

/* The target as text, for cache keys and messages: triple, CPU name and
 * its features.  Owned by h. */
const char *jit_host_triple(const jit_host *h);
const char *jit_host_cpu(const jit_host *h);
const char *jit_host_features(const jit_host *h);

typedef struct jit_options {
    int keep_ir;   /* return the optimised IR as text */
    int keep_asm;  /* return the assembly as text */
} jit_options;

/* What a compile produced.  ir and asm_text are malloc'd (or NULL) and
 * belong to the caller; handle is for jit_host_remove. */
typedef struct jit_compiled {
    void *entry;       /* address of the entry symbol */
    void *handle;
    char *ir;
    char *asm_text;
    double opt_ms;     /* optimisation */
    double codegen_ms; /* machine code and linking */
} jit_compiled;

/* Optimises `module` (an LLVMModuleRef made in c) for the host, adds it to
 * the JIT and looks up `entry`.  Takes the module in every case; c may be
 * freed afterwards.  Thread-safe: compiles run one at a time.  Returns 0, or
 * -1 with a message in err. */
int jit_host_add(jit_host *h, jit_ctx *c, void *module, const char *entry, const jit_options *opt,
                 jit_compiled *out, char *err, size_t errlen);

/* Optimises module as jit_host_add would and returns the IR and/or the
 * assembly (as opt asks) without adding it to the JIT; takes the module. */
int jit_host_inspect(jit_host *h, void *module, const jit_options *opt, jit_compiled *out, char *err,
                     size_t errlen);

/* Frees the code of one compile (its handle); its entry must not run again. */
void jit_host_remove(jit_host *h, void *handle);

#endif
