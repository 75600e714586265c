"""GPU cases of loops whose innermost index starts off a multiple of 32
(gpu_cases.py runs them).  On a GPU their iterations are laid out so that
each warp starts at an index that is a multiple of 32, and each collapsed
row starts a warp: the rows padded, the threads in the padding idle
(frontend/align.c).  Every answer must still be the plain function's:
reductions, last values, private variables, if, tile, gang/vector,
num_gangs/vector_length, collapse of three loops, a gang loop over lane
loops, and a region run whole on the grid.  Sums are of whole numbers, so
exact in any order."""

from pyacc import acc


@acc
def aligned_stencil(a, out):
    n, m = a.shape
    #pragma acc parallel loop collapse(2)
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = 0.25 * (a[i - 1, j] + a[i + 1, j] + a[i, j - 1] + a[i, j + 1])


@acc
def aligned_collapse_reduce(a, out):
    n, m = a.shape
    s = 0.0
    hi = -1.0
    #pragma acc parallel loop collapse(2) reduction(+:s) reduction(max:hi)
    for i in range(1, n - 1):
        for j in range(3, m - 2):
            v = a[i, j] * 2.0 + a[i - 1, j + 2]
            out[i, j] = v
            s += v
            hi = max(hi, v)
    return s, hi


@acc
def aligned_collapse3(a, out):
    # an innermost index from -5: 27 threads of padding in front of each row
    #pragma acc parallel loop collapse(3)
    for b in range(a.shape[0]):
        for i in range(1, a.shape[1] - 1):
            for j in range(-5, a.shape[2] - 6):
                out[b, i, j + 5] = a[b, i - 1, j + 6] - a[b, i + 1, j + 5] * i


@acc
def aligned_plain(x, y):
    s = 0
    last = 0.0
    #pragma acc parallel loop reduction(+:s)
    for i in range(5, x.shape[0] - 1):
        last = x[i - 1] + x[i + 1]
        y[i] = last
        s += i
    return s, last


@acc
def aligned_if(a, out, on):
    n, m = a.shape
    #pragma acc parallel loop collapse(2) if(on)
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = a[i, j - 1] + a[i, j + 1]


@acc
def aligned_shaped(a, out):
    n, m = a.shape
    #pragma acc parallel loop collapse(2) gang vector num_gangs(7) vector_length(64)
    for i in range(1, n - 1):
        for j in range(1, m - 1):
            out[i, j] = a[i - 1, j] + a[i + 1, j] + i


@acc
def aligned_private(a, out):
    #pragma acc parallel loop collapse(2) private(t)
    for i in range(1, a.shape[0] - 1):
        for j in range(1, a.shape[1] - 1):
            t = a[i, j] * 3.0
            out[i, j] = t - a[i - 1, j]


@acc
def aligned_tile(a, out):
    #pragma acc parallel loop tile(8, 4)
    for i in range(1, a.shape[0] - 1):
        for j in range(1, a.shape[1] - 1):
            out[i, j] = a[i, j] + 1.0


@acc
def aligned_gang_lanes(a, out):
    # a block a gang walks the loop's own space, not the padded one
    #pragma acc parallel loop gang
    for i in range(1, a.shape[0]):
        s = 0.0
        #pragma acc loop vector reduction(+:s)
        for j in range(a.shape[1]):
            s += a[i, j]
        out[i] = s


@acc
def entry_aligned(a, out, stats):
    # the entry on the grid's first thread: its collapsed loop walks the
    # padded space there too
    #pragma acc parallel copyin(a) copy(out, stats)
    if True:
        stats[0] = a[0, 0]
        s = 0.0
        #pragma acc loop collapse(2) reduction(+:s)
        for i in range(1, a.shape[0] - 1):
            for j in range(1, a.shape[1] - 1):
                out[i, j] = a[i, j] + stats[0]
                s += a[i, j]
        stats[1] = s


def args(rng):
    """The cases and their arguments (gpu_cases._args takes them in)."""
    w = rng.integers(-50, 50, (301, 257)).astype(float)  # rows of 255 from j = 1: padded to 256
    c3 = rng.integers(-50, 50, (3, 40, 300)).astype(float)
    return {
        "aligned_stencil": (aligned_stencil, (w, w * 0)),
        "aligned_collapse_reduce": (aligned_collapse_reduce, (w, w * 0)),
        "aligned_collapse3": (aligned_collapse3, (c3, c3 * 0)),
        "aligned_plain": (aligned_plain, (w[:, 0].copy().repeat(7), w[:, 0].repeat(7) * 0)),
        "aligned_if_on": (aligned_if, (w, w * 0, True)),
        "aligned_if_off": (aligned_if, (w, w * 0, False)),
        "aligned_shaped": (aligned_shaped, (w, w * 0)),
        "aligned_private": (aligned_private, (w, w * 0)),
        "aligned_short_rows": (aligned_private, (w[:, :12].copy(), w[:, :12] * 0)),  # rows of 10: not padded
        "aligned_tile": (aligned_tile, (w, w * 0)),
        "aligned_gang_lanes": (aligned_gang_lanes, (w, w[:, 0] * 0)),
        "entry_aligned": (entry_aligned, (w, w * 0, w[0, :2] * 0)),
    }
