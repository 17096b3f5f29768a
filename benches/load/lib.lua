-- Shared by the load kit's wrk/wrk2 scripts (loaded with dofile from the
-- script's own directory). Works under wrk 4 and wrk2 (same Lua API).
--
-- Each script reads an input list at init (one item a line, written by
-- gen_inputs.py), pre-formats every request once (so request() is a table
-- lookup, not string building), and picks one at random per request.
local lib = {}

local thread_counter = 0

-- Called from setup(thread): gives every thread its own deterministic seed.
function lib.setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

-- The input file: the first script argument (after `--`), else the
-- environment variable named `env`.
function lib.input(args, env)
  local path = (args and args[1]) or os.getenv(env)
  if not path then
    error("no input file: pass it after `--` or set " .. env)
  end
  return path
end

-- Reads the non-empty lines of `path`, at most `max` of them.
function lib.lines(path, max)
  local f = assert(io.open(path, "r"))
  local out = {}
  for line in f:lines() do
    if line ~= "" then
      out[#out + 1] = line
      if max and #out >= max then break end
    end
  end
  f:close()
  assert(#out > 0, "no lines in " .. path)
  return out
end

function lib.seed()
  math.randomseed(12345 + (thread_id or 0) * 7919)
end

-- Installs a global request() returning a random pre-built request.
function lib.serve_random(reqs)
  local n = #reqs
  local random = math.random
  request = function()
    return reqs[random(n)]
  end
end

-- One machine-readable line for run.sh, then wrk's usual output follows.
-- Latencies are microseconds.
function lib.done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.1f mbps=%.1f mean_us=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d p9999_us=%d max_us=%d connect_err=%d read_err=%d write_err=%d status_err=%d timeout_err=%d\n",
    summary.requests, secs, summary.requests / secs, summary.bytes / secs / 1e6,
    latency.mean,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency:percentile(99.99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

return lib
