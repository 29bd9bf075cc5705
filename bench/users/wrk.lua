-- wrk script for bench/users. STOA_BENCH_WORKLOAD picks what each request is:
--   get       GET /v1/users/me (the profile, from the cache after the first read)
--   patch     PATCH /v1/users/me {display_name} with If-Match: the ETag of that user's last
--             answer (each thread keeps its own users, and no user is in two requests at once)
--   register  POST /v1/users with a fresh address each time
-- STOA_BENCH_USERS names the "<id> <token> <ETag>" file of bench/users/tokens.mjs (its ETags
-- current before a patch run); STOA_BENCH_THREADS is wrk's -t, so that thread N takes every
-- Nth user.
local workload = os.getenv("STOA_BENCH_WORKLOAD") or "get"
local threads = tonumber(os.getenv("STOA_BENCH_THREADS") or "1")
local all = {}
local file = assert(io.open(os.getenv("STOA_BENCH_USERS"), "r"))
for line in file:lines() do
  local id, token, etag = line:match("^(%S+) (%S+) (%S+)$")
  if id then all[#all + 1] = { id = id, token = token, etag = etag } end
end
file:close()

local next_thread = 0
local all_threads = {}
function setup(thread)
  thread:set("thread_index", next_thread)
  next_thread = next_thread + 1
  all_threads[#all_threads + 1] = thread
end

local mine, index, counter = nil, 0, 0
local run = tostring(os.time()) .. "-" .. tostring(math.random(1, 1000000000))

local function users()
  if mine == nil then
    mine = {}
    for i, user in ipairs(all) do
      if (i - 1) % threads == thread_index then mine[#mine + 1] = user end
    end
  end
  return mine
end

-- PATCH: a user is never in two requests at once (one slow request may still be in flight
-- while the other connections go round all the users), and each request's X-Request-Id,
-- which the server echoes, names its user, so that its answer's ETag goes to the right one.
local busy = {}
local function next_user(list)
  for _ = 1, #list do
    index = index % #list + 1
    if not busy[index] then return index end
  end
  error("every user is in flight: seed more users than connections")
end

function request()
  if workload == "register" then
    counter = counter + 1
    local body = string.format(
      '{"email":"bench-%s-%d-%d@example.com","password":"bench password","display_name":"Bench"}',
      run, thread_index, counter)
    return wrk.format("POST", "/v1/users", { ["Content-Type"] = "application/json" }, body)
  end
  local list = users()
  if workload == "patch" then
    local i = next_user(list)
    busy[i] = true
    counter = counter + 1
    return wrk.format("PATCH", "/v1/users/me", {
      ["Authorization"] = "Bearer " .. list[i].token,
      ["Content-Type"] = "application/json",
      ["If-Match"] = list[i].etag,
      ["X-Request-Id"] = "bench-user-" .. i,
    }, string.format('{"display_name":"Bench %d"}', counter))
  end
  index = index % #list + 1
  return wrk.format("GET", "/v1/users/me", { ["Authorization"] = "Bearer " .. list[index].token })
end

failures = {} -- status -> count, for done()

function response(status, headers, body)
  if workload == "patch" then
    local i = tonumber(((headers["X-Request-Id"] or ""):match("^bench%-user%-(%d+)$")))
    if i then
      busy[i] = false
      if status == 200 then users()[i].etag = headers["ETag"] end
    end
  end
  if status >= 300 then
    failures[tostring(status)] = (failures[tostring(status)] or 0) + 1
  end
end

-- Which statuses the failed requests got (wrk itself counts them only as "Non-2xx").
function done(summary, latency, requests)
  for _, thread in ipairs(all_threads) do
    for status, count in pairs(thread:get("failures") or {}) do
      io.write(string.format("failed with %s: %d\n", status, count))
    end
  end
end
