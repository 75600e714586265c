"""GPU cases of lane and row loops (gpu_cases.py runs them): a `loop vector`
or `loop worker` inside a gang loop runs across the threads of the gang's
block, and a `loop vector` inside a `loop worker` (or a `parallel loop gang
worker`) across the threads of a worker's row (jit/gpu_lanes.c)."""

from pyacc import acc


# ---- lane loops: a `loop vector` / `loop worker` inside a gang loop runs
# across the threads of the gang's block; code outside it once per gang

@acc
def matvec_lanes(a, x, y):
    #pragma acc parallel loop gang
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop vector reduction(+:s)
        for j in range(a.shape[1]):
            s += a[i, j] * x[j]
        y[i] = s


@acc
def gang_single(a, b, c):
    # gang-level stores before and after the lane loop, a last value out of
    # it, and a read of what other lanes wrote; c[i] += 1 must happen once
    #pragma acc parallel loop gang
    for i in range(a.shape[0]):
        c[i] += 1.0
        t = c[i] * 2.0
        last = 0.0
        #pragma acc loop vector
        for j in range(a.shape[1]):
            last = a[i, j] + t
            b[i, j] = last
        b[i, 0] = b[i, 0] + b[i, a.shape[1] - 1] + last


@acc
def lanes_in_seq_loop(a, tmp, steps):
    # lane loops one after another in a sequential loop: each reads what
    # the one before wrote, in other lanes
    #pragma acc parallel loop gang
    for i in range(a.shape[0]):
        for k in range(steps):
            #pragma acc loop vector
            for j in range(1, a.shape[1] - 1):
                tmp[i, j] = (a[i, j - 1] + a[i, j] + a[i, j + 1]) / 3.0
            #pragma acc loop vector
            for j in range(1, a.shape[1] - 1):
                a[i, j] = tmp[i, j]


@acc
def lanes_some_gangs(a, out):
    # only some gangs reach the lane loop; the minimum and maximum of a row
    #pragma acc parallel loop gang
    for i in range(a.shape[0]):
        if i % 3 == 1:
            lo = 1e300
            hi = -1e300
            n = 0
            #pragma acc loop vector reduction(min:lo) reduction(max:hi) reduction(+:n)
            for j in range(a.shape[1]):
                lo = min(lo, a[i, j])
                hi = max(hi, a[i, j])
                n += a[i, j] > 0.0
            out[i] = hi - lo + n
        else:
            out[i] = -1.0


@acc
def lanes_int(v, out):
    total = 0
    #pragma acc parallel loop gang reduction(+:total)
    for i in range(v.shape[0]):
        m = -(1 << 62)
        bits = 0
        #pragma acc loop vector reduction(max:m) reduction(|:bits)
        for j in range(v.shape[1]):
            m = max(m, v[i, j])
            bits |= v[i, j] & 1023
        out[i] = m
        total += bits
    return total


@acc
def lanes_collapse(a, out):
    #pragma acc parallel loop gang
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop vector collapse(2) reduction(+:s)
        for j in range(a.shape[1]):
            for k in range(a.shape[2]):
                s += a[i, j, k] * (j + 1)
        out[i] = s


@acc
def lanes_workers(a, out):
    #pragma acc parallel num_workers(4) vector_length(32)
    #pragma acc loop gang
    for i in range(a.shape[0]):
        #pragma acc loop worker
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] * 2.0 + i


@acc
def lanes_atomic(v, hist):
    #pragma acc parallel loop gang
    for i in range(v.shape[0]):
        #pragma acc loop vector
        for j in range(v.shape[1]):
            b = v[i, j] % hist.shape[0]
            #pragma acc atomic update
            hist[b] += 1


@acc(boundscheck=True)
def lanes_index_error(a, out, m):
    #pragma acc parallel loop gang
    for i in range(a.shape[0]):
        #pragma acc loop vector
        for j in range(m):
            out[i, j % 10] = a[i, j] * 2.0


# ---- rows: a `loop vector` inside a `loop worker` inside a gang loop runs
# across the threads of the worker's row (threadIdx.x), the workers' rows
# (threadIdx.y) taking the worker loop's iterations

@acc
def rows_matvec(a, x, y):
    # a batch of matrix-vector products: gang a matrix, worker a row, vector its sum
    #pragma acc parallel loop gang
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            s = 0.0
            #pragma acc loop vector reduction(+:s)
            for j in range(a.shape[2]):
                s += a[b, i, j] * x[b, j]
            y[b, i] = s


@acc
def rows_shaped(v, out, stats):
    # told rows: 4 workers of 64 lanes; integer max and | in the rows, a
    # worker-level + over the block, a last value out of a vector loop,
    # a seq loop between the worker and vector loops
    total = 0
    #pragma acc parallel num_workers(4) vector_length(64) reduction(+:total)
    #pragma acc loop gang
    for b in range(v.shape[0]):
        #pragma acc loop worker reduction(+:total)
        for i in range(v.shape[1]):
            for r in range(2):
                m = -(1 << 62)
                bits = 0
                last = 0
                #pragma acc loop vector reduction(max:m) reduction(|:bits)
                for j in range(v.shape[2]):
                    m = max(m, v[b, i, j] + r)
                    bits |= v[b, i, j] & 255
                    last = v[b, i, j] * 2
                out[b, i, r] = m + last
                total += bits
        stats[b] = b
    return total


@acc
def rows_two_loops(a, tmp):
    # two vector loops in a worker's body, the second reading what other
    # lanes of the row wrote in the first; worker-single code between
    #pragma acc parallel loop gang
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            #pragma acc loop vector
            for j in range(a.shape[2]):
                tmp[b, i, j] = a[b, i, j] * 2.0
            edge = tmp[b, i, 0]
            #pragma acc loop vector
            for j in range(1, a.shape[2] - 1):
                a[b, i, j] = tmp[b, i, j - 1] + tmp[b, i, j + 1] + edge


@acc
def rows_some_workers(a, out):
    # only some workers reach the vector loop; min and max over the row
    #pragma acc parallel loop gang
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            if (b + i) % 3 == 0:
                lo = 1e300
                hi = -1e300
                #pragma acc loop vector reduction(min:lo) reduction(max:hi)
                for j in range(a.shape[2]):
                    lo = min(lo, a[b, i, j])
                    hi = max(hi, a[b, i, j])
                out[b, i] = hi - lo
            else:
                out[b, i] = -1.0


@acc
def rows_gang_worker(a, x, y):
    # the common form: gang worker on the outer loop, vector inside; rows
    # take the outer iterations, a worker-level reduction over them all
    total = 0.0
    #pragma acc parallel loop gang worker reduction(+:total)
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop vector reduction(+:s)
        for j in range(a.shape[1]):
            s += a[i, j] * x[j]
        y[i] = s
        total += s
    return total


@acc
def rows_gang_worker_shaped(v, out):
    # told rows (3 workers of 64 lanes); max and a last value out of the
    # vector loop; an if around it
    #pragma acc parallel loop gang worker num_workers(3) vector_length(64)
    for i in range(v.shape[0]):
        if i % 4 != 3:
            m = -(1 << 62)
            last = 0
            #pragma acc loop vector reduction(max:m)
            for j in range(v.shape[1]):
                m = max(m, v[i, j])
                last = v[i, j] + j
            out[i] = m * 1000 + last
        else:
            out[i] = -1


@acc
def rows_gang_worker_atomic(a, out, count):
    # an atomic in the worker's own code: a thread an iteration, its vector
    # loop in order
    #pragma acc parallel loop gang worker
    for i in range(a.shape[0]):
        s = 0.0
        #pragma acc loop vector reduction(+:s)
        for j in range(a.shape[1]):
            s += a[i, j]
        out[i] = s
        #pragma acc atomic update
        count[i % count.shape[0]] += 1


@acc
def rows_worker_updates(a, c, out):
    # the worker's own code updates memory and reads it back, around its
    # vector loop: every thread of the row must see the row's first
    # thread's store, made once
    #pragma acc parallel loop gang
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            c[b, i] += 1.0
            t = c[b, i] * 2.0
            s = 0.0
            #pragma acc loop vector reduction(+:s)
            for j in range(a.shape[2]):
                s += a[b, i, j] * t
            c[b, i] += s
            out[b, i] = c[b, i] - t


@acc
def rows_atomic_worker(a, out, count):
    # an atomic in the worker's own code: its row's first thread alone runs
    # it (a handshake with the row), once a worker iteration
    #pragma acc parallel loop gang
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            s = 0.0
            #pragma acc loop vector reduction(+:s)
            for j in range(a.shape[2]):
                s += a[b, i, j]
            out[b, i] = s
            #pragma acc atomic update
            count[i % count.shape[0]] += 1


@acc(boundscheck=True)
def rows_index_error(a, out, m):
    #pragma acc parallel loop gang
    for b in range(a.shape[0]):
        #pragma acc loop worker
        for i in range(a.shape[1]):
            #pragma acc loop vector
            for j in range(m):
                out[b, i, j % 10] = a[b, i, j] * 2.0
