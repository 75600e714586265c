#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang (in build/fuzz,
# -DPYACC_FUZZ=ON) and runs them; see tests/fuzz/README.md.
#
#   scripts/fuzz.sh [SECONDS]   fuzz each harness for SECONDS (default 60)
#                               from tests/fuzz/corpus/<name>; what it learns
#                               goes to build/fuzz/corpus/<name>, crashes to
#                               build/fuzz/artifacts/<name>/
#   scripts/fuzz.sh --regress   run every input of tests/fuzz/corpus and
#                               tests/fuzz/crashes once (a few seconds, for CI)
#   scripts/fuzz.sh --merge     add to tests/fuzz/corpus/<name> only the inputs
#                               of build/fuzz/corpus/<name> that add coverage
#
# FUZZ_JOBS=N fuzzes with N processes per harness (libFuzzer's -fork).
# Exits non-zero when a harness finds (or, with --regress, meets) a crash,
# leak, timeout or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build/fuzz
HARNESSES=(pragma lower)
# Per harness: the longest input and extra flags.
declare -A FLAGS=(
  [pragma]="-max_len=4096 -dict=tests/fuzz/pragma.dict"
  [lower]="-max_len=8192"
)
COMMON=(-timeout=10 -detect_leaks=1 -rss_limit_mb=4096 -print_final_stats=1)

mode=fuzz
seconds=60
case "${1:-}" in
  "") ;;
  --regress) mode=regress ;;
  --merge) mode=merge ;;
  -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *[!0-9]*) echo "fuzz.sh: expected SECONDS, --regress or --merge, got '$1'" >&2; exit 2 ;;
  *) seconds=$1 ;;
esac

# What the build needs: Debian's clang (14, with libFuzzer in its runtime
# package) and the libraries of the C core.
bash scripts/apt-ensure.sh build-essential cmake ninja-build pkg-config \
  clang libclang-rt-14-dev llvm-19-dev libsqlite3-dev zlib1g-dev libzstd-dev

# Configure once with clang; a build folder made with another compiler is
# refused by tests/fuzz/CMakeLists.txt.
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DPYACC_FUZZ=ON \
    -DPYACC_BUILD_PYTHON=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" --target $(printf 'fuzz_%s ' "${HARNESSES[@]}") >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

status=0
for h in "${HARNESSES[@]}"; do
  bin="$BUILD/tests/fuzz/fuzz_$h"
  seeds="tests/fuzz/corpus/$h"
  crashes="tests/fuzz/crashes/$h"
  work="$BUILD/corpus/$h"
  mkdir -p "$seeds" "$work"
  case $mode in
    regress)
      # Each input once, as files: LeakSanitizer checks at exit.
      mapfile -t inputs < <(find "$seeds" "$crashes" -type f ! -name '.*' 2>/dev/null | sort)
      echo "fuzz.sh: fuzz_$h: ${#inputs[@]} inputs"
      log="$BUILD/regress-$h.log"
      if "$bin" ${FLAGS[$h]} "${COMMON[@]}" -runs=1 "${inputs[@]}" >"$log" 2>&1; then
        echo "fuzz.sh: fuzz_$h: ok"
      else
        tail -n 60 "$log"
        echo "fuzz.sh: fuzz_$h: FAILED (log: $log)"
        status=1
      fi
      ;;
    merge)
      before=$(find "$seeds" -type f | wc -l)
      "$bin" ${FLAGS[$h]} "${COMMON[@]}" -merge=1 "$seeds" "$work" >"$BUILD/merge-$h.log" 2>&1
      echo "fuzz.sh: fuzz_$h: $before -> $(find "$seeds" -type f | wc -l) files in $seeds"
      ;;
    fuzz)
      art="$BUILD/artifacts/$h/"
      mkdir -p "$art"
      log="$BUILD/fuzz-$h.log"
      par=()
      [ "${FUZZ_JOBS:-1}" -gt 1 ] && par=(-fork="$FUZZ_JOBS")
      echo "fuzz.sh: fuzz_$h for ${seconds}s (log: $log)"
      dirs=("$work" "$seeds")
      [ -d "$crashes" ] && dirs+=("$crashes")
      if "$bin" ${FLAGS[$h]} "${COMMON[@]}" "${par[@]}" -max_total_time="$seconds" \
           -artifact_prefix="$art" "${dirs[@]}" >"$log" 2>&1; then
        # the final stats; in -fork mode, the last progress line
        grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)' "$log" ||
          grep -E '^#[0-9]+: cov' "$log" | tail -n 1 || true
      else
        grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" || tail -n 30 "$log"
        echo "fuzz.sh: fuzz_$h found a problem: minimise it with"
        echo "  $bin -minimize_crash=1 -max_total_time=60 -exact_artifact_path=OUT ${art}crash-..."
        echo "then fix it and add OUT to $crashes/"
        status=1
      fi
      ;;
  esac
done
exit $status
