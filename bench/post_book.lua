-- POST /books: a new book per request, each with a unique, valid ISBN-13.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   local body = string.format(
      '{"title":"Bench Book %d-%d","author":"Bench Author %d","isbn":"%s","price":"%d.%02d","quantity":%d,"description":"Written by the benchmark."}',
      tid or 0, isbn_counter + 1, math.random(1, 500), next_isbn(), math.random(5, 120),
      math.random(0, 99), math.random(0, 100))
   return wrk.format("POST", "/books", json_headers, body)
end
