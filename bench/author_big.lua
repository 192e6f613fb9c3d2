-- GET /books?author=<BENCH_AUTHOR_BIG>&limit=20: an author filter matching at least 100,000 books
-- (first page, exact total; chosen by scripts/bench.sh from the seeded data).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
local path = "/books?author=" .. urlencode(os.getenv("BENCH_AUTHOR_BIG") or "ai") .. "&limit=20"
function request()
   return wrk.format("GET", path)
end
