-- wrk script for the key rotation run: sends, at each moment, only tokens that are valid then.
-- wrk ... -s rotation.lua URL -- TOKENS_FILE START PERIOD
-- TOKENS_FILE holds `period token` lines (load_server rotation-tokens). The IdP publishes the
-- keys of period i-1 and i during period i (i = (now - START) / PERIOD): period i's tokens are
-- sent from its second second on (as a client gets one after the IdP started signing with the
-- new key), period i-1's until the last second of period i, half and half where both are sent.
local by_period = {}
local start, period = 0, 5
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    local p, token = line:match("^(%d+) (%S+)$")
    p = tonumber(p)
    by_period[p] = by_period[p] or {}
    table.insert(by_period[p], token)
  end
  start = tonumber(args[2])
  period = tonumber(args[3])
end

local function pick(tokens)
  counter = counter + 1
  return tokens[counter % #tokens + 1]
end

function request()
  local elapsed = math.max(os.time() - start, 0)
  local current = math.floor(elapsed / period)
  local offset = elapsed % period
  local new = by_period[current]
  local old = current > 0 and by_period[current - 1] or nil
  local new_ok = new ~= nil and (offset >= 1 or current == 0)
  local old_ok = old ~= nil and offset <= period - 2
  local token
  if new_ok and old_ok then
    token = pick(counter % 2 == 0 and new or old)
  elseif new_ok then
    token = pick(new)
  else
    token = pick(old)
  end
  return wrk.format(nil, nil, { ["X-Auth-Token"] = token })
end
