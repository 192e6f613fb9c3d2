#!/usr/bin/env bash
# fuzz.sh - builds and runs the libFuzzer harness for common/'s pure parsers
# (tests/fuzz/fuzz_parsers.c: money, valid, jsonx, the router). See docs/fuzzing.md.
#
#   scripts/fuzz.sh [seconds] [extra libFuzzer flags...]     default: 180 seconds
#
# Env: BUILD_DIR (default ./build-fuzz), CC (default clang). Exits non-zero on a finding; the
# crashing input is left in $BUILD_DIR as crash-*/leak-*/timeout-* (replay: $BUILD_DIR/fuzz_parsers FILE).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-180}
shift || true
build=${BUILD_DIR:-$root/build-fuzz}
cc=${CC:-clang}
corpus=$build/fuzz-corpus

command -v "$cc" >/dev/null || { echo "fuzz.sh: $cc not found (libFuzzer needs clang)" >&2; exit 2; }
mkdir -p "$build" "$corpus"

# shellcheck disable=SC2046 # pkg-config output is meant to split
"$cc" -g -O1 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$root/common/include" \
	"$root/tests/fuzz/fuzz_parsers.c" \
	"$root/common/src/money.c" "$root/common/src/valid.c" \
	"$root/common/src/jsonx.c" "$root/common/src/router.c" \
	$(pkg-config --cflags --libs jansson) \
	-o "$build/fuzz_parsers"

# Seeds: the first byte selects the target (0 text parsers, 1 JSON + field validators, 2 router).
seed() { printf "$2" >"$corpus/seed-$1"; }
seed money '\00044.99'
seed money-neg '\000-0.5'
seed isbn13 '\000978-0-306-40615-7'
seed isbn10 '\0000-306-40615-X'
seed email '\000A@Example.COM'
seed time '\0002026-11-29 10:00:00.123456+00'
seed json '\001{"title":" x ","price":"44.99","quantity":5,"r":1.5,"n":null}'
seed json-nul '\001{"a":"\\u0000","b":12.345}'
seed route '\002/books/12'
seed route-rel '\002/reservations/abc/release'

cd "$build"
exec ./fuzz_parsers -max_total_time="$secs" -max_len=4096 -timeout=5 -rss_limit_mb=2048 \
	-print_final_stats=1 "$@" "$corpus"
