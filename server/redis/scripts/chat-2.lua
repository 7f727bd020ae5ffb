--[[
  Admits a chat message and publishes it: deduplicates retries by the sender's
  client message id, enforces slow mode, then publishes to the room's channel.

  KEYS[1] dedup key of (room, user, client message id)
  KEYS[2] slow-mode key of (room, user)

  ARGV[1] sharded pub/sub channel of the room
  ARGV[2] message to publish (class byte .. ServerFrame bytes)
  ARGV[3] dedup TTL in seconds ("0": no client message id, skip dedup)
  ARGV[4] slow-mode interval in ms ("0": off)
  ARGV[5] message id

  Reply: {"ok"} | {"dup", original message id} | {"slow", ms until allowed}
]]
if ARGV[3] ~= '0' then
  local previous = redis.call('GET', KEYS[1])
  if previous then
    return {'dup', previous}
  end
end
if ARGV[4] ~= '0' then
  if not redis.call('SET', KEYS[2], '1', 'PX', ARGV[4], 'NX') then
    return {'slow', redis.call('PTTL', KEYS[2])}
  end
end
if ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[5], 'EX', ARGV[3])
end
redis.call('SPUBLISH', ARGV[1], ARGV[2])
return {'ok'}
