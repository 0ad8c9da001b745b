-- Control run: GET /healthz carrying the same headers and ~300-byte body as
-- post.lua, built by a Lua request() every time. The daemon's healthz
-- handler ignores the body, so against healthz.lua this measures wrk's own
-- per-request Lua cost plus reading the bigger request; against post.lua it
-- isolates what the POST handler (auth, JSON check, durable append) costs.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
dofile(dir .. "event.lua")

wrk.method = "GET"
wrk.path = "/healthz"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-KEY"] = os.getenv("TALLY_WRITE_KEY") or "unused"

function request()
  return wrk.format(nil, nil, nil, make_event())
end
