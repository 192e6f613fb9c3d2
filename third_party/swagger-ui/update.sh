#!/usr/bin/env bash
# update.sh VERSION - re-vendors swagger-ui-dist@VERSION from the npm registry into this folder:
# copies the files the docs page serves, rewrites VERSION and SHA256SUMS and prints the tarball's
# integrity for README.md. `npm pack` verifies the tarball against the registry's integrity hash.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 VERSION" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
files=(LICENSE NOTICE swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css
       favicon-32x32.png)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "swagger-ui-dist@$1" >/dev/null && tar xzf ./swagger-ui-dist-"$1".tgz)
for f in "${files[@]}"; do cp "$tmp/package/$f" "$here/$f"; done
echo "$1" >"$here/VERSION"
(cd "$here" && sha256sum "${files[@]}" >SHA256SUMS)
echo "integrity: $(npm view "swagger-ui-dist@$1" dist.integrity)"
echo "tarball sha256: $(sha256sum "$tmp/swagger-ui-dist-$1.tgz" | cut -d' ' -f1)"
echo "Update README.md with these two values."
