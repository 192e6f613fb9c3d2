-- GET /books?search=<BENCH_SEARCH_BIG>&limit=20: a term matching at least 100,000 books (first
-- page, exact total; chosen by scripts/bench.sh from the seeded data).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = "/books?search=" .. urlencode(os.getenv("BENCH_SEARCH_BIG") or "the") .. "&limit=20"
function request()
   return wrk.format("GET", path)
end
