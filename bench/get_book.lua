-- GET /books/{id}: uniformly random ids over the whole catalogue.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   return wrk.format("GET", "/books/" .. rand_id(1, BOOKS))
end
