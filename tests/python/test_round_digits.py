"""round(x, ndigits) of a Python float in compiled regions: CPython's
correctly rounded decimal digits, to the bit, computed by the runtime
(runtime/round.c) on the host and by IR on the GPU (jit/gpu_round.c), not by
calling into the interpreter."""

import math
import traceback

import numpy as np
import pytest

from pyacc import acc
from conftest import check
from gpu_cases import round_digits, round_inputs, round_to_the_bit
from subset_helpers import serial_expr


def test_parallel_round_matches_cpython_to_the_bit():
    round_to_the_bit(*round_inputs(np.random.default_rng(3), 200_000))
    assert round_digits.stats()["fallbacks"] == 0


@pytest.mark.parametrize("x", [2.675, 1.005, 0.125, 0.375, -2.5, 2.5, 0.5, -0.5, -0.0, 0.0, 1e-320, 5e-324,
                               123456.789, 9007199254740993.0, 1.7976931348623157e308, 1e22, 1e23,
                               math.inf, -math.inf, math.nan])
def test_round_edge_values(x):
    f = serial_expr("round(a, n)", ["a", "n"])
    for n in (0, 1, 2, 3, -1, -2, 15, 16, 17, 22, 23, 300, 308, 309, 323, 324, -307, -308, -309, 2**62,
              -2**62, True):
        if n in (-308, -307) and abs(x) > 1e307:
            continue  # overflows: below
        check(f, x, n)


def test_round_past_the_largest_double_raises_overflow_at_its_line():
    @acc
    def f(a, n):
        #pragma acc serial
        r = round(a, n)  # rounds up past the largest double
        return r

    with pytest.raises(OverflowError, match="rounded value too large to represent") as e:
        f(1.7976931348623157e308, -308)
    assert "rounds up past the largest double" in traceback.extract_tb(e.value.__traceback__)[-1].line
    with pytest.raises(OverflowError):
        f.py_func(1.7976931348623157e308, -308)
    assert check(f, 1.4e308, -308) == 1e308


def test_round_is_compiled_code_not_a_call_into_the_interpreter():
    f = serial_expr("round(a, 3)", ["a"])
    check(f, 2.0005)
    ir = "\n".join(f.inspect_llvm().values())
    assert "pyacc_rt_round_digits" in ir and "pyacc_py_math" not in ir
