/* gpu.c - compute regions on an NVIDIA GPU.
 *
 * Where a call runs: @acc(device="host") on the host; "nvidia" on the GPU
 * when there is one; by default on the current OpenACC device (from
 * ACC_DEVICE_TYPE, acc_set_device_type, ...).  Entries of the dispatch
 * table are keyed on that device too.
 *
 * Compiling for it (pyext_gpu_build): the lowered region is split
 * (jit/gpu.c) into kernels, turned into PTX (jit/nvptx.c) and loaded by
 * the driver, and host code that launches them; the launches are bound to
 * the loaded kernels' descriptions before the host code is compiled.
 *
 * A region the GPU cannot run (code outside its loops touching arrays,
 * values a launch cannot move, a call with no device form) runs on the
 * host after one warning.  Its arrays may live on the GPU meanwhile (data
 * clauses of the construct or of enclosing data regions put them there),
 * so around such a host run the device copies of its array arguments are
 * brought back and sent again after (pyext_gpu_sync): the host run sees
 * and leaves what a GPU run would.
 */
#include "region.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long pyext_gpu_calls[2];

int pyext_gpu_serial_enabled(void);

rt_device *pyext_gpu_device(int device)
{
    if (device == RG_DEVICE_HOST)
        return NULL;
    rt_device *d = device == RG_DEVICE_NVIDIA ? rt_device_of(RT_DEVICE_NVIDIA) : rt_device_current();
    return d && d->type == RT_DEVICE_NVIDIA ? d : NULL;
}

/* The GPU's compute capability as LLVM names it, capped at what LLVM 19
 * emits PTX for (the driver JITs sm_90 PTX for newer GPUs); without a
 * GPU, PYACC_GPU_ARCH or sm_90. */
static void arch_of(rt_device *d, char *sm, size_t n, int *sms)
{
    int32_t major = 9, minor = 0, count = 0;
    const char *env = getenv("PYACC_GPU_ARCH");
    *sms = 0;
    if (d && rt_cuda_target(d->dev, &major, &minor, &count) == RT_ACC_OK) {
        if (major * 10 + minor > 90)
            major = 9, minor = 0;
        *sms = (int)count;
    } else if (env && strncmp(env, "sm_", 3) == 0 && strlen(env) < 12) {
        snprintf(sm, n, "%s", env);
        return;
    }
    snprintf(sm, n, "sm_%d%d", (int)major, (int)minor);
}

#define PTX_FEATURES "+ptx80"

void pyext_gpu_target(rt_device *d, char *buf, size_t n)
{
    char sm[16];
    int sms;
    arch_of(d, sm, sizeof sm, &sms);
    /* PYACC_GPU_SERIAL=0 changes which regions get GPU code: part of the key */
    snprintf(buf, n, "nvidia %s %s%s", sm, PTX_FEATURES, pyext_gpu_serial_enabled() ? "" : " host-serial");
}

void pyext_gpu_code_free(pyext_gpu_code *c)
{
    if (!c)
        return;
    int live = c->module && c->dev->ready && c->infos && c->dev->generation == c->infos[0].generation;
    for (int i = 0; c->infos && i < c->nkernels; i++) /* before the module their kernels are in */
        rt_cuda_graph_free(c->dev->dev, c->infos[i].graph, live);
    if (live)
        rt_cuda_unload(c->dev->dev, c->module);
    free(c->ptx);
    free(c->kernels);
    free(c->infos);
    free(c);
}

int pyext_gpu_build(jit_host *h, void *module, const char *symbol, int whole, rt_device *d, int line,
                    pyext_gpu_code **code, char **ptx, char *why, size_t whylen)
{
    *code = NULL;
    *ptx = NULL;
    jit_gpu_parts parts;
    char err[512];
    int rc = whole ? jit_gpu_serial(module, symbol, &parts, err, sizeof err)
                    : jit_gpu_split(h, module, symbol, &parts, err, sizeof err);
    if (rc) {
        snprintf(why, whylen, "%s", rc > 0 ? parts.why : err);
        jit_gpu_parts_free(&parts);
        return rc;
    }
    char sm[16];
    int sms;
    arch_of(d, sm, sizeof sm, &sms);
    double ms;
    void *dm = parts.device_module;
    parts.device_module = NULL; /* jit_nvptx_compile takes it */
    *ptx = jit_nvptx_compile(dm, sm, PTX_FEATURES, &ms, err, sizeof err);
    if (!*ptx) {
        snprintf(why, whylen, "making PTX: %s", err);
        rc = -1;
    } else if (d) {
        rc = pyext_gpu_load(d, *ptx, parts.kernels, parts.nkernels, line, code, why, whylen);
    } else { /* for the disk cache: the kernels, loaded nowhere */
        pyext_gpu_code *c = calloc(1, sizeof *c);
        if (c && (c->ptx = strdup(*ptx))) {
            c->nkernels = parts.nkernels;
            c->kernels = parts.kernels;
            parts.kernels = NULL;
            *code = c;
        } else {
            free(c);
            snprintf(why, whylen, "out of memory");
            rc = -1;
        }
    }
    jit_gpu_parts_free(&parts);
    return rc;
}

/* Whether a kernel description (maybe read from disk) is one a launch
 * can trust: fields inside ctx, in order, of known kinds. */
static int kernel_ok(const jit_gpu_kernel *k)
{
    if (k->serial == JIT_GPU_ONE_THREAD) /* kernel(slots, err): nothing to describe */
        return k->nfields == 0 && memchr(k->name, 0, sizeof k->name) != NULL;
    if (k->serial == JIT_GPU_GRID) /* kernel(slots, err, work): the work area's size */
        return k->nfields == 0 && memchr(k->name, 0, sizeof k->name) != NULL && k->work_fixed >= 64 &&
               k->work_fixed <= (1 << 20) && k->work_parts >= 0 && k->work_parts <= JIT_GPU_MAX_FIELDS;
    if (k->serial)
        return 0;
    if (k->nfields < 0 || k->nfields > JIT_GPU_MAX_FIELDS || k->ctx_size <= 0 || k->ctx_size > (1 << 20) ||
        memchr(k->name, 0, sizeof k->name) == NULL)
        return 0;
    for (int f = 0; f < k->nfields; f++) {
        int64_t end = f + 1 < k->nfields ? k->offsets[f + 1] : k->ctx_size;
        uint8_t kind = k->kinds[f];
        int cls = kind & 0xe0, size = kind & RT_CTX_SIZE_MASK;
        if (k->offsets[f] < 0 || k->offsets[f] >= end || end > k->ctx_size ||
            (kind != RT_CTX_PLAIN && k->offsets[f] + 8 > end))
            return 0;
        if (kind == RT_CTX_UNSUPPORTED || (kind != RT_CTX_PLAIN && kind != RT_CTX_ERR && cls == 0) || cls > RT_CTX_LISTOUT)
            return 0;
        if (cls == RT_CTX_LISTOUT && (size == 0 || k->offsets[f] + 16 > end))
            return 0;
        if (cls == RT_CTX_ARRAY && (k->ndims[f] < 1 || k->ndims[f] > FE_MAX_NDIM ||
                                    k->offsets[f] + 8 + 16 * k->ndims[f] > end || size == 0))
            return 0;
        if ((cls == RT_CTX_PARTIALS || cls == RT_CTX_CELL || cls == RT_CTX_ARED) && (size == 0 || size > 8))
            return 0;
    }
    if ((k->rows == JIT_GPU_ROWS_LANES && k->lanes < 1) || (k->rows == JIT_GPU_ROWS_ITERATIONS && k->lanes) ||
        k->rows < 0 || k->rows > JIT_GPU_ROWS_ITERATIONS) /* rows in lane loops, or of the loop's own */
        return 0;
    if (k->private_field) { /* an array reduction and its array, alike in element size */
        int f = k->private_field - 1, af = f >= 0 && f < k->nfields ? k->ndims[f] : -1;
        if (f < 0 || f >= k->nfields || (k->kinds[f] & 0xe0) != RT_CTX_ARED || af < 0 || af >= k->nfields ||
            (k->kinds[af] & 0xe0) != RT_CTX_ARRAY || k->kinds[af] == RT_CTX_UNSUPPORTED ||
            (k->kinds[af] & RT_CTX_SIZE_MASK) != (k->kinds[f] & RT_CTX_SIZE_MASK))
            return 0;
    }
    return 1;
}

int pyext_gpu_load(rt_device *d, const char *ptx, const jit_gpu_kernel *kernels, int nkernels, int line,
                   pyext_gpu_code **code, char *why, size_t whylen)
{
    *code = NULL;
    if (nkernels < 1 || nkernels > JIT_GPU_MAX_KERNELS) {
        snprintf(why, whylen, "%d kernels", nkernels);
        return -1;
    }
    int32_t major, minor, sms = 0;
    if (rt_cuda_target(d->dev, &major, &minor, &sms) != RT_ACC_OK) {
        snprintf(why, whylen, "%s", rt_fault_last()->msg);
        return -1;
    }
    pyext_gpu_code *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    c->dev = d;
    c->nkernels = nkernels;
    c->kernels = malloc((size_t)nkernels * sizeof *c->kernels);
    c->infos = calloc((size_t)nkernels, sizeof *c->infos);
    c->ptx = strdup(ptx);
    char log[2048];
    if (!c->kernels || !c->infos || !c->ptx) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    memcpy(c->kernels, kernels, (size_t)nkernels * sizeof *c->kernels); /* aligned now: it may come from disk */
    for (int i = 0; i < nkernels; i++)
        if (!kernel_ok(&c->kernels[i])) {
            snprintf(why, whylen, "kernel %d is not described right", i);
            goto fail;
        }
    if (rt_cuda_load(d->dev, ptx, &c->module, log, sizeof log)) {
        snprintf(why, whylen, "%s", rt_fault_last()->msg);
        goto fail;
    }
    for (int i = 0; i < nkernels; i++) {
        jit_gpu_kernel *k = &c->kernels[i];
        rt_gpu_kernel *info = &c->infos[i];
        int32_t max_block = 0;
        if (rt_cuda_function(d->dev, c->module, k->name, &info->fn, &max_block)) {
            snprintf(why, whylen, "%s", rt_fault_last()->msg);
            goto fail;
        }
        info->dev = d;
        info->generation = d->generation;
        info->nfields = k->nfields;
        info->sms = sms;
        /* whole warps: the kernels' reductions shuffle within full warps */
        info->max_block = max_block > 1024 ? 1024 : max_block < 32 ? 32 : max_block / 32 * 32;
        info->line = line;
        info->ctx_size = k->ctx_size;
        info->kinds = k->kinds; /* nfields kinds, then their second bytes, as rt.h says */
        info->offsets = k->offsets;
        info->ndims = k->ndims;
        info->lanes = k->lanes;
        info->rows = k->rows;
        info->grid = k->serial == JIT_GPU_GRID;
        info->private_field = k->private_field ? 1 + k->ndims[k->private_field - 1] : 0;
        info->work_fixed = k->work_fixed;
        info->work_parts = k->work_parts;
        info->graph = rt_cuda_graph_new(); /* none (out of memory): plain launches */
    }
    *code = c;
    return 0;
fail:
    if (c->module)
        rt_cuda_unload(d->dev, c->module);
    c->module = NULL;
    pyext_gpu_code_free(c);
    return -1;
}

int pyext_gpu_bind(pyext_gpu_code *c, jit_host *h, const char *symbol, char *why, size_t whylen)
{
    for (int i = 0; i < c->nkernels && !c->kernels[i].serial; i++) {
        char name[160];
        jit_gpu_info_symbol(symbol, i, name, sizeof name);
        const rt_gpu_kernel **slot = jit_host_lookup(h, name);
        if (!slot) {
            snprintf(why, whylen, "the host code has no %s", name);
            return -1;
        }
        *slot = &c->infos[i];
    }
    return 0;
}

/* -------------------------------------------- host runs with GPU data */

int pyext_gpu_sync(rt_device *d, const fe_argtype *sig, const pyext_arg *a, int n, int to_host)
{
    rt_data_item items[RG_MAXARGS];
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (sig[i].kind != FE_ARG_ARRAY)
            continue;
        uintptr_t lo, hi;
        pyext_arg_extent(&a[i], sig[i].ndim, a[i].itemsize, &lo, &hi);
        if (hi == lo || !rt_is_present(d, (const void *)lo, hi - lo))
            continue;
        items[k++] = (rt_data_item){.host = (const void *)lo,
                                    .bytes = hi - lo,
                                    .clause = to_host ? RT_CLAUSE_UPDATE_SELF : RT_CLAUSE_UPDATE_DEVICE};
    }
    if (k && rt_data_update(d, items, k, RT_ASYNC_SYNC, 1)) {
        rt_fault f;
        rt_fault_take(&f);
        PyErr_Format(PyExc_RuntimeError, "pyacc: making the GPU's copies of a host region's arrays agree: %s", f.msg);
        rt_fault_clear(&f);
        return -1;
    }
    return 0;
}

int32_t pyext_gpu_serial(pyext_gpu_code *c, const fe_argtype *sig, const pyext_arg *a, int n, int nslots,
                         int64_t *slots, uint64_t tuple_outs, int64_t shape, rt_error *err)
{
    int32_t bytes[RG_MAXARGS], ndims[RG_MAXARGS];
    for (int i = 0; i < n; i++) { /* arrays, and the buffers of lists: copied in, or appended to */
        int arr = sig[i].kind == FE_ARG_ARRAY, list = sig[i].kind == FE_ARG_LIST, out = sig[i].kind == FE_ARG_LIST_OUT;
        bytes[i] = arr ? (int32_t)a[i].itemsize
                   : list ? (sig[i].dtype == FE_DT_BOOL ? 1 : 8)
                   : out ? (int32_t)a[i].desc.strides[0] : 0;
        ndims[i] = arr || list ? sig[i].ndim : out ? 1 : 0;
    }
    return rt_gpu_serial(&c->infos[0], slots, n, nslots, bytes, ndims, tuple_outs, FE_MAX_OUT_ITEMS * 8, shape, err);
}

int pyext_gpu_serial_enabled(void)
{
    const char *v = getenv("PYACC_GPU_SERIAL");
    return !(v && strcmp(v, "0") == 0);
}
