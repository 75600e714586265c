"""Hostile and odd inputs: each ends as the plain function would end, or in
a clear Python exception naming the user's line; never a crash, a hang or
a different answer."""

import warnings

import numpy as np
import pytest

import pyacc
from pyacc import PragmaSyntaxError, acc
from conftest import check
from subset_helpers import make


def _fill():
    @acc
    def fill(x, v):
        #pragma acc parallel loop
        for i in range(x.shape[0]):
            x[i] = v
    return fill


@pytest.mark.parametrize("bad", [None, "abc", {0: 1}, 3.5])
def test_a_non_array_where_an_array_goes_fails_as_python_does(bad):
    f = _fill()
    with pytest.raises(Exception) as plain:
        f.py_func(bad, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pyacc.PyaccWarning)  # it runs in the interpreter
        with pytest.raises(type(plain.value)):
            f(bad, 1.0)


def test_an_object_array_runs_as_python_does():
    f = _fill()
    x, y = np.array([object(), "a", 3], dtype=object), np.array([object(), "a", 3], dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pyacc.PyaccWarning)
        f(x, 1.5)
    f.py_func(y, 1.5)
    assert list(x) == list(y) == [1.5, 1.5, 1.5]


def test_a_read_only_output_is_a_value_error():
    f = _fill()
    ro = np.frombuffer(b"\0" * 24)  # read-only float64[3]
    with pytest.raises(ValueError, match="read-only"):
        f(ro, 1.0)
    assert not ro.any()


def test_a_section_beyond_the_array_is_an_index_error_at_the_clause():
    @acc
    def sec(x):
        #pragma acc parallel loop copy(x[0:100])
        for i in range(10):
            x[i] = 1.0

    with pytest.raises(IndexError, match=r"copy\(x\[0:100\]\).*outside the bounds 0:10"):
        sec(np.zeros(10))


def test_overlapping_views_give_what_python_gives():
    f = make("""
@acc
def f(a, b):
    #pragma acc kernels
    for i in range(a.shape[0]):
        a[i] = b[i] + 1.0
""")
    base = np.arange(20.0)
    x, y = base.copy(), base.copy()
    f(x[1:], x[:-1])
    f.py_func(y[1:], y[:-1])
    assert np.array_equal(x, y)


def test_a_pragma_in_a_string_is_not_a_pragma():
    @acc
    def s(x):
        t = "#pragma acc parallel loop"
        for i in range(x.shape[0]):
            x[i] = len(t)
        return x

    assert s.stats()["regions"] == 0
    check(s, np.zeros(3))


def test_a_pragma_in_a_nested_function_is_reported_at_its_line():
    with pytest.raises(PragmaSyntaxError, match="inside 'inner'.*decorate 'inner' with @acc") as info:
        @acc
        def outer(x):
            def inner(y):
                #pragma acc parallel loop
                for i in range(y.shape[0]):
                    y[i] = 2.0
            inner(x)
    assert "#pragma acc parallel loop" in info.value.text  # the line it names is the pragma's


def test_a_pragma_after_code_on_its_line_is_reported():
    with pytest.raises(PragmaSyntaxError, match="on a line of its own"):
        @acc
        def lam(x):
            g = abs  # pragma acc parallel loop
            for i in range(x.shape[0]):
                x[i] = g(3.0)


def test_deeply_nested_expressions_compile():
    f = make("""
@acc
def f(x):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        x[i] = """ + "(" * 60 + "i + 1.0" + ")" * 60 + """
""")
    check(f, np.zeros(5))


def test_a_function_redefined_between_calls_runs_its_new_body():
    src = """
@acc
def f(x):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        x[i] = {}
"""
    f1 = make(src.format("1.0"))
    x = np.zeros(4)
    f1(x)
    f2 = make(src.format("2.0"))
    f2(x)
    assert (x == 2.0).all()
    f1(x)
    assert (x == 1.0).all()


def test_a_pragma_in_a_lambda_is_reported_at_its_line():
    with pytest.raises(PragmaSyntaxError, match="inside a lambda: write the function with def") as info:
        acc(lambda a: [
            #pragma acc parallel loop
            x * 2 for x in a])
    assert "#pragma acc parallel loop" in info.value.text
    with pytest.raises(PragmaSyntaxError, match="inside a lambda in 'outer'") as info:
        @acc
        def outer(x):
            key = (lambda v:
                   #pragma acc parallel loop
                   v)
            return key(x)
    assert "#pragma acc parallel loop" in info.value.text


def test_a_module_level_pragma_is_a_comment_and_the_module_runs(tmp_path):
    # outside a decorated function a pragma is a comment, as it is to Python:
    # nothing compiles it, and nothing breaks
    f = make("""
#pragma acc parallel loop
import numpy as np
#pragma acc data copy(x)

@acc
def f(x):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        x[i] = i * 2.0
""")
    check(f, np.zeros(6))
    assert f.stats()["regions"] == 1 and f.stats()["fallbacks"] == 0


def test_a_huge_function_compiles_and_agrees():
    body = "".join(f"        t = t * 1.0001 + {k % 7}\n" for k in range(3000))
    f = make("@acc\ndef f(a, out):\n    #pragma acc parallel loop\n    for i in range(a.shape[0]):\n"
             "        t = a[i]\n" + body + "        out[i] = t\n")
    check(f, np.arange(10.0), np.zeros(10))
    assert f.stats()["compiles"] == 1 and f.stats()["fallbacks"] == 0


@pytest.mark.parametrize("section", ["a[0:10**18]", "a[10**18:4]", "a[-5:2]", "a[0:2**63 - 1]"])
def test_an_absurd_section_is_an_index_error_at_the_clause(section):
    f = make(f"""
@acc
def f(a):
    #pragma acc parallel loop copyin({section})
    for i in range(a.shape[0]):
        a[i] += 1.0
""")
    with pytest.raises(IndexError, match="outside the bounds"):
        f(np.zeros(4))


def test_a_file_edited_after_decoration_keeps_the_functions_own_code(tmp_path):
    # the function object is what Python runs; so does pyacc, whatever the
    # file on disk says by now
    src = """
@acc
def f(x):
    #pragma acc parallel loop
    for i in range(x.shape[0]):
        x[i] = {}
"""
    f = make(src.format("3.0"))
    path = f.py_func.__code__.co_filename
    with open(path, "w") as fh:
        fh.write(src.format("4.0") + "\n# edited\n")
    x = np.zeros(3)
    f(x)
    assert (x == 3.0).all()
    check(f, np.zeros(3))
