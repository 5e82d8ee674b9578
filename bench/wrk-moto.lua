-- wrk script: Secrets Manager reads from moto_server, round robin over
-- bench/s0001 .. bench/sCOUNT: GetSecretValue, or with BATCH=n
-- BatchGetSecretValue of n secrets per request (what coffer uses, n = 20).
-- moto checks no signature, but reads the region from the credential scope.
local count = tonumber(os.getenv("COUNT") or "1000")
local batch = tonumber(os.getenv("BATCH") or "0")
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["Authorization"] =
  "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00"
if batch > 0 then
  wrk.headers["X-Amz-Target"] = "secretsmanager.BatchGetSecretValue"
else
  wrk.headers["X-Amz-Target"] = "secretsmanager.GetSecretValue"
end
request = function()
  if batch > 0 then
    local ids = {}
    for _ = 1, batch do
      i = i % count + 1
      ids[#ids + 1] = string.format('"bench/s%04d"', i)
    end
    return wrk.format(nil, "/", nil, '{"SecretIdList":[' .. table.concat(ids, ",") .. "]}")
  end
  i = i % count + 1
  return wrk.format(nil, "/", nil, string.format('{"SecretId":"bench/s%04d"}', i))
end
