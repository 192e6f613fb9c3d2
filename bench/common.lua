-- common.lua - shared by every bench/*.lua wrk script (loaded with dofile).
--
-- Each case script defines request() (and may use the helpers below); it may set
-- accept_status = { [304] = true } to count other statuses as successes. This file supplies
-- setup/init/response/done: every response is classified by status, per thread, and done() prints
-- one machine-readable line that scripts/bench.sh parses:
--   BENCH_RESULT rps=<float> p50_ms=<float> p99_ms=<float> requests=<n> non2xx=<n> sockerr=<n>
--                statuses=<code>:<n>,... sample=<first non-2xx body, truncated>
-- Environment read here: BENCH_TOKEN (bearer token sent on every request), BENCH_BOOKS (catalogue size, ids 1..N), BENCH_STOCKED (ids 1..M have
-- plenty of stock; reserved for POST /orders), BENCH_CUSTOMERS, BENCH_RUN_ID (0..999, makes ISBNs
-- unique across runs on a reused database).

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

-- per-thread globals (read back by done() through thread:get)
statuses = {}
bad = 0
sample = ""

env_num = function(name, default)
   local v = tonumber(os.getenv(name) or "")
   if v == nil then return default end
   return v
end

BOOKS = env_num("BENCH_BOOKS", 1000000)
STOCKED = env_num("BENCH_STOCKED", 1000)
CUSTOMERS = env_num("BENCH_CUSTOMERS", 1000)
RUN_ID = env_num("BENCH_RUN_ID", 0) % 1000

function init(args)
   -- tid is set by setup() before init runs in the thread's own Lua state
   math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
   for _ = 1, 10 do math.random() end
   if case_init then case_init(args) end
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if (status < 200 or status > 299) and not (accept_status and accept_status[status]) then
      bad = bad + 1
      if sample == "" and body then sample = string.sub(body, 1, 160) end
   end
end

-- A random id in 1..n, or in lo..hi.
function rand_id(lo, hi) return math.random(lo, hi) end

-- ISBN-13 with a valid check digit from a 12-digit string.
function isbn13(d12)
   local sum = 0
   for i = 1, 12 do
      local c = string.byte(d12, i) - 48
      if i % 2 == 0 then sum = sum + 3 * c else sum = sum + c end
   end
   return d12 .. tostring((10 - sum % 10) % 10)
end

-- A unique ISBN per request: 978 + run id (3) + thread id (1) + per-thread counter (5 digits,
-- 100,000 per thread per run). 978 keeps clear of scripts/gen-books.sh, which numbers its books
-- upwards in the 979 range; BENCH_RUN_ID changes with every wrk run.
isbn_counter = 0
function next_isbn()
   isbn_counter = isbn_counter + 1
   local d12 = string.format("978%03d%01d%05d", RUN_ID, (tid or 0) % 10, isbn_counter % 100000)
   return isbn13(d12)
end

local function url_encode(s)
   return (string.gsub(s, "[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
urlencode = url_encode

json_headers = { ["Content-Type"] = "application/json" }

-- The caller (scripts/bench.sh): BENCH_TOKEN (an admin token) on every request, unless the
-- case sets its own; empty when the services run with AUTH_DISABLED=1.
local bench_token = os.getenv("BENCH_TOKEN") or ""
if bench_token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. bench_token
   json_headers["Authorization"] = "Bearer " .. bench_token
end

function done(summary, latency, requests)
   local bad_total, all = 0, {}
   local first_sample = ""
   for _, t in ipairs(threads) do
      bad_total = bad_total + (t:get("bad") or 0)
      local st = t:get("statuses") or {}
      for code, n in pairs(st) do all[code] = (all[code] or 0) + n end
      local s = t:get("sample") or ""
      if first_sample == "" then first_sample = s end
   end
   local e = summary.errors
   local sockerr = e.connect + e.read + e.write + e.timeout
   local codes = {}
   for code, n in pairs(all) do table.insert(codes, code .. ":" .. n) end
   table.sort(codes)
   local secs = summary.duration / 1e6
   local rps = 0
   if secs > 0 then rps = summary.requests / secs end
   first_sample = string.gsub(first_sample, "%s+", " ")
   io.write(string.format(
      "BENCH_RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d sockerr=%d statuses=%s sample=%s\n",
      rps, latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
      bad_total, sockerr, table.concat(codes, ","), first_sample))
end
