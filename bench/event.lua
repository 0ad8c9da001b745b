-- Shared by post.lua, batch.lua and healthz_lua.lua: builds one realistic
-- ~300-byte server-API event with a unique event_id.
-- Environment: BENCH_RUN (tag, makes ids unique across runs), USERS (10000).
local run = os.getenv("BENCH_RUN") or "run"
local users = tonumber(os.getenv("USERS") or "10000")

-- wrk's setup() runs in the main Lua state and gives each thread its number
-- (global `tid` in the thread's state) so ids are unique across threads.
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
tid = 0

function init(args)
  math.randomseed(tid * 7919 + os.time())
end

local counter = 0
local names = { "page_view", "button_click", "signup_started", "add_to_cart", "search" }
local paths = { "/", "/pricing", "/docs/getting-started", "/blog/group-commit", "/checkout" }
local plans = { "free", "pro", "team", "enterprise" }
local fmt = '{"event_id":"%s-t%d-%09d","event_name":"%s","user_id":"user_%05d",' ..
  '"timestamp":"2026-03-14T09:%02d:%02d.%03dZ","event_properties":{' ..
  '"path":"%s","referrer":"https://www.example.com/search?q=tally",' ..
  '"plan":"%s","duration_ms":%d,"experiment":"checkout-v2","variant":"%s"}}'
local random, format = math.random, string.format

function make_event()
  counter = counter + 1
  return format(fmt, run, tid, counter, names[random(#names)], random(1, users),
                random(0, 59), random(0, 59), random(0, 999), paths[random(#paths)],
                plans[random(#plans)], random(1, 60000), random(2) == 1 and "a" or "b")
end
