#!/usr/bin/env bash
# devkeys.sh - a development token-signing key and its JWKS, made with openssl (no network).
#
#   scripts/devkeys.sh [--ec] [--force] [DIR]        DIR defaults to .run/auth
#
# Writes DIR/private.pem (mode 600, the signing key scripts/token.sh uses), DIR/public.pem,
# DIR/jwks.json (point AUTH_JWKS at it) and DIR/kid. RSA-2048 (RS256) by default, EC P-256 (ES256)
# with --ec. The kid is the key's RFC 7638 thumbprint. An existing key is kept (the command is
# idempotent) unless --force. Development only: production keys live at the identity provider.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=rsa
force=0
dir=
while [ $# -gt 0 ]; do
  case "$1" in
    --ec) kind=ec ;;
    --force) force=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "devkeys.sh: unknown option $1" >&2; exit 2 ;;
    *) dir=$1 ;;
  esac
  shift
done
dir=${dir:-$repo/.run/auth}
command -v openssl >/dev/null || { echo "devkeys.sh: openssl not found" >&2; exit 2; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
hex2bin() { local h=$1 out=; while [ -n "$h" ]; do out+="\\x${h:0:2}"; h=${h:2}; done; printf '%b' "$out"; }

if [ -s "$dir/private.pem" ] && [ -s "$dir/jwks.json" ] && [ "$force" = 0 ]; then
  echo "devkeys.sh: keeping the key in $dir (--force makes a new one)" >&2
  exit 0
fi
mkdir -p "$dir"
umask 077
if [ "$kind" = rsa ]; then
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/private.pem" 2>/dev/null
  openssl pkey -in "$dir/private.pem" -pubout -out "$dir/public.pem"
  openssl pkey -pubin -in "$dir/public.pem" -noout -text | grep -q 'Exponent: 65537' \
    || { echo "devkeys.sh: unexpected RSA exponent" >&2; exit 1; }
  modulus=$(openssl rsa -pubin -in "$dir/public.pem" -noout -modulus | sed 's/^Modulus=//')
  n=$(hex2bin "$modulus" | b64url)
  e=AQAB
  thumb_input="{\"e\":\"$e\",\"kty\":\"RSA\",\"n\":\"$n\"}"
  kid=$(printf '%s' "$thumb_input" | openssl dgst -sha256 -binary | b64url)
  jwk="{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"$kid\",\"n\":\"$n\",\"e\":\"$e\"}"
else
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/private.pem" 2>/dev/null
  openssl pkey -in "$dir/private.pem" -pubout -out "$dir/public.pem"
  # The SubjectPublicKeyInfo DER ends with the uncompressed point 04 || X || Y.
  point=$(openssl pkey -pubin -in "$dir/public.pem" -outform DER | tail -c 64 | od -An -v -tx1 | tr -d ' \n')
  x=$(hex2bin "${point:0:64}" | b64url)
  y=$(hex2bin "${point:64:64}" | b64url)
  thumb_input="{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"$x\",\"y\":\"$y\"}"
  kid=$(printf '%s' "$thumb_input" | openssl dgst -sha256 -binary | b64url)
  jwk="{\"kty\":\"EC\",\"use\":\"sig\",\"alg\":\"ES256\",\"kid\":\"$kid\",\"crv\":\"P-256\",\"x\":\"$x\",\"y\":\"$y\"}"
fi
printf '{"keys":[%s]}\n' "$jwk" >"$dir/jwks.json"
printf '%s\n' "$kid" >"$dir/kid"
chmod 644 "$dir/public.pem" "$dir/jwks.json" "$dir/kid"
echo "devkeys.sh: new $kind key $kid in $dir (AUTH_JWKS=$dir/jwks.json)" >&2
