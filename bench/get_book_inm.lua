-- GET /books/{id} with If-None-Match: "b1" (the ETag of a book never changed since it was
-- seeded): random ids as get_book.lua; 304 (no body) counts as a success, as does 200 for a book
-- an earlier write case changed.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
accept_status = { [304] = true }
function request()
   return wrk.format("GET", "/books/" .. rand_id(1, BOOKS), { ["If-None-Match"] = '"b1"' })
end
