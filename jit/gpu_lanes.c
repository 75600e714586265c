/* gpu_lanes.c - lane loops: loops in a gang's body spread over the
 * threads of its block, and vector loops in a worker's body over the
 * threads of its row.
 *
 * A lane loop (frontend/parallel.c, fe_lower_lanes) runs across the
 * threads of the block of the gang whose body reaches it.  The kernel of a
 * body holding lane loops (gpu.c, make_kernel) gives the parallel loop's
 * iterations to the blocks' first threads (the gangs' own), while the
 * others wait at a barrier for a command: the number of a lane loop to
 * help with, or 0 to finish.  At a lane loop the gang's thread copies the
 * loop's ctx to shared memory, posts the loop's number and meets the
 * others at the barrier; all then run iterations lane, lane + threads, ...
 * on copies of the ctx of their own (the loop's runner), combine their
 * reductions across the block, and the thread with the last iteration
 * leaves its last values in the shared ctx, which the gang's thread takes
 * back after a second barrier.  So code outside lane loops runs once per
 * gang, as OpenACC's gang-redundant, worker- and vector-single modes say.
 *
 * Rows: a `loop worker` lane loop whose body holds vector loops (the
 * frontend's FE_LANES_ROW) takes the block as rows of threads, one a
 * worker (threadIdx.y), each of ntid.x vector lanes (threadIdx.x).  The
 * worker iterations go to the rows' first threads, the row leaders, whose
 * rows wait for their commands as the block's threads wait for the
 * gang's: the same handshake one level down, through a ctx and a command
 * a row in shared memory, at the row's own named barrier (barrier.sync
 * 1 + threadIdx.y, ntid.x), with reductions combined over the row.
 *
 * Redundant rows: when the worker's own code (its body outside the
 * vector loops) only computes and stores, every thread of a row runs it,
 * with the same values, instead of the leader alone: no handshake, no ctx
 * through shared memory.  Each thread then takes its lanes' share of a
 * vector loop on its own ctx and all get the row's reductions and last
 * values; the worker's stores to memory are made by the row's first
 * thread between row barriers, so that no thread reads a value another
 * has stored before it in the same code.  A body calling what may touch
 * memory, or with atomics, keeps the handshake. */
#include "gpu_ir.h"
#include "jit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the handshake's shared state: one a block, or one a row */
static LLVMValueRef shared_global(LLVMModuleRef m, LLVMTypeRef t, const char *name, unsigned align)
{
    LLVMValueRef g = LLVMGetNamedGlobal(m, name);
    if (!g) {
        g = LLVMAddGlobalInAddressSpace(m, t, name, 3);
        LLVMSetInitializer(g, LLVMGetUndef(t));
        LLVMSetLinkage(g, LLVMInternalLinkage);
        LLVMSetAlignment(g, align);
    }
    return g;
}

LLVMValueRef jit_lane_cmd(LLVMModuleRef m)
{
    return shared_global(m, LLVMInt32TypeInContext(LLVMGetModuleContext(m)), "pyacc.lane.cmd", 4);
}

/* the rows' commands, one a row */
static LLVMValueRef row_cmd(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef ty)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), arr = LLVMArrayType2(i32, JIT_GPU_MAX_ROWS);
    LLVMValueRef idx[2] = {LLVMConstInt(LLVMInt64TypeInContext(C), 0, 0), ty};
    return LLVMBuildInBoundsGEP2(B, arr, shared_global(m, arr, "pyacc.row.cmd", 4), idx, 2, "");
}

/* A row's ctx of row loop l: its slot of l's shared array, generic. */
static LLVMValueRef row_ctx(LLVMModuleRef m, LLVMBuilderRef B, const jit_lane_loop *l, LLVMValueRef ty)
{
    LLVMTypeRef at = LLVMArrayType2(l->st, JIT_GPU_MAX_ROWS);
    LLVMValueRef idx[2] = {LLVMConstInt(LLVMInt64TypeInContext(LLVMGetModuleContext(m)), 0, 0), ty};
    return jit_ir_generic(B, LLVMBuildInBoundsGEP2(B, at, l->sglobal, idx, 2, ""));
}

/* How a runner's reductions combine: over the block or the row, the
 * first thread adding the result into the cell; or over the row, every
 * thread into its own. */
enum { TO_BLOCK, TO_ROW, TO_EVERY };

/* Each accumulator acc[f] (NULL: none) combined over the group (lane of
 * lanes; TO_BLOCK: lin of bsize) and added into its cell, the pointer in
 * field f of ctx.  count: the threads whose accumulators count (NULL:
 * all; the others give the identity). */
static void into_cells(LLVMModuleRef m, LLVMBuilderRef B, const jit_lane_loop *l, const uint8_t *kb, unsigned nf,
                       LLVMValueRef *acc, LLVMValueRef ctx, LLVMValueRef lane, LLVMValueRef lanes, int how,
                       LLVMValueRef count)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    for (unsigned f = 0; f < nf; f++) {
        if (!acc[f])
            continue;
        uint8_t kind = kb[f], aux = kb[nf + f];
        LLVMTypeRef t = jit_ir_partial_type(C, kind, aux);
        LLVMValueRef mine = LLVMBuildLoad2(B, t, acc[f], "");
        if (count)
            mine = LLVMBuildSelect(B, count, mine, jit_ir_identity(kind, aux, t), "");
        LLVMBasicBlockRef after = NULL;
        LLVMValueRef w = how == TO_EVERY ? jit_ir_row_every(m, B, fn, kind, aux, mine, lane, lanes)
                         : how == TO_ROW ? jit_ir_row_lead(m, B, fn, kind, aux, mine, lane, lanes, &after)
                                         : jit_ir_block_lead(m, B, fn, kind, aux, mine, lane, lanes, &after);
        LLVMValueRef cell = LLVMBuildLoad2(B, ptr, LLVMBuildStructGEP2(B, l->st, ctx, f, ""), "");
        LLVMBuildStore(B, jit_ir_combine(B, aux, t, LLVMBuildLoad2(B, t, cell, ""), w), cell);
        if (after)
            jit_ir_lead_done(B, after);
    }
}

/* runner(sctx, lane, lanes): this thread's iterations of the lane loop
 * whose marker is l->call, then the reductions over the block (or the
 * row), whose first thread keeps the result, and the last values. */
static void simple_runner(LLVMModuleRef m, jit_lane_loop *l, LLVMValueRef body, const uint8_t *kb, unsigned nf,
                          int row)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMValueRef fn = l->runner;
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, fn, "entry"));
    jit_ir_converge(m, B);
    LLVMValueRef sctx = LLVMGetParam(fn, 0), lane = LLVMGetParam(fn, 1), lanes = LLVMGetParam(fn, 2);
    LLVMValueRef acc[JIT_GPU_MAX_FIELDS], n;
    LLVMValueRef lctx = jit_ir_share(m, B, body, l->st, kb, nf, sctx, lane, lanes, 1, acc, &n);
    /* reductions: the result into the gang's (or the worker's) slot, in
     * its own memory */
    into_cells(m, B, l, kb, nf, acc, sctx, lane, lanes, row ? TO_ROW : TO_BLOCK, NULL);
    jit_ir_leave_last(m, B, l->st, kb, nf, lctx, sctx, n, lane, lanes);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
}

/* The worker loop's runner when its body holds row loops (rows, nrows):
 * the row leaders (threadIdx.x 0) take the worker iterations
 * threadIdx.y, + ntid.y, ..., their rows helping with the row loops they
 * post; then the whole block combines the reductions (the other threads
 * holding the identity) and the leader with the last iteration leaves the
 * last values. */
static void worker_runner(LLVMModuleRef m, jit_lane_loop *l, LLVMValueRef body, const uint8_t *kb, unsigned nf,
                          const jit_lane_loop *rows, int nrows)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), i32 = LLVMInt32TypeInContext(C);
    LLVMValueRef fn = l->runner, zero = LLVMConstInt(i64, 0, 0);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, fn, "entry");
    LLVMPositionBuilderAtEnd(B, entry);
    jit_ir_converge(m, B);
    LLVMValueRef sctx = LLVMGetParam(fn, 0), lin = LLVMGetParam(fn, 1), bsize = LLVMGetParam(fn, 2);
    LLVMValueRef tx, ty, bx, by;
    jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
    LLVMValueRef acc[JIT_GPU_MAX_FIELDS], n;
    LLVMValueRef lctx = jit_ir_share(m, B, body, l->st, kb, nf, sctx, ty, by, 0, acc, &n);
    /* every thread made its ctx and accumulators (at the identity) in the
     * entry; only the leaders go on into the iterations */
    LLVMValueRef into = LLVMGetBasicBlockTerminator(entry);
    LLVMBasicBlockRef loop = LLVMGetSuccessor(into, 0);
    LLVMInstructionEraseFromParent(into);
    LLVMBasicBlockRef leaders_done = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef help = LLVMAppendBasicBlockInContext(C, fn, "row.help");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(C, fn, "row.join");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef leader = LLVMBuildICmp(B, LLVMIntEQ, tx, zero, "leader");
    LLVMBuildCondBr(B, leader, loop, help);
    /* a leader done tells its row to stop */
    LLVMPositionBuilderAtEnd(B, leaders_done);
    LLVMBuildStore(B, LLVMConstInt(i32, 0, 0), row_cmd(m, B, ty));
    jit_ir_row_barrier(m, B);
    LLVMBuildBr(B, join);
    /* the rest of a row: wait for a command, help, meet the leader again */
    LLVMPositionBuilderAtEnd(B, help);
    jit_ir_row_barrier(m, B);
    LLVMValueRef cmd = LLVMBuildLoad2(B, i32, row_cmd(m, B, ty), "cmd");
    LLVMValueRef sw = LLVMBuildSwitch(B, cmd, join, (unsigned)nrows);
    for (int r = 0; r < nrows; r++) {
        LLVMBasicBlockRef one = LLVMAppendBasicBlockInContext(C, fn, "row.run");
        LLVMAddCase(sw, LLVMConstInt(i32, (unsigned)(r + 1), 0), one);
        LLVMPositionBuilderAtEnd(B, one);
        LLVMValueRef a[3] = {row_ctx(m, B, &rows[r], ty), tx, bx};
        LLVMBuildCall2(B, LLVMGlobalGetValueType(rows[r].runner), rows[r].runner, a, 3, "");
        jit_ir_row_barrier(m, B);
        LLVMBuildBr(B, help);
    }
    /* the whole block again */
    LLVMPositionBuilderAtEnd(B, join);
    into_cells(m, B, l, kb, nf, acc, sctx, lin, bsize, TO_BLOCK, NULL);
    /* a leader ran iterations ty, ty + by, ...; the others none (lane by
     * matches no (n - 1) % by) */
    LLVMValueRef lane = LLVMBuildSelect(B, leader, ty, by, "");
    jit_ir_leave_last(m, B, l->st, kb, nf, lctx, sctx, n, lane, by);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
}

/* ------------------------------------------------------ redundant rows */

/* p points into an alloca (through GEPs and casts): the thread's own. */
static int local_ptr(LLVMValueRef p)
{
    for (;;) {
        if (LLVMIsAAllocaInst(p))
            return 1;
        if (LLVMIsAGetElementPtrInst(p) || LLVMIsABitCastInst(p) || LLVMIsAAddrSpaceCastInst(p))
            p = LLVMGetOperand(p, 0);
        else if (LLVMIsAConstantExpr(p) && (LLVMGetConstOpcode(p) == LLVMGetElementPtr ||
                                             LLVMGetConstOpcode(p) == LLVMBitCast))
            p = LLVMGetOperand(p, 0);
        else
            return 0;
    }
}

/* Whether every thread of a row may run the worker body f (whose row
 * loops are `marker`'s calls) redundantly: it has no atomics, and calls
 * only the marker, intrinsics (memory ones on its own memory), math, the
 * error report and functions that read nothing but their arguments. */
static int redundant_ok(LLVMValueRef f, LLVMValueRef marker)
{
    static const char *pure[] = {"pyacc_rt_error",  "pyacc_rt_int_truediv", "pyacc_rt_round_digits",
                                 "pyacc.on_gpu",    "pyacc.on_device",      "pyacc.sigints",
                                 "pyacc.interrupted"};
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) {
            if (LLVMIsAAtomicRMWInst(in) || LLVMIsAAtomicCmpXchgInst(in) || LLVMIsAFenceInst(in))
                return 0;
            if (LLVMIsAStoreInst(in) && LLVMGetOrdering(in) != LLVMAtomicOrderingNotAtomic)
                return 0;
            if (!LLVMIsACallInst(in))
                continue;
            LLVMValueRef callee = LLVMGetCalledValue(in);
            if (callee == marker)
                continue;
            if (!LLVMIsAFunction(callee))
                return 0;
            size_t n;
            const char *name = LLVMGetValueName2(callee, &n);
            int ok = 0;
            for (size_t i = 0; i < sizeof pure / sizeof pure[0]; i++)
                ok |= strcmp(name, pure[i]) == 0;
            if (strncmp(name, "llvm.mem", 8) == 0)
                ok = local_ptr(LLVMGetOperand(in, 0));
            else if (strncmp(name, "llvm.", 5) == 0)
                ok = 1;
            else if (!ok && LLVMIsDeclaration(callee)) /* math: the runtime's and the C library's heap are not */
                ok = strncmp(name, "pyacc", 5) != 0 && strcmp(name, "malloc") != 0 && strcmp(name, "free") != 0;
            if (!ok)
                return 0;
        }
    return 1;
}

/* The worker body's stores to memory (not its own) made by the row's
 * first thread, the others storing to a slot of their own; a row barrier
 * before a run of them (what the row read of the old values is read) and
 * after it (before the row reads anything stored, or calls anything). */
static void first_stores(LLVMModuleRef m, LLVMValueRef f)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMBasicBlockRef entry = LLVMGetFirstBasicBlock(f);
    LLVMValueRef barrier = NULL;
    LLVMPositionBuilderBefore(B, LLVMGetFirstInstruction(entry));
    LLVMValueRef tx = jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.tid.x");
    LLVMValueRef first = LLVMBuildICmp(B, LLVMIntEQ, tx, LLVMConstInt(LLVMInt32TypeInContext(C), 0, 0), "row.first");
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb)) {
        int open = 0;
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb), next; in; in = next) {
            next = LLVMGetNextInstruction(in);
            if (in == tx || in == first)
                continue;
            int store = LLVMIsAStoreInst(in) && !local_ptr(LLVMGetOperand(in, 1));
            int reads = (LLVMIsALoadInst(in) && !local_ptr(LLVMGetOperand(in, 0))) ||
                        (LLVMIsACallInst(in) && LLVMGetCalledValue(in) != barrier) || LLVMIsATerminatorInst(in);
            if (open && reads) {
                LLVMPositionBuilderBefore(B, in);
                jit_ir_row_barrier(m, B);
                open = 0;
            }
            if (!store)
                continue;
            LLVMPositionBuilderBefore(B, in);
            if (!open) {
                jit_ir_row_barrier(m, B);
                barrier = LLVMGetNamedFunction(m, "llvm.nvvm.barrier.sync.cnt");
                open = 1;
            }
            LLVMValueRef v = LLVMGetOperand(in, 0);
            LLVMPositionBuilderBefore(B, LLVMGetFirstInstruction(entry));
            LLVMValueRef own = LLVMBuildAlloca(B, LLVMTypeOf(v), "row.own");
            LLVMPositionBuilderBefore(B, in);
            LLVMSetOperand(in, 1, LLVMBuildSelect(B, first, LLVMGetOperand(in, 1), own, ""));
        }
    }
    LLVMDisposeBuilder(B);
}

/* runner(ctx, lane, lanes), each thread of the row on its own ctx: its
 * lanes' iterations, then the row's reductions and last values in every
 * thread's ctx, then a row barrier (the lanes' stores seen by all). */
static void every_runner(LLVMModuleRef m, jit_lane_loop *l, LLVMValueRef body, const uint8_t *kb, unsigned nf)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMValueRef fn = l->runner;
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, fn, "entry"));
    LLVMValueRef ctx = LLVMGetParam(fn, 0), lane = LLVMGetParam(fn, 1), lanes = LLVMGetParam(fn, 2);
    LLVMValueRef acc[JIT_GPU_MAX_FIELDS], n;
    LLVMValueRef lctx = jit_ir_share(m, B, body, l->st, kb, nf, ctx, lane, lanes, 1, acc, &n);
    into_cells(m, B, l, kb, nf, acc, ctx, lane, lanes, TO_EVERY, NULL);
    /* last values: the thread that ran n - 1 leaves them in the row's
     * shared ctx, from which all take them */
    LLVMValueRef tx, ty, bx, by;
    jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
    LLVMValueRef sctx = row_ctx(m, B, l, ty);
    jit_ir_leave_last(m, B, l->st, kb, nf, lctx, sctx, n, lane, lanes);
    jit_ir_row_barrier(m, B);
    LLVMBasicBlockRef take = LLVMAppendBasicBlockInContext(C, fn, "row.last");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, fn, "row.last.done");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntSGT, n, LLVMConstInt(i64, 0, 0), ""), take, done);
    LLVMPositionBuilderAtEnd(B, take);
    for (unsigned f = 0; f < nf; f++)
        if (kb[f] == CTX_PLAIN) {
            LLVMTypeRef ft = LLVMStructGetTypeAtIndex(l->st, f);
            LLVMValueRef v = LLVMBuildLoad2(B, ft, LLVMBuildStructGEP2(B, l->st, sctx, f, ""), "");
            LLVMBuildStore(B, v, LLVMBuildStructGEP2(B, l->st, ctx, f, ""));
        }
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, done);
    jit_ir_row_barrier(m, B); /* read by all before the next loop's writes */
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
}

/* The worker loop's runner with redundant rows: every thread of row
 * threadIdx.y runs the worker iterations threadIdx.y, + ntid.y, ...; the
 * block combines the reductions of the rows' first threads (the others
 * hold the same), and the first thread of the row with the last
 * iteration leaves the last values. */
static void redundant_runner(LLVMModuleRef m, jit_lane_loop *l, LLVMValueRef body, const uint8_t *kb, unsigned nf)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMValueRef fn = l->runner;
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, fn, "entry"));
    jit_ir_converge(m, B);
    LLVMValueRef sctx = LLVMGetParam(fn, 0), lin = LLVMGetParam(fn, 1), bsize = LLVMGetParam(fn, 2);
    LLVMValueRef tx, ty, bx, by;
    jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
    LLVMValueRef acc[JIT_GPU_MAX_FIELDS], n;
    LLVMValueRef lctx = jit_ir_share(m, B, body, l->st, kb, nf, sctx, ty, by, 0, acc, &n);
    /* the row's threads hold the same: its first one's count */
    LLVMValueRef leader = LLVMBuildICmp(B, LLVMIntEQ, tx, LLVMConstInt(i64, 0, 0), "");
    into_cells(m, B, l, kb, nf, acc, sctx, lin, bsize, TO_BLOCK, leader);
    jit_ir_leave_last(m, B, l->st, kb, nf, lctx, sctx, n, LLVMBuildSelect(B, leader, ty, by, ""), by);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
}

/* Each row marker of the worker body replaced by every thread's call of
 * its runner on its own ctx. */
static void every_call(LLVMModuleRef m, jit_lane_loop *l)
{
    LLVMBuilderRef B = LLVMCreateBuilderInContext(LLVMGetModuleContext(m));
    LLVMPositionBuilderBefore(B, l->call);
    LLVMValueRef tx, ty, bx, by;
    jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
    LLVMValueRef args[3] = {LLVMGetOperand(l->call, 1), tx, bx};
    LLVMBuildCall2(B, LLVMGlobalGetValueType(l->runner), l->runner, args, 3, "");
    LLVMInstructionEraseFromParent(l->call);
    l->call = NULL;
    LLVMDisposeBuilder(B);
}

/* ------------------------------------------------------------ markers */

#define LANE_MARKER "pyacc.lane_loop"
#define ROW_MARKER "pyacc.row_loop"

/* The calls in f of marker `name` (lane or row loops), up to cap: 0, or
 * 1 past cap. */
static int find_markers(LLVMModuleRef m, LLVMValueRef f, const char *name, jit_lane_loop *ll, int *nll, int cap)
{
    LLVMValueRef marker = LLVMGetNamedFunction(m, name);
    *nll = 0;
    if (!marker)
        return 0;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(f); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in))
            if (LLVMIsACallInst(in) && LLVMGetCalledValue(in) == marker) {
                if (*nll == cap)
                    return 1;
                ll[(*nll)++].call = in;
            }
    return 0;
}

/* Replaces l's marker by the leading thread's side of the handshake: the
 * ctx to shared memory, command `id` posted, the others met at a barrier,
 * its own share run, the others met again, the ctx taken back.  row: the
 * row's ctx, command and barrier, its ntid.x lanes; else the block's. */
static void lead(LLVMModuleRef m, jit_lane_loop *l, int id, int row)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderBefore(B, l->call);
    LLVMValueRef ctx = LLVMGetOperand(l->call, 1), sctx, post, lanes;
    if (row) {
        LLVMValueRef tx, ty, bx, by;
        jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
        sctx = row_ctx(m, B, l, ty);
        post = row_cmd(m, B, ty);
        lanes = bx;
    } else {
        sctx = jit_ir_generic(B, l->sglobal);
        post = jit_lane_cmd(m);
        jit_ir_block_place(m, B, NULL, &lanes);
    }
    LLVMBuildMemCpy(B, sctx, 8, ctx, 8, LLVMSizeOf(l->st));
    LLVMBuildStore(B, LLVMConstInt(i32, (unsigned)id, 0), post);
    row ? jit_ir_row_barrier(m, B) : jit_ir_barrier(m, B);
    LLVMValueRef args[3] = {sctx, LLVMConstInt(i64, 0, 0), lanes}; /* the leading thread is lane 0 */
    LLVMBuildCall2(B, LLVMGlobalGetValueType(l->runner), l->runner, args, 3, "");
    row ? jit_ir_row_barrier(m, B) : jit_ir_barrier(m, B);
    LLVMBuildMemCpy(B, ctx, 8, sctx, 8, LLVMSizeOf(l->st));
    LLVMInstructionEraseFromParent(l->call);
    l->call = NULL;
    LLVMDisposeBuilder(B);
}

/* Makes l's runner and its shared ctx (one, or with `row` one a row),
 * named after the kernel and its place; `every`: a redundant row's. */
static int make_loop(LLVMModuleRef m, jit_lane_loop *l, const char *tag, LLVMValueRef *body, const uint8_t **kb,
                     unsigned *nf, int row, int every)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), ptr = LLVMPointerTypeInContext(C, 0);
    if (jit_ir_marker(l->call, 3, body, &l->st, kb, nf))
        return 1;
    char name[96];
    snprintf(name, sizeof name, "pyacc.%s.%s", row ? "rows" : "lanes", tag);
    LLVMTypeRef params[3] = {ptr, i64, i64};
    l->runner = LLVMAddFunction(m, name, LLVMFunctionType(LLVMVoidTypeInContext(C), params, 3, 0));
    LLVMSetLinkage(l->runner, LLVMInternalLinkage);
    /* a handshake's runner: one copy, which the leading thread and its
     * warp's other threads enter from their two places and run together
     * (jit_ir_converge); inlined at both, the warp would run each copy in
     * turn.  A redundant row's runner is called from one place. */
    if (!every)
        LLVMAddAttributeAtIndex(l->runner, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(C, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
    snprintf(name, sizeof name, "pyacc.%s.ctx.%s", row ? "row" : "lane", tag);
    LLVMTypeRef t = row ? LLVMArrayType2(l->st, JIT_GPU_MAX_ROWS) : l->st;
    l->sglobal = LLVMAddGlobalInAddressSpace(m, t, name, 3);
    LLVMSetInitializer(l->sglobal, LLVMGetUndef(t));
    LLVMSetLinkage(l->sglobal, LLVMInternalLinkage);
    LLVMSetAlignment(l->sglobal, 16);
    return 0;
}

/* Whether every thread of a row may run f, whose row loops are the
 * markers' calls, redundantly (redundant_ok); PYACC_GPU_ROW_HANDSHAKE=1
 * says no always (to compare). */
static int rows_redundant(LLVMModuleRef m, LLVMValueRef f)
{
    const char *hs = getenv("PYACC_GPU_ROW_HANDSHAKE");
    return !(hs && *hs == '1') && redundant_ok(f, LLVMGetNamedFunction(m, ROW_MARKER));
}

/* The row loops of f (a worker loop's body, or a worker parallel loop's:
 * `kernel`.`lane`) made, each with its runner: run by every thread of the
 * row (*every) when f may run redundantly, else with a handshake.  0, or
 * 1 when a marker is not as the frontend makes it. */
static int row_loops(LLVMModuleRef m, LLVMValueRef f, int kernel, int lane, jit_lane_loop *rl, int *nrl, int *every)
{
    if (find_markers(m, f, ROW_MARKER, rl, nrl, JIT_GPU_MAX_LANES))
        return 1;
    *every = *nrl && rows_redundant(m, f);
    for (int r = 0; r < *nrl; r++) {
        LLVMValueRef rbody;
        const uint8_t *rkb;
        unsigned rnf;
        char tag[64];
        snprintf(tag, sizeof tag, "k%d.%d.%d", kernel, lane, r + 1);
        if (make_loop(m, &rl[r], tag, &rbody, &rkb, &rnf, 1, *every))
            return 1;
        /* a row loop's body holds no lane loops: the frontend nests two levels */
        jit_lane_loop none[1];
        int nn;
        if (find_markers(m, rbody, ROW_MARKER, none, &nn, 1) || nn || find_markers(m, rbody, LANE_MARKER, none, &nn, 1) ||
            nn)
            return 1;
        if (*every)
            every_runner(m, &rl[r], rbody, rkb, rnf);
        else
            simple_runner(m, &rl[r], rbody, rkb, rnf, 1);
    }
    if (*every) {
        first_stores(m, f);
        for (int r = 0; r < *nrl; r++)
            every_call(m, &rl[r]);
    }
    return 0;
}

int jit_gpu_lanes(LLVMModuleRef m, LLVMValueRef body, int kernel, jit_lane_loop *ll, int *nll, int cap, int *rows)
{
    *rows = 0;
    /* a worker parallel loop: its row loops in its own body */
    jit_lane_loop rl[JIT_GPU_MAX_LANES];
    int nrl, every;
    if (find_markers(m, body, ROW_MARKER, rl, &nrl, JIT_GPU_MAX_LANES))
        return 1;
    if (nrl) {
        *nll = 0;
        for (int r = 0; r < nrl; r++)
            if (!LLVMIsAFunction(LLVMGetOperand(rl[r].call, 0)))
                return 1;
        /* the rows take the loop's iterations, each thread running the
         * body; a body that may not run redundantly runs a thread an
         * iteration, its vector loops in order */
        if (!rows_redundant(m, body)) {
            for (int r = 0; r < nrl; r++)
                jit_ir_in_order(rl[r].call);
            return 0;
        }
        if (row_loops(m, body, kernel, 0, rl, &nrl, &every) || !every)
            return 1;
        *rows = JIT_GPU_ROWS_ITERATIONS;
        return 0;
    }
    if (find_markers(m, body, LANE_MARKER, ll, nll, cap))
        return 1;
    for (int i = 0; i < *nll; i++) {
        jit_lane_loop *l = &ll[i];
        char tag[64];
        LLVMValueRef lbody;
        const uint8_t *kb;
        unsigned nf;
        snprintf(tag, sizeof tag, "k%d.%d", kernel, i + 1);
        if (make_loop(m, l, tag, &lbody, &kb, &nf, 0, 0))
            return 1;
        /* the row loops in the lane loop's body, each with its runner */
        if (row_loops(m, lbody, kernel, i + 1, rl, &nrl, &every))
            return 1;
        if (every) {
            redundant_runner(m, l, lbody, kb, nf);
            *rows = JIT_GPU_ROWS_LANES;
        } else if (nrl) {
            worker_runner(m, l, lbody, kb, nf, rl, nrl);
            for (int r = 0; r < nrl; r++)
                lead(m, &rl[r], r + 1, 1);
            *rows = JIT_GPU_ROWS_LANES;
        } else {
            simple_runner(m, l, lbody, kb, nf, 0);
        }
        lead(m, l, i + 1, 0);
    }
    return 0;
}
