/* gpu_ir.h - pieces of NVPTX kernel IR that the loop kernels (gpu.c) and
 * the grid kernels (gpu_grid.c) share: partial results and their
 * reductions across a warp and a block, the thread's place, barriers.
 * Internal to jit/. */
#ifndef PYACC_JIT_GPU_IR_H
#define PYACC_JIT_GPU_IR_H

#include <llvm-c/Core.h>
#include <stddef.h>
#include <stdint.h>

/* rt.h's RT_CTX_* (jit/ does not include rt.h) */
#define CTX_UNSUPPORTED 0xff
#define CTX_PLAIN 0
#define CTX_CLASS_MASK 0xe0
#define CTX_ARRAY 0x20
#define CTX_PARTIALS 0x40
#define CTX_CELL 0x60
#define CTX_ARED 0x80
#define CTX_SIZE_MASK 0x1f
#define CTX_NUM_INT 0
#define CTX_NUM_UINT 1
#define CTX_NUM_FLOAT 2
#define CTX_NUM_BOOL 3
#define CTX_LAST 1 /* the second byte of a PLAIN field the host reads back */
#define CTX_ANY 2  /* ... a byte any thread whose copy changed writes back */

/* A partial result's number type: rt.h's RT_CTX_NUM_* (high bits of the
 * second kind byte) and its size. */
LLVMTypeRef jit_ir_partial_type(LLVMContextRef C, uint8_t kind, uint8_t aux);

/* a op b for partial results (ops as rt.h lists them). */
LLVMValueRef jit_ir_combine(LLVMBuilderRef B, uint8_t aux, LLVMTypeRef t, LLVMValueRef a, LLVMValueRef b);

/* What op leaves unchanged. */
LLVMValueRef jit_ir_identity(uint8_t kind, uint8_t aux, LLVMTypeRef t);

/* A special register (llvm.nvvm.read.ptx.sreg.*), as i32. */
LLVMValueRef jit_ir_sreg(LLVMModuleRef m, LLVMBuilderRef B, const char *name);

/* barrier.sync 0 (not .aligned: threads may meet at different ones). */
void jit_ir_barrier(LLVMModuleRef m, LLVMBuilderRef B);

LLVMValueRef jit_ir_byte_gep(LLVMBuilderRef B, LLVMContextRef C, LLVMValueRef p, int64_t off);

/* `mine` combined over the block's threads, the result in its first
 * thread; every thread of the block (whole warps) must come. */
LLVMValueRef jit_ir_block_all(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, LLVMValueRef shared, uint8_t kind,
                              uint8_t aux, LLVMValueRef mine, LLVMValueRef lin, LLVMValueRef bsize);

/* `mine` combined over the block (jit_ir_block_all, through red_shared's
 * slots), then B placed where only the block's first thread (lin 0) goes:
 * the caller stores the block's result there, then calls jit_ir_lead_done
 * with *after. */
LLVMValueRef jit_ir_block_lead(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, uint8_t kind, uint8_t aux,
                               LLVMValueRef mine, LLVMValueRef lin, LLVMValueRef bsize, LLVMBasicBlockRef *after);
void jit_ir_lead_done(LLVMBuilderRef B, LLVMBasicBlockRef after);

/* As jit_ir_block_lead over the thread's row (jit_ir_row_place): lane
 * threadIdx.x of lanes ntid.x, B placed where only the row's first
 * thread goes. */
LLVMValueRef jit_ir_row_lead(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, uint8_t kind, uint8_t aux,
                             LLVMValueRef mine, LLVMValueRef lane, LLVMValueRef lanes, LLVMBasicBlockRef *after);

/* `mine` combined over the thread's row (lane threadIdx.x of lanes
 * ntid.x), the result in every thread of the row: the first lane's,
 * handed to the others, so that all hold the same bits whatever the op. */
LLVMValueRef jit_ir_row_every(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, uint8_t kind, uint8_t aux,
                              LLVMValueRef mine, LLVMValueRef lane, LLVMValueRef lanes);

/* The thread's place in its row, as i64: threadIdx.x of ntid.x lanes, in
 * row threadIdx.y of ntid.y. */
void jit_ir_row_place(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef *tx, LLVMValueRef *ty, LLVMValueRef *bx,
                      LLVMValueRef *by);

/* bar.warp.sync over the whole warp: its threads, come from different
 * places into the same code, go on together from here. */
void jit_ir_converge(LLVMModuleRef m, LLVMBuilderRef B);

/* The row's barrier: barrier.sync 1 + threadIdx.y, ntid.x (at most
 * JIT_GPU_MAX_ROWS rows, barrier 0 being the block's). */
void jit_ir_row_barrier(LLVMModuleRef m, LLVMBuilderRef B);

/* A kernel's bound for ptxas (nvvm.annotations): maxntidx, minctasm,
 * maxnreg. */
void jit_ir_annotate(LLVMModuleRef m, LLVMValueRef kfn, const char *key, unsigned value);

/* The shared-memory slots block_all combines through. */
LLVMValueRef jit_ir_red_shared(LLVMModuleRef m);

/* g (in another address space) as a generic pointer. */
LLVMValueRef jit_ir_generic(LLVMBuilderRef B, LLVMValueRef g);

/* body(lctx, k, k + 1, 0): iteration k of a loop of n > k iterations. */
void jit_ir_run_iteration(LLVMBuilderRef B, LLVMValueRef body, LLVMValueRef lctx, LLVMValueRef k);

/* The block's threads and, unless lin is NULL, this thread's place in it. */
void jit_ir_block_place(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef *lin, LLVMValueRef *bsize);

/* A lane or row loop's marker call (its body a function) replaced by a
 * call of its body over all its iterations, in order. */
void jit_ir_in_order(LLVMValueRef call);

/* A loop marker's call (pyacc.parallel_loop, pyacc.lane_loop) read: its
 * body (operand 0), its ctx's type (operand 1, an alloca) and the ctx's
 * kinds (operand `kinds`: 3 bytes a field, rt.h's RT_CTX_*) with their
 * count of fields.  0, or 1 when it is not as the frontend makes it. */
int jit_ir_marker(LLVMValueRef call, unsigned kinds, LLVMValueRef *body, LLVMTypeRef *st, const uint8_t **kb,
                  unsigned *nf);

/* A loop runner's share of a loop whose ctx (type st, nf fields of kinds
 * kb) is at sctx: its own copy of the ctx, returned, whose partial results
 * point at accumulators of its own (acc[f], at the identity; NULL for
 * other fields), then iterations lane, lane + lanes, ... < n (*n) run as
 * body(lctx, j, j + 1, 0), a loop LLVM may unroll unless told not to.  B
 * is left after them, in the same function. */
LLVMValueRef jit_ir_share(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef body, LLVMTypeRef st, const uint8_t *kb,
                          unsigned nf, LLVMValueRef sctx, LLVMValueRef lane, LLVMValueRef lanes, int unroll,
                          LLVMValueRef *acc, LLVMValueRef *n);

/* Last values: the runner that ran iteration n - 1 copies its plain fields
 * from lctx to sctx. */
void jit_ir_leave_last(LLVMModuleRef m, LLVMBuilderRef B, LLVMTypeRef st, const uint8_t *kb, unsigned nf,
                       LLVMValueRef lctx, LLVMValueRef sctx, LLVMValueRef n, LLVMValueRef lane, LLVMValueRef lanes);

/* gpu_lanes.c: a lane loop (the marker pyacc.lane_loop) in a kernel's
 * body, once jit_gpu_lanes has replaced its marker: its runner(sctx,
 * lane, lanes), which each helping thread calls with the shared ctx
 * sglobal (of type st) after the gang's thread posts its number in
 * jit_lane_cmd. */
typedef struct jit_lane_loop {
    LLVMValueRef call;    /* the marker's call, until replaced */
    LLVMValueRef runner;  /* runner(sctx, lane, lanes) */
    LLVMValueRef sglobal; /* the ctx in shared memory (address space 3); a row loop's: one a row */
    LLVMTypeRef st;       /* the ctx's type */
} jit_lane_loop;

/* Finds the lane loops of kernel `kernel`'s body (at most cap; 1 past
 * cap) and makes each one's runner, the vector loops in a worker loop's
 * body run by rows (*rows set then), each marker replaced by the leading
 * thread's handshake.  0, or 1 when a marker is not as the frontend
 * makes it. */
int jit_gpu_lanes(LLVMModuleRef m, LLVMValueRef body, int kernel, jit_lane_loop *ll, int *nll, int cap, int *rows);
LLVMValueRef jit_lane_cmd(LLVMModuleRef m);

/* gpu_grid.c: in the device module m, the entry (its parallel-loop markers
 * still in it) becomes the master's code of kernel k->name(slots, err,
 * work), its loops run by the whole grid; k's work sizes are set.  0, or
 * 1 refused (why). */
struct jit_gpu_kernel;
int jit_gpu_grid(LLVMModuleRef m, LLVMValueRef entry, struct jit_gpu_kernel *k, char *why, size_t whylen);

/* Defines f, the declaration of runtime function `name` an entry on the
 * GPU calls (scratch memory, the thread count), for the device; 0 when it
 * has no device form. */
int jit_gpu_entry_runtime(LLVMModuleRef m, LLVMValueRef f, const char *name);

/* Defines pyacc_py_math (f) in device module m: math.gamma, math.lgamma
 * and math.hypot by libdevice with CPython's errors (gpu_pymath.c).  0, or
 * 1 when a call asks for a function it does not know (a frontend newer
 * than this file). */
int jit_gpu_py_math(LLVMModuleRef m, LLVMValueRef f);

/* Defines pyacc_rt_round_digits (f, declared double (double, i64)) in
 * module m: round(x, ndigits) in IR, as runtime/round.c computes it on the
 * host (gpu_round.c).  Returns 0. */
int jit_gpu_round_digits(LLVMModuleRef m, LLVMValueRef f);

#endif
