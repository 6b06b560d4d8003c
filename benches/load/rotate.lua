-- wrk script: sends the tokens of a file in rotation, one per request.
-- wrk ... -s rotate.lua URL -- TOKENS_FILE HEADER [PREFIX]
local tokens = {}
local header, prefix = "X-Auth-Token", ""
local next_token = 0

function init(args)
  for line in io.lines(args[1]) do
    tokens[#tokens + 1] = line
  end
  header = args[2] or header
  prefix = args[3] or prefix
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format(nil, nil, { [header] = prefix .. tokens[next_token] })
end
