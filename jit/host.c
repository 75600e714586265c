/* host.c - host machine code through ORC LLJIT.
 *
 * One LLJIT per process, made on the first compile.  Each compile gets its
 * own resource tracker so its code can be freed alone, and a unique entry
 * symbol (ORC refuses two definitions of one name).  The runtime's entry
 * points are defined as absolute symbols, since the extension module is
 * loaded RTLD_LOCAL and a process-wide dlsym would not see them; the
 * parallel-loop marker `pyacc.parallel_loop` is one of them, which is how a
 * target-neutral module is mapped onto the host thread pool.
 *
 * Two qualities of code (python/ext/tier.c decides which a compile gets):
 * O3 with the vectorisers, and a quick one for a first call on little data
 * (a few passes and the fast instruction selector, several times cheaper to
 * make).  O3 code made on a background thread, while other threads use the
 * JIT, comes from jit_host_build_object: its own context and target
 * machine, the JIT touched only to add the object.
 */
#include "carry.h"
#include "jit.h"

#include "llvm_compat.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Support.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct jit_ctx {
    LLVMOrcThreadSafeContextRef ts;
};

struct jit_host {
    LLVMOrcLLJITRef jit;
    LLVMOrcJITDylibRef jd;
    LLVMTargetMachineRef tm;       /* for the optimiser's cost models and assembly */
    LLVMTargetMachineRef tm_quick; /* the quick code's: no optimisation in code generation */
    char *triple, *cpu, *features;
    pthread_mutex_t lock;          /* the JIT, tm and tm_quick */
    LLVMTargetMachineRef tm_bg;    /* jit_host_build_object's, made on its first use */
    pthread_mutex_t bg_lock;       /* tm_bg */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_targets(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMInitializeNativeAsmParser();
    /* O3 leaves unroll-and-jam out unless asked; with it in, the pass
     * touches only loops whose metadata asks for it (an unpolled body's,
     * frontend/unpolled.c), x86's cost model never choosing it alone */
    const char *argv[] = {"pyacc", "-enable-unroll-and-jam"};
    LLVMParseCommandLineOptions(2, argv, NULL);
}

/* LLVM's own diagnostics: a loop it did not transform as its metadata asked
 * (a remainder loop keeps the request) is a warning LLVM would print on the
 * user's terminal; only an error is worth a line there. */
static void diagnostic(LLVMDiagnosticInfoRef info, void *unused)
{
    (void)unused;
    if (LLVMGetDiagInfoSeverity(info) != LLVMDSError)
        return;
    char *msg = LLVMGetDiagInfoDescription(info);
    fprintf(stderr, "pyacc: LLVM: %s\n", msg);
    LLVMDisposeMessage(msg);
}

const char *jit_llvm_version(void) { return LLVM_VERSION_STRING; }

jit_ctx *jit_ctx_new(void)
{
    jit_ctx *c = malloc(sizeof *c);
    if (c)
        c->ts = LLVMOrcCreateNewThreadSafeContext();
    return c;
}

void *jit_ctx_llvm(jit_ctx *c) { return jit_compat_context_of(c->ts); }

void jit_ctx_free(jit_ctx *c)
{
    if (c) {
        /* reference counted: modules handed to the JIT keep it alive */
        LLVMOrcDisposeThreadSafeContext(c->ts);
        free(c);
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Copies an LLVM error's message into err and consumes it. */
static int llvm_fail(LLVMErrorRef e, const char *what, char *err, size_t errlen)
{
    char *m = LLVMGetErrorMessage(e);
    snprintf(err, errlen, "%s: %s", what, m ? m : "unknown LLVM error");
    LLVMDisposeErrorMessage(m);
    return -1;
}

static LLVMTargetMachineRef host_tm(const char *triple, const char *cpu, const char *features,
                                    LLVMCodeGenOptLevel level, char *err, size_t errlen)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        snprintf(err, errlen, "no LLVM target for %s: %s", triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    return LLVMCreateTargetMachine(target, triple, cpu, features, level, LLVMRelocPIC, LLVMCodeModelJITDefault);
}

jit_host *jit_host_create(const jit_symbol *syms, int nsyms, char *err, size_t errlen)
{
    pthread_once(&init_once, init_targets);
    jit_host *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->bg_lock, NULL);
    char *t = LLVMGetDefaultTargetTriple(), *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
    h->triple = strdup(t);
    h->cpu = strdup(c);
    h->features = strdup(f);
    LLVMDisposeMessage(t);
    LLVMDisposeMessage(c);
    LLVMDisposeMessage(f);
    LLVMTargetMachineRef jtm = NULL;
    if (!h->triple || !h->cpu || !h->features ||
        !(h->tm = host_tm(h->triple, h->cpu, h->features, LLVMCodeGenLevelAggressive, err, errlen)) ||
        !(h->tm_quick = host_tm(h->triple, h->cpu, h->features, LLVMCodeGenLevelNone, err, errlen)) ||
        !(jtm = host_tm(h->triple, h->cpu, h->features, LLVMCodeGenLevelAggressive, err, errlen))) {
        jit_host_free(h);
        return NULL;
    }
    LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
    /* takes jtm, so that code is generated for this CPU and not a generic one */
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(jtm));
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&h->jit, b); /* consumes b */
    if (e) {
        llvm_fail(e, "creating the host JIT", err, errlen);
        h->jit = NULL;
        jit_host_free(h);
        return NULL;
    }
    h->jd = LLVMOrcLLJITGetMainJITDylib(h->jit);
    LLVMOrcDefinitionGeneratorRef gen;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(h->jit), NULL, NULL);
    if (e) {
        llvm_fail(e, "searching the process's symbols", err, errlen);
        jit_host_free(h);
        return NULL;
    }
    LLVMOrcJITDylibAddGenerator(h->jd, gen);
    if (nsyms > 0) {
        LLVMOrcCSymbolMapPair *pairs = calloc((size_t)nsyms, sizeof *pairs);
        if (!pairs) {
            snprintf(err, errlen, "out of memory");
            jit_host_free(h);
            return NULL;
        }
        for (int i = 0; i < nsyms; i++) {
            pairs[i].Name = LLVMOrcLLJITMangleAndIntern(h->jit, syms[i].name);
            pairs[i].Sym.Address = (LLVMOrcJITTargetAddress)(uintptr_t)syms[i].addr;
            pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
            pairs[i].Sym.Flags.TargetFlags = 0;
        }
        e = LLVMOrcJITDylibDefine(h->jd, LLVMOrcAbsoluteSymbols(pairs, (size_t)nsyms));
        free(pairs);
        if (e) {
            llvm_fail(e, "defining the runtime's symbols", err, errlen);
            jit_host_free(h);
            return NULL;
        }
    }
    return h;
}

void jit_host_free(jit_host *h)
{
    if (!h)
        return;
    if (h->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(h->jit);
        if (e)
            LLVMConsumeError(e);
    }
    if (h->tm)
        LLVMDisposeTargetMachine(h->tm);
    if (h->tm_quick)
        LLVMDisposeTargetMachine(h->tm_quick);
    if (h->tm_bg)
        LLVMDisposeTargetMachine(h->tm_bg);
    free(h->triple);
    free(h->cpu);
    free(h->features);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->bg_lock);
    free(h);
}

const char *jit_host_triple(const jit_host *h) { return h->triple; }
void *jit_host_machine(jit_host *h) { return h->tm; }
const char *jit_host_cpu(const jit_host *h) { return h->cpu; }
const char *jit_host_features(const jit_host *h) { return h->features; }

/* The module made for tm's target. */
static void set_target(LLVMTargetMachineRef tm, const char *triple, LLVMModuleRef m)
{
    LLVMSetTarget(m, triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, dl);
    LLVMDisposeTargetData(dl);
}

/* O3 with loop and SLP vectorisation for tm's CPU (without the target
 * machine the vectoriser has no cost model and leaves loops scalar); quick:
 * only what makes the lowering's IR fit for the fast instruction selector
 * (its locals into registers, its always-inline helpers inlined, repeated
 * loads and dead branches gone), a tenth of O3's time on a small region. */
static int optimise(LLVMTargetMachineRef tm, LLVMModuleRef m, int quick, char *err, size_t errlen)
{
    LLVMContextSetDiagnosticHandler(LLVMGetModuleContext(m), diagnostic, NULL);
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(o, !quick);
    LLVMPassBuilderOptionsSetSLPVectorization(o, !quick);
    LLVMPassBuilderOptionsSetLoopInterleaving(o, !quick);
    LLVMPassBuilderOptionsSetLoopUnrolling(o, !quick);
    LLVMErrorRef e = LLVMRunPasses(m, quick ? "always-inline,function(sroa,early-cse,simplifycfg)" : "default<O3>",
                                   tm, o);
    LLVMDisposePassBuilderOptions(o);
    if (e)
        return llvm_fail(e, "optimising", err, errlen);
    if (!quick)
        jit_carry_values(m);
    return 0;
}

/* A malloc'd copy of buf's bytes (their count in *n), or NULL. */
static void *copy_of(LLVMMemoryBufferRef buf, size_t *n)
{
    *n = LLVMGetBufferSize(buf);
    void *p = malloc(*n ? *n : 1);
    if (p)
        memcpy(p, LLVMGetBufferStart(buf), *n);
    return p;
}

/* m as bitcode, malloc'd (its size in *n), or NULL. */
static void *bitcode_of(LLVMModuleRef m, size_t *n)
{
    LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(m);
    void *p = bc ? copy_of(bc, n) : NULL;
    if (bc)
        LLVMDisposeMemoryBuffer(bc);
    return p;
}

/* The machine code of optimised m, which it takes; NULL with err. */
static LLVMMemoryBufferRef emit_object(LLVMTargetMachineRef tm, LLVMModuleRef m, char *err, size_t errlen)
{
    char *msg = NULL;
    LLVMMemoryBufferRef obj = NULL;
    int bad = LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &obj);
    LLVMDisposeModule(m);
    if (bad) {
        snprintf(err, errlen, "generating host code: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    return obj;
}

static char *emit_asm(LLVMTargetMachineRef tm, LLVMModuleRef m)
{
    LLVMModuleRef clone = LLVMCloneModule(m); /* code generation changes its input */
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL, *text = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(tm, clone, LLVMAssemblyFile, &msg, &buf)) {
        size_t n = LLVMGetBufferSize(buf);
        text = malloc(n + 1);
        if (text) {
            memcpy(text, LLVMGetBufferStart(buf), n);
            text[n] = 0;
        }
        LLVMDisposeMemoryBuffer(buf);
    }
    LLVMDisposeMessage(msg);
    LLVMDisposeModule(clone);
    return text;
}

int jit_host_add(jit_host *h, jit_ctx *c, void *module, const char *entry, const jit_options *opt,
                 jit_compiled *out, char *err, size_t errlen)
{
    LLVMModuleRef m = (LLVMModuleRef)module;
    memset(out, 0, sizeof *out);
    int quick = opt && opt->quick;
    pthread_mutex_lock(&h->lock);
    set_target(h->tm, h->triple, m);
    if (opt && opt->keep_source && !(out->source = bitcode_of(m, &out->source_size))) {
        snprintf(err, errlen, "out of memory");
        LLVMDisposeModule(m);
        pthread_mutex_unlock(&h->lock);
        return -1;
    }
    char quick_entry[256];
    if (quick) { /* the name `entry` is left to the O3 code, made later */
        snprintf(quick_entry, sizeof quick_entry, "%s.quick", entry);
        LLVMValueRef f = LLVMGetNamedFunction(m, entry);
        if (f)
            LLVMSetValueName2(f, quick_entry, strlen(quick_entry));
        entry = quick_entry;
    }
    double t0 = now_ms();
    int rc = optimise(h->tm, m, quick, err, errlen);
    double t1 = now_ms();
    if (rc) {
        LLVMDisposeModule(m);
        pthread_mutex_unlock(&h->lock);
        free(out->source);
        out->source = NULL;
        return -1;
    }
    if (opt && opt->keep_ir) {
        char *s = LLVMPrintModuleToString(m);
        out->ir = strdup(s);
        LLVMDisposeMessage(s);
    }
    if (opt && opt->keep_asm)
        out->asm_text = emit_asm(quick ? h->tm_quick : h->tm, m);
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(h->jd);
    LLVMErrorRef e = NULL;
    if ((opt && opt->keep_object) || quick) {
        /* machine code made here, with the JIT's own target settings, so that
         * the same bytes can be cached and loaded in a later process (and
         * the quick code with the quick target machine, which the JIT's
         * own compile layer does not have) */
        int keep = opt && opt->keep_object; /* the quick code's is not kept */
        if (keep)
            out->bitcode = bitcode_of(m, &out->bitcode_size);
        LLVMMemoryBufferRef obj = emit_object(quick ? h->tm_quick : h->tm, m, err, errlen); /* takes m */
        if (!obj) {
            LLVMOrcReleaseResourceTracker(rt);
            pthread_mutex_unlock(&h->lock);
            free(out->ir);
            free(out->asm_text);
            free(out->source);
            free(out->bitcode);
            memset(out, 0, sizeof *out);
            return -1;
        }
        if (keep)
            out->object = copy_of(obj, &out->object_size);
        e = LLVMOrcLLJITAddObjectFileWithRT(h->jit, rt, obj); /* takes obj */
    } else {
        LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, c->ts);
        e = LLVMOrcLLJITAddLLVMIRModuleWithRT(h->jit, rt, tsm); /* takes tsm */
    }
    LLVMOrcExecutorAddress addr = 0;
    if (!e)
        e = LLVMOrcLLJITLookup(h->jit, &addr, entry); /* machine code is made (or linked) here */
    double t2 = now_ms();
    pthread_mutex_unlock(&h->lock);
    if (e) {
        llvm_fail(e, "generating host code", err, errlen);
        LLVMErrorRef e2 = LLVMOrcResourceTrackerRemove(rt);
        if (e2)
            LLVMConsumeError(e2);
        LLVMOrcReleaseResourceTracker(rt);
        free(out->ir);
        free(out->asm_text);
        free(out->object);
        free(out->bitcode);
        free(out->source);
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->entry = (void *)(uintptr_t)addr;
    out->handle = rt;
    out->opt_ms = t1 - t0;
    out->codegen_ms = t2 - t1;
    return 0;
}

int jit_host_build_object(jit_host *h, const void *bitcode, size_t size, int want_bitcode, jit_compiled *out,
                          char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&h->bg_lock);
    if (!h->tm_bg && !(h->tm_bg = host_tm(h->triple, h->cpu, h->features, LLVMCodeGenLevelAggressive, err,
                                          errlen))) {
        pthread_mutex_unlock(&h->bg_lock);
        return -1;
    }
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(bitcode, size, "pyacc-unoptimised", 0);
    LLVMModuleRef m = NULL;
    int rc = -1;
    if (!buf || LLVMParseBitcodeInContext2(ctx, buf, &m)) {
        snprintf(err, errlen, "the region's bitcode does not read back");
    } else {
        set_target(h->tm_bg, h->triple, m);
        double t0 = now_ms();
        rc = optimise(h->tm_bg, m, 0, err, errlen);
        double t1 = now_ms();
        LLVMMemoryBufferRef obj = NULL;
        if (!rc) {
            if (want_bitcode)
                out->bitcode = bitcode_of(m, &out->bitcode_size);
            if (!(obj = emit_object(h->tm_bg, m, err, errlen))) /* takes m */
                rc = -1;
        } else {
            LLVMDisposeModule(m);
        }
        if (obj) {
            out->object = copy_of(obj, &out->object_size);
            LLVMDisposeMemoryBuffer(obj);
        }
        if (!rc && !out->object) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        }
        if (rc) {
            free(out->bitcode);
            memset(out, 0, sizeof *out);
        }
        out->opt_ms = t1 - t0;
        out->codegen_ms = now_ms() - t1;
    }
    if (buf)
        LLVMDisposeMemoryBuffer(buf);
    LLVMContextDispose(ctx);
    pthread_mutex_unlock(&h->bg_lock);
    return rc;
}

int jit_host_add_object(jit_host *h, const void *object, size_t size, const char *entry, jit_compiled *out,
                        char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    double t0 = now_ms();
    /* copied: the JIT keeps the buffer for the code's lifetime */
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(object, size, "pyacc-cached");
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&h->lock);
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(h->jd);
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(h->jit, rt, buf); /* takes buf */
    LLVMOrcExecutorAddress addr = 0;
    if (!e)
        e = LLVMOrcLLJITLookup(h->jit, &addr, entry); /* links it */
    pthread_mutex_unlock(&h->lock);
    if (e) {
        llvm_fail(e, "loading cached code", err, errlen);
        jit_host_remove(h, rt);
        return -1;
    }
    out->entry = (void *)(uintptr_t)addr;
    out->handle = rt;
    out->codegen_ms = now_ms() - t0;
    return 0;
}

char *jit_bitcode_text(jit_host *h, const void *bitcode, size_t size, int want_asm, char *err, size_t errlen)
{
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(bitcode, size, "pyacc-bitcode");
    LLVMModuleRef m = NULL;
    char *text = NULL;
    if (!buf || LLVMParseBitcodeInContext2(ctx, buf, &m)) {
        snprintf(err, errlen, "the cached bitcode does not read back");
    } else if (want_asm) {
        pthread_mutex_lock(&h->lock);
        text = emit_asm(h->tm, m);
        pthread_mutex_unlock(&h->lock);
        if (!text)
            snprintf(err, errlen, "no assembly could be made from the cached bitcode");
    } else {
        char *s = LLVMPrintModuleToString(m);
        text = strdup(s);
        LLVMDisposeMessage(s);
    }
    if (m)
        LLVMDisposeModule(m);
    if (buf)
        LLVMDisposeMemoryBuffer(buf);
    LLVMContextDispose(ctx);
    return text;
}

int jit_host_inspect(jit_host *h, void *module, const jit_options *opt, jit_compiled *out, char *err,
                     size_t errlen)
{
    LLVMModuleRef m = (LLVMModuleRef)module;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&h->lock);
    set_target(h->tm, h->triple, m);
    int quick = opt->quick;
    int rc = optimise(h->tm, m, quick, err, errlen);
    if (!rc && opt->keep_ir) {
        char *s = LLVMPrintModuleToString(m);
        out->ir = strdup(s);
        LLVMDisposeMessage(s);
    }
    if (!rc && opt->keep_asm)
        out->asm_text = emit_asm(quick ? h->tm_quick : h->tm, m);
    pthread_mutex_unlock(&h->lock);
    LLVMDisposeModule(m);
    return rc;
}

void jit_host_remove(jit_host *h, void *handle)
{
    if (!handle)
        return;
    LLVMOrcResourceTrackerRef rt = handle;
    pthread_mutex_lock(&h->lock);
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(rt);
    if (e)
        LLVMConsumeError(e);
    LLVMOrcReleaseResourceTracker(rt);
    pthread_mutex_unlock(&h->lock);
}

void *jit_host_lookup(jit_host *h, const char *name)
{
    LLVMOrcExecutorAddress addr = 0;
    pthread_mutex_lock(&h->lock);
    LLVMErrorRef e = LLVMOrcLLJITLookup(h->jit, &addr, name);
    pthread_mutex_unlock(&h->lock);
    if (e) {
        LLVMConsumeError(e);
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}
