-- GET /wiki/{title} for random real titles (redirects are followed by the server).
-- wrk -t1 -c64 -d20s -s wiki.lua http://127.0.0.1:8080 -- titles.txt
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(dir .. "lib.lua")

function setup(thread) lib.setup(thread) end

function init(args)
  lib.seed()
  local reqs = {}
  for i, t in ipairs(lib.lines(lib.input(args, "LOAD_TITLES"), 200000)) do
    reqs[i] = wrk.format("GET", "/wiki/" .. t)
  end
  lib.serve_random(reqs)
end

done = lib.done
