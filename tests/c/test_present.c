/* test_present.c - Criterion tests of the device layer and the present
 * table (runtime/device.c, runtime/present.c).
 *
 * Criterion runs each test in its own process, so every test starts with
 * no device chosen and an empty table.  Besides the host device, the tests
 * plug in a fake discrete device ("fakegpu", registered as the NVIDIA type):
 * separate malloc'd memory and deferred stream copies, so that what the
 * host device cannot show (data moving only when the rules say, async copies
 * landing only after a wait) is checked through the same back-end interface
 * the CUDA back end will implement.
 */
#include "rt.h"

#include <criterion/criterion.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------ the fake discrete device */

static atomic_int fake_live;          /* device blocks allocated, not freed */
static atomic_long fake_bytes_in;     /* bytes copied host -> device */
static atomic_long fake_bytes_out;    /* bytes copied device -> host */

typedef struct fake_op {
    void *dst;
    const void *src;
    size_t bytes;
} fake_op;

typedef struct fake_stream {
    pthread_mutex_t mu;
    fake_op ops[256];
    int n;
} fake_stream;

static int32_t fake_count(void) { return 1; }
static int32_t fake_init(int32_t num, void **dev)
{
    (void)num;
    *dev = (void *)0x1; /* a non-null state, as a real back end has */
    return RT_ACC_OK;
}
static void fake_fini(void *dev) { cr_assert_eq(dev, (void *)0x1); }
static int32_t fake_alloc(void *dev, size_t bytes, uintptr_t *dptr)
{
    (void)dev;
    void *p = malloc(bytes);
    memset(p, 0xEE, bytes); /* device memory starts as garbage */
    *dptr = (uintptr_t)p;
    atomic_fetch_add(&fake_live, 1);
    return RT_ACC_OK;
}
static int32_t fake_free(void *dev, uintptr_t dptr)
{
    (void)dev;
    free((void *)dptr);
    atomic_fetch_sub(&fake_live, 1);
    return RT_ACC_OK;
}
static int32_t fake_copy(void *dst, const void *src, size_t bytes, void *stream)
{
    if (!stream) {
        memcpy(dst, src, bytes);
        return RT_ACC_OK;
    }
    fake_stream *s = stream;
    pthread_mutex_lock(&s->mu);
    cr_assert_lt(s->n, 256);
    s->ops[s->n++] = (fake_op){dst, src, bytes};
    pthread_mutex_unlock(&s->mu);
    return RT_ACC_OK;
}
static int32_t fake_copy_in(void *dev, uintptr_t dst, const void *src, size_t bytes, void *stream)
{
    (void)dev;
    atomic_fetch_add(&fake_bytes_in, (long)bytes);
    return fake_copy((void *)dst, src, bytes, stream);
}
static int32_t fake_copy_out(void *dev, void *dst, uintptr_t src, size_t bytes, void *stream)
{
    (void)dev;
    atomic_fetch_add(&fake_bytes_out, (long)bytes);
    return fake_copy(dst, (const void *)src, bytes, stream);
}
static int32_t fake_copy_device(void *dev, uintptr_t dst, uintptr_t src, size_t bytes,
                                void *stream)
{
    (void)dev;
    return fake_copy((void *)dst, (const void *)src, bytes, stream);
}
static int32_t fake_property(int32_t num, int32_t prop, size_t *value, const char **text)
{
    (void)num;
    if (prop == RT_PROPERTY_NAME)
        *text = "fakegpu";
    else if (prop == RT_PROPERTY_MEMORY)
        *value = 1u << 30;
    else
        return rt_fail(RT_ACC_INVALID, "no such property");
    return RT_ACC_OK;
}
static int32_t fake_stream_create(void *dev, void **stream)
{
    (void)dev;
    fake_stream *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    *stream = s;
    return RT_ACC_OK;
}
static int32_t fake_stream_sync(void *dev, void *stream)
{
    (void)dev;
    fake_stream *s = stream;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n; i++)
        memcpy(s->ops[i].dst, s->ops[i].src, s->ops[i].bytes);
    s->n = 0;
    pthread_mutex_unlock(&s->mu);
    return RT_ACC_OK;
}
static void fake_stream_destroy(void *dev, void *stream)
{
    fake_stream_sync(dev, stream);
    free(stream);
}
static int32_t fake_stream_done(void *dev, void *stream)
{
    (void)dev;
    fake_stream *s = stream;
    pthread_mutex_lock(&s->mu);
    int idle = s->n == 0;
    pthread_mutex_unlock(&s->mu);
    return idle;
}

static rt_backend fake = {
    .name = "fakegpu",
    .type = RT_DEVICE_NVIDIA,
    .shared_memory = 0,
    .num_devices = fake_count,
    .init = fake_init,
    .fini = fake_fini,
    .alloc = fake_alloc,
    .free = fake_free,
    .copy_in = fake_copy_in,
    .copy_out = fake_copy_out,
    .copy_device = fake_copy_device,
    .property = fake_property,
};

/* The fake GPU as the current device; with streams or without. */
static rt_device *use_fake(int streams)
{
    if (streams) {
        fake.stream_create = fake_stream_create;
        fake.stream_destroy = fake_stream_destroy;
        fake.stream_sync = fake_stream_sync;
        fake.stream_done = fake_stream_done;
    }
    cr_assert_eq(rt_device_register(&fake), RT_ACC_OK);
    cr_assert_eq(rt_device_set_type(RT_DEVICE_NVIDIA), RT_ACC_OK);
    rt_device *d = rt_device_current();
    cr_assert_not_null(d);
    cr_assert_eq(d->be, &fake);
    return d;
}

static rt_device *host(void)
{
    rt_device *d = rt_device_current();
    cr_assert_not_null(d);
    cr_assert_eq(d->type, RT_DEVICE_HOST);
    return d;
}

static rt_data_item item(const void *p, size_t bytes, int32_t clause)
{
    return (rt_data_item){.host = p, .bytes = bytes, .clause = clause};
}

static int64_t sref(rt_device *d, const void *p)
{
    int64_t s, dy, a;
    rt_present_counts(d, p, &s, &dy, &a);
    return s;
}

static int64_t dref(rt_device *d, const void *p)
{
    int64_t s, dy, a;
    rt_present_counts(d, p, &s, &dy, &a);
    return dy;
}

static int64_t attach_count(rt_device *d, const void *p)
{
    int64_t s, dy, a;
    rt_present_counts(d, p, &s, &dy, &a);
    return a;
}

static int enter1(rt_device *d, const void *p, size_t bytes, int32_t clause, uint64_t *epoch,
                  rt_data_item *out)
{
    *out = item(p, bytes, clause);
    return rt_data_enter(d, out, 1, RT_ASYNC_SYNC, epoch);
}

static int dyn(rt_device *d, const void *p, size_t bytes, int32_t clause)
{
    rt_data_item it = item(p, bytes, clause);
    if (clause == RT_CLAUSE_COPYIN || clause == RT_CLAUSE_CREATE || clause == RT_CLAUSE_ATTACH)
        return rt_data_enter_dynamic(d, &it, 1, RT_ASYNC_SYNC);
    return rt_data_exit_dynamic(d, &it, 1, RT_ASYNC_SYNC, 0);
}

static int dyn_final(rt_device *d, const void *p, size_t bytes, int32_t clause)
{
    rt_data_item it = item(p, bytes, clause);
    return rt_data_exit_dynamic(d, &it, 1, RT_ASYNC_SYNC, 1);
}

static int has(const char *text) { return strstr(rt_fault_last()->msg, text) != NULL; }

/* ------------------------------------------------------- reference counts */

Test(present, nested_structured_regions_count_and_remove_at_the_outermost_exit)
{
    rt_device *d = host();
    double a[100];
    uint64_t e1, e2;
    rt_data_item outer, inner;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_COPY, &e1, &outer), RT_ACC_OK);
    cr_assert_eq(outer.dev, (uintptr_t)a, "the host device's copy is the host data");
    cr_assert_eq(sref(d, a), 1);
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_COPYIN, &e2, &inner), RT_ACC_OK);
    cr_assert_eq(sref(d, a), 2);
    cr_assert_eq(dref(d, a), 0);
    cr_assert_eq(rt_present_size(d), 1, "present data is counted, not mapped twice");
    cr_assert_eq(rt_data_exit(d, &inner, 1, RT_ASYNC_SYNC, e2), RT_ACC_OK);
    cr_assert(rt_is_present(d, a, sizeof a));
    cr_assert_eq(sref(d, a), 1);
    cr_assert_eq(rt_data_exit(d, &outer, 1, RT_ASYNC_SYNC, e1), RT_ACC_OK);
    cr_assert(!rt_is_present(d, a, sizeof a));
    cr_assert_eq(rt_present_size(d), 0);
}

Test(present, exit_data_inside_a_structured_region_keeps_the_data_until_the_region_ends)
{
    rt_device *d = host();
    int a[10];
    uint64_t ep;
    rt_data_item it;
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_COPY, &ep, &it), RT_ACC_OK);
    cr_assert_eq(sref(d, a), 1);
    cr_assert_eq(dref(d, a), 1);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert(rt_is_present(d, a, sizeof a), "the structured reference holds it");
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK,
                 "a delete with the dynamic count at zero does nothing");
    cr_assert_eq(sref(d, a), 1);
    cr_assert_eq(rt_data_exit(d, &it, 1, RT_ASYNC_SYNC, ep), RT_ACC_OK);
    cr_assert(!rt_is_present(d, a, sizeof a));
}

Test(present, finalize_zeroes_the_dynamic_count_but_not_the_structured_one)
{
    rt_device *d = host();
    float a[8];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(dref(d, a), 3);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert_eq(dref(d, a), 2);
    cr_assert_eq(dyn_final(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert(!rt_is_present(d, a, sizeof a));

    uint64_t ep;
    rt_data_item it;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_PRESENT, &ep, &it), RT_ACC_NOT_PRESENT);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_CREATE), RT_ACC_OK);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_CREATE), RT_ACC_OK);
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_PRESENT, &ep, &it), RT_ACC_OK);
    cr_assert_eq(dyn_final(d, a, sizeof a, RT_CLAUSE_COPYOUT), RT_ACC_OK);
    cr_assert(rt_is_present(d, a, sizeof a), "the present clause's reference holds it");
    cr_assert_eq(dref(d, a), 0);
    cr_assert_eq(rt_data_exit(d, &it, 1, RT_ASYNC_SYNC, ep), RT_ACC_OK);
    cr_assert(!rt_is_present(d, a, sizeof a));
}

Test(present, ranges_inside_an_entry_are_present_and_overlapping_ones_are_errors)
{
    rt_device *d = host();
    int a[40];
    cr_assert_eq(dyn(d, a + 10, 10 * sizeof(int), RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert(rt_is_present(d, a + 12, 4 * sizeof(int)));
    cr_assert(rt_is_present(d, a + 10, 10 * sizeof(int)));
    cr_assert(rt_is_present(d, a + 19, 0), "zero bytes: the address lies inside");
    cr_assert(!rt_is_present(d, a + 20, 0));
    cr_assert(!rt_is_present(d, a, sizeof a));
    cr_assert(!rt_is_present(d, a + 15, 10 * sizeof(int)));
    cr_assert_eq(rt_deviceptr(d, a + 12), (uintptr_t)(a + 12));
    cr_assert_eq(rt_deviceptr(d, a + 20), 0);

    cr_assert_eq(dyn(d, a + 15, 10 * sizeof(int), RT_CLAUSE_COPYIN), RT_ACC_PARTIAL);
    cr_assert(has("partially present"), "%s", rt_fault_last()->msg);
    cr_assert_eq(dyn(d, a, 11 * sizeof(int), RT_CLAUSE_CREATE), RT_ACC_PARTIAL,
                 "an overlap at the start is partial too");
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_PARTIAL);
    uint64_t ep;
    rt_data_item it;
    cr_assert_eq(enter1(d, a + 5, 10 * sizeof(int), RT_CLAUSE_PRESENT, &ep, &it),
                 RT_ACC_PARTIAL);
    cr_assert_eq(rt_present_size(d), 1, "failed clauses leave no entry");
    cr_assert_eq(dyn(d, a, 10 * sizeof(int), RT_CLAUSE_COPYIN), RT_ACC_OK,
                 "the range just before an entry is free");
    cr_assert_eq(dyn(d, a + 20, 10 * sizeof(int), RT_CLAUSE_COPYIN), RT_ACC_OK,
                 "so is the range just after it");
    cr_assert_eq(rt_present_size(d), 3);
}

Test(present, a_failed_batch_undoes_the_items_before_the_failure)
{
    rt_device *d = host();
    int a[4], b[4], c[4];
    cr_assert_eq(dyn(d, c, sizeof c, RT_CLAUSE_COPYIN), RT_ACC_OK);
    rt_data_item items[3] = {item(b, sizeof b, RT_CLAUSE_COPYIN),
                             item(c, sizeof c, RT_CLAUSE_PRESENT),
                             item(a, sizeof a, RT_CLAUSE_PRESENT)};
    uint64_t ep;
    cr_assert_eq(rt_data_enter(d, items, 3, RT_ASYNC_SYNC, &ep), RT_ACC_NOT_PRESENT);
    cr_assert_eq(rt_fault_last()->item, 2);
    cr_assert(has("not present"), "%s", rt_fault_last()->msg);
    cr_assert(!rt_is_present(d, b, sizeof b), "b's copyin was undone");
    cr_assert_eq(sref(d, c), 0, "c's present reference was undone");
    cr_assert_eq(dref(d, c), 1);
}

Test(present, no_create_uses_present_data_and_otherwise_the_host_address)
{
    rt_device *d = host();
    int a[4], b[4];
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_CREATE), RT_ACC_OK);
    rt_data_item items[3] = {item(a, sizeof a, RT_CLAUSE_NO_CREATE),
                             item(b, sizeof b, RT_CLAUSE_NO_CREATE),
                             item(b, sizeof b, RT_CLAUSE_DEVICEPTR)};
    uint64_t ep;
    cr_assert_eq(rt_data_enter(d, items, 3, RT_ASYNC_SYNC, &ep), RT_ACC_OK);
    cr_assert_eq(sref(d, a), 1);
    cr_assert(!rt_is_present(d, b, sizeof b), "no_create and deviceptr make no entry");
    cr_assert_eq(items[1].dev, (uintptr_t)b);
    cr_assert_eq(items[2].dev, (uintptr_t)b);
    cr_assert_eq(rt_data_exit(d, items, 3, RT_ASYNC_SYNC, ep), RT_ACC_OK);
    cr_assert_eq(sref(d, a), 0);
    cr_assert(rt_is_present(d, a, sizeof a));
}

Test(present, zero_length_sections_do_nothing)
{
    rt_device *d = host();
    int a[4];
    rt_data_item it;
    uint64_t ep;
    cr_assert_eq(enter1(d, a, 0, RT_CLAUSE_PRESENT, &ep, &it), RT_ACC_OK);
    cr_assert_eq(enter1(d, a, 0, RT_CLAUSE_COPY, &ep, &it), RT_ACC_OK);
    cr_assert_eq(rt_present_size(d), 0);
    cr_assert_eq(rt_data_exit(d, &it, 1, RT_ASYNC_SYNC, ep), RT_ACC_OK);
}

Test(present, exit_data_of_absent_data_is_no_error_and_update_of_it_is)
{
    rt_device *d = host();
    double a[16];
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_COPYOUT), RT_ACC_OK);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DETACH), RT_ACC_OK);
    cr_assert_eq(rt_present_size(d), 0);
    rt_data_item up = item(a, sizeof a, RT_CLAUSE_UPDATE_SELF);
    cr_assert_eq(rt_data_update(d, &up, 1, RT_ASYNC_SYNC, 0), RT_ACC_NOT_PRESENT);
    cr_assert(has("not present"));
    cr_assert_eq(rt_data_update(d, &up, 1, RT_ASYNC_SYNC, 1), RT_ACC_OK, "if_present");
    cr_assert_eq(dyn(d, a, 8 * sizeof(double), RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(rt_data_update(d, &up, 1, RT_ASYNC_SYNC, 1), RT_ACC_PARTIAL,
                 "if_present does not excuse a partial overlap");
    up.bytes = 4 * sizeof(double);
    up.clause = RT_CLAUSE_UPDATE_DEVICE;
    cr_assert_eq(rt_data_update(d, &up, 1, RT_ASYNC_SYNC, 0), RT_ACC_OK);
}

Test(present, clauses_are_checked_against_the_construct)
{
    rt_device *d = host();
    int a[4];
    uint64_t ep;
    rt_data_item it;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_DELETE, &ep, &it), RT_ACC_INVALID);
    cr_assert(has("not allowed"));
    it = item(a, sizeof a, RT_CLAUSE_COPY);
    cr_assert_eq(rt_data_enter_dynamic(d, &it, 1, RT_ASYNC_SYNC), RT_ACC_INVALID);
    it = item(a, sizeof a, RT_CLAUSE_COPYIN);
    cr_assert_eq(rt_data_exit_dynamic(d, &it, 1, RT_ASYNC_SYNC, 0), RT_ACC_INVALID);
    it = item(NULL, 8, RT_CLAUSE_COPYIN);
    cr_assert_eq(rt_data_enter_dynamic(d, &it, 1, RT_ASYNC_SYNC), RT_ACC_INVALID);
    it = item(a, sizeof a, RT_CLAUSE_COPYIN);
    cr_assert_eq(rt_data_enter_dynamic(d, &it, 1, -7), RT_ACC_INVALID, "a bad queue number");
    cr_assert_eq(rt_present_size(d), 0);
}

/* ------------------------------------------------------------ map, malloc */

Test(present, map_and_unmap_data)
{
    rt_device *d = host();
    double a[32], b[8];
    uintptr_t m;
    cr_assert_eq(rt_acc_malloc(d, sizeof a, &m), RT_ACC_OK);
    cr_assert_neq(m, 0);
    cr_assert_eq(rt_map_data(d, a, m, sizeof a), RT_ACC_OK);
    cr_assert(rt_is_present(d, a, sizeof a));
    cr_assert_eq(rt_deviceptr(d, a + 3), m + 3 * sizeof(double));
    cr_assert_eq(rt_hostptr(d, m + 8), (const void *)((char *)a + 8));
    cr_assert_eq(rt_hostptr(d, m + sizeof a), NULL);
    cr_assert_eq(rt_map_data(d, a, m, sizeof a), RT_ACC_MAPPED);
    cr_assert_eq(rt_map_data(d, a + 4, m, 8), RT_ACC_MAPPED, "present data cannot be mapped");
    cr_assert(has("already"));
    cr_assert_eq(rt_unmap_data(d, b), RT_ACC_NOT_MAPPED);
    cr_assert_eq(rt_unmap_data(d, a + 1), RT_ACC_NOT_MAPPED, "not the mapped address");

    /* Mapped data is counted like any other but stays until unmapped. */
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(dref(d, a), 1);
    cr_assert_eq(dyn_final(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert(rt_is_present(d, a, sizeof a));
    uint64_t ep;
    rt_data_item it;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_PRESENT, &ep, &it), RT_ACC_OK);
    cr_assert_eq(rt_unmap_data(d, a), RT_ACC_INVALID, "in use by a construct");
    cr_assert_eq(rt_data_exit(d, &it, 1, RT_ASYNC_SYNC, ep), RT_ACC_OK);
    cr_assert(rt_is_present(d, a, sizeof a));
    cr_assert_eq(rt_unmap_data(d, a), RT_ACC_OK);
    cr_assert(!rt_is_present(d, a, sizeof a));
    cr_assert_eq(rt_unmap_data(d, a), RT_ACC_NOT_MAPPED, "unmapping twice");

    cr_assert_eq(dyn(d, b, sizeof b, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(rt_unmap_data(d, b), RT_ACC_NOT_MAPPED, "copied-in data is not mapped");
    cr_assert_eq(rt_acc_free(d, m), RT_ACC_OK);
}

Test(present, malloc_free_and_memcpy_check_device_addresses)
{
    rt_device *d = host();
    uintptr_t m1, m2, z;
    cr_assert_eq(rt_acc_malloc(d, 0, &z), RT_ACC_OK);
    cr_assert_eq(z, 0);
    cr_assert_eq(rt_acc_malloc(d, 64, &m1), RT_ACC_OK);
    cr_assert_eq(rt_acc_malloc(d, 64, &m2), RT_ACC_OK);
    char src[64], dst[64];
    for (int i = 0; i < 64; i++)
        src[i] = (char)i;
    cr_assert_eq(rt_memcpy_to_device(d, m1, src, 64, RT_ASYNC_SYNC), RT_ACC_OK);
    cr_assert_eq(rt_memcpy_device(d, m2 + 8, m1, 32, RT_ASYNC_SYNC), RT_ACC_OK);
    cr_assert_eq(rt_memcpy_from_device(d, dst, m2 + 8, 32, RT_ASYNC_SYNC), RT_ACC_OK);
    cr_assert_eq(memcmp(dst, src, 32), 0);
    cr_assert_eq(rt_memcpy_to_device(d, m1 + 8, src, 64, RT_ASYNC_SYNC), RT_ACC_INVALID,
                 "past the block's end");
    cr_assert(has("not device memory"));
    cr_assert_eq(rt_memcpy_from_device(d, dst, (uintptr_t)dst, 8, RT_ASYNC_SYNC),
                 RT_ACC_INVALID, "host memory that is not present");
    cr_assert_eq(dyn(d, dst, sizeof dst, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(rt_memcpy_to_device(d, rt_deviceptr(d, dst), src, 16, RT_ASYNC_SYNC),
                 RT_ACC_OK, "a present copy is device memory");
    cr_assert_eq(memcmp(dst, src, 16), 0, "on the host device that is the array itself");
    cr_assert_eq(rt_acc_free(d, m1 + 1), RT_ACC_INVALID);
    cr_assert_eq(rt_acc_free(d, 0), RT_ACC_OK);
    cr_assert_eq(rt_acc_free(d, m1), RT_ACC_OK);
    cr_assert_eq(rt_acc_free(d, m1), RT_ACC_INVALID, "freeing twice");
    cr_assert_eq(rt_acc_free(d, m2), RT_ACC_OK);
}

/* ------------------------------------------------------------- attaching */

typedef struct node {
    double *p;
    long n;
} node;

Test(present, attach_counts_need_the_pointer_present)
{
    rt_device *d = host();
    double arr[4];
    node s = {arr, 4};
    cr_assert_eq(dyn(d, &s.p, sizeof s.p, RT_CLAUSE_ATTACH), RT_ACC_NOT_PRESENT);
    cr_assert(has("attach"));
    cr_assert_eq(dyn(d, &s, sizeof s, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(dyn(d, &s.p, sizeof s.p, RT_CLAUSE_ATTACH), RT_ACC_OK);
    cr_assert_eq(dyn(d, &s.p, sizeof s.p, RT_CLAUSE_ATTACH), RT_ACC_OK);
    cr_assert_eq(attach_count(d, &s.p), 2);
    uint64_t ep;
    rt_data_item it;
    cr_assert_eq(enter1(d, &s.p, sizeof s.p, RT_CLAUSE_ATTACH, &ep, &it), RT_ACC_OK);
    cr_assert_eq(attach_count(d, &s.p), 3);
    cr_assert_eq(rt_data_exit(d, &it, 1, RT_ASYNC_SYNC, ep), RT_ACC_OK);
    cr_assert_eq(attach_count(d, &s.p), 2);
    cr_assert_eq(dyn(d, &s.p, sizeof s.p, RT_CLAUSE_DETACH), RT_ACC_OK);
    cr_assert_eq(attach_count(d, &s.p), 1);
    cr_assert_eq(dyn_final(d, &s.p, sizeof s.p, RT_CLAUSE_DETACH), RT_ACC_OK);
    cr_assert_eq(attach_count(d, &s.p), 0);
    cr_assert_eq(dyn(d, &s.p, sizeof s.p, RT_CLAUSE_ATTACH), RT_ACC_OK);
    cr_assert_eq(dyn(d, &s, sizeof s, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert_eq(attach_count(d, &s.p), 0, "removing the data drops its attach counts");
}

Test(present, attach_points_the_device_pointer_at_the_device_copy)
{
    rt_device *d = use_fake(0);
    double arr[4] = {1, 2, 3, 4};
    node s = {arr, 4};
    cr_assert_eq(dyn(d, arr, sizeof arr, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(dyn(d, &s, sizeof s, RT_CLAUSE_COPYIN), RT_ACC_OK);
    node *ds = (node *)rt_deviceptr(d, &s);
    cr_assert_eq(ds->p, arr, "copied in: the device pointer holds the host address");
    cr_assert_eq(dyn(d, &s.p, sizeof s.p, RT_CLAUSE_ATTACH), RT_ACC_OK);
    cr_assert_eq((uintptr_t)ds->p, rt_deviceptr(d, arr));
    cr_assert_eq(ds->p[2], 3.0);
    cr_assert_eq(dyn(d, &s.p, sizeof s.p, RT_CLAUSE_DETACH), RT_ACC_OK);
    cr_assert_eq(ds->p, arr, "detached: the host value again");
}

/* -------------------------------------------------- a discrete device */

Test(present, discrete_data_moves_only_when_the_counts_say)
{
    rt_device *d = use_fake(0);
    int a[64];
    for (int i = 0; i < 64; i++)
        a[i] = i;
    uint64_t e1, e2;
    rt_data_item outer, inner;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_COPY, &e1, &outer), RT_ACC_OK);
    int *da = (int *)outer.dev;
    cr_assert_neq(da, a);
    cr_assert_eq(da[17], 17, "copied in");
    cr_assert_eq(fake_bytes_in, (long)sizeof a);
    da[17] = -17;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_COPY, &e2, &inner), RT_ACC_OK);
    cr_assert_eq(fake_bytes_in, (long)sizeof a, "present data is not copied again");
    cr_assert_eq(rt_data_exit(d, &inner, 1, RT_ASYNC_SYNC, e2), RT_ACC_OK);
    cr_assert_eq(a[17], 17, "not copied out while the outer region holds it");
    cr_assert_eq(fake_bytes_out, 0);
    cr_assert_eq(rt_data_exit(d, &outer, 1, RT_ASYNC_SYNC, e1), RT_ACC_OK);
    cr_assert_eq(a[17], -17, "copied out at the outermost exit");
    cr_assert_eq(fake_live, 0, "and freed");

    /* create moves nothing; a copyin inside does not either. */
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_CREATE), RT_ACC_OK);
    cr_assert_eq(fake_bytes_in, (long)sizeof a);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(fake_bytes_in, (long)sizeof a);
    int *dev = (int *)rt_deviceptr(d, a);
    dev[3] = 333;
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_DELETE), RT_ACC_OK);
    cr_assert_eq(a[3], 3, "delete copies nothing out");
    cr_assert_eq(fake_live, 0);

    /* update moves the part asked for, both ways. */
    cr_assert_eq(dyn(d, a, sizeof a, RT_CLAUSE_COPYIN), RT_ACC_OK);
    dev = (int *)rt_deviceptr(d, a);
    a[10] = 1000;
    a[11] = 1100;
    rt_data_item up = item(a + 10, sizeof(int), RT_CLAUSE_UPDATE_DEVICE);
    cr_assert_eq(rt_data_update(d, &up, 1, RT_ASYNC_SYNC, 0), RT_ACC_OK);
    cr_assert_eq(dev[10], 1000);
    cr_assert_eq(dev[11], 11, "only the section");
    dev[20] = 2000;
    up = item(a + 20, sizeof(int), RT_CLAUSE_UPDATE_SELF);
    cr_assert_eq(rt_data_update(d, &up, 1, RT_ASYNC_SYNC, 0), RT_ACC_OK);
    cr_assert_eq(a[20], 2000);
    /* copyout of a section copies that section. */
    dev[30] = 3000;
    dev[40] = 4000;
    cr_assert_eq(dyn(d, a + 30, 4 * sizeof(int), RT_CLAUSE_COPYOUT), RT_ACC_OK);
    cr_assert_eq(a[30], 3000);
    cr_assert_eq(a[40], 40);
    cr_assert_eq(fake_live, 0);
}

static int32_t gate_task(void *ctx)
{
    atomic_int *gate = ctx;
    while (!atomic_load(gate))
        sched_yield();
    return RT_ACC_OK;
}

Test(present, discrete_async_copies_land_after_the_wait)
{
    rt_device *d = use_fake(1);
    int a[16];
    for (int i = 0; i < 16; i++)
        a[i] = i;
    rt_data_item it = item(a, sizeof a, RT_CLAUSE_COPYIN);
    cr_assert_eq(rt_data_enter_dynamic(d, &it, 1, 3), RT_ACC_OK);
    int *dev = (int *)it.dev;
    cr_assert(rt_is_present(d, a, sizeof a), "counts change at once");
    cr_assert_eq(rt_queue_test(3), 0, "the copy is queued on the stream");
    cr_assert_eq(rt_queue_wait(3), RT_ACC_OK);
    cr_assert_eq(dev[5], 5);
    cr_assert_eq(rt_queue_test(3), 1);
    dev[5] = 55;
    /* A host task holds the queue, so what follows must wait its turn. */
    atomic_int gate = 0;
    cr_assert_eq(rt_queue_submit(3, gate_task, &gate, NULL), RT_ACC_OK);
    it.clause = RT_CLAUSE_COPYOUT;
    cr_assert_eq(rt_data_exit_dynamic(d, &it, 1, 3, 0), RT_ACC_OK);
    cr_assert(!rt_is_present(d, a, sizeof a), "counts change at once");
    cr_assert_eq(a[5], 5, "the copy-out waits behind the host task");
    cr_assert_eq(fake_live, 1, "and the free behind the copy-out");
    atomic_store(&gate, 1);
    cr_assert_eq(rt_queue_wait(3), RT_ACC_OK);
    cr_assert_eq(a[5], 55);
    cr_assert_eq(fake_live, 0);
}

Test(present, discrete_shutdown_frees_everything_and_stale_exits_do_nothing)
{
    rt_device *d = use_fake(0);
    int a[8], b[8];
    uintptr_t m;
    uint64_t ep;
    rt_data_item it;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_COPY, &ep, &it), RT_ACC_OK);
    cr_assert_eq(dyn(d, b, sizeof b, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(rt_acc_malloc(d, 100, &m), RT_ACC_OK);
    cr_assert_eq(fake_live, 3);
    cr_assert_eq(rt_device_shutdown(RT_DEVICE_NVIDIA), RT_ACC_OK);
    cr_assert_eq(fake_live, 0);
    d = rt_device_current();
    cr_assert_eq(d->type, RT_DEVICE_NVIDIA, "the next use initialises it again");
    cr_assert(!rt_is_present(d, a, sizeof a));
    rt_data_item again;
    uint64_t ep2;
    cr_assert_eq(enter1(d, a, sizeof a, RT_CLAUSE_COPYIN, &ep2, &again), RT_ACC_OK);
    cr_assert_eq(rt_data_exit(d, &it, 1, RT_ASYNC_SYNC, ep), RT_ACC_OK);
    cr_assert_eq(sref(d, a), 1, "the stale exit left the new entry alone");
    cr_assert_eq(rt_acc_free(d, m), RT_ACC_INVALID, "shutdown freed it");
}

/* --------------------------------------------------------------- threads */

typedef struct hammer_arg {
    rt_device *d;
    int ok;
} hammer_arg;

static void *hammer(void *p)
{
    hammer_arg *h = p;
    double mine[16];
    h->ok = 1;
    for (int i = 0; i < 20000 && h->ok; i++) {
        rt_data_item it = item(mine, sizeof mine, RT_CLAUSE_COPYIN);
        if (rt_data_enter_dynamic(h->d, &it, 1, RT_ASYNC_SYNC) ||
            !rt_is_present(h->d, mine + 3, 8))
            h->ok = 0;
        uint64_t ep;
        rt_data_item s = item(mine, sizeof mine, RT_CLAUSE_PRESENT);
        if (rt_data_enter(h->d, &s, 1, RT_ASYNC_SYNC, &ep) ||
            rt_data_exit(h->d, &s, 1, RT_ASYNC_SYNC, ep))
            h->ok = 0;
        it.clause = RT_CLAUSE_DELETE;
        if (rt_data_exit_dynamic(h->d, &it, 1, RT_ASYNC_SYNC, 0) ||
            rt_is_present(h->d, mine, sizeof mine))
            h->ok = 0;
    }
    return NULL;
}

Test(present, eight_threads_on_one_table)
{
    rt_device *d = host();
    pthread_t th[8];
    hammer_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i].d = d;
        pthread_create(&th[i], NULL, hammer, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        cr_assert(args[i].ok, "thread %d saw a wrong answer", i);
    }
    cr_assert_eq(rt_present_size(d), 0);
}

/* ---------------------------------------------------------------- devices */

Test(device, nvidia_without_a_gpu_falls_back_to_the_host_with_one_warning)
{
    char msg[400];
    cr_assert_eq(rt_device_count(RT_DEVICE_NVIDIA), 0);
    cr_assert_eq(rt_device_count(RT_DEVICE_NOT_HOST), 0);
    cr_assert_eq(rt_device_count(RT_DEVICE_HOST), 1);
    cr_assert_eq(rt_device_count(RT_DEVICE_DEFAULT), 1);
    cr_assert_eq(rt_device_warning(msg, sizeof msg), 0);
    cr_assert_eq(rt_device_set_type(RT_DEVICE_NVIDIA), RT_ACC_OK);
    cr_assert_eq(rt_device_get_type(), RT_DEVICE_HOST);
    cr_assert_eq(rt_device_warning(msg, sizeof msg), 1);
    cr_assert(strstr(msg, "no NVIDIA GPU"), "%s", msg);
    cr_assert_eq(rt_device_warning(msg, sizeof msg), 0, "reported once");
    cr_assert_eq(rt_device_set_type(RT_DEVICE_NONE), RT_ACC_INVALID);
    cr_assert_eq(rt_device_init(RT_DEVICE_DEFAULT), RT_ACC_OK);
    cr_assert_eq(rt_device_current()->type, RT_DEVICE_HOST);
}

Test(device, device_numbers_are_checked)
{
    cr_assert_eq(rt_device_get_num(RT_DEVICE_HOST), 0);
    cr_assert_eq(rt_device_set_num(0, RT_DEVICE_HOST), RT_ACC_OK);
    cr_assert_eq(rt_device_set_num(1, RT_DEVICE_HOST), RT_ACC_INVALID);
    cr_assert(strstr(rt_fault_last()->msg, "no device 1"), "%s", rt_fault_last()->msg);
    cr_assert_eq(rt_device_set_num(-1, RT_DEVICE_HOST), RT_ACC_OK, "negative: the default");
}

Test(device, properties_of_the_host)
{
    size_t v;
    const char *s;
    cr_assert_eq(rt_device_property(0, RT_DEVICE_HOST, RT_PROPERTY_MEMORY, &v, &s), RT_ACC_OK);
    cr_assert_gt(v, 1u << 20);
    cr_assert_null(s);
    size_t total = v;
    cr_assert_eq(rt_device_property(0, RT_DEVICE_HOST, RT_PROPERTY_FREE_MEMORY, &v, &s),
                 RT_ACC_OK);
    cr_assert(v > 0 && v <= total);
    cr_assert_eq(rt_device_property(0, RT_DEVICE_HOST, RT_PROPERTY_NAME, &v, &s), RT_ACC_OK);
    cr_assert(s && *s);
    cr_assert_eq(v, 0);
    cr_assert_eq(rt_device_property(0, RT_DEVICE_HOST, RT_PROPERTY_VENDOR, &v, &s), RT_ACC_OK);
    cr_assert(s && *s);
    cr_assert_eq(rt_device_property(0, RT_DEVICE_HOST, RT_PROPERTY_DRIVER, &v, &s), RT_ACC_OK);
    cr_assert(strstr(s, "pyacc"));
    cr_assert_eq(rt_device_property(0, RT_DEVICE_HOST, 12345, &v, &s), RT_ACC_INVALID);
    cr_assert_eq(rt_device_property(1, RT_DEVICE_HOST, RT_PROPERTY_MEMORY, &v, &s),
                 RT_ACC_INVALID);
    cr_assert_eq(rt_device_property(0, RT_DEVICE_NVIDIA, RT_PROPERTY_MEMORY, &v, &s),
                 RT_ACC_INVALID);
}

Test(device, acc_device_type_is_read_at_first_use)
{
    setenv("ACC_DEVICE_TYPE", "NVIDIA", 1);
    char msg[400];
    cr_assert_eq(rt_device_get_type(), RT_DEVICE_HOST);
    cr_assert_eq(rt_device_warning(msg, sizeof msg), 1);
    cr_assert(strstr(msg, "ACC_DEVICE_TYPE=NVIDIA"), "%s", msg);
}

Test(device, a_bad_acc_device_num_warns_and_uses_zero)
{
    setenv("ACC_DEVICE_TYPE", "host", 1);
    setenv("ACC_DEVICE_NUM", "3", 1);
    char msg[400];
    cr_assert_not_null(rt_device_current());
    cr_assert_eq(rt_device_get_num(RT_DEVICE_HOST), 0);
    cr_assert_eq(rt_device_warning(msg, sizeof msg), 1);
    cr_assert(strstr(msg, "ACC_DEVICE_NUM=3"), "%s", msg);
}

Test(device, a_registered_back_end_becomes_the_default_and_has_its_own_table)
{
    rt_device *h = host();
    int a[4];
    cr_assert_eq(dyn(h, a, sizeof a, RT_CLAUSE_COPYIN), RT_ACC_OK);
    cr_assert_eq(rt_device_register(&fake), RT_ACC_OK);
    cr_assert_eq(rt_device_count(RT_DEVICE_NVIDIA), 1);
    cr_assert_eq(rt_device_count(RT_DEVICE_DEFAULT), 1);
    cr_assert_eq(rt_device_init(RT_DEVICE_NOT_HOST), RT_ACC_OK);
    rt_device *g = rt_device_current();
    cr_assert_eq(g->type, RT_DEVICE_NVIDIA);
    cr_assert(!rt_is_present(g, a, sizeof a), "each device has its own data");
    cr_assert(rt_is_present(h, a, sizeof a));
    size_t v;
    const char *s;
    cr_assert_eq(rt_device_property(0, RT_DEVICE_NVIDIA, RT_PROPERTY_NAME, &v, &s), RT_ACC_OK);
    cr_assert_str_eq(s, "fakegpu");
    cr_assert_eq(rt_device_set_type(RT_DEVICE_HOST), RT_ACC_OK);
    cr_assert_eq(rt_device_current(), h);
}

Test(device, on_device_is_true_for_the_host)
{
    cr_assert(pyacc_rt_on_device(RT_DEVICE_HOST));
    cr_assert(pyacc_rt_on_device(RT_DEVICE_NONE));
    cr_assert(!pyacc_rt_on_device(RT_DEVICE_NVIDIA));
    cr_assert(!pyacc_rt_on_device(RT_DEVICE_NOT_HOST));
}
