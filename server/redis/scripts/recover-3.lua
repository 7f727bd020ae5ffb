--[[
  Reads what a client (or a node) needs to continue a room's critical stream.
  Read-only: a room nobody ever published to (or whose stream expired) has no
  stream, and reading it creates none. Its epoch is "" at offset 0; the stream's
  first event (offset 1, under the epoch publish-3 creates) continues from there.

  If the caller's epoch matches and every event after its offset is still in the
  history (and there are at most ARGV[4] of them), replies with those frames.
  A caller at ("", 0) saw no stream: it is up to date while there is none, and
  recovers the whole stream once there is one (offsets start at 1 in every epoch).
  Otherwise replies with the snapshot (latest event of each kind).

  KEYS[1] meta hash      {e: epoch, o: last offset}
  KEYS[2] history list   encoded ServerFrames, oldest first
  KEYS[3] snapshot hash  field -> encoded RoomEvent

  ARGV[1] caller's epoch ("" when it has none)
  ARGV[2] caller's offset
  ARGV[3] "1" to try recovery, "0" to ask for the snapshot
  ARGV[4] maximum number of events to replay

  Reply: {top offset, epoch, 1, {frames...}}   recovered
         {top offset, epoch, 0, {field, value, ...}}   snapshot
  (epoch "" and top offset 0 when the room has no stream)
]]
local fromStart = ARGV[1] == '' and tonumber(ARGV[2]) == 0
local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  if ARGV[3] == '1' and fromStart then
    return {0, '', 1, {}}
  end
  return {0, '', 0, redis.call('HGETALL', KEYS[3])}
end
local top = tonumber(redis.call('HGET', KEYS[1], 'o') or '0')

if ARGV[3] == '1' and (ARGV[1] == epoch or fromStart) then
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
