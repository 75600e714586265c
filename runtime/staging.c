/* staging.c - page-locked staging buffers for asynchronous copies: the
 * "staging" part of rt.h's NVIDIA device section.
 *
 * A GPU copies asynchronously only between its memory and page-locked host
 * memory.  From ordinary (pageable) memory the driver's "async" copies
 * block the caller: to the GPU until the driver has staged the bytes
 * itself (which waits for the stream when its staging is full), back from
 * it until the copy is done, after everything queued before it.  So an
 * async(n) copy goes through buffers of ours: to the GPU, the caller fills
 * one and queues its DMA; back, the DMA into one is queued together with a
 * host function that moves the bytes to their owner once the stream
 * reaches it.  Either way the caller returns at once and the copy keeps its
 * place in the queue's order.
 *
 * The pool holds fixed-size chunks, made on first need and kept (pinning
 * memory is slow), at most RT_STAGE_MAX of them; a copy that finds none
 * free takes the driver's way for the rest rather than wait, since the
 * stream it would wait for may itself wait on this thread's work. */
#include "rt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct rt_stage_pool {
    pthread_mutex_t mu;
    rt_stage *free;
    int made;
    rt_stage_alloc_fn alloc;
    rt_stage_free_fn release;
    void *dev;
};

rt_stage_pool *rt_stage_pool_new(void *dev, rt_stage_alloc_fn alloc, rt_stage_free_fn release)
{
    rt_stage_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->alloc = alloc;
    p->release = release;
    p->dev = dev;
    return p;
}

rt_stage *rt_stage_take(rt_stage_pool *p)
{
    if (!p)
        return NULL;
    pthread_mutex_lock(&p->mu);
    rt_stage *s = p->free;
    if (s) {
        p->free = s->next;
    } else if (p->made < RT_STAGE_MAX) {
        p->made++; /* counted now, so that concurrent takers stay under the cap */
        pthread_mutex_unlock(&p->mu);
        s = calloc(1, sizeof *s);
        if (s && p->alloc(p->dev, RT_STAGE_BYTES, &s->host) != RT_ACC_OK) {
            free(s);
            s = NULL;
        }
        pthread_mutex_lock(&p->mu);
        if (!s)
            p->made--;
    }
    pthread_mutex_unlock(&p->mu);
    if (s) {
        s->pool = p;
        s->next = NULL;
        s->dst = NULL;
        s->bytes = 0;
    }
    return s;
}

void rt_stage_give(rt_stage *s)
{
    rt_stage_pool *p = s->pool;
    pthread_mutex_lock(&p->mu);
    s->next = p->free;
    p->free = s;
    pthread_mutex_unlock(&p->mu);
}

void rt_stage_done(void *arg)
{
    rt_stage *s = arg;
    if (s->dst) /* a copy back: the bytes to their owner */
        memcpy(s->dst, s->host, s->bytes);
    rt_stage_give(s);
}

void rt_stage_pool_free(rt_stage_pool *p)
{
    if (!p)
        return;
    /* the caller has waited for the device: every chunk is back */
    for (rt_stage *s = p->free, *next; s; s = next) {
        next = s->next;
        p->release(p->dev, s->host);
        free(s);
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}
