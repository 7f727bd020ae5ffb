--[[
  One gateway node's stats report for all its rooms in one stats partition (one hash slot),
  and the rooms' totals over all live nodes: each node calls it once per partition per tick,
  not once per room. The node reports its full set of rooms in the partition each time: rooms
  it no longer reports leave the totals. A node that stops reporting (died) leaves them when
  its liveness entry lapses, at the next report of any node.

  KEYS[1] viewers hash   room -> viewers over the live nodes (distinct users per node, summed)
  KEYS[2] nodes zset     node id -> liveness expiry (ms)
  KEYS[3] this node's hash room -> its viewers
  (Every key is `<ARGV[5]>...`: a node's hash is `<ARGV[5]>presence:<node>`, a room's reactions
  `<ARGV[5]>reactions:<room>`. ARGV[5] ends with the partition's hash tag, so the keys built
  here are in KEYS[1]'s slot: the script runs unchanged on Redis Cluster.)

  ARGV[1] node id
  ARGV[2] now, ms
  ARGV[3] liveness lifetime, ms (a node that stops reporting drops out after it)
  ARGV[4] TTL of every key, seconds
  ARGV[5] the partition's key prefix, e.g. "fc:{st}:"
  ARGV[6..] one per room: "room|viewers|kind:delta,kind:delta" (no deltas: "room|viewers|")

  Reply: per reported room, in order: viewers, {kind, total, ...}
]]
local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[4])
local prefix = ARGV[5]

local function add(room, delta)
  if delta ~= 0 and redis.call('HINCRBY', KEYS[1], room, delta) <= 0 then redis.call('HDEL', KEYS[1], room) end
end

-- Nodes that stopped reporting: their viewers leave the totals.
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  if node ~= ARGV[1] then
    local key = prefix .. 'presence:' .. node
    local entries = redis.call('HGETALL', key)
    for i = 1, #entries, 2 do add(entries[i], -tonumber(entries[i + 1])) end
    redis.call('DEL', key)
  end
  redis.call('ZREM', KEYS[2], node)
end

local before = {}
local mine = redis.call('HGETALL', KEYS[3])
for i = 1, #mine, 2 do before[mine[i]] = tonumber(mine[i + 1]) end

local reply = {}
for i = 6, #ARGV do
  local room, count, deltas = string.match(ARGV[i], '^([^|]*)|(%d+)|(.*)$')
  count = tonumber(count)
  local old = before[room] or 0
  before[room] = nil
  if count ~= old then
    add(room, count - old)
    if count == 0 then redis.call('HDEL', KEYS[3], room) else redis.call('HSET', KEYS[3], room, count) end
  end
  local rkey = prefix .. 'reactions:' .. room
  if deltas ~= '' then
    for kind, delta in string.gmatch(deltas, '(%d+):(%d+)') do redis.call('HINCRBY', rkey, kind, delta) end
    redis.call('EXPIRE', rkey, ttl)
  end
  reply[#reply + 1] = tonumber(redis.call('HGET', KEYS[1], room) or '0')
  reply[#reply + 1] = redis.call('HGETALL', rkey)
end

-- Rooms this node no longer reports.
for room, old in pairs(before) do
  add(room, -old)
  redis.call('HDEL', KEYS[3], room)
end

if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('EXPIRE', KEYS[3], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ttl) end
return reply
