#!/usr/bin/env bash
# token.sh - mints a signed development JWT with openssl (no network) and prints it on stdout.
#
#   scripts/token.sh [--role admin|customer] [--email E] [--sub S] [--ttl SECONDS]
#                    [--key DIR] [--iss ISSUER] [--aud AUDIENCE]
#
#   --role   admin puts "roles":["admin"] in the token; customer (default) "roles":["customer"]
#   --email  the email claim (default admin@example.com / customer@example.com)
#   --sub    the subject (default dev-admin / dev-customer)
#   --ttl    lifetime in seconds (default 3600)
#   --key    the key folder made by scripts/devkeys.sh (default $AUTH_DEV_KEYS or .run/auth)
#   --iss    issuer (default $AUTH_ISSUER or http://localhost/dev)
#   --aud    audience (default $AUTH_AUDIENCE or bookstore)
#
# RS256 or ES256 follows the key's type; the header's kid is DIR/kid. Example:
#   curl -H "Authorization: Bearer $(scripts/token.sh --role admin)" http://127.0.0.1:8000/books
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
role=customer email='' sub='' ttl=3600
dir=${AUTH_DEV_KEYS:-$repo/.run/auth}
iss=${AUTH_ISSUER:-http://localhost/dev}
aud=${AUTH_AUDIENCE:-bookstore}
usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
need() { [ $# -ge 2 ] || { echo "token.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --role) need "$@"; role=$2; shift ;;
    --email) need "$@"; email=$2; shift ;;
    --sub) need "$@"; sub=$2; shift ;;
    --ttl) need "$@"; ttl=$2; shift ;;
    --key) need "$@"; dir=$2; shift ;;
    --iss) need "$@"; iss=$2; shift ;;
    --aud) need "$@"; aud=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "token.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$role" in
  admin|customer) ;;
  *) echo "token.sh: --role must be admin or customer" >&2; exit 2 ;;
esac
[[ "$ttl" =~ ^[0-9]{1,9}$ ]] || { echo "token.sh: --ttl must be a number of seconds" >&2; exit 2; }
email=${email:-$role@example.com}
sub=${sub:-dev-$role}
# The values go into JSON as they are: refuse quotes, backslashes and control characters.
for v in "$email" "$sub" "$iss" "$aud"; do
  if [[ "$v" == *[\"\\]* ]] || [[ "$v" =~ [[:cntrl:]] ]] || [ -z "$v" ]; then
    echo "token.sh: empty value or a quote, backslash or control character in \"$v\"" >&2
    exit 2
  fi
done
if [ ! -r "$dir/private.pem" ] || [ ! -r "$dir/kid" ]; then
  echo "token.sh: no key in $dir (run scripts/devkeys.sh $dir, or make run)" >&2
  exit 2
fi

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
hex2bin() { local h=$1 out=; while [ -n "$h" ]; do out+="\\x${h:0:2}"; h=${h:2}; done; printf '%b' "$out"; }
pad64() { local h=${1#"${1%%[!0]*}"}; printf '%064s' "$h" | tr ' ' 0; }

kid=$(tr -d '\n' <"$dir/kid")
if openssl pkey -in "$dir/private.pem" -noout -text 2>/dev/null | grep -q 'ASN1 OID: prime256v1'; then
  alg=ES256
else
  alg=RS256
fi
now=$(date +%s)
header="{\"alg\":\"$alg\",\"typ\":\"JWT\",\"kid\":\"$kid\"}"
payload="{\"iss\":\"$iss\",\"aud\":\"$aud\",\"sub\":\"$sub\",\"email\":\"$email\",\"roles\":[\"$role\"],\"iat\":$now,\"exp\":$((now + ttl))}"
input="$(printf '%s' "$header" | b64url).$(printf '%s' "$payload" | b64url)"
if [ "$alg" = RS256 ]; then
  sig=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$dir/private.pem" -binary | b64url)
else
  # openssl writes an ECDSA signature as DER SEQUENCE { r, s }; JWS wants r || s, 32 bytes each.
  ints=$(printf '%s' "$input" | openssl dgst -sha256 -sign "$dir/private.pem" -binary \
    | openssl asn1parse -inform DER | sed -n 's/.*INTEGER *:\([0-9A-Fa-f]*\)$/\1/p')
  r=$(sed -n 1p <<<"$ints")
  s=$(sed -n 2p <<<"$ints")
  sig=$(hex2bin "$(pad64 "$r")$(pad64 "$s")" | b64url)
fi
printf '%s.%s\n' "$input" "$sig"
