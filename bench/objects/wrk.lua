-- wrk script for bench/objects: each connection cycles through the request targets listed
-- in the file named by STOA_BENCH_TARGETS (one per line), with method STOA_BENCH_METHOD and,
-- for PUT, a body of STOA_BENCH_BODY_BYTES bytes.
local targets = {}
local file = assert(io.open(os.getenv("STOA_BENCH_TARGETS"), "r"))
for line in file:lines() do targets[#targets + 1] = line end
file:close()
local method = os.getenv("STOA_BENCH_METHOD") or "GET"
local body = nil
if method == "PUT" then
  body = string.rep("x", tonumber(os.getenv("STOA_BENCH_BODY_BYTES") or "4096"))
end
local counter = 0

function setup(thread)
  thread:set("offset", counter * 7919)
  counter = counter + 1
end

local index = 0
function request()
  index = index + 1
  local target = targets[((offset or 0) + index) % #targets + 1]
  return wrk.format(method, target, nil, body)
end
