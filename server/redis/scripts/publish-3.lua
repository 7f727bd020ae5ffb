--[[
  Appends a critical event to a room's stream and fans it out, atomically.

  The caller encodes the RoomEvent once, without offset and epoch; this script
  appends those two fields (protobuf allows appending fields to an encoded
  message), wraps the event in a ServerFrame {v: 1, event: ...} and stores and
  publishes those exact bytes, so no node ever re-encodes it.

  KEYS[1] meta hash      {e: epoch, o: last offset}
  KEYS[2] history list   encoded ServerFrames, oldest first
  KEYS[3] snapshot hash  field -> encoded RoomEvent (latest of each kind)

  ARGV[1] sharded pub/sub channel of the room (same slot as the keys)
  ARGV[2] encoded RoomEvent without offset/epoch
  ARGV[3] history size (entries kept)
  ARGV[4] TTL of the stream in seconds (refreshed on every publish)
  ARGV[5] epoch to use if the stream does not exist yet
  ARGV[6] snapshot operation: "set", "del" or ""
  ARGV[7] snapshot field
  ARGV[8] version of the event for that field ("0": unversioned). A versioned event
          not newer than the last one stored for the field is not published.

  Reply: {offset, epoch}; offset 0 when a stale versioned event was skipped.
  Published message: "\2" .. ServerFrame bytes ("\2" marks a critical frame).
]]
local function varint(n)
  local out = {}
  while n >= 128 do
    out[#out + 1] = string.char(n % 128 + 128)
    n = math.floor(n / 128)
  end
  out[#out + 1] = string.char(n)
  return table.concat(out)
end

local epoch = redis.call('HGET', KEYS[1], 'e')
if not epoch then
  epoch = ARGV[5]
  redis.call('HSET', KEYS[1], 'e', epoch)
end

local version = tonumber(ARGV[8])
if version > 0 then
  local versionField = 'v:' .. ARGV[7]
  local current = tonumber(redis.call('HGET', KEYS[1], versionField) or '0')
  if current >= version then
    return {0, epoch}
  end
  redis.call('HSET', KEYS[1], versionField, ARGV[8]) -- the string: exact for any int64
end

local offset = redis.call('HINCRBY', KEYS[1], 'o', 1)

-- RoomEvent field 2 (offset, varint) and field 3 (epoch, bytes).
local event = ARGV[2] .. '\16' .. varint(offset) .. '\26' .. varint(#epoch) .. epoch
-- ServerFrame field 1 (v = 1) and field 16 (event, bytes).
local frame = '\8\1\130\1' .. varint(#event) .. event

redis.call('RPUSH', KEYS[2], frame)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)

if ARGV[6] == 'set' then
  redis.call('HSET', KEYS[3], ARGV[7], event)
elseif ARGV[6] == 'del' then
  redis.call('HDEL', KEYS[3], ARGV[7])
end

local ttl = tonumber(ARGV[4])
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)

redis.call('SPUBLISH', ARGV[1], '\2' .. frame)
return {offset, epoch}
