#!/usr/bin/env bash
# test.sh (`make test`) - the whole test suite, in two configurations.
#
#   build/       normal build (RelWithDebInfo): every ctest test (unit, integration, checks)
#   build-asan/  -DSANITIZE=ON (ASan + UBSan): every test except those labelled `checks`
#                (image builds and manifest checks do not depend on how the C code is compiled)
#
# Integration tests start their own PostgreSQL (ctest fixture `pg`, scripts/pg.sh under
# <build>/test-pg, wiped before each run) and the real daemons on free loopback ports.
# Exits non-zero if any build or test fails, after printing a summary.
#
# Environment:
#   TEST_FILTER=regex   only tests whose name matches (ctest -R), e.g. TEST_FILTER=unit_ or
#                       TEST_FILTER=catalog; the pg fixture is added automatically when needed
#   TEST_ASAN=0         skip the sanitizer configuration (quick local runs)
#   TEST_JOBS=N         ctest parallelism (default 2)
#   BUILD_DIR, ASAN_BUILD_DIR   build folders (default build, build-asan)
#   PG_FSYNC, PG_SYNC_COMMIT   test server durability (default off: throwaway data, faster)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
jobs=${TEST_JOBS:-2}
export PG_FSYNC=${PG_FSYNC:-off} PG_SYNC_COMMIT=${PG_SYNC_COMMIT:-off}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# check: a failing test's output goes to ctest's log; keep fork mode (one crash fails one test).
unset CK_FORK CK_RUN_SUITE CK_RUN_CASE

scripts/bootstrap.sh || exit 1

summary=()
failed=0

# run_config NAME DIR CTEST_EXTRA_ARGS CMAKE_ARGS...
run_config() {
  local name=$1 dir=$2 extra=$3
  shift 3
  local log=$dir/ctest.log line
  echo "=== [$name] configure + build ($dir)"
  mkdir -p "$dir"
  if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log"
    summary+=("$name: CONFIGURE FAILED (see $dir/configure.log)")
    failed=1
    return
  fi
  # Progress lines go to the log only; compiler diagnostics are shown.
  cmake --build "$dir" -j"$(nproc)" 2>&1 | tee "$dir/build.log" \
    | grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built target|Generating)|^Consolidate compiler'
  local build_rc=${PIPESTATUS[0]}
  if [ "$build_rc" != 0 ]; then
    summary+=("$name: BUILD FAILED (see $dir/build.log)")
    failed=1
    return
  fi
  # A fresh test server each run: stop one a killed run may have left, drop its databases.
  scripts/pg.sh stop "$dir/test-pg" >/dev/null 2>&1 || true
  rm -rf "$dir/test-pg" "$dir/test-tmp"
  echo "=== [$name] ctest -j$jobs $extra${TEST_FILTER:+ -R $TEST_FILTER}"
  # shellcheck disable=SC2086
  (cd "$dir" && ctest --output-on-failure --no-tests=error -j"$jobs" $extra \
     ${TEST_FILTER:+-R "$TEST_FILTER"}) 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  scripts/pg.sh stop "$dir/test-pg" >/dev/null 2>&1 || true
  line=$(grep -E 'tests passed|No tests were found' "$log" | tail -1)
  if [ "$rc" != 0 ]; then
    failed=1
    summary+=("$name: FAILED - ${line:-ctest exit $rc}")
    while IFS= read -r t; do summary+=("    $t"); done \
      < <(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ')
    if grep -qE '^[[:space:]]+[0-9]+ - pg_start ' "$log"; then
      summary+=("    -> the test PostgreSQL did not start: see pg_start's output above and $dir/test-pg/log")
    fi
  else
    summary+=("$name: ok - $line")
  fi
}

start=$(date +%s)
run_config normal "${BUILD_DIR:-build}" ""
if [ "${TEST_ASAN:-1}" = 1 ]; then
  run_config asan "${ASAN_BUILD_DIR:-build-asan}" "-LE checks" -DSANITIZE=ON
else
  summary+=("asan: skipped (TEST_ASAN=0)")
fi

echo
echo "=== summary ($(( $(date +%s) - start )) s)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
