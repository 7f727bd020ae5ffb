--[[
  Rebuilds a deal's Redis state from PostgreSQL, the durable authority, after Redis lost it
  (restarted empty), went back in time (restored from a snapshot, failed over to a lagging
  replica, crashed under appendfsync everysec) or holds state of another epoch. Runs while
  the caller holds the deal's row lock in PostgreSQL, so no order is claimed meanwhile.

  What PostgreSQL knows wins: its pending and paid (or refunded) orders become P and S
  records with their idempotency keys and per-buyer units; its failed orders become R
  records (a retry with the same key answers as before), except those whose payment step
  failed for want of a provider ('F': the same key may hold again). Holds that only Redis
  knows (H not yet lapsed, P with a payment in flight) are kept while units remain, so
  their buyers keep their place; the rest are dropped (their settle jobs then find no hold
  and PostgreSQL decides). Stock = total - PostgreSQL's units - kept holds.

  KEYS[1] deal    hash: status, room, product, total, limit, starts, ends, allowed, blocked, price,
                        currency, stock, ver, epoch
  KEYS[2] orders  hash: <orderId> -> "state|userId|qty|expiresAt|key", "#<userId>|<key>" -> orderId,
                        "@<userId>" -> units held or bought
  KEYS[3] expiry  zset: orderId -> hold expiry (ms)
  KEYS[4] stats   hash: orders, units, gmv, buyers
  KEYS[5] sold    hash: userId -> units bought
  ARGV[1] the deal as JSON strings: status, room, product, total, limit, starts, ends, allowed,
          blocked, price, currency, epoch, sold (PostgreSQL's units), verFloor (the new stock
          version is at least this), orders, units, gmv, buyers (sales stats), and for one bucket
          of a deal split over several: buckets (their number), free (the units this bucket gets
          for its kept holds and stock, instead of total - sold)
  ARGV[2..] PostgreSQL's orders, one each: "orderId|state|userId|qty|key", state P, S, R or F
  Reply: { available, version, keptHolds, droppedHolds }
]]
local d = cjson.decode(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local known = {}
for i = 2, #ARGV do
  known[string.match(ARGV[i], '^([^|]*)|')] = true
end

-- Holds only Redis knows, to keep if units remain (soonest expiry first).
local keep = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  local field = flat[i]
  local c = string.sub(field, 1, 1)
  if c ~= '#' and c ~= '@' and c ~= '~' and not known[field] then
    local state, user, q, exp, key = string.match(flat[i + 1], '^(%a)|([^|]*)|(%d+)|(%d+)|(.*)$')
    if state == 'P' or (state == 'H' and tonumber(exp) > now) then
      keep[#keep + 1] = { field, state, user, tonumber(q), exp, key }
    end
  end
end
table.sort(keep, function(a, b) return tonumber(a[5]) < tonumber(b[5]) end)

redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local free = d.free and tonumber(d.free) or (tonumber(d.total) - tonumber(d.sold))
if free < 0 then free = 0 end

for i = 2, #ARGV do
  local id, st, user, q, key = string.match(ARGV[i], '^([^|]*)|(%a)|([^|]*)|(%d+)|(.*)$')
  if st == 'P' or st == 'S' then
    redis.call('HSET', KEYS[2], id, st .. '|' .. user .. '|' .. q .. '|0|' .. key, '#' .. user .. '|' .. key, id)
    redis.call('HINCRBY', KEYS[2], '@' .. user, q)
    if st == 'S' then redis.call('HINCRBY', KEYS[5], user, q) end
  elseif st == 'R' then
    redis.call('HSET', KEYS[2], id, 'R|' .. user .. '|' .. q .. '|0|' .. key, '#' .. user .. '|' .. key, id)
  end
end

local kept, dropped = 0, 0
for _, h in ipairs(keep) do
  if h[4] <= free then
    free = free - h[4]
    redis.call('HSET', KEYS[2], h[1], h[2] .. '|' .. h[3] .. '|' .. h[4] .. '|' .. h[5] .. '|' .. h[6], '#' .. h[3] .. '|' .. h[6], h[1])
    redis.call('HINCRBY', KEYS[2], '@' .. h[3], h[4])
    if h[2] == 'H' then redis.call('ZADD', KEYS[3], h[5], h[1]) end
    kept = kept + 1
  else
    dropped = dropped + 1
  end
end

-- The new version is above every version handed out before (the floor comes from the clock);
-- versions are written as strings so that no digit is lost.
local cur = redis.call('HGET', KEYS[1], 'ver')
redis.call('HSET', KEYS[1], 'status', d.status, 'room', d.room, 'product', d.product, 'total', d.total, 'limit', d.limit,
  'starts', d.starts, 'ends', d.ends, 'allowed', d.allowed, 'blocked', d.blocked, 'price', d.price, 'currency', d.currency,
  'stock', free, 'epoch', d.epoch, 'buckets', d.buckets or '1')
local ver
if cur and tonumber(cur) >= tonumber(d.verFloor) then
  ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
else
  redis.call('HSET', KEYS[1], 'ver', d.verFloor)
  ver = tonumber(d.verFloor)
end
redis.call('HSET', KEYS[4], 'orders', d.orders, 'units', d.units, 'gmv', d.gmv, 'buyers', d.buyers)
return { free, ver, kept, dropped }
