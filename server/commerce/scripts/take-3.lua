--[[
  Lends units of one bucket of a deal split over several (docs/flash-sales.md, "A hot product
  beyond one shard") to taps whose home bucket ran short, one after the other in the given
  order. A loan is recorded under its order id with a token (this bucket's stock version when it
  was made), so it is made once per order however often a tap is retried, and undone exactly once
  (give-3.lua). The tap then records its hold in its home bucket (reserve-4.lua "L..."), which
  checks the buyer's limit and idempotency again; if the home refuses, the loan is given back.
  A loan nobody recorded (the gateway died between the two steps) is given back after it lapses
  (Reservation's sweep: the home does not point to it).

  KEYS[1] deal    hash: status, starts, ends, stock, ver, ... (this bucket's)
  KEYS[2] loans   hash: orderId -> "quantity|expiresAt|token"
  KEYS[3] lapse   zset: orderId scored by the loan's expiry (ms)

  ARGV: one argument per loan asked for, "orderId|quantity|holdMs" (quantity, holdMs integers > 0)

  Reply: 6 values per loan, in order: code, expiresAt, token, available, version, quantity
  code: OK | DUP (this order already has a loan here: its expiry, token and quantity, which may not
        be the one asked for: the same key with another quantity) | NOT_FOUND (also while
        a rebuild fences the deal) | ENDED | NOT_STARTED | SOLD_OUT | INSUFFICIENT_STOCK
]]
local m = redis.call('HMGET', KEYS[1], 'status', 'starts', 'ends', 'stock', 'ver')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local avail = tonumber(m[4] or '0')
local ver = tonumber(m[5] or '0')
local reply = {}
local n = 0

local function answer(code, at, token, q)
  reply[n + 1] = code
  reply[n + 2] = at
  reply[n + 3] = token
  reply[n + 4] = avail
  reply[n + 5] = ver
  reply[n + 6] = q or 0
  n = n + 6
end

for i = 1, #ARGV do
  local orderId, q, holdMs = string.match(ARGV[i], '^([^|]*)|(%d+)|(%d+)$')
  local qty = tonumber(q)
  local loan = redis.call('HGET', KEYS[2], orderId)
  if loan then
    local lq, exp, token = string.match(loan, '^(%d+)|(%d+)|(%d+)$')
    answer('DUP', tonumber(exp), token, tonumber(lq))
  elseif m[1] == false or m[1] == 'fenced' then
    answer('NOT_FOUND', 0, '')
  elseif m[1] ~= 'active' or now >= tonumber(m[3]) then
    answer('ENDED', 0, '')
  elseif now < tonumber(m[2]) then
    answer('NOT_STARTED', tonumber(m[2]), '')
  elseif avail < qty then
    answer(avail <= 0 and 'SOLD_OUT' or 'INSUFFICIENT_STOCK', 0, '')
  else
    local expiresAt = now + tonumber(holdMs)
    avail = redis.call('HINCRBY', KEYS[1], 'stock', -qty)
    ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
    local token = string.format('%.0f', ver)
    redis.call('HSET', KEYS[2], orderId, qty .. '|' .. expiresAt .. '|' .. token)
    redis.call('ZADD', KEYS[3], expiresAt, orderId)
    answer('OK', expiresAt, token, qty)
  end
end
return reply
