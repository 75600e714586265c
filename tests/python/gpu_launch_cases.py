"""GPU cases of how launches run (gpu_cases.py runs them): the grid's
shape from num_gangs, num_workers and vector_length, the kernel's graph
and its arguments from call to call, present clauses the call checks, the
last values the last iteration writes back, and async queues."""

import numpy as np

from pyacc import acc


@acc
def scale_gangs(a, out, s, g):
    #pragma acc parallel loop num_gangs(g)
    for i in range(a.shape[0]):
        out[i] = a[i] * s


@acc
def last_values(x, y):
    t = 0.0
    j = 0
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        t = x[i] * 2.0
        j = i + 1
        y[i] = t
    return t, j, i


@acc
def present_scale(x, y):
    #pragma acc parallel loop present(x, y)
    for i in range(x.shape[0]):
        y[i] = 2.0 * x[i]


@acc
def async_copy(a):
    #pragma acc parallel loop async(7) copy(a)
    for i in range(a.shape[0]):
        a[i] += 1


@acc
def async_chain(a):
    #pragma acc enter data copyin(a) async(3)
    #pragma acc parallel loop present(a) async(3)
    for i in range(a.shape[0]):
        a[i] = a[i] * 2 + 1
    #pragma acc exit data copyout(a) async(3)
    #pragma acc wait(3)
    return a


@acc
def spin(x, reps, q):
    #pragma acc parallel loop num_gangs(2) present(x) async(q)
    for i in range(x.shape[0]):
        s = 0.0
        for k in range(reps):
            s = s * 0.999 + 1.0
        x[i] = s


@acc
def shaped(x, v):
    s = 0.0
    m = np.int16(-30000)
    #pragma acc parallel loop num_gangs(4) num_workers(2) vector_length(64) reduction(+:s) reduction(max:m)
    for i in range(x.shape[0]):
        s += x[i]
        m = max(m, v[i])
    return s, m


@acc
def narrow(x, flags):
    s = np.float32(0)
    every = True
    #pragma acc parallel loop vector_length(1) reduction(+:s) reduction(&&:every)
    for i in range(x.shape[0]):
        s += x[i]
        every = every and flags[i]
    return s, every


@acc
def workers_only(x, y):
    #pragma acc parallel loop num_workers(4)
    for i in range(x.shape[0]):
        y[i] = x[i] + 1.0


@acc
def kernels_shaped(x):
    lo = 0
    #pragma acc kernels
    if True:
        #pragma acc loop gang(num: 3) vector(length: 96) reduction(min:lo)
        for i in range(x.shape[0]):
            lo = min(lo, x[i])
    return lo


@acc
def typed_shape(x, y):
    #pragma acc parallel loop vector_length(32) device_type(nvidia) vector_length(128)
    for i in range(x.shape[0]):
        y[i] = x[i] * 3.0
