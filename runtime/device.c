/* device.c - the OpenACC device state: the "faults" and "devices and back
 * ends" sections of rt.h.
 *
 * Owns the per-thread fault (how every acc routine reports failure), the
 * back-end table (the built-in host back end; the NVIDIA one registered
 * later), the devices made from it, the current device type and number
 * (ACC_DEVICE_TYPE and ACC_DEVICE_NUM, read at first use), init, shutdown,
 * properties, and the fallback warning.  The present table (present.c) and
 * the queues (queues.c) act on the devices made here.
 *
 * The device type and number are process-wide, not per thread: Python
 * threads share one interpreter, and a data region entered on one thread is
 * commonly left on another (a thread pool), which per-thread devices would
 * turn into mismatched tables.
 */
#include "rt.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- faults */

static _Thread_local rt_fault tl_fault = {.item = -1};

void rt_fault_clear(rt_fault *f)
{
    void *detail = f->detail;
    void (*free_detail)(void *) = f->free_detail;
    f->status = RT_ACC_OK;
    f->item = -1;
    f->msg[0] = 0;
    f->detail = NULL;
    f->free_detail = NULL;
    /* Last: free_detail may call back into the runtime (a Python decref). */
    if (detail && free_detail)
        free_detail(detail);
}

static int32_t fail_v(int32_t status, void *detail, void (*free_detail)(void *), const char *fmt,
                      va_list ap)
{
    rt_fault_clear(&tl_fault);
    tl_fault.status = status;
    vsnprintf(tl_fault.msg, sizeof tl_fault.msg, fmt, ap);
    tl_fault.detail = detail;
    tl_fault.free_detail = free_detail;
    return status;
}

int32_t rt_fail(int32_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(status, NULL, NULL, fmt, ap);
    va_end(ap);
    return status;
}

int32_t rt_fail_detail(int32_t status, void *detail, void (*free_detail)(void *), const char *fmt,
                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(status, detail, free_detail, fmt, ap);
    va_end(ap);
    return status;
}

const rt_fault *rt_fault_last(void) { return &tl_fault; }

void rt_fault_take(rt_fault *out)
{
    *out = tl_fault;
    tl_fault.detail = NULL; /* moved, not freed */
    rt_fault_clear(&tl_fault);
}

void rt_fault_put(rt_fault *f)
{
    rt_fault_clear(&tl_fault);
    tl_fault = *f;
    f->detail = NULL;
    rt_fault_clear(f);
}

/* ------------------------------------------------------- the host back end
 *
 * The host is a device whose memory is the host's: clauses move nothing
 * (shared_memory), and only acc_malloc allocates.  Copies are plain
 * memmove, needed for acc_malloc'd blocks and acc_memcpy_*. */

static int32_t host_num_devices(void) { return 1; }

static int32_t host_init(int32_t num, void **dev)
{
    (void)num;
    *dev = NULL;
    return RT_ACC_OK;
}

static void host_fini(void *dev) { (void)dev; }

static int32_t host_alloc(void *dev, size_t bytes, uintptr_t *dptr)
{
    (void)dev;
    void *p = NULL;
    /* 64: a cache line, and what vector loads of compiled loops like. */
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
        return rt_fail(RT_ACC_NO_MEMORY, "cannot allocate %zu bytes of host memory", bytes);
    *dptr = (uintptr_t)p;
    return RT_ACC_OK;
}

static int32_t host_free(void *dev, uintptr_t dptr)
{
    (void)dev;
    free((void *)dptr);
    return RT_ACC_OK;
}

static int32_t host_copy(void *dst, const void *src, size_t bytes)
{
    if (dst != src && bytes)
        memmove(dst, src, bytes);
    return RT_ACC_OK;
}

static int32_t host_copy_in(void *dev, uintptr_t dst, const void *src, size_t bytes, void *stream)
{
    (void)dev;
    (void)stream;
    return host_copy((void *)dst, src, bytes);
}

static int32_t host_copy_out(void *dev, void *dst, uintptr_t src, size_t bytes, void *stream)
{
    (void)dev;
    (void)stream;
    return host_copy(dst, (const void *)src, bytes);
}

static int32_t host_copy_device(void *dev, uintptr_t dst, uintptr_t src, size_t bytes,
                                void *stream)
{
    (void)dev;
    (void)stream;
    return host_copy((void *)dst, (const void *)src, bytes);
}

/* The value of "key : value" lines of a /proc file, into out. */
static int proc_field(const char *path, const char *key, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    size_t klen = strlen(key);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '\t' &&
                                               line[klen] != ':'))
            continue;
        char *v = strchr(line + klen, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strcspn(v, "\n");
        while (n && isspace((unsigned char)v[n - 1]))
            n--;
        snprintf(out, size, "%.*s", (int)n, v);
        found = 1;
    }
    fclose(f);
    return found;
}

static char host_name[256], host_vendor[128], host_driver[128];
static pthread_once_t host_text_once = PTHREAD_ONCE_INIT;

static void host_text_init(void)
{
    if (!proc_field("/proc/cpuinfo", "model name", host_name, sizeof host_name))
        snprintf(host_name, sizeof host_name, "host CPU");
    if (!proc_field("/proc/cpuinfo", "vendor_id", host_vendor, sizeof host_vendor))
        snprintf(host_vendor, sizeof host_vendor, "unknown");
    snprintf(host_driver, sizeof host_driver, "pyacc host multicore runtime");
}

static int32_t host_property(int32_t num, int32_t prop, size_t *value, const char **text)
{
    (void)num;
    long page = sysconf(_SC_PAGESIZE);
    char buf[64];
    switch (prop) {
    case RT_PROPERTY_MEMORY: {
        long pages = sysconf(_SC_PHYS_PAGES);
        *value = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
        return RT_ACC_OK;
    }
    case RT_PROPERTY_FREE_MEMORY: {
        /* MemAvailable counts reclaimable cache; _SC_AVPHYS_PAGES does not. */
        if (proc_field("/proc/meminfo", "MemAvailable", buf, sizeof buf)) {
            *value = (size_t)strtoull(buf, NULL, 10) * 1024;
            return RT_ACC_OK;
        }
        long pages = sysconf(_SC_AVPHYS_PAGES);
        *value = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
        return RT_ACC_OK;
    }
    case RT_PROPERTY_NAME:
    case RT_PROPERTY_VENDOR:
    case RT_PROPERTY_DRIVER:
        pthread_once(&host_text_once, host_text_init);
        *text = prop == RT_PROPERTY_NAME     ? host_name
                : prop == RT_PROPERTY_VENDOR ? host_vendor
                                             : host_driver;
        return RT_ACC_OK;
    default:
        return rt_fail(RT_ACC_INVALID, "%d is not a device property", (int)prop);
    }
}

static const rt_backend host_backend = {
    .name = "host",
    .type = RT_DEVICE_HOST,
    .shared_memory = 1,
    .num_devices = host_num_devices,
    .init = host_init,
    .fini = host_fini,
    .alloc = host_alloc,
    .free = host_free,
    .copy_in = host_copy_in,
    .copy_out = host_copy_out,
    .copy_device = host_copy_device,
    .property = host_property,
};

/* --------------------------------------------------------------- devices */

/* More devices of one type than any node has; devices live in a static
 * table so that pointers to them stay valid for the process. */
#define RT_MAX_DEVICES 64

static pthread_mutex_t dev_mu = PTHREAD_MUTEX_INITIALIZER;
static const rt_backend *backends[RT_DEVICE_TYPE_COUNT_] = {[RT_DEVICE_HOST] = &host_backend};
static rt_device *devices[RT_DEVICE_TYPE_COUNT_][RT_MAX_DEVICES];
static _Atomic(rt_device *) current; /* the current device once chosen */
static int env_read;                 /* ACC_DEVICE_TYPE/NUM have been read */
static int32_t cur_type = RT_DEVICE_HOST;
static int32_t cur_num[RT_DEVICE_TYPE_COUNT_];
static char warning[320];
static atomic_int warning_pending;

/* A fork while another thread holds one of the runtime's locks would leave
 * the child's copy locked for good: take them all, in the lock order, around
 * fork.  One registration for the three files keeps that order (handlers of
 * separate registrations run in an order set by registration). */
static void dev_prepare(void)
{
    pthread_mutex_lock(&dev_mu);
    rt_present_atfork(0);
    rt_queue_atfork(0);
}

static void dev_parent(void)
{
    rt_queue_atfork(1);
    rt_present_atfork(1);
    pthread_mutex_unlock(&dev_mu);
}

static void dev_child(void)
{
    rt_queue_atfork(2);
    rt_present_atfork(2);
    pthread_mutex_init(&dev_mu, NULL);
}

__attribute__((constructor)) static void dev_atfork(void)
{
    pthread_atfork(dev_prepare, dev_parent, dev_child);
}

static const char *type_name(int32_t type)
{
    static const char *const names[] = {"acc_device_none", "acc_device_default",
                                        "acc_device_host", "acc_device_not_host",
                                        "acc_device_nvidia"};
    return type >= 0 && type < RT_DEVICE_TYPE_COUNT_ ? names[type] : "an unknown device type";
}

static void warn_locked(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn_locked(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(warning, sizeof warning, fmt, ap);
    va_end(ap);
    atomic_store_explicit(&warning_pending, 1, memory_order_release);
}

int32_t rt_device_warning(char *buf, size_t size)
{
    if (!atomic_load_explicit(&warning_pending, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&dev_mu);
    int had = atomic_exchange(&warning_pending, 0);
    if (had && size)
        snprintf(buf, size, "%s", warning);
    pthread_mutex_unlock(&dev_mu);
    return had;
}

static int32_t count_locked(int32_t type)
{
    if (type < 0 || type >= RT_DEVICE_TYPE_COUNT_ || !backends[type])
        return 0;
    int32_t n = backends[type]->num_devices();
    return n < 0 ? 0 : n > RT_MAX_DEVICES ? RT_MAX_DEVICES : n;
}

/* The concrete type a request means: default and not_host pick the GPU
 * when there is one; a GPU request without one falls back to the host,
 * with a warning when `why` names the request. */
static int32_t resolve_locked(int32_t type, const char *why)
{
    switch (type) {
    case RT_DEVICE_HOST:
        return RT_DEVICE_HOST;
    case RT_DEVICE_DEFAULT:
        return count_locked(RT_DEVICE_NVIDIA) > 0 ? RT_DEVICE_NVIDIA : RT_DEVICE_HOST;
    case RT_DEVICE_NOT_HOST:
    case RT_DEVICE_NVIDIA:
        if (count_locked(RT_DEVICE_NVIDIA) > 0)
            return RT_DEVICE_NVIDIA;
        if (why)
            warn_locked("%s: no NVIDIA GPU is available (%s); using the host device", why,
                        backends[RT_DEVICE_NVIDIA] ? "the driver reports no device"
                                                   : "no CUDA driver loaded");
        return RT_DEVICE_HOST;
    default:
        return -1;
    }
}

static int32_t parse_env_type(const char *s)
{
    static const struct {
        const char *name;
        int32_t type;
    } names[] = {{"host", RT_DEVICE_HOST},         {"nvidia", RT_DEVICE_NVIDIA},
                 {"not_host", RT_DEVICE_NOT_HOST}, {"default", RT_DEVICE_DEFAULT},
                 {"acc_device_host", RT_DEVICE_HOST}, {"acc_device_nvidia", RT_DEVICE_NVIDIA},
                 {"acc_device_not_host", RT_DEVICE_NOT_HOST},
                 {"acc_device_default", RT_DEVICE_DEFAULT}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i].name) == 0)
            return names[i].type;
    return -1;
}

/* Reads ACC_DEVICE_TYPE and ACC_DEVICE_NUM, once, before the first choice
 * of device; a later acc_set_device_* overrides them. */
static void read_env_locked(void)
{
    if (env_read)
        return;
    env_read = 1;
    const char *t = getenv("ACC_DEVICE_TYPE");
    int32_t type = RT_DEVICE_DEFAULT;
    if (t && *t) {
        type = parse_env_type(t);
        if (type < 0) {
            warn_locked("ACC_DEVICE_TYPE=%s is not a device type pyacc knows (host, nvidia, "
                        "not_host, default); using the default device",
                        t);
            type = RT_DEVICE_DEFAULT;
        }
    }
    char why[96];
    snprintf(why, sizeof why, "ACC_DEVICE_TYPE=%s", t ? t : "");
    cur_type = resolve_locked(type, why);
    const char *n = getenv("ACC_DEVICE_NUM");
    if (n && *n) {
        char *end;
        errno = 0;
        long v = strtol(n, &end, 10);
        int32_t count = count_locked(cur_type);
        if (errno || *end || v < 0 || v >= count)
            warn_locked("ACC_DEVICE_NUM=%s is not a device number of the %s device (0 to %d); "
                        "using 0",
                        n, backends[cur_type]->name, (int)count - 1);
        else
            cur_num[cur_type] = (int32_t)v;
    }
}

/* The device (type, num), made if need be (not initialised). */
static rt_device *device_locked(int32_t type, int32_t num)
{
    rt_device *d = devices[type][num];
    if (d && d->be == backends[type])
        return d;
    if (!d) {
        d = calloc(1, sizeof *d);
        struct rt_table *t = rt_table_new();
        if (!d || !t) {
            free(d);
            free(t);
            rt_fail(RT_ACC_NO_MEMORY, "out of memory making a device");
            return NULL;
        }
        d->table = t;
        d->type = type;
        d->num = num;
        devices[type][num] = d;
    }
    d->be = backends[type];
    return d;
}

static int32_t init_locked(rt_device *d)
{
    if (__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
        return RT_ACC_OK;
    void *state = NULL;
    int32_t st = d->be->init(d->num, &state);
    if (st)
        return st;
    d->dev = state;
    d->generation++;
    __atomic_store_n(&d->ready, 1, __ATOMIC_RELEASE);
    return RT_ACC_OK;
}

rt_device *rt_device_current(void)
{
    rt_device *d = atomic_load_explicit(&current, memory_order_acquire);
    if (d && __atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
        return d;
    pthread_mutex_lock(&dev_mu);
    read_env_locked();
    d = device_locked(cur_type, cur_num[cur_type]);
    if (d && init_locked(d) != RT_ACC_OK)
        d = NULL;
    if (d)
        atomic_store_explicit(&current, d, memory_order_release);
    pthread_mutex_unlock(&dev_mu);
    return d;
}

rt_device *rt_device_of(int32_t type)
{
    if (type < 0 || type >= RT_DEVICE_TYPE_COUNT_)
        return NULL;
    rt_device *d = atomic_load_explicit(&current, memory_order_acquire);
    if (d && d->type == type && __atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
        return d;
    pthread_mutex_lock(&dev_mu);
    read_env_locked();
    d = NULL;
    if (count_locked(type) > 0) {
        d = device_locked(type, cur_num[type]);
        if (d && init_locked(d) != RT_ACC_OK)
            d = NULL;
    }
    pthread_mutex_unlock(&dev_mu);
    return d;
}

int32_t rt_device_count(int32_t type)
{
    pthread_mutex_lock(&dev_mu);
    int32_t n = 0;
    if (type == RT_DEVICE_DEFAULT)
        n = count_locked(resolve_locked(type, NULL));
    else if (type == RT_DEVICE_NOT_HOST)
        n = count_locked(RT_DEVICE_NVIDIA);
    else
        n = count_locked(type);
    pthread_mutex_unlock(&dev_mu);
    return n;
}

/* Makes (type, num) the current choice (made, not initialised). */
static int32_t choose_locked(int32_t type, int32_t num)
{
    rt_device *d = device_locked(type, num);
    if (!d)
        return rt_fault_last()->status;
    cur_type = type;
    cur_num[type] = num;
    atomic_store_explicit(&current, d, memory_order_release);
    return RT_ACC_OK;
}

/* acc_set_device_type, and acc_init's choice; `routine` names the caller
 * in messages. */
static int32_t set_type(int32_t type, const char *routine)
{
    if (type <= RT_DEVICE_NONE || type >= RT_DEVICE_TYPE_COUNT_)
        return rt_fail(RT_ACC_INVALID, "%s: %s is not a device to use", routine,
                       type == RT_DEVICE_NONE ? "acc_device_none" : "this value");
    pthread_mutex_lock(&dev_mu);
    env_read = 1; /* an explicit choice overrides ACC_DEVICE_TYPE */
    char why[80];
    snprintf(why, sizeof why, "%s(%s)", routine, type_name(type));
    int32_t t = resolve_locked(type, why);
    int32_t st = choose_locked(t, cur_num[t]);
    pthread_mutex_unlock(&dev_mu);
    return st;
}

int32_t rt_device_set_type(int32_t type) { return set_type(type, "acc_set_device_type"); }

int32_t rt_device_get_type(void)
{
    pthread_mutex_lock(&dev_mu);
    read_env_locked();
    int32_t t = cur_type;
    pthread_mutex_unlock(&dev_mu);
    return t;
}

int32_t rt_device_set_num(int32_t num, int32_t type)
{
    pthread_mutex_lock(&dev_mu);
    read_env_locked();
    env_read = 1;
    int32_t t;
    if (type == RT_DEVICE_DEFAULT) {
        t = cur_type;
    } else {
        char why[80];
        snprintf(why, sizeof why, "acc_set_device_num(%d, %s)", (int)num, type_name(type));
        t = resolve_locked(type, why);
    }
    int32_t st;
    if (t < 0) {
        st = rt_fail(RT_ACC_INVALID, "acc_set_device_num: %s is not a device type",
                     type_name(type));
    } else {
        int32_t count = count_locked(t);
        if (num < 0) /* OpenACC: a negative number restores the default */
            num = 0;
        if (num >= count)
            st = rt_fail(RT_ACC_INVALID,
                         "acc_set_device_num: there is no device %d of type %s (it has %d)",
                         (int)num, backends[t]->name, (int)count);
        else
            st = choose_locked(t, num);
    }
    pthread_mutex_unlock(&dev_mu);
    return st;
}

int32_t rt_device_get_num(int32_t type)
{
    pthread_mutex_lock(&dev_mu);
    read_env_locked();
    int32_t t = type == RT_DEVICE_DEFAULT ? cur_type : resolve_locked(type, NULL);
    int32_t n = t < 0 ? -1 : cur_num[t];
    pthread_mutex_unlock(&dev_mu);
    return n;
}

int32_t rt_device_init(int32_t type)
{
    if (type == RT_DEVICE_DEFAULT) {
        pthread_mutex_lock(&dev_mu);
        read_env_locked();
        pthread_mutex_unlock(&dev_mu);
    } else {
        int32_t st = set_type(type, "acc_init");
        if (st)
            return st;
    }
    return rt_device_current() ? RT_ACC_OK : rt_fault_last()->status;
}

int32_t rt_device_shutdown(int32_t type)
{
    if (type <= RT_DEVICE_NONE || type >= RT_DEVICE_TYPE_COUNT_)
        return rt_fail(RT_ACC_INVALID, "acc_shutdown: %s is not a device type",
                       type_name(type));
    /* First, with no lock held: queued tasks may themselves use the
     * device layer. */
    int32_t st = rt_queue_shutdown();
    rt_fault kept = {.item = -1};
    if (st)
        rt_fault_take(&kept);
    pthread_mutex_lock(&dev_mu);
    int32_t t = type == RT_DEVICE_DEFAULT    ? cur_type
                : type == RT_DEVICE_NOT_HOST ? RT_DEVICE_NVIDIA
                                             : type;
    for (int i = 0; i < RT_MAX_DEVICES; i++) {
        rt_device *d = devices[t][i];
        if (!d || !__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE))
            continue;
        rt_table_clear(d);
        __atomic_store_n(&d->ready, 0, __ATOMIC_RELEASE);
        rt_gpu_release_spares(d);
        d->be->fini(d->dev);
        d->dev = NULL;
    }
    pthread_mutex_unlock(&dev_mu);
    if (st)
        rt_fault_put(&kept); /* a task's failure, reported by this wait */
    return st;
}

void rt_device_atexit(void)
{
    pthread_mutex_lock(&dev_mu);
    for (int t = 0; t < RT_DEVICE_TYPE_COUNT_; t++)
        for (int i = 0; i < RT_MAX_DEVICES; i++)
            if (devices[t][i] && __atomic_load_n(&devices[t][i]->ready, __ATOMIC_ACQUIRE))
                rt_gpu_release_spares(devices[t][i]);
    pthread_mutex_unlock(&dev_mu);
}

int32_t rt_device_property(int32_t num, int32_t type, int32_t prop, size_t *value,
                           const char **text)
{
    *value = 0;
    *text = NULL;
    pthread_mutex_lock(&dev_mu);
    read_env_locked();
    int32_t t = type == RT_DEVICE_DEFAULT    ? cur_type
                : type == RT_DEVICE_NOT_HOST ? RT_DEVICE_NVIDIA
                                             : type;
    int32_t count = count_locked(t);
    const rt_backend *be = t >= 0 && t < RT_DEVICE_TYPE_COUNT_ ? backends[t] : NULL;
    pthread_mutex_unlock(&dev_mu);
    if (!be || num < 0 || num >= count)
        return rt_fail(RT_ACC_INVALID, "acc_get_property: there is no device %d of type %s",
                       (int)num, type_name(type));
    return be->property(num, prop, value, text);
}

int32_t rt_device_register(const rt_backend *be)
{
    if (!be || be->type != RT_DEVICE_NVIDIA || !be->num_devices || !be->init || !be->fini ||
        !be->alloc || !be->free || !be->copy_in || !be->copy_out || !be->copy_device ||
        !be->property)
        return rt_fail(RT_ACC_INVALID, "rt_device_register: an incomplete back end");
    if (rt_device_shutdown(be->type)) {
        rt_fault f; /* a task's failure under the old back end: nobody's to report */
        rt_fault_take(&f);
        rt_fault_clear(&f);
    }
    pthread_mutex_lock(&dev_mu);
    backends[be->type] = be;
    pthread_mutex_unlock(&dev_mu);
    return RT_ACC_OK;
}

int32_t pyacc_rt_on_device(int32_t type)
{
    /* Code calling this runs on the host: compiled GPU kernels get their
     * own answer from the NVIDIA back end's code generator. */
    return type == RT_DEVICE_HOST || type == RT_DEVICE_NONE;
}
