/* carry.h - values carried over a loop's back edge (carry.c).  Internal
 * to jit/. */
#ifndef PYACC_JIT_CARRY_H
#define PYACC_JIT_CARRY_H

#include <llvm-c/Core.h>

/* In every loop of module m (optimised), an arithmetic instruction that
 * repeats what the previous iteration computed at its end takes that value
 * instead; returns how many did. */
int jit_carry_values(LLVMModuleRef m);

#endif
