-- wrk script: a DPoP-bound token with a new proof per request.
-- wrk ... -s dpop.lua URL -- PROOFS_FILE
-- The file's first line is the token, each further line a proof; wrk goes through them once
-- (a proof sent twice is a replay: the load test counts any non-2xx as a failure).
local token
local proofs = {}
local next_proof = 0

function init(args)
  for line in io.lines(args[1]) do
    if token == nil then
      token = line
    else
      proofs[#proofs + 1] = line
    end
  end
end

function request()
  next_proof = next_proof % #proofs + 1
  return wrk.format(nil, nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[next_proof] })
end
