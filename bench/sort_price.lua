-- GET /books?sort=-price&limit=20: the most expensive books first, over the whole catalogue.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   return wrk.format("GET", "/books?sort=-price&limit=20")
end
