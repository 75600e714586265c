#!/usr/bin/env bash
# valgrind memcheck over the Criterion tests of the C core (tests/c): builds
# them as scripts/test.sh does (build/ctest, RelWithDebInfo, no sanitizer)
# and runs each test executable under memcheck, with every process it starts
# (Criterion re-executes the test binary as a worker process; some tests
# fork) except installed programs (test_cache runs a shell and python3
# through system(): not pyacc's code).
# Fails on any error valgrind reports in any process: invalid reads and
# writes, uninitialised values, definite and possible leaks, except the
# blocks of scripts/memcheck.supp (Criterion's own, the TLS of threads still
# running at exit, one test's own leak).  Logs: build/ctest/memcheck/<test>.<pid>.log.
#
#   bash scripts/memcheck.sh [TEST...]   (default: every test of CTest)
#
# About 8 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/apt-ensure.sh build-essential cmake ninja-build pkg-config \
  llvm-19-dev libcriterion-dev libsqlite3-dev zlib1g-dev libzstd-dev valgrind

BUILD=build/ctest
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DPYACC_BUILD_TESTS=ON -DPYACC_BUILD_PYTHON=OFF >/dev/null
cmake --build "$BUILD"

tests=("$@")
if ((${#tests[@]} == 0)); then
  mapfile -t tests < <(ctest --test-dir "$BUILD" -N | sed -n 's/^ *Test *#[0-9]*: *//p')
fi

logs="$BUILD/memcheck"
rm -rf "$logs"
mkdir -p "$logs"
status=0
for t in "${tests[@]}"; do
  bin="$BUILD/tests/c/$t"
  start=$SECONDS
  rc=0
  valgrind --tool=memcheck --trace-children=yes \
    --trace-children-skip='/bin/*,/sbin/*,/usr/*,*/.pyenv/*' \
    --leak-check=full --show-leak-kinds=definite,possible \
    --errors-for-leak-kinds=definite,possible \
    --suppressions=scripts/memcheck.supp --log-file="$logs/$t.%p.log" \
    "$bin" --jobs 2 >"$logs/$t.out" 2>&1 || rc=$?
  # (a forked process that runs an untraced program leaves a log without a
  # summary: not an error; one that crashes fails its test, hence rc)
  bad=$(grep -l "ERROR SUMMARY: [1-9]" "$logs/$t".*.log || true)
  nproc=$(grep -l "ERROR SUMMARY" "$logs/$t".*.log | wc -l)
  echo "memcheck: $t: $(grep -o 'Tested: .*' "$logs/$t.out" | tr -s ' ') $nproc processes, $((SECONDS - start)) s"
  if [ "$rc" -ne 0 ] || [ -n "$bad" ]; then
    tail -n 20 "$logs/$t.out"
    for f in $bad; do
      echo "=== $f"
      grep -v "^==[0-9]*== *$" "$f" | head -n 60
    done
    echo "memcheck: $t FAILED (exit $rc; logs in $logs)"
    status=1
  fi
done
((status == 0)) && echo "memcheck: no errors in ${#tests[@]} test executables"
exit $status
