-- POST /server/v4/batch: BATCH_SIZE (default 100) events per request (see
-- event.lua). One request is one log record, answered once durable.
-- Environment: TALLY_WRITE_KEY (required), BATCH_SIZE.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "event.lua")

local size = tonumber(os.getenv("BATCH_SIZE") or "100")
wrk.method = "POST"
wrk.path = "/server/v4/batch"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("TALLY_WRITE_KEY") or error("TALLY_WRITE_KEY is not set")

local events = {}
function request()
  for i = 1, size do
    events[i] = make_event()
  end
  return wrk.format(nil, nil, nil, '{"events":[' .. table.concat(events, ",", 1, size) .. ']}')
end
