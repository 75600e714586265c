#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer:
# builds the C core, its Criterion tests and the CPython extension with
# clang 19 and -DPYACC_SANITIZE=ON (in build/sanitize), runs CTest, then
# pytest over tests/python with that extension.  Every report fails the run
# (UBSan is built with -fno-sanitize-recover=all).  Idempotent, like
# scripts/setup.sh, on which it builds; arguments go to pytest.
#
# Why clang 19 (Debian 12's, the LLVM of pyacc itself) rather than gcc 12:
# gcc 12's libasan, like clang 14's runtime, does not hold its allocator's
# locks across fork(), so a child forked while another thread allocates may
# hang in its first malloc; test_pool's fork tests did, about 1 run in 5.
# LLVM 18 and later take those locks in a pthread_atfork handler.
#
# CPython is not instrumented: the ASan runtime is preloaded into it
# (LD_PRELOAD, also inherited by the tests' subprocesses), Python's own
# allocator is turned off (PYTHONMALLOC=malloc) so that the extension's
# PyMem/PyObject blocks are checked too, and leak detection is off in Python
# processes (the interpreter leaves much allocated at exit); the Criterion
# tests run with it on.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build/sanitize
CLANG=clang-19

bash scripts/setup.sh # apt packages, .venv with numpy, pytest, hypothesis

# clang 19 and its sanitizer runtimes (Debian 12's, the LLVM pyacc uses).
bash scripts/apt-ensure.sh "$CLANG" libclang-rt-19-dev

# A build folder configured with another compiler is made afresh.
if [ -f "$BUILD/CMakeCache.txt" ] && ! grep -q "^CMAKE_C_COMPILER:FILEPATH=.*/$CLANG\$" "$BUILD/CMakeCache.txt"; then
  rm -rf "$BUILD"
fi
if [ ! -f "$BUILD/build.ninja" ]; then
  echo "sanitize: configuring $BUILD with $CLANG"
  CC=$CLANG CXX=${CLANG/clang/clang++} cmake -S . -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPYACC_SANITIZE=ON \
    -DPYACC_BUILD_TESTS=ON -DPYACC_BUILD_PYTHON=ON -DPYACC_LLVM_STATIC=OFF \
    -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
fi
cmake --build "$BUILD"

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
ASAN_COMMON="detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"

# --- The Criterion tests, leak checking on.
echo "sanitize: CTest under ASan+UBSan"
ASAN_OPTIONS="$ASAN_COMMON:detect_leaks=1" ctest --test-dir "$BUILD" --output-on-failure

# --- pytest, with the sanitized extension in a package of its own.
pkg="$BUILD/pkg"
rm -rf "$pkg"
mkdir -p "$pkg"
cp -R python/pyacc "$pkg/"
find "$pkg/pyacc" \( -name '*.so' -o -name __pycache__ \) -prune -exec rm -rf {} +
cp "$BUILD/python/pyacc/_pyacc.abi3.so" "$pkg/pyacc/"

# The ASan runtime under the name libasan.so, which tests look for in
# LD_PRELOAD (test_concurrency's RSS bound does not hold under ASan's
# quarantine).
runtime=$($CLANG -print-file-name=libclang_rt.asan-x86_64.so)
[ -f "$runtime" ] || { echo "sanitize: no ASan runtime at $runtime" >&2; exit 1; }
ln -sf "$runtime" "$BUILD/libasan.so"

# Reports go to files as well: pytest's capture would swallow the stderr of a
# process that a report ends.  Any report fails the run, even one from a
# subprocess whose test passed.
reports="$BUILD/reports"
rm -rf "$reports"
mkdir -p "$reports"
report_check() {
  if compgen -G "$reports/*" >/dev/null; then
    for f in "$reports"/*; do
      echo "=== $f"
      head -n 80 "$f"
    done
    echo "sanitize: sanitizer reports above (in $reports)"
    return 1
  fi
}

run_py() {
  env LD_PRELOAD="$PWD/$BUILD/libasan.so${LD_PRELOAD:+:$LD_PRELOAD}" \
      PYTHONPATH="$PWD/$pkg${PYTHONPATH:+:$PYTHONPATH}" PYTHONMALLOC=malloc \
      ASAN_OPTIONS="$ASAN_COMMON:detect_leaks=0:log_path=$PWD/$reports/asan" \
      UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$PWD/$reports/ubsan" \
      .venv/bin/python "$@"
}

# The sanitized build is the one imported, with ASan loaded.
run_py -c '
import sys, pyacc._pyacc as m
asan = any("libclang_rt.asan" in l for l in open("/proc/self/maps"))
print("sanitize: pyacc from", m.__file__, "(ASan loaded)" if asan else "(ASan NOT loaded)")
sys.exit(0 if asan and m.__file__.startswith(sys.argv[1]) else 1)
' "$PWD/$pkg/"

echo "sanitize: pytest under ASan+UBSan"
status=0
run_py -m pytest tests/python -p no:cacheprovider "$@" || status=$?
report_check || status=1
exit $status
