-- GET /books?limit=20: the first page, no filter (total included).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   return wrk.format("GET", "/books?limit=20")
end
