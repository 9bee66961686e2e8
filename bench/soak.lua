-- wrk script for the soak run: POST a schedule of GraphQL requests in turn, each with its own bearer token;
-- count what was sent by kind and every failed response; report the run as one JSON line.
-- SOAK_SCHEDULE_FILE names the schedule: one request a line, "<kind>\t<token>\t<JSON body>".
local schedule = {}
local kinds = {} -- in order of first appearance
do
  local seen = {}
  local file = assert(io.open(assert(os.getenv("SOAK_SCHEDULE_FILE"), "SOAK_SCHEDULE_FILE is not set"), "rb"))
  for line in file:lines() do
    local kind, token, body = string.match(line, "^([%w_]+)\t([^\t]+)\t(.+)$")
    assert(kind, "malformed schedule line: " .. line)
    table.insert(schedule, {kind = kind, token = token, body = body})
    if not seen[kind] then
      seen[kind] = true
      table.insert(kinds, kind)
    end
  end
  file:close()
  assert(#schedule > 0, "the schedule is empty")
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  requests = {}
  for i, entry in ipairs(schedule) do
    local headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. entry.token,
    }
    requests[i] = {kind = entry.kind, raw = wrk.format("POST", nil, headers, entry.body)}
  end
  -- Threads start 101 requests apart in the schedule.
  position = ((id - 1) * 101) % #requests
  sent = {}
  non_200 = 0
  graphql_errors = 0
  first_error = nil
end

function request()
  position = position % #requests + 1
  local r = requests[position]
  sent[r.kind] = (sent[r.kind] or 0) + 1
  return r.raw
end

-- Any status but 200 is a failure, and so is a 200 that carries GraphQL errors.
function response(status, headers, body)
  local failed = false
  if status ~= 200 then
    non_200 = non_200 + 1
    failed = true
  elseif string.find(body, '"errors":', 1, true) then
    graphql_errors = graphql_errors + 1
    failed = true
  end
  if failed and not first_error then
    first_error = status .. " " .. string.sub(body, 1, 400)
  end
end

-- A JSON string: quotes, backslashes, control characters and non-ASCII bytes escaped.
local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\\128-\255]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local totals = {}
  local failed_200, failed_status, sample = 0, 0, nil
  for _, thread in ipairs(threads) do
    for kind, n in pairs(thread:get("sent") or {}) do
      totals[kind] = (totals[kind] or 0) + n
    end
    failed_status = failed_status + (thread:get("non_200") or 0)
    failed_200 = failed_200 + (thread:get("graphql_errors") or 0)
    sample = sample or thread:get("first_error")
  end
  local sent_json = {}
  for _, kind in ipairs(kinds) do
    table.insert(sent_json, string.format('"%s": %d', kind, totals[kind] or 0))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, '
      .. '"non_200": %d, "graphql_errors": %d, "sent": {%s}, "first_error": %s}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.timeout, failed_status, failed_200,
    table.concat(sent_json, ", "), sample and json_string(sample) or "null"))
end
