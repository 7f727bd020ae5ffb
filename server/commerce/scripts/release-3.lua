--[[
  Releases one order's units back to stock (failed payment, cancelled hold), exactly once:
  only an order in one of the given states moves to R.

  KEYS[1] deal    hash: ..., status, ends, stock, ver (stock version, +1 with every change of stock)
  KEYS[2] orders  hash: <orderId> -> "state|userId|qty|expiresAt|key", "@<userId>" -> units held or bought
  KEYS[3] expiry  zset: orderId -> hold expiry (ms)

  ARGV[1] orderId
  ARGV[2] states that may be released, e.g. "HP"
  ARGV[3] "1": also forget the buyer's idempotency key, so a retry with the same key holds again
          (the payment step failed before anything was captured, e.g. a provider outage)

  An order whose units are a loan from another bucket ("~<orderId>" -> "j:token") gives nothing
  back here: the reply names the loan, which the caller returns to bucket j (give-3.lua).

  Reply: { released (1|0), available, previous state ("" if unknown), quantity, version, ends, loan }
  available and version are read (or written) together; ends is the deal's end (ms), 0 once ended;
  loan is "j:token" of a released order's loan, else "".
]]
local function stock(released, previous, q, loan)
  local d = redis.call('HMGET', KEYS[1], 'stock', 'ver', 'status', 'ends')
  return { released, tonumber(d[1] or '0'), previous, q, tonumber(d[2] or '0'), d[3] == 'active' and tonumber(d[4] or '0') or 0, loan or '' }
end

local rec = redis.call('HGET', KEYS[2], ARGV[1])
if not rec then return stock(0, '', 0) end
local state, user, q, rest = string.match(rec, '^(%a)|([^|]*)|(%d+)|(.*)$')
if not string.find(ARGV[2], state, 1, true) then return stock(0, state, tonumber(q)) end
redis.call('HSET', KEYS[2], ARGV[1], 'R|' .. user .. '|' .. q .. '|' .. rest)
redis.call('ZREM', KEYS[3], ARGV[1])
local loan = redis.call('HGET', KEYS[2], '~' .. ARGV[1])
if loan then
  redis.call('HDEL', KEYS[2], '~' .. ARGV[1])
else
  redis.call('HINCRBY', KEYS[1], 'stock', q)
  redis.call('HINCRBY', KEYS[1], 'ver', 1)
end
if redis.call('HINCRBY', KEYS[2], '@' .. user, -tonumber(q)) <= 0 then
  redis.call('HDEL', KEYS[2], '@' .. user)
end
if ARGV[3] == '1' then
  local key = string.match(rest, '^%d+|(.*)$')
  if key and redis.call('HGET', KEYS[2], '#' .. user .. '|' .. key) == ARGV[1] then redis.call('HDEL', KEYS[2], '#' .. user .. '|' .. key) end
end
return stock(1, state, tonumber(q), loan)
