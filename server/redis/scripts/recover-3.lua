--[[
  Reads what a client (or a node) needs to continue a room's critical stream.

  If the caller's epoch matches and every event after its offset is still in the
  history (and there are at most ARGV[4] of them), replies with those frames.
  Otherwise replies with the snapshot (latest event of each kind). Creates the
  stream's epoch if the room has none yet, so every reader sees a stable epoch.

  KEYS[1] meta hash      {e: epoch, o: last offset}
  KEYS[2] history list   encoded ServerFrames, oldest first
  KEYS[3] snapshot hash  field -> encoded RoomEvent

  ARGV[1] caller's epoch ("" when it has none)
  ARGV[2] caller's offset
  ARGV[3] "1" to try recovery, "0" to ask for the snapshot
  ARGV[4] maximum number of events to replay
  ARGV[5] epoch to create if the room has none
  ARGV[6] TTL of the stream in seconds (applied when the epoch is created)

  Reply: {top offset, epoch, 1, {frames...}}   recovered
         {top offset, epoch, 0, {field, value, ...}}   snapshot
]]
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[5]
  redis.call('HSET', KEYS[1], 'e', epoch, 'o', 0)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[6]))
end
local top = tonumber(redis.call('HGET', KEYS[1], 'o') or '0')

if ARGV[3] == '1' and ARGV[1] == epoch then
  local from = tonumber(ARGV[2])
  if from == top then
    return {top, epoch, 1, {}}
  end
  local missing = top - from
  if missing > 0 and missing <= tonumber(ARGV[4]) then
    local len = redis.call('LLEN', KEYS[2])
    if missing <= len then
      return {top, epoch, 1, redis.call('LRANGE', KEYS[2], len - missing, -1)}
    end
  end
end

return {top, epoch, 0, redis.call('HGETALL', KEYS[3])}
