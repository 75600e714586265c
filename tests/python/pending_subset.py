"""Cases of the Python subset that FAIL today (the file name keeps pytest
from collecting it; run it with `pytest tests/python/pending_subset.py`).
Each case is written as it will pass once fixed; move it to test_subset.py
then.  The helpers come from test_subset.py."""

import numpy as np
import pytest

import pyacc
from pyacc import acc
from conftest import check, same
from test_subset import (PENDING_GENERATED, _scaled, check_raises, fallback_case, serial_expr,
                         serial_exprs, type_error_case)
# imported under private names, so that pytest does not collect them here too
from test_subset import test_generated_float_array_expression as _gen_float_array
from test_subset import test_generated_float_expression as _gen_float
from test_subset import test_generated_int64_array_expression as _gen_int64_array
from test_subset import test_generated_int_expression as _gen_int


# ==========================================================================
# Python returns the chosen operand, whose type may differ: today the
# result is converted to one type (float; int for bool/int)










# ==========================================================================
# int ** int with an exponent not known to be >= 0 runs in the interpreter










# ==========================================================================
# Region results: tuples cannot be used after the region (PyaccTypeError);
# more than 16 results run in the interpreter; an untouched Python float
# comes back as numpy.float64


def test_tuple_value_assigned_in_region_is_used_after():
    @acc
    def f(a):
        #pragma acc serial
        s = a.shape
        return s

    check(f, np.zeros((4, 9)))


def test_tuple_of_scalars_assigned_in_region_is_used_after():
    @acc
    def f(a, b):
        #pragma acc serial
        r = (a + b, a * b)
        return r

    check(f, 3, 4)






# ==========================================================================
# Not supported yet (runs in the interpreter)












# ==========================================================================
# NumPy 2 semantics














# ==========================================================================
# Python int and float mix exactly beyond 2**53






# ==========================================================================
# Fallbacks and type errors: PyaccTypeError where the region should run in
# the interpreter, and the reverse










# ============================================== generated cases failing today
# float 21, 29: min/max or a conditional expression mixing int and float
#   give float where Python gives the chosen int
# float_array 17 20 22: a conditional expression mixing numpy.int64 and
#   numpy.float64 branches is refused ("give it one type")

_gen = {"int": _gen_int, "float": _gen_float, "int64_array": _gen_int64_array,
        "float_array": _gen_float_array}


@pytest.mark.parametrize("kind,k", [(kind, k) for kind, ks in PENDING_GENERATED.items()
                                    for k in ks])
def test_generated_pending(kind, k):
    _gen[kind](k)
