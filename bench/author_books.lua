-- GET /books?author=<BENCH_AUTHOR>: an author filter (default limit 100) matching at most ~1,000 books.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = "/books?author=" .. urlencode(os.getenv("BENCH_AUTHOR") or "zzz")
function request()
   return wrk.format("GET", path)
end
