"""GPU cases of regions run whole on the GPU (gpu_cases.py runs them): code
outside the parallel loops touches arrays, so the region's entry runs on
the grid's first thread and its loops over the whole grid
(jit/gpu_grid.c)."""

from pyacc import acc


@acc
def entry_normalize(x, out, stats):
    #pragma acc parallel copyin(x) copyout(out) copy(stats)
    if True:
        s = 0.0
        #pragma acc loop reduction(+:s)
        for i in range(x.shape[0]):
            s += x[i]
        m = s / x.shape[0]
        stats[0] = m
        v = 0.0
        #pragma acc loop reduction(+:v)
        for i in range(x.shape[0]):
            v += (x[i] - m) * (x[i] - m)
        stats[1] = v
        #pragma acc loop
        for i in range(x.shape[0]):
            out[i] = (x[i] - stats[0]) / (v + 1.0)
    return s


@acc
def entry_shaped(x, out, g, v):
    # num_gangs and vector_length of a region run whole on the grid: the
    # blocks after the entry's, and their threads
    #pragma acc parallel num_gangs(g) vector_length(v) copyin(x) copy(out)
    if True:
        s = 0.0
        #pragma acc loop reduction(+:s)
        for i in range(x.shape[0]):
            s += x[i]
        out[0] = s
        #pragma acc loop
        for i in range(1, x.shape[0]):
            out[i] = x[i] * 2.0 + s


@acc
def entry_steps(u, tmp, steps):
    # a time loop in the region: the boundaries set by the first thread,
    # the sweeps by the grid, each reading what the one before wrote
    #pragma acc parallel copy(u, tmp)
    for k in range(steps):
        u[0] = k * 1.0
        u[u.shape[0] - 1] = -k * 1.0
        #pragma acc loop
        for i in range(1, u.shape[0] - 1):
            tmp[i] = 0.5 * (u[i - 1] + u[i + 1])
        #pragma acc loop
        for i in range(1, u.shape[0] - 1):
            u[i] = tmp[i]


@acc
def entry_int_minmax(v, out):
    #pragma acc parallel
    if True:
        lo = 1 << 62
        hi = -(1 << 62)
        #pragma acc loop reduction(min:lo) reduction(max:hi)
        for i in range(v.shape[0]):
            lo = min(lo, v[i])
            hi = max(hi, v[i])
        out[0] = lo
        out[1] = hi
        c = 0
        #pragma acc loop reduction(+:c)
        for i in range(v.shape[0]):
            c += v[i] > (lo + hi) // 2
        out[2] = c


@acc
def entry_array_reduction(v, h):
    nb = h.shape[0]
    #pragma acc parallel
    if True:
        h[0] = 5
        #pragma acc loop reduction(+:h)
        for i in range(v.shape[0]):
            h[v[i] % nb] += 1
        h[1] += h[0]


@acc
def entry_last_value(x, out):
    #pragma acc parallel
    if True:
        out[1] = -1.0
        last = -1.0
        #pragma acc loop
        for i in range(x.shape[0]):
            last = x[i] * 2.0
            out[i] = last
        out[0] = last


@acc
def entry_atomic_scalar(x, out):
    # the first thread's scalar, updated atomically by the grid's threads
    #pragma acc parallel
    if True:
        out[0] = 1.0
        hits = 0
        #pragma acc loop
        for i in range(x.shape[0]):
            if x[i] > 0.5:
                #pragma acc atomic update
                hits += 1
        out[1] = hits + out[0]


@acc
def entry_lanes(a, y):
    # a vector loop inside a gang loop: in order in each thread of the grid
    #pragma acc parallel
    if True:
        y[0] = -1.0
        #pragma acc loop gang
        for i in range(1, a.shape[0]):
            s = 0.0
            #pragma acc loop vector reduction(+:s)
            for j in range(a.shape[1]):
                s += a[i, j]
            y[i] = s + y[0]


@acc(boundscheck=True)
def entry_index_error(x, out, k):
    #pragma acc parallel
    if True:
        out[0] = 1.0
        #pragma acc loop
        for i in range(x.shape[0]):
            out[i] = x[i + k]  # IndexError for k > 0
        out[1] = 2.0


@acc(boundscheck=True)
def entry_own_error(x, out, k):
    #pragma acc parallel
    if True:
        #pragma acc loop
        for i in range(x.shape[0]):
            out[i] = x[i]
        out[k] = 2.0  # the first thread's own IndexError for k >= len(out)


@acc
def entry_if(x, out, on):
    #pragma acc parallel if(on)
    if True:
        out[0] = 3.0
        #pragma acc loop
        for i in range(1, x.shape[0]):
            out[i] = x[i] + out[0]
