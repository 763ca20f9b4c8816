-- wrk script for benchmarks/tracking_load.py: POST /v1/batch with EVENTS_PER_BATCH track
-- calls per request, every messageId unique (run id, thread, request, position).
local run_id = os.getenv("RUN_ID") or "run"
local per_batch = tonumber(os.getenv("EVENTS_PER_BATCH") or "100")
local authorization = os.getenv("AUTHORIZATION")
local threads = {}
local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local prefix = run_id .. "-" .. thread_id .. "-" .. counter .. "-"
  local parts = {}
  for i = 1, per_batch do
    parts[i] = '{"type":"track","messageId":"' .. prefix .. i ..
      '","userId":"u' .. ((counter * per_batch + i) % 5000) ..
      '","event":"Product Viewed","properties":{"sku":"A' .. i ..
      '","price":9.99},"timestamp":"2026-03-01T12:00:00.000+00:00",' ..
      '"context":{"library":{"name":"analytics-python","version":"2.3.4"}},"integrations":{}}'
  end
  local body = '{"batch":[' .. table.concat(parts, ",") ..
    '],"sentAt":"2026-03-01T12:00:01.000+00:00"}'
  return wrk.format("POST", "/v1/batch", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = authorization,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
