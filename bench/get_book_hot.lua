-- GET /books/{id} with skewed traffic: 90 % of requests ask for one of 1,000 popular books
-- (ids 1..1000), the rest for any book. The case that the catalog's read cache (CACHE_TTL_MS) is
-- for; with uniform ids (get_book.lua) a bounded cache hits almost never.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   local id
   if math.random() < 0.9 then id = rand_id(1, math.min(1000, BOOKS)) else id = rand_id(1, BOOKS) end
   return wrk.format("GET", "/books/" .. id)
end
