--[[
  Replaces a cached hash (a buyer's address book, a shop's shipping rates) with a newer
  version of it, and never with an older one: two writers that read PostgreSQL at different
  times may write Redis in either order, and the newer table stays.

  KEYS[1] hash: "v" -> version, then the entries

  ARGV[1] version (integer; PostgreSQL's, which grows with every change under a row lock)
  ARGV[2] TTL in ms (0: none)
  ARGV[3..] field, value, field, value, ...

  Reply: 1 if written, 0 if the hash already held this version or a newer one
]]
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '-1')
local version = tonumber(ARGV[1])
if current >= version then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
