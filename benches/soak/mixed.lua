-- wrk script for benches/soak/soak.sh: a constant-rate mix of /offsets,
-- /wiki and /xml requests drawn from a targets file, and a JSON summary.
--
-- Targets file lines: "O <encoded prefix>", "W <encoded title>", "X <start>-<end>".
-- Env: SOAK_TARGETS (file), SOAK_DELAY_MS (pause per connection between
-- requests: connections * 1000 / rate), SOAK_OUT (summary JSON path).

local targets = { O = {}, W = {}, X = {} }
local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "10")
local counter = 0
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
end

function init(args)
    for line in io.lines(os.getenv("SOAK_TARGETS")) do
        local kind, value = line:match("^(%u) (.+)$")
        if kind then
            table.insert(targets[kind], value)
        end
    end
    math.randomseed(os.time() * 100 + (id or 0))
end

function delay()
    return delay_ms
end

local function pick(list)
    return list[math.random(#list)]
end

function request()
    counter = counter + 1
    local r = math.random(100)
    if r <= 50 then
        return wrk.format("GET", "/offsets/" .. pick(targets.O) .. "?limit=" .. math.random(1, 50))
    elseif r <= 80 then
        return wrk.format("GET", "/wiki/" .. pick(targets.W) .. "?redirect=no")
    else
        return wrk.format("GET", "/xml", { Range = "bytes=" .. pick(targets.X) })
    end
end

function done(summary, latency, requests)
    local e = summary.errors
    local out = io.open(os.getenv("SOAK_OUT"), "w")
    out:write(string.format(
        '{"requests": %d, "duration_us": %d, "bytes": %d, ' ..
        '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
        '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d, "mean": %.1f}}\n',
        summary.requests, summary.duration, summary.bytes,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency:percentile(99.9), latency.max, latency.mean))
    out:close()
end
