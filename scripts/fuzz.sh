#!/usr/bin/env bash
# fuzz.sh - builds and runs the libFuzzer harness for common/'s pure parsers
# (tests/fuzz/fuzz_parsers.c: money, valid, jsonx, the router, the bearer-token and JWKS parsers
# of auth). See docs/fuzzing.md.
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
	"$root/common/src/auth.c" "$root/common/src/auth_jwks.c" "$root/common/src/auth_cache.c" \
	"$root/common/src/httpc.c" "$root/common/src/buf.c" "$root/common/src/log.c" \
	"$root/common/src/utf8.c" "$root/common/src/trace.c" "$root/common/src/netaddr.c" \
	$(pkg-config --cflags --libs jansson cjose libcrypto libcurl) -lpthread \
	-o "$build/fuzz_parsers"

# Seeds: the first byte selects the target modulo 5 (0 text parsers, 1 JSON + field validators, 2 router).
seed() { printf "$2" >"$corpus/seed-$1"; }
seed money '\00044.99'
seed money-neg '\000-0.5'
seed isbn13 '\000978-0-306-40615-7'
seed isbn10 '\0000-306-40615-X'
seed email '\000A@Example.COM'
seed time '\0002026-11-29 10:00:00.123456+00'
seed json '\001{"title":" x ","price":"44.99","quantity":5,"r":1.5,"n":null}'
seed json-nul '\001{"a":"\\u0000","b":12.345}'
seed traceparent '\x0500-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
seed xff '\x05203.0.113.9, 10.0.0.5'
seed query '\x05/orders?customer_email=a%%40b.c&limit=2'
seed route '\002/books/12'
seed route-rel '\002/reservations/abc/release'

# Token seeds (target 3) signed with dev keys made here, so the fuzzer starts from tokens that
# verify; FUZZ_JWKS points the harness at their JWKS (replay a finding with the same variable).
"$root/scripts/devkeys.sh" "$build/fuzz-keys/rsa" 2>/dev/null
"$root/scripts/devkeys.sh" --ec "$build/fuzz-keys/ec" 2>/dev/null
rsa_jwk=$(sed 's/^{"keys":\[//; s/\]}$//' "$build/fuzz-keys/rsa/jwks.json")
ec_jwk=$(sed 's/^{"keys":\[//; s/\]}$//' "$build/fuzz-keys/ec/jwks.json")
printf '{"keys":[%s,%s]}\n' "$rsa_jwk" "$ec_jwk" >"$build/fuzz-keys/jwks.json"
export FUZZ_JWKS=$build/fuzz-keys/jwks.json
tok() { "$root/scripts/token.sh" --ttl 315360000 --key "$build/fuzz-keys/$1" "${@:2}"; }
printf '\003%s' "$(tok rsa --role admin)" >"$corpus/seed-token-rsa"
printf '\003%s' "$(tok ec --role customer --email c@example.com)" >"$corpus/seed-token-ec"
printf '\003%s' "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0." >"$corpus/seed-token-none"
printf '\004%s' "$(cat "$build/fuzz-keys/jwks.json")" >"$corpus/seed-jwks"

cd "$build"
exec ./fuzz_parsers -max_total_time="$secs" -max_len=9000 -timeout=5 -rss_limit_mb=2048 \
	-print_final_stats=1 "$@" "$corpus"
