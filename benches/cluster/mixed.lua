-- The drill's capacity probe: wrk sends the client's mix (lookups, ranged
-- fetches, /wiki) at random from a request list, as fast as the balancer
-- answers. One request a line: PATH, then TAB-separated headers.
-- wrk -t1 -c32 -d8s -s mixed.lua http://127.0.0.1:PORT -- requests.txt
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(dir .. "../load/lib.lua")

function setup(thread) lib.setup(thread) end

function init(args)
  lib.seed()
  local reqs = {}
  for i, line in ipairs(lib.lines(lib.input(args, "DRILL_REQUESTS"), 200000)) do
    local fields = {}
    for field in line:gmatch("[^\t]+") do fields[#fields + 1] = field end
    local headers = {}
    for k = 2, #fields do
      local name, value = fields[k]:match("^([^:]+):%s*(.*)$")
      headers[name] = value
    end
    reqs[i] = wrk.format("GET", fields[1], headers)
  end
  lib.serve_random(reqs)
end

done = lib.done
