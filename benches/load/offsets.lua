-- GET /offsets/{prefix}?limit=N with real 1-8 character prefixes.
-- wrk  -t1 -c64 -d20s -s offsets.lua http://127.0.0.1:8080 -- prefixes.txt [limit]
-- wrk2 -t1 -c64 -d20s -R50000 -s offsets.lua http://127.0.0.1:8080 -- prefixes.txt [limit]
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(dir .. "lib.lua")

function setup(thread) lib.setup(thread) end

function init(args)
  lib.seed()
  local limit = (args and args[2]) or os.getenv("LOAD_LIMIT") or "10"
  local reqs = {}
  for i, p in ipairs(lib.lines(lib.input(args, "LOAD_PREFIXES"), 200000)) do
    reqs[i] = wrk.format("GET", "/offsets/" .. p .. "?limit=" .. limit)
  end
  lib.serve_random(reqs)
end

done = lib.done
