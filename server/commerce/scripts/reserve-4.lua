--[[
  Reserves units of a flash deal for a batch of taps, one after the other in the given order,
  each exactly as if it ran alone: deal live? region allowed? buyer under the limit? stock
  left? Then holds the units with a TTL and takes them from stock. Idempotent on
  (buyer, idempotency key): a retry returns the first answer's order. The taps that reach
  one app server in the same event-loop turn share this call (group commit), so a tap costs
  one HMGET here instead of a whole script call. A winning tap that carries a settle job
  (buyer with a saved payment method) has it recorded in the deal's outbox in the same step
  as its hold (transactional outbox): the gateway answers at once and moves it to BullMQ later.

  KEYS[1] deal    hash: status, starts, ends (ms), limit, allowed, blocked (",US,CA," or ""), stock,
                        ver (stock version: +1 with every change of stock, in the same script), ...
  KEYS[2] orders  hash: <orderId> -> "state|userId|qty|expiresAt|key"  (state H held, P paying, S sold, R released)
                        "#<userId>|<key>" -> orderId (idempotency), "@<userId>" -> units held or bought
  KEYS[3] expiry  zset: orderId scored by hold expiry (ms)
  KEYS[4] outbox  hash: orderId -> settle job (JSON), until moved to the settlement queue

  ARGV: one argument per tap, "userId|key|quantity|region|orderId|holdMs|job" (one argument, not
        seven: fewer arguments to marshal on both sides). None of the first six contains "|":
    userId, idempotency key, quantity (integer > 0), buyer region ("" when unknown),
    order id to use if a new hold is made, hold TTL in ms, settle job to record with a new hold
    ("" for none; anything, it is last)

  Reply: 7 values per tap, in order: code, orderId, expiresAt|startsAt, available, state, quantity, version
        (available and version always belong together: the stock as of that version)
  code: OK | DUP | IDEMPOTENCY_CONFLICT | NOT_FOUND | NOT_STARTED | ENDED | REGION_BLOCKED
        | LIMIT_REACHED | SOLD_OUT | INSUFFICIENT_STOCK
]]
local m = redis.call('HMGET', KEYS[1], 'status', 'starts', 'ends', 'limit', 'allowed', 'blocked', 'stock', 'ver')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local avail = tonumber(m[7] or '0')
local ver = tonumber(m[8] or '0')
local found = m[1] ~= false
local starts, ends, limit = tonumber(m[2]), tonumber(m[3]), tonumber(m[4])
local reply = {}
local n = 0

local function answer(code, orderId, at, available, state, q)
  reply[n + 1] = code
  reply[n + 2] = orderId
  reply[n + 3] = at
  reply[n + 4] = available
  reply[n + 5] = state
  reply[n + 6] = q
  reply[n + 7] = ver
  n = n + 7
end

for i = 1, #ARGV do
  local user, key, q, region, orderId, holdMs, job = string.match(ARGV[i], '^([^|]*)|([^|]*)|(%d+)|([^|]*)|([^|]*)|(%d+)|(.*)$')
  local qty = tonumber(q)
  local idemField = '#' .. user .. '|' .. key
  local buyerField = '@' .. user
  local own = redis.call('HMGET', KEYS[2], idemField, buyerField)
  if own[1] then
    local rec = redis.call('HGET', KEYS[2], own[1])
    local state, _, q, exp = string.match(rec, '^(%a)|([^|]*)|(%d+)|(%d+)|')
    answer(tonumber(q) ~= qty and 'IDEMPOTENCY_CONFLICT' or 'DUP', own[1], tonumber(exp), avail, state, tonumber(q))
  elseif not found then
    answer('NOT_FOUND', '', 0, 0, '', 0)
  elseif m[1] ~= 'active' or now >= ends then
    answer('ENDED', '', 0, avail, '', 0)
  elseif now < starts then
    answer('NOT_STARTED', '', starts, avail, '', 0)
  elseif (m[5] ~= '' and (region == '' or not string.find(m[5], ',' .. region .. ',', 1, true)))
      or (m[6] ~= '' and (region == '' or string.find(m[6], ',' .. region .. ',', 1, true))) then
    answer('REGION_BLOCKED', '', 0, avail, '', 0)
  elseif tonumber(own[2] or '0') + qty > limit then
    answer('LIMIT_REACHED', '', 0, avail, '', 0)
  elseif avail < qty then
    answer(avail <= 0 and 'SOLD_OUT' or 'INSUFFICIENT_STOCK', '', 0, avail, '', 0)
  else
    local expiresAt = now + tonumber(holdMs)
    -- Written per tap, not once at the end: scripts are not rolled back on error.
    avail = redis.call('HINCRBY', KEYS[1], 'stock', -qty)
    ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
    redis.call('HINCRBY', KEYS[2], buyerField, qty)
    redis.call('HSET', KEYS[2], idemField, orderId, orderId, 'H|' .. user .. '|' .. qty .. '|' .. expiresAt .. '|' .. key)
    redis.call('ZADD', KEYS[3], expiresAt, orderId)
    if job ~= '' then redis.call('HSET', KEYS[4], orderId, job) end
    answer('OK', orderId, expiresAt, avail, 'H', qty)
  end
end
return reply
