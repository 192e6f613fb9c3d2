#!/usr/bin/env bash
# smoke.sh [BASE_URL] - walk the main user story against a running bookstore; one PASS/FAIL line per
# step; exit status 1 if any step failed, 2 on bad usage or when the URLs do not lead to the services.
#
#   tests/smoke.sh http://127.0.0.1:8080                 local cluster (make up), through its edge
#   tests/smoke.sh https://bookstore.example.com         a Kubernetes Ingress / Gateway
#   CATALOG_URL=http://127.0.0.1:8000 ORDER_URL=http://127.0.0.1:8001 tests/smoke.sh
#                                                         the services directly (make run)
# With BASE_URL (edge mode) the catalog is BASE_URL/catalog/... and orders are BASE_URL/orders...;
# Location headers then carry the /catalog prefix, and /catalog/health, /catalog/ready must NOT be
# public (404). Health and readiness are checked only in direct mode.
# Before the story, `GET /` (else the public openapi.json) must show that the catalog answers at
# CATALOG_URL and the order service at ORDER_URL, so swapped or wrong ports fail at once.
# Tokens: BOOKSTORE_ADMIN_TOKEN (book writes, order status moves, bad-input probes) and
# BOOKSTORE_CUSTOMER_TOKEN (placing, reading and cancelling its own orders; its `email` claim is used
# as customer_email) are sent as `Authorization: Bearer` when set; without them no header is sent.
# A customer token falls back to the admin token and vice versa.
# SMOKE_CURL_OPTS adds curl options, e.g. "-k" for a self-signed certificate or
# "--resolve bookstore.example.com:443:203.0.113.10" to reach an Ingress by IP.
# The story: list, search, create a book, get it, update it, order it, stock goes down, order status
# moves, idempotent retry, cancel restocks, delete refused while orders exist, bad input -> 4xx.
# It creates one book with a random valid ISBN and leaves it (orders reference it).
set -uo pipefail

base=${1:-${BASE_URL:-}}
mode=direct
if [ -n "$base" ]; then
  base=${base%/}
  mode=edge
  CATALOG_URL=${CATALOG_URL:-$base/catalog}
  ORDER_URL=${ORDER_URL:-$base}
fi
if [ -z "${CATALOG_URL:-}" ] || [ -z "${ORDER_URL:-}" ]; then
  echo "usage: tests/smoke.sh BASE_URL            e.g. http://127.0.0.1:8080 (make up)" >&2
  echo "       CATALOG_URL=http://127.0.0.1:8000 ORDER_URL=http://127.0.0.1:8001 tests/smoke.sh   (make run)" >&2
  exit 2
fi
CATALOG_URL=${CATALOG_URL%/}
ORDER_URL=${ORDER_URL%/}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is required" >&2; exit 2; }
done
# The path prefix the catalog is published under ("" directly, "/catalog" behind the edge).
cat_prefix=$(printf '%s' "$CATALOG_URL" | sed -E 's#^[a-z]+://[^/]+##')
read -r -a curl_opts <<<"${SMOKE_CURL_OPTS:-}"

# Authorization headers (arrays of curl arguments; empty without tokens).
admin_token=${BOOKSTORE_ADMIN_TOKEN:-${BOOKSTORE_CUSTOMER_TOKEN:-}}
customer_token=${BOOKSTORE_CUSTOMER_TOKEN:-${BOOKSTORE_ADMIN_TOKEN:-}}
AS_ADMIN=()
AS_CUSTOMER=()
[ -z "$admin_token" ] || AS_ADMIN=(-H "Authorization: Bearer $admin_token")
[ -z "$customer_token" ] || AS_CUSTOMER=(-H "Authorization: Bearer $customer_token")
# jwt_claim TOKEN NAME: a claim of the token's payload (not verified; only to fill in customer_email).
jwt_claim() {
  local p
  p=$(printf '%s' "$1" | cut -d. -f2 | tr '_-' '/+')
  while [ $(( ${#p} % 4 )) != 0 ]; do p="$p="; done
  printf '%s' "$p" | base64 -d 2>/dev/null | jq -r --arg n "$2" '.[$n] // empty' 2>/dev/null
}
email=smoke@example.com
if [ -n "${BOOKSTORE_CUSTOMER_TOKEN:-}" ]; then
  email=$(jwt_claim "$BOOKSTORE_CUSTOMER_TOKEN" email)
  [ -n "$email" ] || { echo "smoke: BOOKSTORE_CUSTOMER_TOKEN has no email claim" >&2; exit 2; }
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
passed=0
STATUS=""
BODY=""
HDRS=""

# req METHOD URL [JSON] [extra curl args...] -> sets STATUS, BODY, HDRS (header file path)
req() {
  local method=$1 url=$2 data=${3:-}
  shift 3 2>/dev/null || shift $#
  local args=(-s -S --max-time 15 -X "$method" -o "$tmp/body" -D "$tmp/hdrs" -w '%{http_code}')
  if [ -n "$data" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$data"); fi
  STATUS=$(curl "${curl_opts[@]}" "${args[@]}" "$@" "$url" 2>"$tmp/err") || STATUS="curl-error:$(head -c 200 "$tmp/err")"
  BODY=$(cat "$tmp/body" 2>/dev/null || true)
  HDRS="$tmp/hdrs"
}
header() { grep -i "^$1:" "$HDRS" | head -1 | sed -E 's/^[^:]+:[[:space:]]*//; s/\r$//'; }
jqr() { printf '%s' "$BODY" | jq -r "$1" 2>/dev/null; }

# step NAME CONDITION-COMMAND... : prints PASS/FAIL with the status and a body excerpt on failure.
step() {
  local name=$1
  shift
  if "$@"; then
    echo "PASS  $name"
    passed=$((passed + 1))
  else
    echo "FAIL  $name  (status $STATUS, body: $(printf '%s' "$BODY" | head -c 300 | tr '\n' ' '))"
    failed=$((failed + 1))
  fi
}
is() { [ "$STATUS" = "$1" ]; }
is_and() { local s=$1; shift; [ "$STATUS" = "$s" ] && "$@"; }
# path_is LOCATION PATH: the Location header (absolute or relative) names PATH.
path_is() { [ "$(printf '%s' "$1" | sed -E 's#^[a-zA-Z]+://[^/]+##')" = "$2" ]; }
jq_true() { [ "$(jqr "$1")" = true ]; }

# A random but valid ISBN-13 (978 prefix + check digit), so reruns never collide.
rand_isbn() {
  local d="978" i sum=0 digit
  for _ in $(seq 1 9); do d="$d$((RANDOM % 10))"; done
  for i in $(seq 0 11); do
    digit=${d:$i:1}
    if [ $((i % 2)) = 0 ]; then sum=$((sum + digit)); else sum=$((sum + 3 * digit)); fi
  done
  echo "$d$(((10 - sum % 10) % 10))"
}

run_id="smoke-$(date +%s)-$RANDOM"
isbn=$(rand_isbn)

# 0. The right service at each URL: GET / names the service ({"service": ...}); behind an edge
# (where / is not routed) the public openapi.json's title does, else the shape of a list answer.
# identify URL WANT (catalog|order) LIST_URL LIST_JQ OPENAPI_URL... -> 0 if WANT answers.
identify() {
  local url=$1 want=$2 list_url=$3 list_jq=$4 u s t
  shift 4
  s=$(curl "${curl_opts[@]}" -s --max-time 10 "$url/" 2>/dev/null | jq -r '.service // empty' 2>/dev/null)
  if [ -n "$s" ]; then
    [[ $s == *$want* ]] && return 0
    echo "smoke: $url/ is $s, not the $want service (wrong port? make run: catalog 8000, orders 8001)" >&2
    return 1
  fi
  for u in "$@"; do
    t=$(curl "${curl_opts[@]}" -s --max-time 10 "$u" 2>/dev/null | jq -r '.info.title // empty' 2>/dev/null)
    [ -n "$t" ] || continue
    if [[ ${t,,} == *$want* ]]; then return 0; fi
    echo "smoke: $u describes \"$t\", not the $want service" >&2
    return 1
  done
  if curl "${curl_opts[@]}" -s --max-time 10 "${AS_CUSTOMER[@]}" "$list_url" 2>/dev/null | jq -e "$list_jq" >/dev/null 2>&1; then
    return 0
  fi
  echo "smoke: no $want service answers at $url (GET $url/, $*, $list_url gave nothing usable)" >&2
  [ "$mode" = direct ] ||
    echo "smoke: for make run give the services directly: CATALOG_URL=http://127.0.0.1:8000 ORDER_URL=http://127.0.0.1:8001 tests/smoke.sh" >&2
  return 1
}
identify "$CATALOG_URL" catalog "$CATALOG_URL/books?limit=1" '.books | type == "array"' "$CATALOG_URL/openapi.json" || exit 2
identify "$ORDER_URL" order "$ORDER_URL/orders?limit=1" '.orders | type == "array"' \
  "$ORDER_URL/orders/openapi.json" "$ORDER_URL/openapi.json" || exit 2

# 1. Liveness/readiness: operational routes, reachable directly only; an edge must not publish them.
if [ "$mode" = direct ]; then
  req GET "$CATALOG_URL/health"
  step "catalog /health answers 200" is 200
  req GET "$CATALOG_URL/ready"
  step "catalog /ready answers 200 (database reachable)" is 200
  req GET "$ORDER_URL/health"
  step "order /health answers 200" is 200
  req GET "$ORDER_URL/ready"
  step "order /ready answers 200 (database reachable)" is 200
else
  req GET "$CATALOG_URL/ready"
  step "$cat_prefix/ready is not public: 404" is 404
  req GET "$CATALOG_URL/reservations"
  step "$cat_prefix/reservations is not public: 404" is 404
fi

# 2. List and search.
req GET "$CATALOG_URL/books?limit=5"
step "list books: 200 with total and books[]" is_and 200 jq_true '(.total|type=="number") and (.books|type=="array") and (.books|length<=5)'
req GET "$CATALOG_URL/books?search=the&limit=3&sort=-price"
step "search books (search=the, sort=-price): 200" is_and 200 jq_true '(.books|type=="array")'

# 3. Create a book.
req POST "$CATALOG_URL/books" "{\"title\":\"Smoke Test Book $run_id\",\"author\":\"Smoke Tester\",\"isbn\":\"$isbn\",\"price\":\"19.99\",\"quantity\":10,\"description\":\"created by tests/smoke.sh\"}" "${AS_ADMIN[@]}"
book_id=$(jqr .id)
step "create book: 201 with id, price \"19.99\"" is_and 201 jq_true '(.id|type=="number") and .price=="19.99" and .quantity==10'
loc=$(header Location)
step "create book: Location is $cat_prefix/books/$book_id" path_is "$loc" "$cat_prefix/books/$book_id"
if [ -z "$book_id" ] || [ "$book_id" = null ]; then echo "FAIL  cannot continue without a book id"; exit 1; fi

# 4. Get, search for it, update it.
req GET "$CATALOG_URL/books/$book_id"
step "get book $book_id: 200, same isbn" is_and 200 jq_true ".isbn==\"$isbn\""
req GET "$CATALOG_URL/books?search=$run_id"
step "search finds exactly the new book" is_and 200 jq_true ".total==1 and .books[0].id==$book_id"
req GET "$CATALOG_URL/books?isbn=$isbn"
step "filter by isbn finds it" is_and 200 jq_true ".total==1"
req PUT "$CATALOG_URL/books/$book_id" '{"price": 12.5}' "${AS_ADMIN[@]}"
step "update price: 200, price \"12.50\"" is_and 200 jq_true '.price=="12.50" and .quantity==10'

# 5. Order it: stock goes down (the e-mail in another letter case: addresses compare case-insensitively).
email_mixed="${email%@*}@$(printf '%s' "${email#*@}" | tr '[:lower:]' '[:upper:]')"
order_body="{\"book_id\":$book_id,\"customer_name\":\"Smoke Customer\",\"customer_email\":\"$email_mixed\",\"quantity\":2}"
req POST "$ORDER_URL/orders" "$order_body" -H "Idempotency-Key: $run_id-1" "${AS_CUSTOMER[@]}"
order_id=$(jqr .id)
step "place order (qty 2): 201 pending, total \"25.00\"" is_and 201 jq_true '.status=="pending" and .total_price=="25.00" and .unit_price=="12.50" and .quantity==2'
oloc=$(header Location)
step "order Location is /orders/$order_id" path_is "$oloc" "/orders/$order_id"
req POST "$ORDER_URL/orders" "$order_body" -H "Idempotency-Key: $run_id-1" "${AS_CUSTOMER[@]}"
step "retry with the same Idempotency-Key returns the same order" is_and 201 jq_true ".id==$order_id"
req GET "$CATALOG_URL/books/$book_id"
step "stock went down by 2 (10 -> 8)" is_and 200 jq_true '.quantity==8'
req GET "$ORDER_URL/orders/$order_id" "" "${AS_CUSTOMER[@]}"
step "get order $order_id: 200" is_and 200 jq_true ".id==$order_id and .book_id==$book_id"
req GET "$ORDER_URL/orders?book_id=$book_id" "" "${AS_CUSTOMER[@]}"
step "list orders for the book: 1 order" is_and 200 jq_true ".total==1 and .orders[0].id==$order_id"
req GET "$ORDER_URL/orders/$order_id/book" "" "${AS_CUSTOMER[@]}"
step "order's book: 200, available true, quantity 8" is_and 200 jq_true '.available==true and .quantity==8'

# 6. Status moves.
req PATCH "$ORDER_URL/orders/$order_id/status" '{"status":"confirmed"}' "${AS_ADMIN[@]}"
step "pending -> confirmed: 200" is_and 200 jq_true '.status=="confirmed"'
req PATCH "$ORDER_URL/orders/$order_id/status" '{"status":"shipped"}' "${AS_ADMIN[@]}"
step "confirmed -> shipped: 200" is_and 200 jq_true '.status=="shipped"'
req PATCH "$ORDER_URL/orders/$order_id/status" '{"status":"pending"}' "${AS_ADMIN[@]}"
step "shipped -> pending refused: 409" is 409

# 7. Cancel restocks.
req POST "$ORDER_URL/orders" "{\"book_id\":$book_id,\"customer_name\":\"Smoke Customer\",\"customer_email\":\"$email\",\"quantity\":3}" "${AS_CUSTOMER[@]}"
order2=$(jqr .id)
step "second order (qty 3): 201" is 201
req GET "$CATALOG_URL/books/$book_id"
step "stock 8 -> 5" is_and 200 jq_true '.quantity==5'
req PATCH "$ORDER_URL/orders/$order2/status" '{"status":"cancelled"}' "${AS_CUSTOMER[@]}"
step "cancel second order: 200 cancelled" is_and 200 jq_true '.status=="cancelled"'
req GET "$CATALOG_URL/books/$book_id"
step "cancel restocked (5 -> 8)" is_and 200 jq_true '.quantity==8'
req PATCH "$ORDER_URL/orders/$order2/status" '{"status":"cancelled"}' "${AS_CUSTOMER[@]}"
req GET "$CATALOG_URL/books/$book_id"
step "cancelling again does not restock twice" is_and 200 jq_true '.quantity==8'

# 8. Delete refused while orders exist.
req DELETE "$CATALOG_URL/books/$book_id" "" "${AS_ADMIN[@]}"
step "delete book with orders: 409" is 409

# 9. Bad input gets 4xx, never 5xx.
req POST "$ORDER_URL/orders" "{\"book_id\":$book_id,\"customer_name\":\"X\",\"customer_email\":\"$email\",\"quantity\":9}" "${AS_CUSTOMER[@]}"
step "order more than in stock: 409" is 409
req POST "$CATALOG_URL/books" '{"title":"Bad","author":"Bad","price":"1.999"}' "${AS_ADMIN[@]}"
step "book with 3-decimal price: 422" is 422
req POST "$CATALOG_URL/books" '{"title":"Bad","author":"Bad","price":"10.00","isbn":"9780000000001"}' "${AS_ADMIN[@]}"
step "book with bad ISBN check digit: 422" is 422
req POST "$CATALOG_URL/books" "{\"title\":\"Dup\",\"author\":\"Dup\",\"price\":\"10.00\",\"isbn\":\"$isbn\"}" "${AS_ADMIN[@]}"
step "book with duplicate ISBN: 409" is 409
req POST "$CATALOG_URL/books" '{"title": "broken' "${AS_ADMIN[@]}"
step "malformed JSON: 422" is 422
req GET "$CATALOG_URL/books/abc"
step "non-integer book id: 422" is 422
req GET "$CATALOG_URL/books/999999999"
step "missing book: 404" is 404
req GET "$CATALOG_URL/books?limit=0"
step "limit=0: 422" is 422
req POST "$ORDER_URL/orders" '{"book_id":0,"customer_name":"","customer_email":"nope","quantity":0}' "${AS_ADMIN[@]}"
step "order with every field invalid: 422" is_and 422 jq_true '(.detail|type=="array") and (.detail|length>=3)'
req POST "$ORDER_URL/orders" '{"book_id":999999999,"customer_name":"X","customer_email":"x@example.com","quantity":1}' "${AS_ADMIN[@]}"
step "order for a missing book: 422" is 422
req GET "$ORDER_URL/orders/999999999" "" "${AS_ADMIN[@]}"
step "missing order: 404" is 404
req PATCH "$ORDER_URL/orders/$order_id/status" '{"status":"teleported"}' "${AS_ADMIN[@]}"
step "unknown status: 422" is 422

echo "smoke: $passed passed, $failed failed (catalog $CATALOG_URL, orders $ORDER_URL)"
[ "$failed" = 0 ]
