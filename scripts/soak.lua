-- wrk script for scripts/soak.sh: POST a different random, valid report every time, so the
-- answer cache misses and the rule engine itself is soaked; count non-200 answers; stop each
-- thread after its share of the request budget (args[1], 0 = no count limit).

local symptoms = {
  "redness", "swelling", "pain", "burning", "tightness", "pinpoint-bleeding", "itching", "flaking",
  "bruising", "breakout", "sensitivity", "warmth", "numbness", "darkening", "swollen-glands", "rash",
  "hives", "blisters", "cold-sores", "pus", "spreading-redness", "fever", "lumps", "track-marks", "dent",
  "lip-tongue-swelling", "breathing-difficulty",
}
local factors = {
  "darker-skin", "cold-sore-history", "immunosuppressed", "diabetes", "blood-thinners", "isotretinoin",
  "rf-microneedling", "prp", "shared-equipment",
}
local severities = { "mild", "moderate", "severe" }
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  budget = tonumber(args[1]) or 0
  count, non200, server_errors = 0, 0, 0
  math.randomseed(os.time() * 1000 + id)
end

local function pick(list, n)
  local copy, out = { (table.unpack or unpack)(list) }, {}
  for i = 1, n do
    local j = math.random(i, #copy)
    copy[i], copy[j] = copy[j], copy[i]
    out[i] = copy[i]
  end
  return out
end

function request()
  local parts = {}
  for i, s in ipairs(pick(symptoms, math.random(1, 4))) do
    parts[i] = string.format('{"id":"%s","severity":"%s"}', s, severities[math.random(1, 3)])
  end
  local fs = {}
  for i, f in ipairs(pick(factors, math.random(0, 2))) do
    fs[i] = '"' .. f .. '"'
  end
  local body = string.format(
    '{"symptoms":[%s],"hours":%.2f,"factors":[%s],"worsening":%s}',
    table.concat(parts, ","), math.random() * 400, table.concat(fs, ","), math.random() < 0.3 and "true" or "false"
  )
  return wrk.format("POST", "/api/v1/assess", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  count = count + 1
  if status ~= 200 then non200 = non200 + 1 end
  if status >= 500 then server_errors = server_errors + 1 end
  if budget > 0 and count >= budget then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local non200_total, server_total = 0, 0
  for _, t in ipairs(threads) do
    non200_total = non200_total + (t:get("non200") or 0)
    server_total = server_total + (t:get("server_errors") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "SOAK requests=%d duration_s=%.1f rps=%.1f non200=%d http5xx=%d connect_errors=%d read_errors=%d "
      .. "write_errors=%d timeouts=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6), non200_total,
    server_total, e.connect, e.read, e.write, e.timeout, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000
  ))
end
