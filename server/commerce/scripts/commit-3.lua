--[[
  Marks a held order as paying (H -> P) before its payment is captured, so the hold can no
  longer lapse under a capture in flight. A hold already past its TTL is released instead.

  KEYS[1] deal    hash: ..., status, ends, stock, ver (stock version, +1 with every change of stock)
  KEYS[2] orders  hash: <orderId> -> "state|userId|qty|expiresAt|key", "@<userId>" -> units held or bought
  KEYS[3] expiry  zset: orderId -> hold expiry (ms)

  ARGV[1] orderId

  Reply: { code, available, previous state ("" if unknown), version, ends, loan }
  code: OK (now or already P) | SOLD (already S) | RELEASED (R) | EXPIRED (just released) | UNKNOWN
  available and version are read (or written) together; ends is the deal's end (ms), 0 once ended;
  loan: "j:token" when EXPIRED released units lent by bucket j (the caller returns them: give-3.lua).
]]
local function stock(code, previous, loan)
  local d = redis.call('HMGET', KEYS[1], 'stock', 'ver', 'status', 'ends')
  return { code, tonumber(d[1] or '0'), previous, tonumber(d[2] or '0'), d[3] == 'active' and tonumber(d[4] or '0') or 0, loan or '' }
end

local rec = redis.call('HGET', KEYS[2], ARGV[1])
if not rec then return stock('UNKNOWN', '') end
local state, user, q, exp, rest = string.match(rec, '^(%a)|([^|]*)|(%d+)|(%d+)|(.*)$')
if state ~= 'H' then
  if state == 'P' then return stock('OK', state) end
  if state == 'S' then return stock('SOLD', state) end
  return stock('RELEASED', state)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREM', KEYS[3], ARGV[1])
if tonumber(exp) <= now then
  redis.call('HSET', KEYS[2], ARGV[1], 'R|' .. user .. '|' .. q .. '|' .. exp .. '|' .. rest)
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
  return stock('EXPIRED', state, loan)
end
redis.call('HSET', KEYS[2], ARGV[1], 'P|' .. user .. '|' .. q .. '|' .. exp .. '|' .. rest)
return stock('OK', state)
