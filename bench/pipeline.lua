-- pipeline.lua: wrk sends DEPTH requests per write (HTTP/1.1 pipelining), default 16.
--   wrk -s bench/pipeline.lua http://127.0.0.1:PORT/ -- 16
-- wrk counts every response as a request; its latency sample is taken once per batch
-- (first request written -> last response read), so p99 here is for a batch of DEPTH.
init = function(args)
  local depth = tonumber(args[1]) or 16
  local batch = {}
  for i = 1, depth do
    batch[i] = wrk.format(nil, wrk.path)
  end
  pipelined = table.concat(batch)
end

request = function()
  return pipelined
end
