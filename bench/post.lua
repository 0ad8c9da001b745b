-- POST /server/v4: one event per request (see event.lua), answered 200 only
-- once it is fdatasync'ed. Environment: TALLY_WRITE_KEY (required).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "event.lua")

wrk.method = "POST"
wrk.path = "/server/v4"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("TALLY_WRITE_KEY") or error("TALLY_WRITE_KEY is not set")

function request()
  return wrk.format(nil, nil, nil, make_event())
end
