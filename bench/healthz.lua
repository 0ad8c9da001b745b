-- GET /healthz: the ceiling of the HTTP layer. wrk's static request path
-- (no request() function), so the client does the least possible work.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")
wrk.method = "GET"
wrk.path = "/healthz"
