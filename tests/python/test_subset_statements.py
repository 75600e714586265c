"""The Python subset inside compute regions: statements (assignments,
branches, for and while loops with break, continue and else) and the forms
of regions and loop pragmas."""

import numpy as np
import pytest

from pyacc import acc
from conftest import check
from subset_helpers import check_raises

# ================================================================= statements


def test_tuple_assignment_and_swap():
    @acc
    def f(a, b, n):
        #pragma acc serial
        for i in range(n):
            a, b = b, a + b
        return a, b

    check(f, 0, 1, 30)


def test_tuple_assignment_with_three_targets(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            p, q, r = x[i], x[i] * 2, i
            (p, q) = (q, p)
            out[i] = p - q + r

    check(f, rng.random(30), np.zeros(30))


def test_augmented_assignment_on_scalars():
    @acc
    def f(a, x):
        #pragma acc serial
        a += 3
        a *= 2
        a -= 1
        a //= 3
        a %= 7
        a **= 2
        a <<= 2
        a >>= 1
        a |= 64
        a &= 0xFF
        a ^= 5
        x += a
        x /= 4
        x -= 0.5
        x //= 0.75
        return a, x

    check(f, 11, 1.5)


def test_if_elif_else(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            if x[i] < -5:
                out[i] = 0
            elif x[i] < 0:
                out[i] = 1
            elif x[i] == 0:
                out[i] = 2
            else:
                out[i] = 3

    x = rng.integers(-10, 10, 100)
    check(f, x, np.zeros(100, dtype=np.int8))


def test_if_without_else_keeps_old_value():
    @acc
    def f(a):
        r = 5
        #pragma acc serial
        if a > 0:
            r = a
        return r

    check(f, 3)
    check(f, -3)


def test_truthiness_of_numbers_in_conditions(rng):
    @acc
    def f(x, y, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            if x[i]:
                out[i] = 1
            if not y[i]:
                out[i] = out[i] + 10

    check(f, rng.integers(0, 2, 50), (rng.random(50) < 0.5).astype(np.float32),
          np.zeros(50, dtype=np.int64))


def test_while_loop():
    @acc
    def f(n):
        #pragma acc serial
        steps = 0
        while n != 1:
            n = n // 2 if n % 2 == 0 else 3 * n + 1
            steps += 1
        return steps

    check(f, 27)
    check(f, 1)


def test_while_in_parallel_loop(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            v = x[i]
            k = 0
            while v > 1.0:
                v = v / 2.0
                k += 1
            out[i] = k

    check(f, rng.random(200) * 1000, np.zeros(200, dtype=np.int32))


@pytest.mark.parametrize("args", [(6,), (0,), (-3,), (2, 9), (9, 2), (-5, 5), (0, 20, 3),
                                  (20, 0, -3), (10, -10, -1), (5, 5, -1), (3, 100, 40),
                                  (-1, -20, -7)])
def test_range_forms_in_serial_loop(args):
    @acc
    def f(a, b, c, n):
        total = 0
        count = 0
        #pragma acc serial
        for i in range(a, b, c):
            total = total * 3 + i
            count += 1
        return total, count

    a, b, c = (0, args[0], 1) if len(args) == 1 else (args + (1,))[:3]
    check(f, a, b, c, 0)


def test_reassigning_the_loop_variable_does_not_change_iteration():
    @acc
    def f(n):
        #pragma acc serial
        for i in range(n):
            i = i * 2
            n = n - 1
        return i, n

    check(f, 5)


def test_while_with_compound_condition(rng):
    @acc
    def f(x):
        s = 0.0
        i = 0
        #pragma acc serial
        while i < x.shape[0] and s < 10.0:
            s += x[i]
            i += 1
        return s, i

    check(f, rng.random(100))


def test_range_with_one_and_two_arguments():
    @acc
    def f(n, m, out):
        #pragma acc parallel loop
        for i in range(n):
            out[i] = i
        #pragma acc parallel loop
        for j in range(n, m):
            out[j] = -j

    check(f, 4, 9, np.zeros(9, dtype=np.int64))


def test_range_zero_step_raises_value_error():
    @acc
    def f(n, step):
        s = 0
        #pragma acc serial
        for i in range(0, n, step):
            s += i
        return s

    check_raises(f, ValueError, 5, 0)


def test_parallel_loop_with_negative_step(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0] - 1, -1, -2):
            out[i] = x[i] * i

    check(f, rng.random(101), np.zeros(101))


def test_for_over_array(rng):
    @acc
    def f(x):
        s = 0.0
        #pragma acc serial
        for v in x:
            s = s * 0.5 + v
        return s

    check(f, rng.random(40))
    check(f, rng.random(40).astype(np.float32))
    check(f, rng.integers(0, 9, 40))


def test_for_over_strided_array(rng):
    @acc
    def f(base):
        x = base[::-3]
        s = 0.0
        #pragma acc serial
        for v in x:
            s = s * 0.5 + v
        return s

    check(f, rng.random(40))


def test_parallel_loop_over_array_elements(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for v in x:
            out[int(v) % out.shape[0]] = 1

    check(f, rng.integers(0, 100, 20).astype(np.float64), np.zeros(7))


def test_for_over_enumerate(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i, v in enumerate(x):
            out[i] = v * i

    check(f, rng.random(25), np.zeros(25))
    check(f, [1, 2, 3], np.zeros(3))


def test_for_over_row_of_2d_array(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            s = 0.0
            for v in a[i]:
                s += v
            out[i] = s

    check(f, rng.integers(0, 9, (5, 8)).astype(np.float64), np.zeros(5))


def test_nested_loops_matrix_multiply(rng):
    @acc
    def matmul(a, b, c):
        n, k = a.shape
        m = b.shape[1]
        #pragma acc parallel loop
        for i in range(n):
            for j in range(m):
                s = 0.0
                for p in range(k):
                    s += a[i, p] * b[p, j]
                c[i, j] = s

    a = rng.integers(-5, 5, (8, 6)).astype(np.float64)
    b = rng.integers(-5, 5, (6, 7)).astype(np.float64)
    check(matmul, a, b, np.zeros((8, 7)))


def test_inner_loop_bound_depends_on_outer_index(rng):
    @acc
    def f(out):
        #pragma acc parallel loop
        for i in range(out.shape[0]):
            for j in range(i + 1):
                out[i, j] = i * 10 + j

    check(f, np.zeros((9, 9), dtype=np.int64))


def test_break_in_serial_loop():
    @acc
    def f(x, target):
        found = -1
        #pragma acc serial
        for i in range(x.shape[0]):
            if x[i] == target:
                found = i
                break
        return found

    x = np.array([5, 3, 8, 3, 1])
    check(f, x, 3)
    check(f, x, 4)


def test_break_in_seq_loop_inside_parallel_loop(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop
        for i in range(a.shape[0]):
            #pragma acc loop seq
            for j in range(a.shape[1]):
                if a[i, j] > 0.9:
                    out[i] = j
                    break

    check(f, rng.random((20, 30)), np.full(20, -1, dtype=np.int64))


def test_break_in_while_and_else_clause():
    @acc
    def f(n):
        #pragma acc serial
        i = 2
        prime = True
        while i * i <= n:
            if n % i == 0:
                prime = False
                break
            i += 1
        return prime

    for n in (2, 9, 97, 91):
        check(f, n)


def test_for_else():
    @acc
    def f(x, t):
        r = 0
        #pragma acc serial
        for v in x:
            if v == t:
                r = 1
                break
        else:
            r = 2
        return r

    check(f, np.arange(5), 3)
    check(f, np.arange(5), 7)


def test_continue_and_pass(rng):
    @acc
    def f(x, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            for j in range(5):
                if j == 2:
                    continue
                if x[i] < 0.5:
                    pass
                else:
                    out[i] += j

    check(f, rng.random(50), np.zeros(50))


def test_local_temporaries(rng):
    @acc
    def f(x, y, out):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            dx = x[i] - 0.5
            dy = y[i] - 0.5
            r2 = dx * dx + dy * dy
            inside = r2 < 0.25
            out[i] = 1.0 if inside else 0.0

    check(f, rng.random(300), rng.random(300), np.zeros(300))


def test_variable_changes_type_from_int_to_float():
    @acc
    def f(n):
        #pragma acc serial
        s = 0
        for i in range(n):
            s = s + 0.5
        return s

    check(f, 3)
    check(f, 0)


def test_two_regions_in_one_function(rng):
    @acc
    def f(x):
        y = np.empty_like(x)
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            y[i] = x[i] * 2
        s = 0.0
        #pragma acc serial
        for i in range(y.shape[0]):
            s = s + y[i]
        return y, s

    check(f, rng.random(10))
    assert f.stats()["regions"] == 2


def test_parallel_region_with_inner_loop_pragma(rng):
    @acc
    def f(a, out):
        #pragma acc parallel
        #pragma acc loop
        for i in range(a.shape[0]):
            out[i] = a[i] + 1

    check(f, rng.random(20), np.zeros(20))


def test_kernels_loop(rng):
    @acc
    def f(a, out):
        #pragma acc kernels loop
        for i in range(a.shape[0]):
            out[i] = a[i] * a[i]

    check(f, rng.random(20), np.zeros(20))


def test_serial_region_closed_by_end_pragma():
    @acc
    def f(a):
        #pragma acc serial
        b = a * 2
        c = b + 1
        #pragma acc end serial
        return c

    check(f, 4)


def test_collapse_two_loops(rng):
    @acc
    def f(a, out):
        #pragma acc parallel loop collapse(2)
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[i, j] = a[i, j] + i - j

    check(f, rng.random((7, 11)), np.zeros((7, 11)))
