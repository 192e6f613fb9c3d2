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

scripts/bootstrap.sh test || exit 1

summary=()
failed=0
ran_any=0

# build_config NAME DIR CMAKE_ARGS... - configure and build; returns 1 (and records it) on failure.
build_config() {
  local name=$1 dir=$2
  shift 2
  echo "=== [$name] configure + build ($dir)"
  mkdir -p "$dir"
  if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log"
    summary+=("$name: CONFIGURE FAILED (see $dir/configure.log)")
    failed=1
    return 1
  fi
  # Progress lines go to the log only; compiler diagnostics are shown.
  cmake --build "$dir" -j"$(nproc)" 2>&1 | tee "$dir/build.log" \
    | grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built target|Generating)|^Consolidate compiler'
  if [ "${PIPESTATUS[0]}" != 0 ]; then
    summary+=("$name: BUILD FAILED (see $dir/build.log)")
    failed=1
    return 1
  fi
  # A fresh test server each run: stop one a killed run may have left, drop its databases.
  scripts/pg.sh stop "$dir/test-pg" >/dev/null 2>&1 || true
  rm -rf "$dir/test-pg" "$dir/test-tmp"
}

# ctest_phase NAME DIR JOBS NO_TESTS CTEST_ARGS... - one ctest run, recorded in the summary.
# NO_TESTS is ctest's --no-tests= action; a phase that matches nothing is fine as long as some
# phase ran tests (checked at the end).
ctest_phase() {
  local name=$1 dir=$2 phase_jobs=$3 no_tests=$4
  shift 4
  local log=$dir/ctest-$name.log line rc
  echo "=== [$name] ctest -j$phase_jobs $*${TEST_FILTER:+ -R $TEST_FILTER}"
  (cd "$dir" && ctest --output-on-failure --no-tests="$no_tests" -j"$phase_jobs" "$@" \
     ${TEST_FILTER:+-R "$TEST_FILTER"}) 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  scripts/pg.sh stop "$dir/test-pg" >/dev/null 2>&1 || true
  line=$(grep -E 'tests passed|No tests were found' "$log" | tail -1)
  if [ "$rc" != 0 ]; then
    failed=1
    summary+=("$name: FAILED - ${line:-ctest exit $rc}")
    while IFS= read -r t; do summary+=("    $t"); done \
      < <(sed -n '/The following tests FAILED:/,$p' "$log" | grep -E '^[[:space:]]+[0-9]+ - ' \
          | sed 's/^[[:space:]]*//')
    if grep -qE '^[[:space:]]+[0-9]+ - pg_start ' "$log"; then
      summary+=("    -> the test PostgreSQL did not start: see pg_start's output above and $dir/test-pg/log")
    fi
  elif [ -z "$line" ] || grep -q 'No tests were found' <<<"$line"; then
    summary+=("$name: no tests matched")
  else
    ran_any=1
    summary+=("$name: ok - $line")
  fi
}

start=$(date +%s)
build=${BUILD_DIR:-build}
asan_build=${ASAN_BUILD_DIR:-build-asan}
# Unit and integration tests run in parallel; the `checks` (image builds, a multi-replica cluster
# under load) are heavy and timing-sensitive, so they run afterwards, one at a time.
if build_config normal "$build"; then
  ctest_phase normal "$build" "$jobs" ignore -LE checks
  ctest_phase checks "$build" 1 ignore -L checks
fi
if [ "${TEST_ASAN:-1}" = 1 ]; then
  if build_config asan "$asan_build" -DSANITIZE=ON; then
    ctest_phase asan "$asan_build" "$jobs" ignore -LE checks
  fi
else
  summary+=("asan: skipped (TEST_ASAN=0)")
fi

if [ "$failed" = 0 ] && [ "$ran_any" = 0 ]; then
  summary+=("no test matched${TEST_FILTER:+ TEST_FILTER=$TEST_FILTER}")
  failed=1
fi

echo
echo "=== summary ($(( $(date +%s) - start )) s)"
printf '  %s\n' "${summary[@]}"
exit "$failed"
