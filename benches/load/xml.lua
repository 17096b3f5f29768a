-- GET /xml with Range: bytes=start-end of random real pages (4-64 KB by default).
-- The same script drives nginx serving the dump file: pass the path as the
-- second argument (default /xml).
-- wrk -t1 -c64 -d20s -s xml.lua http://127.0.0.1:8080 -- ranges.txt [/xml]
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(dir .. "lib.lua")

function setup(thread) lib.setup(thread) end

function init(args)
  lib.seed()
  local path = (args and args[2]) or os.getenv("LOAD_XML_PATH") or "/xml"
  local reqs = {}
  for i, line in ipairs(lib.lines(lib.input(args, "LOAD_RANGES"), 200000)) do
    local s, e = line:match("^(%d+)%s+(%d+)$")
    assert(s, "bad range line: " .. line)
    reqs[i] = wrk.format("GET", path, { Range = "bytes=" .. s .. "-" .. e })
  end
  lib.serve_random(reqs)
end

done = lib.done
