--[[
  Ends one loan of a bucket (take-3.lua), exactly once: only the loan of that order with that
  token. "return": its units come back to this bucket's stock (the hold was refused by the home,
  released, or lapsed, or nobody recorded it). "consume": the order was sold; the units stay sold.

  KEYS[1] deal    hash: status, ends, stock, ver, ... (this bucket's)
  KEYS[2] loans   hash: orderId -> "quantity|expiresAt|token"
  KEYS[3] lapse   zset: orderId scored by the loan's expiry (ms)

  ARGV[1] orderId
  ARGV[2] token
  ARGV[3] "return" | "consume"

  Reply: { done (1|0), available, version, ends, quantity }
  available and version are read (or written) together; ends is the deal's end (ms), 0 once ended.
]]
local done, q = 0, 0
local loan = redis.call('HGET', KEYS[2], ARGV[1])
if loan then
  local qty, _, token = string.match(loan, '^(%d+)|(%d+)|(%d+)$')
  if token == ARGV[2] then
    redis.call('HDEL', KEYS[2], ARGV[1])
    redis.call('ZREM', KEYS[3], ARGV[1])
    if ARGV[3] == 'return' then
      redis.call('HINCRBY', KEYS[1], 'stock', qty)
      redis.call('HINCRBY', KEYS[1], 'ver', 1)
    end
    done, q = 1, tonumber(qty)
  end
end
local d = redis.call('HMGET', KEYS[1], 'stock', 'ver', 'status', 'ends')
return { done, tonumber(d[1] or '0'), tonumber(d[2] or '0'), d[3] == 'active' and tonumber(d[4] or '0') or 0, q }
