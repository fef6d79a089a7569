-- kmsgw benchmark: replays pre-signed requests round robin (a SigV4 signature stays valid for 5 minutes).
-- The request file holds records "<byte length>\n<raw HTTP/1.1 request>". Each wrk thread starts at its own offset.
-- done() prints one JSON line the benchmark parses. An optional second argument paces the load: each connection
-- waits that many milliseconds after every answer (wrk calls delay() only when the script defines it, so the
-- unpaced scenarios pay nothing for it).
local requests = {}
local next_index = 1
local threads_set_up = 0

function setup(thread)
  thread:set("thread_id", threads_set_up)
  threads_set_up = threads_set_up + 1
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = data:find("\n", pos, true)
    local len = tonumber(data:sub(pos, nl - 1))
    requests[#requests + 1] = data:sub(nl + 1, nl + len)
    pos = nl + 1 + len
  end
  next_index = ((thread_id or 0) * 7919) % #requests + 1
  if args[2] then
    local pause = tonumber(args[2])
    delay = function() return pause end
  end
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > #requests then
    next_index = 1
  end
  return r
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
