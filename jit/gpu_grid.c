/* gpu_grid.c - a region whose code outside its parallel loops touches
 * arrays, run on the GPU as one kernel over a grid that stays resident.
 *
 * The host cannot run such code: the arrays live in GPU memory.  So the
 * region's entry runs on the GPU, on the grid's first thread (block 0,
 * thread 0: "the master"), exactly once, as the plain Python function runs
 * it.  The other blocks run its parallel loops.  They wait for the master
 * to post a command: at a parallel loop the master copies the loop's ctx
 * into the work area and posts the loop's number; every thread of blocks
 * 1, 2, ... runs its share of the iterations (thread, thread + threads,
 * ..., as a launch of the loop would), combines its reductions across its
 * block and leaves the block's result in the work area; all meet at a
 * grid-wide barrier; then block 0 (the master and its block's other
 * threads, which ran no iterations) combines the blocks' results in block
 * order, so that a sum repeats from run to run, into the master's partial
 * slot, and the master carries on with the loop's results as the host
 * entry does after a host loop.  At the end it posts 0 and all return.
 * One launch runs the whole region, its loops with every multiprocessor.
 *
 * The master runs no iterations, so the registers its code needs are not
 * live in the loops: the kernel is bounded to GRID_THREADS threads a block
 * and GRID_BLOCKS_PER_SM blocks a multiprocessor, its loops not unrolled.
 *
 * A grid-wide barrier needs every block resident at once: the launch is
 * cooperative (runtime/gpu.c sizes the grid by the kernel's occupancy).
 * The barrier is the classic one: each block's first thread, after a block
 * barrier and a fence, counts itself in with an atomic add; the last to
 * arrive resets the count and advances a generation the others spin on
 * (volatile loads, then a fence so that what the others wrote is seen).
 * A post is cheaper than a barrier: the command, a fence, then the count
 * of posts, which each block's first thread watches.
 *
 * Work area (the launch's, zeroed before it):
 *   0   the barrier's count, 4 its generation, 8 the command, 12 the posts;
 *   64  the current loop's ctx (the largest of them), then 16 bytes for
 *       each scalar a loop updates atomically (move_cells);
 *   work_fixed  the blocks' partial results: [partial][block], 8 bytes.
 * The master's scratch (its reductions' slots) comes from the device heap:
 * pyacc_rt_scratch is malloc there, and pyacc_rt_num_threads 1.
 */
#include "jit.h"
#include "gpu_ir.h"

#include <llvm-c/Target.h>
#include <stdio.h>
#include <string.h>

#define WORK_COUNT 0
#define WORK_GEN 4
#define WORK_CMD 8
#define WORK_POSTS 12
#define WORK_CTX 64
#define NVPTX_LAYOUT "e-i64:64-i128:128-v16:16-v32:32-n16:32:64"
#define GRID_THREADS 256     /* runtime/gpu.c's: a block's threads */
#define GRID_BLOCKS_PER_SM 4 /* runtime/gpu.c's: blocks a multiprocessor */

static void bounds(LLVMModuleRef m, LLVMValueRef kfn);

typedef struct grid_loop {
    LLVMValueRef call;   /* the marker's call in the entry */
    LLVMValueRef runner; /* runner(gctx, thread, threads, work) */
    LLVMValueRef fold;   /* fold(gctx, work), NULL without reductions */
    int nparts;          /* its reductions */
    LLVMValueRef body;   /* the marker's reading (jit_ir_marker): the body, */
    LLVMTypeRef st;      /* the loop's ctx, */
    const uint8_t *kb;   /* its fields' kinds */
    unsigned nf;
} grid_loop;

static LLVMValueRef intrinsic0(LLVMModuleRef m, LLVMBuilderRef B, const char *name)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(C), NULL, 0, 0);
    LLVMValueRef f = LLVMGetNamedFunction(m, name);
    if (!f)
        f = LLVMAddFunction(m, name, fty);
    return LLVMBuildCall2(B, fty, f, NULL, 0, "");
}

static LLVMValueRef volatile_load(LLVMBuilderRef B, LLVMTypeRef t, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(B, t, p, "");
    LLVMSetVolatile(v, 1);
    return v;
}

static void volatile_store(LLVMBuilderRef B, LLVMValueRef v, LLVMValueRef p)
{
    LLVMSetVolatile(LLVMBuildStore(B, v, p), 1);
}

/* pyacc.grid.sync(work): every thread of the grid meets here. */
static LLVMValueRef grid_sync_fn(LLVMModuleRef m)
{
    LLVMValueRef fn = LLVMGetNamedFunction(m, "pyacc.grid.sync");
    if (fn)
        return fn;
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    fn = LLVMAddFunction(m, "pyacc.grid.sync", LLVMFunctionType(LLVMVoidTypeInContext(C), &ptr, 1, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, fn, "entry");
    LLVMBasicBlockRef first = LLVMAppendBasicBlockInContext(C, fn, "first");
    LLVMBasicBlockRef lastin = LLVMAppendBasicBlockInContext(C, fn, "last.in");
    LLVMBasicBlockRef spin = LLVMAppendBasicBlockInContext(C, fn, "spin");
    LLVMBasicBlockRef seen = LLVMAppendBasicBlockInContext(C, fn, "seen");
    LLVMBasicBlockRef out = LLVMAppendBasicBlockInContext(C, fn, "out");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef work = LLVMGetParam(fn, 0);
    LLVMValueRef lin, bsize;
    jit_ir_block_place(m, B, &lin, &bsize);
    jit_ir_barrier(m, B); /* the block's threads are done with what came before */
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, lin, LLVMConstInt(i64, 0, 0), ""), first, out);
    LLVMPositionBuilderAtEnd(B, first);
    LLVMValueRef countp = jit_ir_byte_gep(B, C, work, WORK_COUNT), genp = jit_ir_byte_gep(B, C, work, WORK_GEN);
    /* the generation before this block counts itself in: it cannot move
     * until every block has */
    LLVMValueRef gen = volatile_load(B, i32, genp);
    intrinsic0(m, B, "llvm.nvvm.membar.gl"); /* the block's writes, before it counts in */
    LLVMValueRef blocks = jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.nctaid.x");
    LLVMValueRef old = LLVMBuildAtomicRMW(B, LLVMAtomicRMWBinOpAdd, countp, LLVMConstInt(i32, 1, 0),
                                          LLVMAtomicOrderingMonotonic, 0);
    LLVMValueRef is_last = LLVMBuildICmp(B, LLVMIntEQ, old, LLVMBuildSub(B, blocks, LLVMConstInt(i32, 1, 0), ""), "");
    LLVMBuildCondBr(B, is_last, lastin, spin);
    LLVMPositionBuilderAtEnd(B, lastin); /* everyone is in: reset, then let them go */
    volatile_store(B, LLVMConstInt(i32, 0, 0), countp);
    intrinsic0(m, B, "llvm.nvvm.membar.gl");
    LLVMBuildAtomicRMW(B, LLVMAtomicRMWBinOpAdd, genp, LLVMConstInt(i32, 1, 0), LLVMAtomicOrderingMonotonic, 0);
    LLVMBuildBr(B, seen);
    LLVMPositionBuilderAtEnd(B, spin);
    LLVMValueRef now = volatile_load(B, i32, genp);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, now, gen, ""), spin, seen);
    LLVMPositionBuilderAtEnd(B, seen);
    intrinsic0(m, B, "llvm.nvvm.membar.gl"); /* what the others wrote, seen from here on */
    LLVMBuildBr(B, out);
    LLVMPositionBuilderAtEnd(B, out);
    jit_ir_barrier(m, B);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    return fn;
}

/* The master posts command cmd (a loop's number, 0 to stop): the command,
 * then (once it and the loop's ctx are out) the count of posts, which the
 * others watch. */
static void post(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef work, unsigned cmd)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C);
    volatile_store(B, LLVMConstInt(i32, cmd, 0), jit_ir_byte_gep(B, C, work, WORK_CMD));
    intrinsic0(m, B, "llvm.nvvm.membar.gl");
    LLVMValueRef posts = jit_ir_byte_gep(B, C, work, WORK_POSTS);
    volatile_store(B, LLVMBuildAdd(B, volatile_load(B, i32, posts), LLVMConstInt(i32, 1, 0), ""), posts);
}

/* pyacc.grid.wait(work, seen) -> cmd: the threads other than the master
 * wait for post number seen + 1 (each sees every post: the master posts
 * again only after the barrier that ends the loop posted).  A block's
 * first thread watches for it and lets the block go, except in block 0,
 * whose first thread is the master: there each thread watches. */
static LLVMValueRef grid_wait_fn(LLVMModuleRef m)
{
    LLVMValueRef fn = LLVMGetNamedFunction(m, "pyacc.grid.wait");
    if (fn)
        return fn;
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    LLVMTypeRef params[2] = {ptr, i32};
    fn = LLVMAddFunction(m, "pyacc.grid.wait", LLVMFunctionType(i32, params, 2, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, fn, "entry");
    LLVMBasicBlockRef spin = LLVMAppendBasicBlockInContext(C, fn, "spin");
    LLVMBasicBlockRef seen = LLVMAppendBasicBlockInContext(C, fn, "seen");
    LLVMBasicBlockRef together = LLVMAppendBasicBlockInContext(C, fn, "together");
    LLVMBasicBlockRef out = LLVMAppendBasicBlockInContext(C, fn, "out");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef work = LLVMGetParam(fn, 0), last = LLVMGetParam(fn, 1);
    LLVMValueRef lin, bsize;
    jit_ir_block_place(m, B, &lin, &bsize);
    LLVMValueRef block0 = LLVMBuildICmp(B, LLVMIntEQ, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ctaid.x"),
                                        LLVMConstInt(i32, 0, 0), "");
    LLVMValueRef watcher = LLVMBuildOr(B, block0, LLVMBuildICmp(B, LLVMIntEQ, lin, LLVMConstInt(i64, 0, 0), ""), "");
    LLVMValueRef posts = jit_ir_byte_gep(B, C, work, WORK_POSTS);
    LLVMBuildCondBr(B, watcher, spin, together);
    LLVMPositionBuilderAtEnd(B, spin);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, volatile_load(B, i32, posts), last, ""), spin, seen);
    LLVMPositionBuilderAtEnd(B, seen);
    intrinsic0(m, B, "llvm.nvvm.membar.gl"); /* the command and the ctx, seen from here on */
    LLVMBuildCondBr(B, block0, out, together);
    LLVMPositionBuilderAtEnd(B, together);
    jit_ir_barrier(m, B);
    LLVMBuildBr(B, out);
    LLVMPositionBuilderAtEnd(B, out);
    LLVMBuildRet(B, volatile_load(B, i32, jit_ir_byte_gep(B, C, work, WORK_CMD)));
    LLVMDisposeBuilder(B);
    return fn;
}

/* The shared-memory word where the master keeps the work area's address
 * for its handshakes (the entry takes no such argument). */
static LLVMValueRef work_slot(LLVMModuleRef m)
{
    LLVMValueRef g = LLVMGetNamedGlobal(m, "pyacc.grid.work");
    if (!g) {
        LLVMTypeRef ptr = LLVMPointerTypeInContext(LLVMGetModuleContext(m), 0);
        g = LLVMAddGlobalInAddressSpace(m, ptr, "pyacc.grid.work", 3);
        LLVMSetInitializer(g, LLVMGetUndef(ptr));
        LLVMSetLinkage(g, LLVMInternalLinkage);
        LLVMSetAlignment(g, 8);
    }
    return g;
}

/* runner(gctx, thread, threads, work), run by the blocks after the
 * first: this thread's iterations of loop l, its block's reductions into
 * the work area, then the grid's barrier. */
static void grid_runner(LLVMModuleRef m, grid_loop *l, const char *name, int64_t part_base)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), ptr = LLVMPointerTypeInContext(C, 0);
    LLVMValueRef body = l->body;
    const uint8_t *kb = l->kb;
    unsigned nf = l->nf;
    LLVMTypeRef params[4] = {ptr, i64, i64, ptr};
    LLVMValueRef fn = LLVMAddFunction(m, name, LLVMFunctionType(LLVMVoidTypeInContext(C), params, 4, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    l->runner = fn;
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, fn, "entry"));
    LLVMValueRef gctx = LLVMGetParam(fn, 0), thread = LLVMGetParam(fn, 1), threads = LLVMGetParam(fn, 2);
    LLVMValueRef work = LLVMGetParam(fn, 3);
    /* not unrolled: an unrolled body's registers would cost the loop
     * threads, and stores the next iteration's loads may alias keep the
     * copies in order anyway */
    LLVMValueRef acc[JIT_GPU_MAX_FIELDS], n;
    LLVMValueRef lctx = jit_ir_share(m, B, body, l->st, kb, nf, gctx, thread, threads, 0, acc, &n);
    jit_ir_leave_last(m, B, l->st, kb, nf, lctx, gctx, n, thread, threads);
    LLVMValueRef lin, bsize;
    jit_ir_block_place(m, B, &lin, &bsize);
    LLVMValueRef block = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ctaid.x"), i64, "block");
    LLVMValueRef blocks = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.nctaid.x"), i64, "blocks");
    LLVMValueRef parts_at = jit_ir_byte_gep(B, C, work, part_base);
    /* the block's result of each reduction: parts[p][block] */
    l->nparts = 0;
    for (unsigned f = 0; f < nf; f++) {
        if (!acc[f])
            continue;
        LLVMTypeRef t = jit_ir_partial_type(C, kb[f], kb[nf + f]);
        LLVMBasicBlockRef after;
        LLVMValueRef w = jit_ir_block_lead(m, B, fn, kb[f], kb[nf + f], LLVMBuildLoad2(B, t, acc[f], ""), lin, bsize,
                                           &after);
        LLVMValueRef at = LLVMBuildAdd(B, LLVMBuildMul(B, LLVMConstInt(i64, (unsigned)l->nparts, 0), blocks, ""), block, "");
        LLVMBuildStore(B, w, LLVMBuildInBoundsGEP2(B, i64, parts_at, &at, 1, ""));
        jit_ir_lead_done(B, after);
        l->nparts++;
    }
    LLVMValueRef sync = grid_sync_fn(m);
    LLVMBuildCall2(B, LLVMGlobalGetValueType(sync), sync, &work, 1, "");
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    if (!l->nparts)
        return;
    /* fold(gctx, work), run by the first block once the others are done:
     * the blocks' results of each reduction in block order (so that a sum
     * repeats from run to run), into the master's slot */
    char fname[80];
    snprintf(fname, sizeof fname, "%s.fold", name);
    LLVMTypeRef fparams[2] = {ptr, ptr};
    fn = LLVMAddFunction(m, fname, LLVMFunctionType(LLVMVoidTypeInContext(C), fparams, 2, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    l->fold = fn;
    B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, fn, "entry"));
    gctx = LLVMGetParam(fn, 0);
    work = LLVMGetParam(fn, 1);
    jit_ir_block_place(m, B, &lin, &bsize);
    blocks = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.nctaid.x"), i64, "blocks");
    parts_at = jit_ir_byte_gep(B, C, work, part_base);
    int np = 0;
    for (unsigned f = 0; f < nf; f++) {
        if (!acc[f])
            continue;
        LLVMTypeRef t = jit_ir_partial_type(C, kb[f], kb[nf + f]);
        LLVMBasicBlockRef from = LLVMGetInsertBlock(B);
        LLVMValueRef start = LLVMBuildAdd(B, lin, LLVMConstInt(i64, 1, 0), ""); /* block 0 ran no iterations */
        LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(C, fn, "fold.loop");
        LLVMBasicBlockRef take = LLVMAppendBasicBlockInContext(C, fn, "fold.take");
        LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, fn, "fold.all");
        LLVMBuildBr(B, loop);
        LLVMPositionBuilderAtEnd(B, loop);
        LLVMValueRef b = LLVMBuildPhi(B, i64, "b"), v = LLVMBuildPhi(B, t, "v");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntULT, b, blocks, ""), take, done);
        LLVMPositionBuilderAtEnd(B, take);
        LLVMValueRef at = LLVMBuildAdd(B, LLVMBuildMul(B, LLVMConstInt(i64, (unsigned)np, 0), blocks, ""), b, "");
        LLVMValueRef part = LLVMBuildLoad2(B, t, LLVMBuildInBoundsGEP2(B, i64, parts_at, &at, 1, ""), "");
        LLVMValueRef v2 = jit_ir_combine(B, kb[nf + f], t, v, part);
        LLVMValueRef b2 = LLVMBuildAdd(B, b, bsize, "");
        LLVMBuildBr(B, loop);
        LLVMValueRef bv[2] = {start, b2};
        LLVMValueRef vv[2] = {jit_ir_identity(kb[f], kb[nf + f], t), v2};
        LLVMBasicBlockRef bb[2] = {from, take};
        LLVMAddIncoming(b, bv, bb, 2);
        LLVMAddIncoming(v, vv, bb, 2);
        LLVMPositionBuilderAtEnd(B, done);
        LLVMBasicBlockRef after;
        LLVMValueRef w = jit_ir_block_lead(m, B, fn, kb[f], kb[nf + f], v, lin, bsize, &after);
        LLVMValueRef cell = LLVMBuildLoad2(B, ptr, LLVMBuildStructGEP2(B, l->st, gctx, f, ""), "");
        LLVMBuildStore(B, jit_ir_combine(B, kb[nf + f], t, LLVMBuildLoad2(B, t, cell, ""), w), cell);
        jit_ir_lead_done(B, after);
        np++;
    }
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
}

/* Whether the master's ctx for loop l can be handed to other threads: no
 * field may point at what only the host can follow.  (Its atomic scalars
 * point at the master's variables: move_cells puts those in the work
 * area.) */
static const char *unshareable(const grid_loop *l)
{
    for (unsigned f = 0; f < l->nf; f++) {
        if (l->kb[f] == CTX_UNSUPPORTED)
            return "a loop shares a value a GPU launch cannot move";
    }
    return NULL;
}

/* The master's variables a loop updates atomically (its ctx's cell
 * fields point at them): in the master's own memory no other thread could
 * reach them, so each moves to 16 bytes of the work area from *fixed on.
 * 0, or 1 refused (why). */
static int move_cells(LLVMModuleRef m, LLVMValueRef entry, const grid_loop *loops, int nl, LLVMTargetDataRef dl,
                      int64_t *fixed, char *why, size_t whylen)
{
    LLVMValueRef cells[JIT_GPU_MAX_FIELDS];
    int nc = 0;
    for (int i = 0; i < nl; i++) {
        LLVMValueRef ctx = LLVMGetOperand(loops[i].call, 1);
        const uint8_t *kb = loops[i].kb;
        for (unsigned f = 0; f < loops[i].nf; f++) {
            if ((kb[f] & CTX_CLASS_MASK) != CTX_CELL)
                continue;
            int found = 0;
            for (LLVMUseRef u = LLVMGetFirstUse(ctx); u; u = LLVMGetNextUse(u)) {
                LLVMValueRef g = LLVMGetUser(u);
                if (!LLVMIsAGetElementPtrInst(g) || LLVMGetNumOperands(g) != 3 ||
                    !LLVMIsAConstantInt(LLVMGetOperand(g, 2)) || LLVMConstIntGetZExtValue(LLVMGetOperand(g, 2)) != f)
                    continue;
                for (LLVMUseRef w = LLVMGetFirstUse(g); w; w = LLVMGetNextUse(w)) {
                    LLVMValueRef s = LLVMGetUser(w);
                    if (!LLVMIsAStoreInst(s) || LLVMGetOperand(s, 1) != g)
                        continue;
                    LLVMValueRef v = LLVMGetOperand(s, 0);
                    if (!LLVMIsAAllocaInst(v) || LLVMABISizeOfType(dl, LLVMGetAllocatedType(v)) > 16) {
                        snprintf(why, whylen, "a loop updates atomically a value the GPU cannot share");
                        return 1;
                    }
                    int seen = 0;
                    for (int k = 0; k < nc; k++)
                        seen |= cells[k] == v;
                    if (!seen && nc == JIT_GPU_MAX_FIELDS) {
                        snprintf(why, whylen, "its loops update too many scalars atomically");
                        return 1;
                    }
                    if (!seen)
                        cells[nc++] = v;
                    found = 1;
                }
            }
            if (!found) {
                snprintf(why, whylen, "its loops' contexts are not laid out as expected");
                return 1;
            }
        }
    }
    if (!nc)
        return 0;
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderBefore(B, LLVMGetFirstInstruction(LLVMGetEntryBasicBlock(entry)));
    LLVMValueRef work = LLVMBuildLoad2(B, ptr, jit_ir_generic(B, work_slot(m)), "work");
    for (int k = 0; k < nc; k++) {
        LLVMValueRef at = jit_ir_byte_gep(B, C, work, *fixed + 16 * k);
        LLVMReplaceAllUsesWith(cells[k], at);
        LLVMInstructionEraseFromParent(cells[k]);
    }
    LLVMDisposeBuilder(B);
    *fixed += 16 * nc;
    return 0;
}

/* The master's side of loop i's handshake, in place of its marker: the
 * ctx to the work area, the command posted, the others' run of the loop
 * waited for at a barrier, then (with reductions) the first block's
 * fold, and the ctx back with the loop's results. */
static void handshake(LLVMModuleRef m, LLVMBuilderRef B, const grid_loop *l, int i)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    LLVMValueRef ctx = LLVMGetOperand(l->call, 1);
    LLVMPositionBuilderBefore(B, l->call);
    LLVMValueRef work = LLVMBuildLoad2(B, ptr, jit_ir_generic(B, work_slot(m)), "work");
    LLVMValueRef gctx = jit_ir_byte_gep(B, C, work, WORK_CTX);
    LLVMBuildMemCpy(B, gctx, 16, ctx, 8, LLVMSizeOf(l->st));
    post(m, B, work, (unsigned)(i + 1));
    LLVMValueRef sync = grid_sync_fn(m);
    LLVMBuildCall2(B, LLVMGlobalGetValueType(sync), sync, &work, 1, "");
    if (l->fold) {
        LLVMValueRef a[2] = {gctx, work};
        LLVMBuildCall2(B, LLVMGlobalGetValueType(l->fold), l->fold, a, 2, "");
    }
    LLVMBuildMemCpy(B, ctx, 8, gctx, 16, LLVMSizeOf(l->st));
    LLVMInstructionEraseFromParent(l->call);
}

/* Each call of marker `name` (a lane or row loop) made a call of its
 * body over all its iterations, in order.  0, or 1 when one is not as the
 * frontend makes it. */
static int in_order(LLVMModuleRef m, const char *name)
{
    LLVMValueRef lanes = LLVMGetNamedFunction(m, name);
    while (lanes && LLVMGetFirstUse(lanes)) {
        LLVMValueRef call = LLVMGetUser(LLVMGetFirstUse(lanes));
        if (!LLVMIsACallInst(call) || !LLVMIsAFunction(LLVMGetOperand(call, 0)))
            return 1;
        jit_ir_in_order(call);
    }
    return 0;
}

int jit_gpu_grid(LLVMModuleRef m, LLVMValueRef entry, jit_gpu_kernel *k, char *why, size_t whylen)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    /* a loop meant to spread over a gang's block (a lane loop) or a
     * worker's row runs in order in the thread running its gang loop's
     * iteration: the grid's blocks are not gangs here.  Its ctx's one
     * slot a reduction starts at the identity; the body adds the
     * iterations' values to it. */
    if (in_order(m, "pyacc.lane_loop") || in_order(m, "pyacc.row_loop")) {
        snprintf(why, whylen, "its lane loops are not laid out as expected");
        return 1;
    }
    LLVMValueRef marker = LLVMGetNamedFunction(m, "pyacc.parallel_loop");
    grid_loop loops[JIT_GPU_MAX_KERNELS];
    int nl = 0;
    for (LLVMUseRef u = marker ? LLVMGetFirstUse(marker) : NULL; u; u = LLVMGetNextUse(u)) {
        LLVMValueRef call = LLVMGetUser(u);
        if (!LLVMIsACallInst(call) || LLVMGetInstructionParent(call) == NULL ||
            LLVMGetBasicBlockParent(LLVMGetInstructionParent(call)) != entry) {
            snprintf(why, whylen, "its parallel loops are not laid out as expected");
            return 1;
        }
        if (nl == JIT_GPU_MAX_KERNELS) {
            snprintf(why, whylen, "it has too many parallel loops");
            return 1;
        }
        loops[nl++].call = call;
    }
    if (nl == 0) {
        snprintf(why, whylen, "it has no parallel loop");
        return 1;
    }
    /* the runners, and the work area's layout */
    LLVMTargetDataRef dl = LLVMCreateTargetData(NVPTX_LAYOUT);
    int64_t ctx_max = 0;
    for (int i = 0; i < nl; i++) {
        grid_loop *l = &loops[i];
        if (jit_ir_marker(l->call, 7, &l->body, &l->st, &l->kb, &l->nf)) {
            LLVMDisposeTargetData(dl);
            snprintf(why, whylen, "its loops' contexts are not laid out as expected");
            return 1;
        }
        int64_t size = (int64_t)LLVMABISizeOfType(dl, loops[i].st);
        ctx_max = size > ctx_max ? size : ctx_max;
        const char *no = unshareable(&loops[i]);
        if (no) {
            LLVMDisposeTargetData(dl);
            snprintf(why, whylen, "%s", no);
            return 1;
        }
    }
    k->work_fixed = WORK_CTX + ((ctx_max + 15) & ~(int64_t)15);
    int moved = move_cells(m, entry, loops, nl, dl, &k->work_fixed, why, whylen);
    LLVMDisposeTargetData(dl);
    if (moved)
        return 1;
    k->work_parts = 0;
    for (int i = 0; i < nl; i++) {
        char name[64];
        snprintf(name, sizeof name, "pyacc.grid.run.%d", i + 1);
        loops[i].fold = NULL;
        grid_runner(m, &loops[i], name, k->work_fixed);
        k->work_parts = loops[i].nparts > k->work_parts ? loops[i].nparts : k->work_parts;
    }
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    for (int i = 0; i < nl; i++)
        handshake(m, B, &loops[i], i);
    /* the kernel: the master (block 0's first thread) runs the entry; the
     * other blocks run its loops, block 0 folds their reductions */
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(C, 0);
    LLVMTypeRef params[3] = {ptr, ptr, ptr};
    LLVMValueRef kfn = LLVMAddFunction(m, k->name, LLVMFunctionType(LLVMVoidTypeInContext(C), params, 3, 0));
    LLVMSetFunctionCallConv(kfn, LLVMPTXKernelCallConv);
    LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(C, kfn, "entry");
    LLVMBasicBlockRef master = LLVMAppendBasicBlockInContext(C, kfn, "master");
    LLVMBasicBlockRef helpers = LLVMAppendBasicBlockInContext(C, kfn, "helpers");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, kfn, "done");
    LLVMPositionBuilderAtEnd(B, start);
    LLVMValueRef work = LLVMGetParam(kfn, 2);
    LLVMValueRef lin, bsize;
    jit_ir_block_place(m, B, &lin, &bsize);
    LLVMValueRef block = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ctaid.x"), i64, "");
    LLVMValueRef blocks = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.nctaid.x"), i64, "");
    LLVMValueRef one = LLVMConstInt(i64, 1, 0), zero = LLVMConstInt(i64, 0, 0);
    /* the loops' threads: blocks 1 ... */
    LLVMValueRef thread = LLVMBuildAdd(B, LLVMBuildMul(B, LLVMBuildSub(B, block, one, ""), bsize, ""), lin, "thread");
    LLVMValueRef threads = LLVMBuildMul(B, LLVMBuildSub(B, blocks, one, ""), bsize, "threads");
    LLVMValueRef first = LLVMBuildICmp(B, LLVMIntEQ, block, zero, "");
    LLVMBuildCondBr(B, LLVMBuildAnd(B, first, LLVMBuildICmp(B, LLVMIntEQ, lin, zero, ""), ""), master, helpers);
    LLVMPositionBuilderAtEnd(B, master);
    LLVMBuildStore(B, work, jit_ir_generic(B, work_slot(m)));
    LLVMValueRef args[2] = {LLVMGetParam(kfn, 0), LLVMGetParam(kfn, 1)};
    LLVMBuildCall2(B, LLVMGlobalGetValueType(entry), entry, args, 2, ""); /* its status is in err */
    post(m, B, work, 0);
    LLVMBuildBr(B, done);
    LLVMPositionBuilderAtEnd(B, helpers);
    LLVMValueRef seen = LLVMBuildPhi(B, i32, "seen");
    LLVMValueRef wait = grid_wait_fn(m), wa[2] = {work, seen};
    LLVMValueRef cmd = LLVMBuildCall2(B, LLVMGlobalGetValueType(wait), wait, wa, 2, "cmd");
    LLVMValueRef next = LLVMBuildAdd(B, seen, LLVMConstInt(i32, 1, 0), "");
    LLVMValueRef sync = grid_sync_fn(m);
    LLVMValueRef sw = LLVMBuildSwitch(B, cmd, done, (unsigned)nl);
    LLVMValueRef gctx = NULL;
    for (int i = 0; i < nl; i++) {
        LLVMBasicBlockRef help = LLVMAppendBasicBlockInContext(C, kfn, "help");
        LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(C, kfn, "help.run");
        LLVMBasicBlockRef fold = LLVMAppendBasicBlockInContext(C, kfn, "help.fold");
        LLVMAddCase(sw, LLVMConstInt(i32, (unsigned)(i + 1), 0), help);
        LLVMPositionBuilderAtEnd(B, help);
        gctx = jit_ir_byte_gep(B, C, work, WORK_CTX);
        LLVMBuildCondBr(B, first, fold, run);
        LLVMPositionBuilderAtEnd(B, run);
        LLVMValueRef a[4] = {gctx, thread, threads, work};
        LLVMBuildCall2(B, LLVMGlobalGetValueType(loops[i].runner), loops[i].runner, a, 4, "");
        LLVMBuildBr(B, helpers);
        LLVMValueRef nv = next;
        LLVMBasicBlockRef nb = run;
        LLVMAddIncoming(seen, &nv, &nb, 1);
        LLVMPositionBuilderAtEnd(B, fold); /* block 0: with the master, after the others */
        LLVMBuildCall2(B, LLVMGlobalGetValueType(sync), sync, &work, 1, "");
        if (loops[i].fold) {
            LLVMValueRef f[2] = {gctx, work};
            LLVMBuildCall2(B, LLVMGlobalGetValueType(loops[i].fold), loops[i].fold, f, 2, "");
        }
        LLVMBuildBr(B, helpers);
        nb = LLVMGetInsertBlock(B);
        LLVMAddIncoming(seen, &nv, &nb, 1);
    }
    LLVMValueRef zero32 = LLVMConstInt(i32, 0, 0);
    LLVMAddIncoming(seen, &zero32, &start, 1);
    LLVMPositionBuilderAtEnd(B, done);
    LLVMBuildRetVoid(B);
    LLVMDisposeBuilder(B);
    bounds(m, kfn);
    return 0;
}

/* Blocks of GRID_THREADS, GRID_BLOCKS_PER_SM of them resident on a
 * multiprocessor at least: ptxas keeps the registers a thread takes (the
 * master's code counts for all) within that, so that the loops have
 * enough threads a multiprocessor to keep memory busy (runtime/gpu.c
 * launches such a grid). */
static void bounds(LLVMModuleRef m, LLVMValueRef kfn)
{
    jit_ir_annotate(m, kfn, "maxntidx", GRID_THREADS);
    jit_ir_annotate(m, kfn, "minctasm", GRID_BLOCKS_PER_SM);
}

/* The device forms of what an entry asks the runtime for. */
int jit_gpu_entry_runtime(LLVMModuleRef m, LLVMValueRef f, const char *name)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), ptr = LLVMPointerTypeInContext(C, 0);
    int scratch = strcmp(name, "pyacc_rt_scratch") == 0, release = strcmp(name, "pyacc_rt_scratch_free") == 0;
    int threads = strcmp(name, "pyacc_rt_num_threads") == 0;
    if (!scratch && !release && !threads)
        return 0;
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderAtEnd(B, LLVMAppendBasicBlockInContext(C, f, "entry"));
    LLVMSetLinkage(f, LLVMInternalLinkage);
    if (threads) { /* one thread: one slot a reduction */
        LLVMBuildRet(B, LLVMConstInt(LLVMGetReturnType(LLVMGlobalGetValueType(f)), 1, 0));
    } else if (scratch) { /* the device heap; never 0 bytes, whose NULL would read as no memory */
        LLVMTypeRef fty = LLVMFunctionType(ptr, &i64, 1, 0);
        LLVMValueRef mf = LLVMGetNamedFunction(m, "malloc");
        if (!mf)
            mf = LLVMAddFunction(m, "malloc", fty);
        LLVMValueRef n = LLVMGetParam(f, 0), one = LLVMConstInt(i64, 1, 0);
        n = LLVMBuildSelect(B, LLVMBuildICmp(B, LLVMIntULT, n, one, ""), one, n, "");
        LLVMBuildRet(B, LLVMBuildCall2(B, fty, mf, &n, 1, ""));
    } else {
        LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(C), &ptr, 1, 0);
        LLVMValueRef ff = LLVMGetNamedFunction(m, "free");
        if (!ff)
            ff = LLVMAddFunction(m, "free", fty);
        LLVMValueRef p = LLVMGetParam(f, 0);
        LLVMBuildCall2(B, fty, ff, &p, 1, "");
        LLVMBuildRetVoid(B);
    }
    LLVMDisposeBuilder(B);
    return 1;
}
