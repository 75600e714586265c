/* gpu_ir.c - the kernel IR pieces gpu_ir.h lists. */
#include "gpu_ir.h"
#include "jit.h"

#include <llvm-c/DebugInfo.h>
#include <string.h>

/* A partial result's number type in the device module: rt.h's
 * RT_CTX_NUM_* (high bits of the second kind byte) and its size. */
LLVMTypeRef jit_ir_partial_type(LLVMContextRef C, uint8_t kind, uint8_t aux)
{
    int bytes = kind & CTX_SIZE_MASK, num = aux >> 4;
    if (num == CTX_NUM_FLOAT)
        return bytes == 4 ? LLVMFloatTypeInContext(C) : LLVMDoubleTypeInContext(C);
    return LLVMIntTypeInContext(C, (unsigned)(8 * bytes));
}

/* a op b for partial results (ops as rt.h lists them); max and min keep
 * the first of equals, as Python's do, and NaN where the host keeps it. */
LLVMValueRef jit_ir_combine(LLVMBuilderRef B, uint8_t aux, LLVMTypeRef t, LLVMValueRef a, LLVMValueRef b)
{
    int op = aux & 0x0f, num = aux >> 4, isf = num == CTX_NUM_FLOAT;
    if (num == CTX_NUM_BOOL) { /* 0 or 1 in a byte: + is or, * is and */
        static const int as_or[10] = {0, 1, 0, 1, 0, 0, 1, 0, 0, 1};
        if (op == 7)
            return LLVMBuildXor(B, a, b, "");
        return as_or[op] ? LLVMBuildOr(B, a, b, "") : LLVMBuildAnd(B, a, b, "");
    }
    switch (op) {
    case 1: return isf ? LLVMBuildFAdd(B, a, b, "") : LLVMBuildAdd(B, a, b, "");
    case 2: return isf ? LLVMBuildFMul(B, a, b, "") : LLVMBuildMul(B, a, b, "");
    case 3:
    case 4: {
        int mx = op == 3, sgn = num == CTX_NUM_INT;
        LLVMValueRef better =
            isf ? LLVMBuildFCmp(B, mx ? LLVMRealOGT : LLVMRealOLT, b, a, "")
                : LLVMBuildICmp(B, mx ? (sgn ? LLVMIntSGT : LLVMIntUGT) : (sgn ? LLVMIntSLT : LLVMIntULT), b, a, "");
        return LLVMBuildSelect(B, better, b, a, "");
    }
    case 5: return LLVMBuildAnd(B, a, b, "");
    case 6: return LLVMBuildOr(B, a, b, "");
    case 7: return LLVMBuildXor(B, a, b, "");
    case 8:
    case 9: {
        LLVMValueRef z = LLVMConstNull(t);
        LLVMValueRef ta = isf ? LLVMBuildFCmp(B, LLVMRealUNE, a, z, "") : LLVMBuildICmp(B, LLVMIntNE, a, z, "");
        LLVMValueRef tb = isf ? LLVMBuildFCmp(B, LLVMRealUNE, b, z, "") : LLVMBuildICmp(B, LLVMIntNE, b, z, "");
        LLVMValueRef r = op == 8 ? LLVMBuildAnd(B, ta, tb, "") : LLVMBuildOr(B, ta, tb, "");
        return isf ? LLVMBuildUIToFP(B, r, t, "") : LLVMBuildZExt(B, r, t, "");
    }
    default: return a;
    }
}

/* The value a thread's accumulator starts at: what op leaves unchanged. */
LLVMValueRef jit_ir_identity(uint8_t kind, uint8_t aux, LLVMTypeRef t)
{
    int op = aux & 0x0f, num = aux >> 4, bits = 8 * (kind & CTX_SIZE_MASK);
    if (num == CTX_NUM_FLOAT) {
        switch (op) {
        case 1: return LLVMConstReal(t, -0.0); /* x + -0.0 is x, -0.0 included */
        case 2: case 8: return LLVMConstReal(t, 1.0);
        case 3: return LLVMConstReal(t, -__builtin_inf());
        case 4: return LLVMConstReal(t, __builtin_inf());
        default: return LLVMConstReal(t, 0.0);
        }
    }
    if (num == CTX_NUM_BOOL) /* + is or, * is and, max or, min and */
        return LLVMConstInt(t, op == 2 || op == 4 || op == 5 || op == 8, 0);
    unsigned long long ones = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
    int sgn = num == CTX_NUM_INT;
    switch (op) {
    case 2: case 8: return LLVMConstInt(t, 1, 0);
    case 3: return LLVMConstInt(t, sgn ? 1ULL << (bits - 1) : 0, 0);           /* the smallest */
    case 4: return LLVMConstInt(t, sgn ? ones >> 1 : ones, 0);                 /* the largest */
    case 5: return LLVMConstInt(t, ones, 0);
    default: return LLVMConstInt(t, 0, 0);
    }
}

LLVMValueRef jit_ir_sreg(LLVMModuleRef m, LLVMBuilderRef B, const char *name)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), fty = LLVMFunctionType(i32, NULL, 0, 0);
    LLVMValueRef f = LLVMGetNamedFunction(m, name);
    if (!f)
        f = LLVMAddFunction(m, name, fty);
    return LLVMBuildCall2(B, fty, f, NULL, 0, "");
}

/* A call of intrinsic `name`, void(i32), on the constant v. */
static void sync_call(LLVMModuleRef m, LLVMBuilderRef B, const char *name, unsigned v)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C);
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(C), &i32, 1, 0);
    LLVMValueRef f = LLVMGetNamedFunction(m, name);
    if (!f)
        f = LLVMAddFunction(m, name, fty);
    LLVMValueRef arg = LLVMConstInt(i32, v, 0);
    LLVMBuildCall2(B, fty, f, &arg, 1, "");
}

/* barrier.sync 0, not bar.sync (.aligned): a kernel with lane loops has
 * its gang's thread and the others meet at different barriers. */
void jit_ir_barrier(LLVMModuleRef m, LLVMBuilderRef B) { sync_call(m, B, "llvm.nvvm.barrier.sync", 0); }

LLVMValueRef jit_ir_byte_gep(LLVMBuilderRef B, LLVMContextRef C, LLVMValueRef p, int64_t off)
{
    LLVMValueRef o = LLVMConstInt(LLVMInt64TypeInContext(C), (unsigned long long)off, 0);
    return LLVMBuildInBoundsGEP2(B, LLVMInt8TypeInContext(C), p, &o, 1, "");
}

/* v from the lane `off` places up the warp (shfl.sync.down over the full
 * warp: every lane takes part), or with `idx` from lane `off`, for any
 * partial type: 32-bit pieces. */
static LLVMValueRef shuffle(LLVMModuleRef m, LLVMBuilderRef B, LLVMTypeRef t, LLVMValueRef v, int off, int idx)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), f32 = LLVMFloatTypeInContext(C);
    LLVMTypeKind tk = LLVMGetTypeKind(t);
    int isf32 = tk == LLVMFloatTypeKind;
    const char *name = idx ? (isf32 ? "llvm.nvvm.shfl.sync.idx.f32" : "llvm.nvvm.shfl.sync.idx.i32")
                           : (isf32 ? "llvm.nvvm.shfl.sync.down.f32" : "llvm.nvvm.shfl.sync.down.i32");
    LLVMTypeRef pt = isf32 ? f32 : i32;
    LLVMTypeRef ps[4] = {i32, pt, i32, i32};
    LLVMTypeRef fty = LLVMFunctionType(pt, ps, 4, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(m, name);
    if (!fn)
        fn = LLVMAddFunction(m, name, fty);
    LLVMValueRef mask = LLVMConstInt(i32, 0xffffffffu, 0), o = LLVMConstInt(i32, (unsigned)off, 0);
    LLVMValueRef clamp = LLVMConstInt(i32, 31, 0);
    if (isf32) {
        LLVMValueRef a[4] = {mask, v, o, clamp};
        return LLVMBuildCall2(B, fty, fn, a, 4, "");
    }
    unsigned bits = tk == LLVMDoubleTypeKind ? 64 : LLVMGetIntTypeWidth(t);
    LLVMTypeRef it = LLVMIntTypeInContext(C, bits);
    LLVMValueRef x = tk == LLVMDoubleTypeKind ? LLVMBuildBitCast(B, v, it, "") : v;
    if (bits <= 32) {
        LLVMValueRef a[4] = {mask, bits < 32 ? LLVMBuildZExt(B, x, i32, "") : x, o, clamp};
        LLVMValueRef r = LLVMBuildCall2(B, fty, fn, a, 4, "");
        return bits < 32 ? LLVMBuildTrunc(B, r, t, "") : r;
    }
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMValueRef lo = LLVMBuildTrunc(B, x, i32, "");
    LLVMValueRef hi = LLVMBuildTrunc(B, LLVMBuildLShr(B, x, LLVMConstInt(i64, 32, 0), ""), i32, "");
    LLVMValueRef al[4] = {mask, lo, o, clamp}, ah[4] = {mask, hi, o, clamp};
    lo = LLVMBuildZExt(B, LLVMBuildCall2(B, fty, fn, al, 4, ""), i64, "");
    hi = LLVMBuildZExt(B, LLVMBuildCall2(B, fty, fn, ah, 4, ""), i64, "");
    LLVMValueRef r = LLVMBuildOr(B, lo, LLVMBuildShl(B, hi, LLVMConstInt(i64, 32, 0), ""), "");
    return tk == LLVMDoubleTypeKind ? LLVMBuildBitCast(B, r, t, "") : r;
}

/* v combined over the warp's 32 lanes, into lane 0's. */
static LLVMValueRef warp_reduce(LLVMModuleRef m, LLVMBuilderRef B, uint8_t aux, LLVMTypeRef t, LLVMValueRef v)
{
    for (int off = 16; off > 0; off /= 2)
        v = jit_ir_combine(B, aux, t, v, shuffle(m, B, t, v, off, 0));
    return v;
}

void jit_ir_row_barrier(LLVMModuleRef m, LLVMBuilderRef B)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(C), ps[2] = {i32, i32};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(C), ps, 2, 0);
    LLVMValueRef f = LLVMGetNamedFunction(m, "llvm.nvvm.barrier.sync.cnt");
    if (!f)
        f = LLVMAddFunction(m, "llvm.nvvm.barrier.sync.cnt", fty);
    LLVMValueRef a[2] = {LLVMBuildAdd(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.tid.y"), LLVMConstInt(i32, 1, 0), ""),
                         jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ntid.x")};
    LLVMBuildCall2(B, fty, f, a, 2, "");
}

/* `mine` combined over a group's threads (lin of bsize), the result in
 * the group's first thread: within each warp by shuffles; in a group of
 * several warps, the warps' results through shared memory (a slot a
 * warp), combined by the first warp.  The group is the block, or with
 * `row` the thread's row, meeting at the row's barrier.  Every thread of
 * the group comes here; the launch makes groups of whole warps (rt.h's
 * pyacc_rt_gpu_loop), so every lane shuffles. */
static LLVMValueRef group_all(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, LLVMValueRef shared, uint8_t kind,
                              uint8_t aux, LLVMValueRef mine, LLVMValueRef lin, LLVMValueRef bsize, int row)
{
    void (*sync)(LLVMModuleRef, LLVMBuilderRef) = row ? jit_ir_row_barrier : jit_ir_barrier;
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMTypeRef t = jit_ir_partial_type(C, kind, aux);
    LLVMValueRef zero = LLVMConstInt(i64, 0, 0);
    LLVMValueRef lane = LLVMBuildAnd(B, lin, LLVMConstInt(i64, 31, 0), "lane");
    LLVMValueRef warp = LLVMBuildLShr(B, lin, LLVMConstInt(i64, 5, 0), "warp");
    LLVMValueRef v = warp_reduce(m, B, aux, t, mine);
    /* one warp: its first lane has it */
    LLVMBasicBlockRef single = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef put = LLVMAppendBasicBlockInContext(C, fn, "red.put");
    LLVMBasicBlockRef put_done = LLVMAppendBasicBlockInContext(C, fn, "red.put.done");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(C, fn, "red.join");
    LLVMBasicBlockRef many = LLVMAppendBasicBlockInContext(C, fn, "red.warps");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntULE, bsize, LLVMConstInt(i64, 32, 0), ""), join, many);
    LLVMPositionBuilderAtEnd(B, many);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, lane, zero, ""), put, put_done);
    LLVMPositionBuilderAtEnd(B, put);
    LLVMBuildStore(B, v, LLVMBuildInBoundsGEP2(B, t, shared, &warp, 1, ""));
    LLVMBuildBr(B, put_done);
    LLVMPositionBuilderAtEnd(B, put_done);
    sync(m, B);
    LLVMBasicBlockRef first = LLVMAppendBasicBlockInContext(C, fn, "red.first");
    LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(C, fn, "red.done");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, warp, zero, ""), first, after);
    LLVMPositionBuilderAtEnd(B, first);
    LLVMValueRef nwarps = LLVMBuildLShr(B, bsize, LLVMConstInt(i64, 5, 0), "");
    LLVMValueRef have = LLVMBuildICmp(B, LLVMIntULT, lane, nwarps, "");
    /* lanes past the group's warps read slot 0 (in bounds), then take the identity */
    LLVMValueRef slot = LLVMBuildSelect(B, have, lane, zero, "");
    LLVMValueRef w = LLVMBuildLoad2(B, t, LLVMBuildInBoundsGEP2(B, t, shared, &slot, 1, ""), "");
    w = LLVMBuildSelect(B, have, w, jit_ir_identity(kind, aux, t), "");
    w = warp_reduce(m, B, aux, t, w);
    LLVMBasicBlockRef first_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, after);
    LLVMPositionBuilderAtEnd(B, after);
    LLVMValueRef r = LLVMBuildPhi(B, t, "");
    LLVMValueRef rv[2] = {w, v};
    LLVMBasicBlockRef rb[2] = {first_end, put_done};
    LLVMAddIncoming(r, rv, rb, 2);
    sync(m, B); /* the first warp's loads done: the next reduction reuses the slots */
    LLVMBasicBlockRef many_end = LLVMGetInsertBlock(B);
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef out = LLVMBuildPhi(B, t, "group");
    LLVMValueRef ov[2] = {v, r};
    LLVMBasicBlockRef ob[2] = {single, many_end};
    LLVMAddIncoming(out, ov, ob, 2);
    return out;
}

LLVMValueRef jit_ir_block_all(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, LLVMValueRef shared, uint8_t kind,
                              uint8_t aux, LLVMValueRef mine, LLVMValueRef lin, LLVMValueRef bsize)
{
    return group_all(m, B, fn, shared, kind, aux, mine, lin, bsize, 0);
}

/* 32 slots of 8 bytes in shared memory, named: a slot a warp. */
static LLVMValueRef slots(LLVMModuleRef m, const char *name)
{
    LLVMValueRef g = LLVMGetNamedGlobal(m, name);
    if (!g) {
        LLVMTypeRef arr = LLVMArrayType2(LLVMInt64TypeInContext(LLVMGetModuleContext(m)), 32);
        g = LLVMAddGlobalInAddressSpace(m, arr, name, 3);
        LLVMSetInitializer(g, LLVMGetUndef(arr));
        LLVMSetLinkage(g, LLVMInternalLinkage);
        LLVMSetAlignment(g, 8);
    }
    return g;
}

/* The slots block_all combines through: 1024 threads at most. */
LLVMValueRef jit_ir_red_shared(LLVMModuleRef m) { return slots(m, "pyacc.red.shared"); }

/* The rows' slots: a row's from its first warp's. */
static LLVMValueRef row_shared(LLVMModuleRef m) { return slots(m, "pyacc.row.shared"); }

LLVMValueRef jit_ir_generic(LLVMBuilderRef B, LLVMValueRef g)
{
    return LLVMBuildAddrSpaceCast(B, g, LLVMPointerTypeInContext(LLVMGetTypeContext(LLVMTypeOf(g)), 0), "");
}

/* body(lctx, k, k + 1, 0): iteration k of a loop of n > k iterations. */
void jit_ir_run_iteration(LLVMBuilderRef B, LLVMValueRef body, LLVMValueRef lctx, LLVMValueRef k)
{
    LLVMContextRef C = LLVMGetTypeContext(LLVMTypeOf(k));
    LLVMValueRef one = LLVMConstInt(LLVMInt64TypeInContext(C), 1, 0);
    LLVMValueRef args[4] = {lctx, k, LLVMBuildNSWAdd(B, k, one, ""), LLVMConstInt(LLVMInt32TypeInContext(C), 0, 0)};
    LLVMBuildCall2(B, LLVMGlobalGetValueType(body), body, args, 4, "");
}

/* The block's threads and, unless lin is NULL, this thread's place in it
 * (x fastest). */
void jit_ir_block_place(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef *lin, LLVMValueRef *bsize)
{
    LLVMTypeRef i64 = LLVMInt64TypeInContext(LLVMGetModuleContext(m));
    LLVMValueRef nx = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ntid.x"), i64, "");
    LLVMValueRef ny = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ntid.y"), i64, "");
    *bsize = LLVMBuildMul(B, nx, ny, "bsize");
    if (lin) {
        LLVMValueRef tx = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.tid.x"), i64, "");
        LLVMValueRef ty = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.tid.y"), i64, "");
        *lin = LLVMBuildAdd(B, LLVMBuildMul(B, ty, nx, ""), tx, "lin");
    }
}

LLVMValueRef jit_ir_share(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef body, LLVMTypeRef st, const uint8_t *kb,
                          unsigned nf, LLVMValueRef sctx, LLVMValueRef lane, LLVMValueRef lanes, int unroll,
                          LLVMValueRef *acc, LLVMValueRef *n_out)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMBasicBlockRef entry = LLVMGetInsertBlock(B);
    LLVMValueRef fn = LLVMGetBasicBlockParent(entry);
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(C, fn, "loop");
    LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(C, fn, "run");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, fn, "done");
    LLVMValueRef lctx = LLVMBuildAlloca(B, st, "lctx");
    LLVMBuildMemCpy(B, lctx, 8, sctx, 8, LLVMSizeOf(st));
    for (unsigned f = 0; f < nf; f++) {
        acc[f] = NULL;
        if ((kb[f] & CTX_CLASS_MASK) != CTX_PARTIALS)
            continue;
        LLVMTypeRef t = jit_ir_partial_type(C, kb[f], kb[nf + f]);
        acc[f] = LLVMBuildAlloca(B, t, "acc");
        LLVMBuildStore(B, jit_ir_identity(kb[f], kb[nf + f], t), acc[f]);
        LLVMBuildStore(B, acc[f], LLVMBuildStructGEP2(B, st, lctx, f, ""));
    }
    LLVMValueRef n = LLVMBuildLoad2(B, i64, LLVMBuildStructGEP2(B, st, lctx, 1, ""), "n");
    /* iterations lane, lane + lanes, ... < n, counted (t), so that LLVM
     * knows the trip count and may unroll: several loads in flight a thread */
    LLVMValueRef one = LLVMConstInt(i64, 1, 0), zero = LLVMConstInt(i64, 0, 0);
    LLVMValueRef some = LLVMBuildICmp(B, LLVMIntSLT, lane, n, "");
    LLVMValueRef count =
        LLVMBuildAdd(B, LLVMBuildUDiv(B, LLVMBuildSub(B, LLVMBuildSub(B, n, one, ""), lane, ""), lanes, ""), one, "");
    count = LLVMBuildSelect(B, some, count, zero, "count");
    LLVMBuildBr(B, loop);
    LLVMPositionBuilderAtEnd(B, loop);
    LLVMValueRef t = LLVMBuildPhi(B, i64, "t");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntULT, t, count, ""), run, done);
    LLVMPositionBuilderAtEnd(B, run);
    LLVMValueRef j = LLVMBuildNUWAdd(B, lane, LLVMBuildNUWMul(B, t, lanes, ""), "j");
    jit_ir_run_iteration(B, body, lctx, j);
    LLVMValueRef next = LLVMBuildNUWAdd(B, t, one, "");
    LLVMValueRef back = LLVMBuildBr(B, loop);
    if (!unroll) { /* llvm.loop !{self, !{"llvm.loop.unroll.disable"}} */
        LLVMMetadataRef dis = LLVMMDStringInContext2(C, "llvm.loop.unroll.disable", 24);
        LLVMMetadataRef inner = LLVMMDNodeInContext2(C, &dis, 1);
        LLVMMetadataRef tmp = LLVMTemporaryMDNode(C, NULL, 0);
        LLVMMetadataRef ops[2] = {tmp, inner};
        LLVMMetadataRef node = LLVMMDNodeInContext2(C, ops, 2);
        LLVMMetadataReplaceAllUsesWith(tmp, node);
        LLVMSetMetadata(back, LLVMGetMDKindIDInContext(C, "llvm.loop", 9), LLVMMetadataAsValue(C, node));
    }
    LLVMValueRef inv[2] = {zero, next};
    LLVMBasicBlockRef inb[2] = {entry, run};
    LLVMAddIncoming(t, inv, inb, 2);
    LLVMPositionBuilderAtEnd(B, done);
    *n_out = n;
    return lctx;
}

void jit_ir_leave_last(LLVMModuleRef m, LLVMBuilderRef B, LLVMTypeRef st, const uint8_t *kb, unsigned nf,
                       LLVMValueRef lctx, LLVMValueRef sctx, LLVMValueRef n, LLVMValueRef lane, LLVMValueRef lanes)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(B));
    LLVMBasicBlockRef last = LLVMAppendBasicBlockInContext(C, fn, "last");
    LLVMBasicBlockRef end = LLVMAppendBasicBlockInContext(C, fn, "last.done");
    LLVMValueRef nm1 = LLVMBuildSub(B, n, LLVMConstInt(i64, 1, 0), "");
    LLVMValueRef ran_last = LLVMBuildAnd(B, LLVMBuildICmp(B, LLVMIntSGT, n, LLVMConstInt(i64, 0, 0), ""),
                                         LLVMBuildICmp(B, LLVMIntEQ, LLVMBuildURem(B, nm1, lanes, ""), lane, ""), "");
    LLVMBuildCondBr(B, ran_last, last, end);
    LLVMPositionBuilderAtEnd(B, last);
    for (unsigned f = 0; f < nf; f++)
        if (kb[f] == CTX_PLAIN) {
            LLVMTypeRef ft = LLVMStructGetTypeAtIndex(st, f);
            LLVMValueRef v = LLVMBuildLoad2(B, ft, LLVMBuildStructGEP2(B, st, lctx, f, ""), "");
            LLVMBuildStore(B, v, LLVMBuildStructGEP2(B, st, sctx, f, ""));
        }
    LLVMBuildBr(B, end);
    LLVMPositionBuilderAtEnd(B, end);
}

int jit_ir_marker(LLVMValueRef call, unsigned kinds, LLVMValueRef *body, LLVMTypeRef *st, const uint8_t **kb,
                  unsigned *nf)
{
    LLVMValueRef ctx = LLVMGetOperand(call, 1), kg = LLVMGetOperand(call, kinds);
    *body = LLVMGetOperand(call, 0);
    if (!LLVMIsAFunction(*body) || !LLVMIsAAllocaInst(ctx) || !LLVMIsAGlobalVariable(kg) || !LLVMGetInitializer(kg))
        return 1;
    *st = LLVMGetAllocatedType(ctx);
    *nf = LLVMCountStructElementTypes(*st);
    size_t nk;
    *kb = (const uint8_t *)LLVMGetAsString(LLVMGetInitializer(kg), &nk);
    return nk != 3 * (size_t)*nf || *nf < 2 || *nf > JIT_GPU_MAX_FIELDS;
}

LLVMValueRef jit_ir_block_lead(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, uint8_t kind, uint8_t aux,
                               LLVMValueRef mine, LLVMValueRef lin, LLVMValueRef bsize, LLVMBasicBlockRef *after)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMValueRef w = jit_ir_block_all(m, B, fn, jit_ir_red_shared(m), kind, aux, mine, lin, bsize);
    LLVMBasicBlockRef put = LLVMAppendBasicBlockInContext(C, fn, "block.put");
    *after = LLVMAppendBasicBlockInContext(C, fn, "block.put.done");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, lin, LLVMConstInt(LLVMTypeOf(lin), 0, 0), ""), put, *after);
    LLVMPositionBuilderAtEnd(B, put);
    return w;
}

LLVMValueRef jit_ir_row_lead(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, uint8_t kind, uint8_t aux,
                             LLVMValueRef mine, LLVMValueRef lane, LLVMValueRef lanes, LLVMBasicBlockRef *after)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C);
    LLVMValueRef tx, ty, bx, by;
    jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
    LLVMValueRef first = LLVMBuildMul(B, ty, LLVMBuildLShr(B, bx, LLVMConstInt(i64, 5, 0), ""), "");
    LLVMValueRef slots = LLVMBuildInBoundsGEP2(B, i64, row_shared(m), &first, 1, "");
    LLVMValueRef w = group_all(m, B, fn, slots, kind, aux, mine, lane, lanes, 1);
    LLVMBasicBlockRef put = LLVMAppendBasicBlockInContext(C, fn, "row.put");
    *after = LLVMAppendBasicBlockInContext(C, fn, "row.put.done");
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, lane, LLVMConstInt(LLVMTypeOf(lane), 0, 0), ""), put, *after);
    LLVMPositionBuilderAtEnd(B, put);
    return w;
}

LLVMValueRef jit_ir_row_every(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef fn, uint8_t kind, uint8_t aux,
                              LLVMValueRef mine, LLVMValueRef lane, LLVMValueRef lanes)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMTypeRef i64 = LLVMInt64TypeInContext(C), t = jit_ir_partial_type(C, kind, aux);
    LLVMValueRef tx, ty, bx, by;
    jit_ir_row_place(m, B, &tx, &ty, &bx, &by);
    LLVMValueRef first = LLVMBuildMul(B, ty, LLVMBuildLShr(B, bx, LLVMConstInt(i64, 5, 0), ""), "");
    LLVMValueRef slots = LLVMBuildInBoundsGEP2(B, i64, row_shared(m), &first, 1, "");
    LLVMValueRef w = group_all(m, B, fn, slots, kind, aux, mine, lane, lanes, 1);
    /* the first lane's result to all: a shuffle in one warp, else through
     * the row's first slot */
    LLVMBasicBlockRef one = LLVMGetInsertBlock(B);
    LLVMBasicBlockRef many = LLVMAppendBasicBlockInContext(C, fn, "row.every.warps");
    LLVMBasicBlockRef put = LLVMAppendBasicBlockInContext(C, fn, "row.every.put");
    LLVMBasicBlockRef got = LLVMAppendBasicBlockInContext(C, fn, "row.every.got");
    LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(C, fn, "row.every");
    LLVMValueRef single = LLVMBuildICmp(B, LLVMIntULE, lanes, LLVMConstInt(i64, 32, 0), "");
    LLVMValueRef from0 = shuffle(m, B, t, w, 0, 1);
    LLVMBuildCondBr(B, single, join, many);
    LLVMPositionBuilderAtEnd(B, many);
    LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntEQ, lane, LLVMConstInt(LLVMTypeOf(lane), 0, 0), ""), put, got);
    LLVMPositionBuilderAtEnd(B, put);
    LLVMBuildStore(B, w, slots);
    LLVMBuildBr(B, got);
    LLVMPositionBuilderAtEnd(B, got);
    jit_ir_row_barrier(m, B);
    LLVMValueRef r = LLVMBuildLoad2(B, t, slots, "");
    jit_ir_row_barrier(m, B); /* read by all before the slot is used again */
    LLVMBuildBr(B, join);
    LLVMPositionBuilderAtEnd(B, join);
    LLVMValueRef out = LLVMBuildPhi(B, t, "row.all");
    LLVMValueRef ov[2] = {from0, r};
    LLVMBasicBlockRef ob[2] = {one, got};
    LLVMAddIncoming(out, ov, ob, 2);
    return out;
}

void jit_ir_row_place(LLVMModuleRef m, LLVMBuilderRef B, LLVMValueRef *tx, LLVMValueRef *ty, LLVMValueRef *bx,
                      LLVMValueRef *by)
{
    LLVMTypeRef i64 = LLVMInt64TypeInContext(LLVMGetModuleContext(m));
    *tx = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.tid.x"), i64, "tx");
    *ty = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.tid.y"), i64, "ty");
    *bx = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ntid.x"), i64, "bx");
    *by = LLVMBuildZExt(B, jit_ir_sreg(m, B, "llvm.nvvm.read.ptx.sreg.ntid.y"), i64, "by");
}

void jit_ir_lead_done(LLVMBuilderRef B, LLVMBasicBlockRef after)
{
    LLVMBuildBr(B, after);
    LLVMPositionBuilderAtEnd(B, after);
}

void jit_ir_annotate(LLVMModuleRef m, LLVMValueRef kfn, const char *key, unsigned value)
{
    LLVMContextRef C = LLVMGetModuleContext(m);
    LLVMMetadataRef ops[3] = {LLVMValueAsMetadata(kfn), LLVMMDStringInContext2(C, key, strlen(key)),
                              LLVMValueAsMetadata(LLVMConstInt(LLVMInt32TypeInContext(C), value, 0))};
    LLVMAddNamedMetadataOperand(m, "nvvm.annotations", LLVMMetadataAsValue(C, LLVMMDNodeInContext2(C, ops, 3)));
}

void jit_ir_converge(LLVMModuleRef m, LLVMBuilderRef B) { sync_call(m, B, "llvm.nvvm.bar.warp.sync", 0xffffffffu); }

void jit_ir_in_order(LLVMValueRef call)
{
    LLVMContextRef C = LLVMGetTypeContext(LLVMTypeOf(call));
    LLVMValueRef body = LLVMGetOperand(call, 0);
    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMPositionBuilderBefore(B, call);
    LLVMValueRef args[4] = {LLVMGetOperand(call, 1), LLVMConstInt(LLVMInt64TypeInContext(C), 0, 0),
                            LLVMGetOperand(call, 2), LLVMConstInt(LLVMInt32TypeInContext(C), 0, 0)};
    LLVMBuildCall2(B, LLVMGlobalGetValueType(body), body, args, 4, "");
    LLVMDisposeBuilder(B);
    LLVMInstructionEraseFromParent(call);
}
