-- Moves a room's origin from a node that stopped heartbeating to the caller, only if the
-- key still names that dead node (two nodes racing to take over: one wins).
-- KEYS[1] <p>:{sfu}:origin:<room>
-- ARGV[1] the dead origin's node id
-- ARGV[2] the caller's node id
-- ARGV[3] TTL in ms
-- Reply: the origin's node id after the call.
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', tonumber(ARGV[3]))
  return ARGV[2]
end
return current
