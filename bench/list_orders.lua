-- GET /orders?customer_email=...: one random customer's orders (filled by the POST /orders case).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
function request()
   return wrk.format("GET", "/orders?customer_email=bench-" .. math.random(1, CUSTOMERS) .. "%40example.com")
end
