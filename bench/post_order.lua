-- POST /orders: one copy of a random well-stocked book (ids 1..BENCH_STOCKED) for a random
-- customer; each request makes the order service reserve stock through the catalog.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   local c = math.random(1, CUSTOMERS)
   local body = string.format(
      '{"book_id":%d,"customer_name":"Bench Customer %d","customer_email":"bench-%d@example.com","quantity":1}',
      rand_id(1, STOCKED), c, c)
   return wrk.format("POST", "/orders", json_headers, body)
end
