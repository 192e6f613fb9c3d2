-- PUT /books/{id}: a partial update (price, quantity) of a random book outside the stocked range
-- that POST /orders uses.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   local body = string.format('{"price":"%d.%02d","quantity":%d}', math.random(5, 120),
      math.random(0, 99), math.random(1, 500))
   return wrk.format("PUT", "/books/" .. rand_id(STOCKED + 1, BOOKS), json_headers, body)
end
