-- GET /books?search=<BENCH_SEARCH>&limit=20: a substring that matches at most ~1,000 books
-- (chosen by scripts/bench.sh from the seeded data).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = "/books?search=" .. urlencode(os.getenv("BENCH_SEARCH") or "zzz") .. "&limit=20"
function request()
   return wrk.format("GET", path)
end
