/* llvm_compat.h - the one place LLVM version differences live.
 * pyacc is built against LLVM 19; the C API pieces that changed after it are
 * wrapped here, so a later port touches this file alone. */
#ifndef PYACC_JIT_LLVM_COMPAT_H
#define PYACC_JIT_LLVM_COMPAT_H

#include <llvm-c/Orc.h>
#include <llvm/Config/llvm-config.h>

#if LLVM_VERSION_MAJOR < 19
#error "pyacc needs LLVM 19 or newer"
#endif

/* LLVM 21 removed LLVMOrcThreadSafeContextGetContext: there a context is
 * created first and handed to the thread-safe context. */
#if LLVM_VERSION_MAJOR >= 21
#error "port jit/llvm_compat.h: thread-safe contexts changed in LLVM 21"
#endif

static inline LLVMContextRef jit_compat_context_of(LLVMOrcThreadSafeContextRef ts)
{
    return LLVMOrcThreadSafeContextGetContext(ts);
}

#endif
