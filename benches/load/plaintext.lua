-- GET /plaintext (or any fixed path given as the first argument): a static
-- request, with the same RESULT line as the other scripts.
-- wrk -t1 -c64 -d20s -s plaintext.lua http://127.0.0.1:8080 -- /plaintext
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local lib = dofile(dir .. "lib.lua")

function init(args)
  wrk.path = (args and args[1]) or "/plaintext"
end

done = lib.done
