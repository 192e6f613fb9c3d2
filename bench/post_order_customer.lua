-- POST /orders as a customer: the caller is a customer token (BENCH_CUSTOMER_TOKEN, e-mail
-- bench-customer@example.com) ordering for itself, so the order service verifies the token
-- (signature, claims; then the verified-token cache) and checks the e-mail on every request.
-- Run once with authentication and once with AUTH_DISABLED=1 (no token): the ratio is the cost
-- of authentication (scripts/bench.sh, "Authentication cost").
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local customer_token = os.getenv("BENCH_CUSTOMER_TOKEN") or ""
local headers = { ["Content-Type"] = "application/json" }
if customer_token ~= "" then headers["Authorization"] = "Bearer " .. customer_token end
function request()
   local body = string.format(
      '{"book_id":%d,"customer_name":"Bench Customer","customer_email":"bench-customer@example.com","quantity":1}',
      rand_id(1, STOCKED))
   return wrk.format("POST", "/orders", headers, body)
end
