-- wrk script: KV v2 reads of bench/s0001 .. bench/sCOUNT from OpenBao, round
-- robin, as the root token (scripts/bench-sync.sh measures the ceiling with it).
local count = tonumber(os.getenv("COUNT") or "1000")
local i = 0
wrk.headers["X-Vault-Token"] = "root"
request = function()
  i = i % count + 1
  return wrk.format("GET", string.format("/v1/secret/data/bench/s%04d", i))
end
