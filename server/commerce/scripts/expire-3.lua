--[[
  Releases holds whose TTL has passed (state H only), each exactly once, and forgets claims (state
  M, reserve-4.lua) that lapsed: no units were held for them here.

  KEYS[1] deal    hash: ..., status, ends, stock, ver (stock version, +1 with every change of stock)
  KEYS[2] orders  hash: <orderId> -> "state|userId|qty|expiresAt|key", "@<userId>" -> units held or bought
  KEYS[3] expiry  zset: orderId -> hold expiry (ms)

  ARGV[1] maximum number of holds to release in this call

  Reply: { available, releasedUnits, version, ends, orderId1, orderId2, ... }
  available and version are read after the releases, together (the version grows once per call
  that released something); ends is the deal's end (ms), 0 once ended. An order whose units are a
  loan from bucket j is listed as "orderId~j:token" and its units are not in releasedUnits: the
  caller returns them to bucket j (give-3.lua).
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local reply = { 0, 0, 0, 0 }
local units = 0
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[3], id)
  local rec = redis.call('HGET', KEYS[2], id)
  if rec then
    local state, user, q, rest = string.match(rec, '^(%a)|([^|]*)|(%d+)|(.*)$')
    if state == 'M' then
      -- A claim (reserve-4.lua MOVE) nothing followed: forgotten, so a retry of its tap starts over.
      local key = string.match(rest, '^%d+|(.*)$')
      redis.call('HDEL', KEYS[2], id, '#' .. user .. '|' .. key)
      if redis.call('HINCRBY', KEYS[2], '@' .. user, -tonumber(q)) <= 0 then
        redis.call('HDEL', KEYS[2], '@' .. user)
      end
    elseif state == 'H' then
      redis.call('HSET', KEYS[2], id, 'R|' .. user .. '|' .. q .. '|' .. rest)
      if redis.call('HINCRBY', KEYS[2], '@' .. user, -tonumber(q)) <= 0 then
        redis.call('HDEL', KEYS[2], '@' .. user)
      end
      local loan = redis.call('HGET', KEYS[2], '~' .. id)
      if loan then
        redis.call('HDEL', KEYS[2], '~' .. id)
        reply[#reply + 1] = id .. '~' .. loan
      else
        redis.call('HINCRBY', KEYS[1], 'stock', q)
        units = units + tonumber(q)
        reply[#reply + 1] = id
      end
    end
  end
end
if units > 0 then redis.call('HINCRBY', KEYS[1], 'ver', 1) end
local d = redis.call('HMGET', KEYS[1], 'stock', 'ver', 'status', 'ends')
reply[1] = tonumber(d[1] or '0')
reply[2] = units
reply[3] = tonumber(d[2] or '0')
reply[4] = d[3] == 'active' and tonumber(d[4] or '0') or 0
return reply
