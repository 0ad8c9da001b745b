-- POST /server/v4: one event per request (see event.lua), answered 200 only
-- once it is fdatasync'ed. Environment: TALLY_WRITE_KEY (required);
-- REQUEST_POOL=N (default 0): when N > 0, N requests with distinct events
-- are formatted once per thread and sent in turn, so wrk's per-request cost
-- is that of a static request (as for healthz); event_ids then repeat after
-- N requests, which ingest does not mind (the pipeline counts duplicates).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "event.lua")

wrk.method = "POST"
wrk.path = "/server/v4"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("TALLY_WRITE_KEY") or error("TALLY_WRITE_KEY is not set")

local pool_size = tonumber(os.getenv("REQUEST_POOL") or "0")
local pool, next_i = {}, 0

local event_init = init
function init(args)
  event_init(args)
  for i = 1, pool_size do
    pool[i] = wrk.format(nil, nil, nil, make_event())
  end
end

function request()
  if pool_size > 0 then
    next_i = next_i % pool_size + 1
    return pool[next_i]
  end
  return wrk.format(nil, nil, nil, make_event())
end
