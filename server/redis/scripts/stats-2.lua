--[[
  Reports one node's viewer count and reaction deltas for a room and returns the
  room's totals over all live nodes. Called by each node at most twice a second.

  KEYS[1] presence hash  node id -> "count:expiresAtMs"
  KEYS[2] reactions hash kind -> total

  ARGV[1] node id
  ARGV[2] this node's viewer count (0 removes the node's entry)
  ARGV[3] now, ms
  ARGV[4] entry lifetime, ms (a node that stops reporting drops out)
  ARGV[5] TTL of both keys in seconds
  ARGV[6..] reaction deltas as kind, delta pairs

  Reply: {viewers, {kind, total, ...}}
]]
local now = tonumber(ARGV[3])
if ARGV[2] == '0' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[4])))
end

local viewers = 0
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local count, expires = string.match(entries[i + 1], '^(%d+):(%d+)$')
  if count and tonumber(expires) > now then
    viewers = viewers + tonumber(count)
  else
    redis.call('HDEL', KEYS[1], entries[i])
  end
end

for i = 6, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end

local ttl = tonumber(ARGV[5])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return {viewers, redis.call('HGETALL', KEYS[2])}
