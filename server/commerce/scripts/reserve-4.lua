--[[
  Reserves units of a flash deal for a batch of taps, one after the other in the given order,
  each exactly as if it ran alone: deal live? region allowed? buyer under the limit? stock
  left? Then holds the units with a TTL and takes them from stock. Idempotent on
  (buyer, idempotency key): a retry returns the first answer's order. The taps that reach
  one app server in the same event-loop turn share this call (group commit), so a tap costs
  one HMGET here instead of a whole script call. A winning tap that carries a settle job
  (buyer with a saved payment method) has it recorded in the deal's outbox in the same step
  as its hold (transactional outbox): the gateway answers at once and moves it to BullMQ later.

  A deal whose stock is split over buckets (docs/flash-sales.md, "A hot product beyond one shard")
  runs this on the buyer's home bucket, which holds the buyer's limit, idempotency records and
  orders. A tap that may fall over to another bucket ("S") and passes every check but stock here
  claims the buyer's limit and key (order state M, lapsing within 10 s) and answers MOVE; once
  take-3.lua lent it units in bucket j, it comes back ("L...") and its claim becomes the hold,
  whose units are j's: the record points to the loan (orders field "~<orderId>" -> "j:token") and
  nothing of the home's stock changes. If no bucket lends, it comes back to cancel ("C"). A claim
  that lapsed, or a deal that ended or was fenced meanwhile, refuses the loan (the caller gives it
  back, give-3.lua).

  KEYS[1] deal    hash: status, starts, ends (ms), limit, allowed, blocked (",US,CA," or ""), stock,
                        ver (stock version: +1 with every change of stock, in the same script), ...
  KEYS[2] orders  hash: <orderId> -> "state|userId|qty|expiresAt|key"  (state H held, P paying, S sold, R released,
                        M claimed while another bucket lends the units)
                        "#<userId>|<key>" -> orderId (idempotency), "@<userId>" -> units held or bought,
                        "~<orderId>" -> "j:token" (the order's units are a loan from bucket j)
  KEYS[3] expiry  zset: orderId scored by hold expiry (ms)
  KEYS[4] outbox  hash: orderId -> settle job (JSON), until moved to the settlement queue

  ARGV: one argument per tap, "userId|key|quantity|region|orderId|holdMs|flags|job" (one argument,
        not eight: fewer arguments to marshal on both sides). None of the first seven contains "|":
    userId, idempotency key, quantity (integer > 0), buyer region ("" when unknown),
    order id to use if a new hold is made, hold TTL in ms,
    flags: "" (one bucket), "S" (when short: claim, answer MOVE), "L<j>:<token>:<expiresAt>" (turn
    this tap's claim into a hold on units lent by bucket j, until expiresAt), "C" (drop the claim),
    settle job to record with a new hold ("" for none; anything, it is last)

  Reply: 8 values per tap, in order: code, orderId, expiresAt|startsAt, available, state, quantity,
        version, loan ("j:token" if the order's units are a loan, else "")
        (available and version always belong together: this bucket's stock as of that version)
  code: OK | DUP | IDEMPOTENCY_CONFLICT | NOT_FOUND (also while a rebuild fences the deal) | NOT_STARTED
        | ENDED | REGION_BLOCKED | LIMIT_REACHED | SOLD_OUT | INSUFFICIENT_STOCK | MOVE (claimed; state M,
        expiresAt: the claim's) | LAPSED (the claim or the loan lapsed: nothing recorded) | CANCELLED
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

local function answer(code, orderId, at, available, state, q, loan)
  reply[n + 1] = code
  reply[n + 2] = orderId
  reply[n + 3] = at
  reply[n + 4] = available
  reply[n + 5] = state
  reply[n + 6] = q
  reply[n + 7] = ver
  reply[n + 8] = loan or ''
  n = n + 8
end

-- The buyer's claim while another bucket lends the units goes (the tap held nothing here).
local function forget(orderId, idemField, buyerField, qty)
  redis.call('HDEL', KEYS[2], orderId, idemField)
  if redis.call('HINCRBY', KEYS[2], buyerField, -qty) <= 0 then redis.call('HDEL', KEYS[2], buyerField) end
  redis.call('ZREM', KEYS[3], orderId)
end

-- A retry (or a duplicate in flight) of a tap that has an order here: that order's answer.
local function again(id, qty)
  local rec = redis.call('HGET', KEYS[2], id)
  local state, _, q, exp = string.match(rec, '^(%a)|([^|]*)|(%d+)|(%d+)|')
  answer(tonumber(q) ~= qty and 'IDEMPOTENCY_CONFLICT' or 'DUP', id, tonumber(exp), avail, state, tonumber(q), redis.call('HGET', KEYS[2], '~' .. id))
end

for i = 1, #ARGV do
  local user, key, q, region, orderId, holdMs, flags, job = string.match(ARGV[i], '^([^|]*)|([^|]*)|(%d+)|([^|]*)|([^|]*)|(%d+)|([^|]*)|(.*)$')
  local qty = tonumber(q)
  local idemField = '#' .. user .. '|' .. key
  local buyerField = '@' .. user
  local mode = string.sub(flags, 1, 1)
  local own = redis.call('HMGET', KEYS[2], idemField, buyerField)
  -- This tap's claim (state M) made when it answered MOVE, still standing?
  local claim = mode ~= '' and mode ~= 'S' and own[1] == orderId and string.sub(redis.call('HGET', KEYS[2], orderId) or '', 1, 1) == 'M'
  if mode == 'C' then
    if claim then forget(orderId, idemField, buyerField, qty) end
    answer('CANCELLED', orderId, 0, avail, '', qty)
  elseif mode == 'L' then
    local j, token, until_ = string.match(flags, '^L(%d+):(%d+):(%d+)$')
    if not claim then
      if own[1] then again(own[1], qty) else answer('LAPSED', '', 0, avail, '', 0) end
    elseif not found or m[1] == 'fenced' then
      forget(orderId, idemField, buyerField, qty)
      answer('NOT_FOUND', '', 0, 0, '', 0)
    elseif m[1] ~= 'active' or now >= ends then
      forget(orderId, idemField, buyerField, qty)
      answer('ENDED', '', 0, avail, '', 0)
    elseif now >= tonumber(until_) then
      forget(orderId, idemField, buyerField, qty)
      answer('LAPSED', '', 0, avail, '', 0)
    else
      local loan = j .. ':' .. token
      redis.call('HSET', KEYS[2], orderId, 'H|' .. user .. '|' .. qty .. '|' .. until_ .. '|' .. key, '~' .. orderId, loan)
      redis.call('ZADD', KEYS[3], until_, orderId)
      if job ~= '' then redis.call('HSET', KEYS[4], orderId, job) end
      answer('OK', orderId, tonumber(until_), avail, 'H', qty, loan)
    end
  elseif own[1] then
    again(own[1], qty)
  elseif not found or m[1] == 'fenced' then
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
    if mode == 'S' then
      -- The buyer's limit and key are claimed here (state M) while another bucket lends the units;
      -- the claim lapses soon if nothing follows (a gateway died): expire-3.lua forgets it.
      local until_ = now + math.min(tonumber(holdMs), 10000)
      redis.call('HINCRBY', KEYS[2], buyerField, qty)
      redis.call('HSET', KEYS[2], idemField, orderId, orderId, 'M|' .. user .. '|' .. qty .. '|' .. until_ .. '|' .. key)
      redis.call('ZADD', KEYS[3], until_, orderId)
      answer('MOVE', orderId, until_, avail, 'M', qty)
    else
      answer(avail <= 0 and 'SOLD_OUT' or 'INSUFFICIENT_STOCK', '', 0, avail, '', 0)
    end
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
