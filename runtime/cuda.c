/* cuda.c - the NVIDIA device: the CUDA Driver API, opened with dlopen.
 *
 * Nothing is linked against CUDA: libcuda.so.1 is looked for the first
 * time the NVIDIA device is asked about, and when it (or a GPU) is missing
 * the device reports no devices and pyacc stays on the host.  cuda.h
 * renames many entry points to versioned ones with macros; those versioned
 * names are what is looked up here.  Every device uses its primary
 * context, made current on whichever host thread calls.
 *
 * Besides the back end of rt.h's device layer (memory, copies, streams),
 * this file loads PTX modules (the driver's JIT, with its error log kept)
 * and launches kernels for compiled regions.
 */
#include "rt.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef unsigned long long CUdeviceptr;
typedef void *CUstream;
typedef void *CUmodule;
typedef void *CUfunction;

enum {
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
    CU_JIT_INFO_LOG_BUFFER = 3,
    CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
    CUDA_ERROR_NOT_READY = 600,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
};

/* CUDA_KERNEL_NODE_PARAMS_v2: a graph's kernel node. */
struct kernel_node {
    CUfunction func;
    unsigned grid[3], block[3], shared;
    void **params, **extra;
    void *kern, *ctx; /* a CUkernel and its context: unused (func is set) */
};

/* The driver's entry points. */
static struct {
    void *lib;
    int tried, ok;
    CUresult (*Init)(unsigned);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*DeviceGet)(CUdevice *, int);
    CUresult (*DeviceGetName)(char *, int, CUdevice);
    CUresult (*DeviceGetAttribute)(int *, int, CUdevice);
    CUresult (*DeviceTotalMem)(size_t *, CUdevice);
    CUresult (*DriverGetVersion)(int *);
    CUresult (*PrimaryCtxRetain)(CUcontext *, CUdevice);
    CUresult (*PrimaryCtxRelease)(CUdevice);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*MemGetInfo)(size_t *, size_t *);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
    CUresult (*MemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
    CUresult (*MemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
    CUresult (*MemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
    CUresult (*StreamCreate)(CUstream *, unsigned);
    CUresult (*StreamDestroy)(CUstream);
    CUresult (*StreamSynchronize)(CUstream);
    CUresult (*StreamQuery)(CUstream);
    CUresult (*CtxSynchronize)(void);
    CUresult (*ModuleLoadDataEx)(CUmodule *, const void *, unsigned, int *, void **);
    CUresult (*ModuleUnload)(CUmodule);
    CUresult (*ModuleGetFunction)(CUfunction *, CUmodule, const char *);
    CUresult (*FuncGetAttribute)(int *, int, CUfunction);
    CUresult (*LaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             CUstream, void **, void **);
    CUresult (*GetErrorString)(CUresult, const char **);
    CUresult (*PointerGetAttributes)(unsigned, int *, void **, CUdeviceptr);
    CUresult (*MemHostAlloc)(void **, size_t, unsigned);
    CUresult (*MemHostGetDevicePointer)(CUdeviceptr *, void *, unsigned);
    CUresult (*MemFreeHost)(void *);
    CUresult (*LaunchHostFunc)(CUstream, void (*)(void *), void *);
    CUresult (*LaunchCooperativeKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                                        unsigned, CUstream, void **);
    CUresult (*OccupancyMaxActiveBlocksPerMultiprocessor)(int *, CUfunction, int, size_t);
    /* graphs (launch_graph below): optional, plain launches without them */
    int graphs;
    CUresult (*GraphCreate)(void **, unsigned);
    CUresult (*GraphAddKernelNode)(void **, void *, void **, size_t, const struct kernel_node *);
    CUresult (*GraphInstantiate)(void **, void *, unsigned long long);
    CUresult (*GraphExecKernelNodeSetParams)(void *, void *, const struct kernel_node *);
    CUresult (*GraphLaunch)(void *, CUstream);
    CUresult (*GraphExecDestroy)(void *);
    CUresult (*GraphDestroy)(void *);
} cu;

static pthread_once_t cu_once = PTHREAD_ONCE_INIT;

static void *sym(const char *name)
{
    return cu.lib ? dlsym(cu.lib, name) : NULL;
}

static void cu_open(void)
{
    cu.tried = 1;
    const char *path = getenv("PYACC_LIBCUDA");
    cu.lib = dlopen(path && *path ? path : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!cu.lib)
        return;
#define LOAD(field, name)                                         \
    do {                                                          \
        *(void **)&cu.field = sym(name);                          \
        if (!cu.field)                                            \
            return;                                               \
    } while (0)
    LOAD(Init, "cuInit");
    LOAD(DeviceGetCount, "cuDeviceGetCount");
    LOAD(DeviceGet, "cuDeviceGet");
    LOAD(DeviceGetName, "cuDeviceGetName");
    LOAD(DeviceGetAttribute, "cuDeviceGetAttribute");
    LOAD(DeviceTotalMem, "cuDeviceTotalMem_v2");
    LOAD(DriverGetVersion, "cuDriverGetVersion");
    LOAD(PrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    LOAD(PrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    LOAD(CtxSetCurrent, "cuCtxSetCurrent");
    LOAD(MemGetInfo, "cuMemGetInfo_v2");
    LOAD(MemAlloc, "cuMemAlloc_v2");
    LOAD(MemFree, "cuMemFree_v2");
    LOAD(MemcpyHtoD, "cuMemcpyHtoD_v2");
    LOAD(MemcpyDtoH, "cuMemcpyDtoH_v2");
    LOAD(MemcpyDtoD, "cuMemcpyDtoD_v2");
    LOAD(MemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    LOAD(MemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
    LOAD(MemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
    LOAD(StreamCreate, "cuStreamCreate");
    LOAD(StreamDestroy, "cuStreamDestroy_v2");
    LOAD(StreamSynchronize, "cuStreamSynchronize");
    LOAD(StreamQuery, "cuStreamQuery");
    LOAD(CtxSynchronize, "cuCtxSynchronize");
    LOAD(ModuleLoadDataEx, "cuModuleLoadDataEx");
    LOAD(ModuleUnload, "cuModuleUnload");
    LOAD(ModuleGetFunction, "cuModuleGetFunction");
    LOAD(FuncGetAttribute, "cuFuncGetAttribute");
    LOAD(LaunchKernel, "cuLaunchKernel");
    LOAD(GetErrorString, "cuGetErrorString");
    LOAD(PointerGetAttributes, "cuPointerGetAttributes");
    LOAD(MemHostAlloc, "cuMemHostAlloc");
    LOAD(MemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2");
    LOAD(MemFreeHost, "cuMemFreeHost");
    LOAD(LaunchHostFunc, "cuLaunchHostFunc");
    LOAD(LaunchCooperativeKernel, "cuLaunchCooperativeKernel");
    LOAD(OccupancyMaxActiveBlocksPerMultiprocessor, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
#undef LOAD
    *(void **)&cu.GraphCreate = sym("cuGraphCreate");
    *(void **)&cu.GraphAddKernelNode = sym("cuGraphAddKernelNode_v2");
    *(void **)&cu.GraphInstantiate = sym("cuGraphInstantiateWithFlags");
    *(void **)&cu.GraphExecKernelNodeSetParams = sym("cuGraphExecKernelNodeSetParams_v2");
    *(void **)&cu.GraphLaunch = sym("cuGraphLaunch");
    *(void **)&cu.GraphExecDestroy = sym("cuGraphExecDestroy");
    *(void **)&cu.GraphDestroy = sym("cuGraphDestroy");
    cu.graphs = cu.GraphCreate && cu.GraphAddKernelNode && cu.GraphInstantiate && cu.GraphExecKernelNodeSetParams &&
                cu.GraphLaunch && cu.GraphExecDestroy && cu.GraphDestroy;
    cu.ok = cu.Init(0) == 0;
}

static int cu_ready(void)
{
    pthread_once(&cu_once, cu_open);
    return cu.ok;
}

/* rt_fail with the driver's words for rc. */
static int32_t cu_fail(CUresult rc, const char *what)
{
    const char *s = NULL;
    if (cu.GetErrorString)
        cu.GetErrorString(rc, &s);
    return rt_fail(rc == CUDA_ERROR_OUT_OF_MEMORY ? RT_ACC_NO_MEMORY : RT_ACC_DEVICE, "%s: CUDA error %d (%s)", what,
                   rc, s ? s : "?");
}

/* One GPU: its primary context. */
typedef struct cu_dev {
    CUdevice device;
    CUcontext ctx;
    int cc_major, cc_minor, sms;
    rt_stage_pool *stage; /* for asynchronous copies (staging.c) */
} cu_dev;

/* Makes the device's context current on this thread (cheap when it is). */
static int32_t enter(cu_dev *d)
{
    CUresult rc = cu.CtxSetCurrent(d->ctx);
    return rc ? cu_fail(rc, "cuCtxSetCurrent") : RT_ACC_OK;
}

static int32_t cuda_num_devices(void)
{
    int n = 0;
    if (!cu_ready() || cu.DeviceGetCount(&n) != 0)
        return 0;
    return n;
}

static int32_t stage_alloc(void *dev, size_t bytes, void **host)
{
    enum { CU_MEMHOSTALLOC_PORTABLE = 1 };
    int32_t st = enter(dev);
    if (st)
        return st;
    CUresult rc = cu.MemHostAlloc(host, bytes, CU_MEMHOSTALLOC_PORTABLE);
    return rc ? cu_fail(rc, "cuMemHostAlloc") : RT_ACC_OK;
}

static void stage_free(void *dev, void *host)
{
    if (enter(dev) == RT_ACC_OK)
        cu.MemFreeHost(host);
}

static int32_t cuda_init(int32_t num, void **out)
{
    if (!cu_ready())
        return rt_fail(RT_ACC_DEVICE, "the CUDA driver (libcuda.so.1) cannot be used");
    cu_dev *d = calloc(1, sizeof *d);
    if (!d)
        return rt_fail(RT_ACC_NO_MEMORY, "out of memory");
    CUresult rc;
    if ((rc = cu.DeviceGet(&d->device, num)) || (rc = cu.PrimaryCtxRetain(&d->ctx, d->device))) {
        free(d);
        return cu_fail(rc, "opening the GPU");
    }
    cu.DeviceGetAttribute(&d->cc_major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d->device);
    cu.DeviceGetAttribute(&d->cc_minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d->device);
    cu.DeviceGetAttribute(&d->sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, d->device);
    d->stage = rt_stage_pool_new(d, stage_alloc, stage_free); /* none: copies take the driver's way */
    *out = d;
    return enter(d);
}

static void cuda_fini(void *dev)
{
    cu_dev *d = dev;
    if (!d)
        return;
    if (enter(d) == RT_ACC_OK)
        cu.CtxSynchronize();
    rt_stage_pool_free(d->stage); /* the streams' host functions have all run */
    cu.PrimaryCtxRelease(d->device);
    free(d);
}

static int32_t cuda_alloc(void *dev, size_t bytes, uintptr_t *dptr)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    CUdeviceptr p = 0;
    CUresult rc = cu.MemAlloc(&p, bytes ? bytes : 1);
    if (rc)
        return cu_fail(rc, "allocating GPU memory");
    *dptr = (uintptr_t)p;
    return RT_ACC_OK;
}

static int32_t cuda_free(void *dev, uintptr_t dptr)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    CUresult rc = cu.MemFree((CUdeviceptr)dptr);
    return rc ? cu_fail(rc, "freeing GPU memory") : RT_ACC_OK;
}

enum { CU_POINTER_ATTRIBUTE_MEMORY_TYPE = 2, CU_MEMORYTYPE_HOST = 1, CU_MEMORYTYPE_DEVICE = 2,
       CU_MEMORYTYPE_UNIFIED = 4 };

/* What memory p is (CU_MEMORYTYPE_*), 0 where the driver does not know it
 * (pageable host memory, NumPy's).  cuPointerGetAttributes answers that
 * with success and 0, where cuPointerGetAttribute fails (which
 * compute-sanitizer reports as an error of the program's). */
static unsigned memory_type(uintptr_t p)
{
    int attr = CU_POINTER_ATTRIBUTE_MEMORY_TYPE;
    unsigned type = 0;
    void *data = &type;
    return cu.PointerGetAttributes(1, &attr, &data, (CUdeviceptr)p) == 0 ? type : 0;
}

/* Whether host memory p is page-locked (the driver copies it
 * asynchronously as it is). */
static int page_locked(const void *p) { return memory_type((uintptr_t)p) == CU_MEMORYTYPE_HOST; }

/* An asynchronous copy between host memory and dev (back: to the host)
 * through page-locked chunks (staging.c), as far as free chunks go; *done
 * gets the bytes so queued, the caller copies the rest the driver's way.
 * Each chunk goes back to the pool, a copy back's bytes to their owner,
 * in a host function the stream runs after the chunk's copy. */
static CUresult staged(cu_dev *d, int back, char *host, uintptr_t dev, size_t bytes, void *stream, size_t *done)
{
    *done = 0;
    if (page_locked(host)) /* the driver copies it asynchronously as it is */
        return 0;
    while (*done < bytes) {
        rt_stage *s = rt_stage_take(d->stage);
        if (!s)
            return 0;
        size_t off = *done, n = bytes - off < RT_STAGE_BYTES ? bytes - off : RT_STAGE_BYTES;
        CUresult copy;
        if (back) {
            s->dst = host + off;
            s->bytes = n;
            copy = cu.MemcpyDtoHAsync(s->host, (CUdeviceptr)(dev + off), n, stream);
        } else {
            memcpy(s->host, host + off, n);
            copy = cu.MemcpyHtoDAsync((CUdeviceptr)(dev + off), s->host, n, stream);
        }
        CUresult rc = copy ? copy : cu.LaunchHostFunc(stream, rt_stage_done, s);
        if (rc) {
            /* the chunk is the copy's until the stream gets past it */
            if (cu.StreamSynchronize(stream) == 0) {
                if (copy)
                    s->dst = NULL;
                rt_stage_done(s);
            } /* else it stays out of the pool: the device may still use it */
            return rc;
        }
        *done += n;
    }
    return 0;
}

static int32_t cuda_copy_in(void *dev, uintptr_t dst, const void *src, size_t bytes, void *stream)
{
    int32_t st = enter(dev);
    if (st || !bytes)
        return st;
    size_t done = 0;
    CUresult rc = stream ? staged(dev, 0, (char *)(uintptr_t)src, dst, bytes, stream, &done) : 0;
    if (!rc && done < bytes)
        rc = stream ? cu.MemcpyHtoDAsync((CUdeviceptr)(dst + done), (const char *)src + done, bytes - done, stream)
                    : cu.MemcpyHtoD((CUdeviceptr)dst, src, bytes);
    return rc ? cu_fail(rc, "copying to the GPU") : RT_ACC_OK;
}

static int32_t cuda_copy_out(void *dev, void *dst, uintptr_t src, size_t bytes, void *stream)
{
    int32_t st = enter(dev);
    if (st || !bytes)
        return st;
    size_t done = 0;
    CUresult rc = stream ? staged(dev, 1, dst, src, bytes, stream, &done) : 0;
    if (!rc && done < bytes)
        rc = stream ? cu.MemcpyDtoHAsync((char *)dst + done, (CUdeviceptr)(src + done), bytes - done, stream)
                    : cu.MemcpyDtoH(dst, (CUdeviceptr)src, bytes);
    return rc ? cu_fail(rc, "copying from the GPU") : RT_ACC_OK;
}

static int32_t cuda_copy_device(void *dev, uintptr_t dst, uintptr_t src, size_t bytes, void *stream)
{
    int32_t st = enter(dev);
    if (st || !bytes)
        return st;
    CUresult rc = stream ? cu.MemcpyDtoDAsync((CUdeviceptr)dst, (CUdeviceptr)src, bytes, stream)
                         : cu.MemcpyDtoD((CUdeviceptr)dst, (CUdeviceptr)src, bytes);
    return rc ? cu_fail(rc, "copying on the GPU") : RT_ACC_OK;
}

static int32_t cuda_property(int32_t num, int32_t prop, size_t *value, const char **text)
{
    static char names[64][128];
    static char vendor[] = "NVIDIA Corporation";
    static char driver[64];
    if (!cu_ready())
        return rt_fail(RT_ACC_DEVICE, "the CUDA driver (libcuda.so.1) cannot be used");
    CUdevice d;
    CUresult rc = cu.DeviceGet(&d, num);
    if (rc)
        return cu_fail(rc, "cuDeviceGet");
    *value = 0;
    *text = NULL;
    switch (prop) {
    case RT_PROPERTY_MEMORY:
        rc = cu.DeviceTotalMem(value, d);
        return rc ? cu_fail(rc, "cuDeviceTotalMem") : RT_ACC_OK;
    case RT_PROPERTY_FREE_MEMORY: {
        CUcontext ctx;
        size_t free_b = 0, total = 0;
        if ((rc = cu.PrimaryCtxRetain(&ctx, d)) == 0) {
            cu.CtxSetCurrent(ctx);
            rc = cu.MemGetInfo(&free_b, &total);
            cu.PrimaryCtxRelease(d);
        }
        *value = free_b;
        return rc ? cu_fail(rc, "cuMemGetInfo") : RT_ACC_OK;
    }
    case RT_PROPERTY_NAME:
        if (num < 0 || num >= 64)
            return rt_fail(RT_ACC_INVALID, "device %d", (int)num);
        if (!names[num][0])
            cu.DeviceGetName(names[num], (int)sizeof names[num], d);
        *text = names[num];
        return RT_ACC_OK;
    case RT_PROPERTY_VENDOR: *text = vendor; return RT_ACC_OK;
    case RT_PROPERTY_DRIVER: {
        int v = 0;
        cu.DriverGetVersion(&v);
        snprintf(driver, sizeof driver, "CUDA driver %d.%d (pyacc)", v / 1000, (v % 1000) / 10);
        *text = driver;
        return RT_ACC_OK;
    }
    default: return rt_fail(RT_ACC_INVALID, "%d is not a device property", (int)prop);
    }
}

static int32_t cuda_stream_create(void *dev, void **stream)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    CUresult rc = cu.StreamCreate((CUstream *)stream, 1 /* CU_STREAM_NON_BLOCKING */);
    return rc ? cu_fail(rc, "cuStreamCreate") : RT_ACC_OK;
}

static void cuda_stream_destroy(void *dev, void *stream)
{
    if (enter(dev) == RT_ACC_OK)
        cu.StreamDestroy(stream);
}

static int32_t cuda_stream_sync(void *dev, void *stream)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    CUresult rc = cu.StreamSynchronize(stream);
    return rc ? cu_fail(rc, "waiting for a GPU stream") : RT_ACC_OK;
}

static int32_t cuda_stream_done(void *dev, void *stream)
{
    int32_t st = enter(dev);
    if (st)
        return -st;
    CUresult rc = cu.StreamQuery(stream);
    if (rc == 0)
        return 1;
    if (rc == CUDA_ERROR_NOT_READY)
        return 0;
    return -cu_fail(rc, "querying a GPU stream");
}

static const rt_backend cuda_backend = {
    .name = "nvidia",
    .type = RT_DEVICE_NVIDIA,
    .shared_memory = 0,
    .num_devices = cuda_num_devices,
    .init = cuda_init,
    .fini = cuda_fini,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .copy_in = cuda_copy_in,
    .copy_out = cuda_copy_out,
    .copy_device = cuda_copy_device,
    .property = cuda_property,
    .stream_create = cuda_stream_create,
    .stream_destroy = cuda_stream_destroy,
    .stream_sync = cuda_stream_sync,
    .stream_done = cuda_stream_done,
};

int32_t rt_cuda_register(void)
{
    return rt_device_register(&cuda_backend);
}

/* ------------------------------------------------------------ kernels */

int32_t rt_cuda_target(void *dev, int32_t *cc_major, int32_t *cc_minor, int32_t *sms)
{
    cu_dev *d = dev;
    if (!d)
        return rt_fail(RT_ACC_INVALID, "no GPU");
    *cc_major = d->cc_major;
    *cc_minor = d->cc_minor;
    *sms = d->sms;
    return RT_ACC_OK;
}

int32_t rt_cuda_load(void *dev, const char *ptx, void **module, char *log, size_t loglen)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    log[0] = 0;
    int opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *vals[2] = {log, (void *)(uintptr_t)loglen};
    CUresult rc = cu.ModuleLoadDataEx((CUmodule *)module, ptx, 2, opts, vals);
    if (rc) {
        const char *s = NULL;
        cu.GetErrorString(rc, &s);
        return rt_fail(RT_ACC_DEVICE, "loading GPU code: CUDA error %d (%s)%s%s", rc, s ? s : "?", log[0] ? ": " : "",
                       log);
    }
    return RT_ACC_OK;
}

void rt_cuda_unload(void *dev, void *module)
{
    if (module && enter(dev) == RT_ACC_OK)
        cu.ModuleUnload(module);
}

int32_t rt_cuda_function(void *dev, void *module, const char *name, void **fn, int32_t *max_block)
{
    enum { CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0 };
    int32_t st = enter(dev);
    if (st)
        return st;
    CUresult rc = cu.ModuleGetFunction((CUfunction *)fn, module, name);
    if (rc)
        return cu_fail(rc, "cuModuleGetFunction");
    /* below 1024 when the kernel's registers do not fit that many threads:
     * a launch with more fails */
    int mt = 0;
    rc = cu.FuncGetAttribute(&mt, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, *fn);
    if (rc)
        return cu_fail(rc, "cuFuncGetAttribute");
    *max_block = mt;
    return RT_ACC_OK;
}

int32_t rt_cuda_host_alloc(void *dev, size_t bytes, void **host, uintptr_t *dptr)
{
    enum { CU_MEMHOSTALLOC_PORTABLE = 1, CU_MEMHOSTALLOC_DEVICEMAP = 2 };
    int32_t st = enter(dev);
    if (st)
        return st;
    CUresult rc = cu.MemHostAlloc(host, bytes, CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP);
    if (rc)
        return cu_fail(rc, "cuMemHostAlloc");
    CUdeviceptr d = 0;
    rc = cu.MemHostGetDevicePointer(&d, *host, 0);
    if (rc) {
        cu.MemFreeHost(*host);
        *host = NULL;
        return cu_fail(rc, "cuMemHostGetDevicePointer");
    }
    *dptr = (uintptr_t)d;
    return RT_ACC_OK;
}

void rt_cuda_host_free(void *dev, void *host)
{
    if (host && enter(dev) == RT_ACC_OK)
        cu.MemFreeHost(host);
}

int rt_cuda_is_device(void *dev, uintptr_t p)
{
    if (!p || enter(dev) != RT_ACC_OK) {
        rt_fault f;
        rt_fault_take(&f); /* a question, not a failure */
        rt_fault_clear(&f);
        return 0;
    }
    unsigned type = memory_type(p); /* pageable host memory: 0, not the device's */
    return type == CU_MEMORYTYPE_DEVICE || type == CU_MEMORYTYPE_UNIFIED;
}

static _Atomic uint64_t launches_graphed, launches_plain, node_updates;

void rt_cuda_launch_counts(uint64_t *graphed, uint64_t *plain, uint64_t *updates)
{
    *graphed = atomic_load_explicit(&launches_graphed, memory_order_relaxed);
    *plain = atomic_load_explicit(&launches_plain, memory_order_relaxed);
    *updates = atomic_load_explicit(&node_updates, memory_order_relaxed);
}

/* A kernel's launch graph.  On an H100 cuLaunchKernel costs the calling
 * thread 3 to 4 microseconds, a graph's relaunch with new parameters
 * (cuGraphExecKernelNodeSetParams, then cuGraphLaunch) 1.4: a waited
 * launch of a tiny kernel took 6.8 microseconds against 9.1
 * (scratch measurements in C, the same kernel).  A launch already queued
 * keeps the parameters it was launched with, so the node is updated in
 * place; the mutex keeps two threads' updates and launches of one kernel
 * apart. */
struct rt_cuda_graph {
    pthread_mutex_t mu;
    void *graph, *node, *exec; /* CUgraph, its kernel node, CUgraphExec: made by the first launch */
    int broken;                /* a graph call failed: plain launches from then on */
    /* what the node holds: a launch with the same needs no update (a loop
     * called again on the same arrays and scalars: 0.1 to 0.5 us of a
     * waited launch on an H100) */
    unsigned grid, bx, by, shared;
    size_t held_bytes;
    unsigned char *held;       /* the parameters' bytes, one after another */
};

rt_cuda_graph *rt_cuda_graph_new(void)
{
    rt_cuda_graph *g = calloc(1, sizeof *g);
    if (g)
        pthread_mutex_init(&g->mu, NULL);
    return g;
}

void rt_cuda_graph_free(void *dev, rt_cuda_graph *g, int live)
{
    if (!g)
        return;
    /* without a live context the driver freed them with it */
    if (live && (g->exec || g->graph) && enter(dev) == RT_ACC_OK) {
        if (g->exec)
            cu.GraphExecDestroy(g->exec);
        if (g->graph)
            cu.GraphDestroy(g->graph);
    }
    pthread_mutex_destroy(&g->mu);
    free(g->held);
    free(g);
}

/* Whether the node already holds these parameters and this grid; if not,
 * records them (nothing recorded when they cannot be: a copy too big). */
static int node_holds(rt_cuda_graph *g, uint32_t grid, uint32_t bx, uint32_t by, uint32_t shared, void **params,
                      const uint32_t *sizes, int nparams)
{
    size_t total = 0;
    for (int i = 0; i < nparams; i++)
        total += sizes[i];
    int same = g->held && g->held_bytes == total && g->grid == grid && g->bx == bx && g->by == by &&
               g->shared == shared;
    for (size_t i = 0, at = 0; same && i < (size_t)nparams; at += sizes[i++])
        same = memcmp(g->held + at, params[i], sizes[i]) == 0;
    if (same)
        return 1;
    if (g->held_bytes != total) {
        free(g->held);
        g->held = total <= 8192 ? malloc(total ? total : 1) : NULL;
        g->held_bytes = g->held ? total : 0;
    }
    if (g->held) {
        for (size_t i = 0, at = 0; i < (size_t)nparams; at += sizes[i++])
            memcpy(g->held + at, params[i], sizes[i]);
        g->grid = grid, g->bx = bx, g->by = by, g->shared = shared;
    }
    return 0;
}

/* Launches fn through g on the legacy stream; nonzero (nothing launched)
 * where the graph cannot: the caller launches it plainly, which also
 * reports a launch's own error in the driver's words. */
static int launch_graph(rt_cuda_graph *g, CUfunction fn, uint32_t grid, uint32_t bx, uint32_t by, uint32_t shared,
                        void **params, const uint32_t *sizes, int nparams)
{
    struct kernel_node kn = {.func = fn, .grid = {grid, 1, 1}, .block = {bx, by, 1}, .shared = shared,
                             .params = params};
    pthread_mutex_lock(&g->mu);
    CUresult rc = 1;
    if (!g->broken) {
        if (g->exec) {
            rc = 0;
            if (!node_holds(g, grid, bx, by, shared, params, sizes, nparams)) {
                rc = cu.GraphExecKernelNodeSetParams(g->exec, g->node, &kn);
                atomic_fetch_add_explicit(&node_updates, 1, memory_order_relaxed);
            }
        } else if ((rc = cu.GraphCreate(&g->graph, 0)) == 0 &&
                   (rc = cu.GraphAddKernelNode(&g->node, g->graph, NULL, 0, &kn)) == 0 &&
                   (rc = cu.GraphInstantiate(&g->exec, g->graph, 0)) != 0) {
            g->exec = NULL;
        } else if (!rc) { /* made with these */
            node_holds(g, grid, bx, by, shared, params, sizes, nparams);
        }
        if (!rc)
            rc = cu.GraphLaunch(g->exec, NULL);
        g->broken = rc != 0;
    }
    pthread_mutex_unlock(&g->mu);
    return rc != 0;
}

int32_t rt_cuda_launch(void *dev, void *fn, rt_cuda_graph *graph, uint32_t grid, uint32_t bx, uint32_t by,
                       uint32_t shared, void *stream, void **params, const uint32_t *sizes, int nparams)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    /* only waited launches: an async queue's launches through one graph
     * would run one after another, not side by side as queues may */
    int graphed = !stream && graph && cu.graphs &&
                  launch_graph(graph, fn, grid, bx, by, shared, params, sizes, nparams) == 0;
    if (!graphed) {
        CUresult rc = cu.LaunchKernel(fn, grid, 1, 1, bx, by, 1, shared, stream, params, NULL);
        if (rc)
            return cu_fail(rc, "launching a GPU kernel");
    }
    atomic_fetch_add_explicit(graphed ? &launches_graphed : &launches_plain, 1, memory_order_relaxed);
    if (!stream) {
        CUresult rc = cu.CtxSynchronize();
        if (rc)
            return cu_fail(rc, "running a GPU kernel");
    }
    return RT_ACC_OK;
}

int32_t rt_cuda_occupancy(void *dev, void *fn, uint32_t bx, int32_t *blocks)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    int n = 0;
    CUresult rc = cu.OccupancyMaxActiveBlocksPerMultiprocessor(&n, fn, (int)bx, 0);
    if (rc)
        return cu_fail(rc, "cuOccupancyMaxActiveBlocksPerMultiprocessor");
    *blocks = n;
    return RT_ACC_OK;
}

int32_t rt_cuda_launch_cooperative(void *dev, void *fn, uint32_t grid, uint32_t bx, void *stream, void **params)
{
    int32_t st = enter(dev);
    if (st)
        return st;
    CUresult rc = cu.LaunchCooperativeKernel(fn, grid, 1, 1, bx, 1, 1, 0, stream, params);
    if (rc)
        return cu_fail(rc, "launching a GPU kernel (cooperative)");
    if (!stream) {
        rc = cu.CtxSynchronize();
        if (rc)
            return cu_fail(rc, "running a GPU kernel");
    }
    return RT_ACC_OK;
}
