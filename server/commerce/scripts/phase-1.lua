--[[
  A deal's phase changes (scheduled, live, ended): bumps its stock version so that the room
  takes the phase event as newer than every stock event before it (the room stream refuses
  an inventory event whose version is not newer than the last one), optionally sets the
  deal's status, and reads the stock of that version, atomically.

  KEYS[1] deal    hash: ..., status, stock, ver (stock version)

  ARGV[1] new status ("ended") or "" to keep it

  Reply: { available, version }   ({0, 0} and nothing written if the deal is unknown)
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { 0, 0 } end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'status', ARGV[1]) end
local ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
return { tonumber(redis.call('HGET', KEYS[1], 'stock') or '0'), ver }
