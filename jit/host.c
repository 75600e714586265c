/* host.c - host machine code through ORC LLJIT.
 *
 * One LLJIT per process, made on the first compile.  Each compile gets its
 * own resource tracker so its code can be freed alone, and a unique entry
 * symbol (ORC refuses two definitions of one name).  The runtime's entry
 * points are defined as absolute symbols, since the extension module is
 * loaded RTLD_LOCAL and a process-wide dlsym would not see them; the
 * parallel-loop marker `pyacc.parallel_loop` is one of them, which is how a
 * target-neutral module is mapped onto the host thread pool.
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
    LLVMTargetMachineRef tm; /* for the optimiser's cost models and assembly */
    char *triple, *cpu, *features;
    pthread_mutex_t lock;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_targets(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMInitializeNativeAsmParser();
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
                                    char *err, size_t errlen)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        snprintf(err, errlen, "no LLVM target for %s: %s", triple, msg ? msg : "");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    return LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelAggressive,
                                   LLVMRelocPIC, LLVMCodeModelJITDefault);
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
    char *t = LLVMGetDefaultTargetTriple(), *c = LLVMGetHostCPUName(), *f = LLVMGetHostCPUFeatures();
    h->triple = strdup(t);
    h->cpu = strdup(c);
    h->features = strdup(f);
    LLVMDisposeMessage(t);
    LLVMDisposeMessage(c);
    LLVMDisposeMessage(f);
    LLVMTargetMachineRef jtm = NULL;
    if (!h->triple || !h->cpu || !h->features ||
        !(h->tm = host_tm(h->triple, h->cpu, h->features, err, errlen)) ||
        !(jtm = host_tm(h->triple, h->cpu, h->features, err, errlen))) {
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
    free(h->triple);
    free(h->cpu);
    free(h->features);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

const char *jit_host_triple(const jit_host *h) { return h->triple; }
void *jit_host_machine(jit_host *h) { return h->tm; }
const char *jit_host_cpu(const jit_host *h) { return h->cpu; }
const char *jit_host_features(const jit_host *h) { return h->features; }

/* O3 with loop and SLP vectorisation for this CPU.  Without the target
 * machine the vectoriser has no cost model and leaves loops scalar. */
static int optimise(jit_host *h, LLVMModuleRef m, char *err, size_t errlen)
{
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(o, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
    LLVMPassBuilderOptionsSetLoopInterleaving(o, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(o, 1);
    LLVMErrorRef e = LLVMRunPasses(m, "default<O3>", h->tm, o);
    LLVMDisposePassBuilderOptions(o);
    if (e)
        return llvm_fail(e, "optimising", err, errlen);
    jit_carry_values(m);
    return 0;
}

static char *emit_asm(jit_host *h, LLVMModuleRef m)
{
    LLVMModuleRef clone = LLVMCloneModule(m); /* code generation changes its input */
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL, *text = NULL;
    if (!LLVMTargetMachineEmitToMemoryBuffer(h->tm, clone, LLVMAssemblyFile, &msg, &buf)) {
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
    pthread_mutex_lock(&h->lock);
    LLVMSetTarget(m, h->triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(h->tm);
    LLVMSetModuleDataLayout(m, dl);
    LLVMDisposeTargetData(dl);
    double t0 = now_ms();
    int rc = optimise(h, m, err, errlen);
    double t1 = now_ms();
    if (rc) {
        LLVMDisposeModule(m);
        pthread_mutex_unlock(&h->lock);
        return -1;
    }
    if (opt && opt->keep_ir) {
        char *s = LLVMPrintModuleToString(m);
        out->ir = strdup(s);
        LLVMDisposeMessage(s);
    }
    if (opt && opt->keep_asm)
        out->asm_text = emit_asm(h, m);
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(h->jd);
    LLVMErrorRef e = NULL;
    if (opt && opt->keep_object) {
        /* machine code made here, with the JIT's own target settings, so that
         * the same bytes can be cached and loaded in a later process */
        LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(m);
        if (bc) {
            out->bitcode_size = LLVMGetBufferSize(bc);
            out->bitcode = malloc(out->bitcode_size ? out->bitcode_size : 1);
            if (out->bitcode)
                memcpy(out->bitcode, LLVMGetBufferStart(bc), out->bitcode_size);
            LLVMDisposeMemoryBuffer(bc);
        }
        LLVMMemoryBufferRef obj = NULL;
        char *msg = NULL;
        if (LLVMTargetMachineEmitToMemoryBuffer(h->tm, m, LLVMObjectFile, &msg, &obj)) {
            snprintf(err, errlen, "generating host code: %s", msg ? msg : "?");
            LLVMDisposeMessage(msg);
            LLVMDisposeModule(m);
            LLVMOrcReleaseResourceTracker(rt);
            pthread_mutex_unlock(&h->lock);
            free(out->ir);
            free(out->asm_text);
            free(out->bitcode);
            memset(out, 0, sizeof *out);
            return -1;
        }
        LLVMDisposeModule(m);
        out->object_size = LLVMGetBufferSize(obj);
        out->object = malloc(out->object_size ? out->object_size : 1);
        if (out->object)
            memcpy(out->object, LLVMGetBufferStart(obj), out->object_size);
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
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->entry = (void *)(uintptr_t)addr;
    out->handle = rt;
    out->opt_ms = t1 - t0;
    out->codegen_ms = t2 - t1;
    return 0;
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
        text = emit_asm(h, m);
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
    LLVMSetTarget(m, h->triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(h->tm);
    LLVMSetModuleDataLayout(m, dl);
    LLVMDisposeTargetData(dl);
    int rc = optimise(h, m, err, errlen);
    if (!rc && opt->keep_ir) {
        char *s = LLVMPrintModuleToString(m);
        out->ir = strdup(s);
        LLVMDisposeMessage(s);
    }
    if (!rc && opt->keep_asm)
        out->asm_text = emit_asm(h, m);
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
