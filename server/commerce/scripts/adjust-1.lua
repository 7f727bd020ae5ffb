--[[
  Changes the total stock of a listing (a product's regular-price deal) from one value to
  another, and its available stock by the same amount, atomically; runs while the caller holds
  the listing's row lock in PostgreSQL, whose total changes in the same transaction. Units held
  by buyers are not in `stock`, so a flash deal taking units from the listing (`need` = 1) can
  take only units nobody holds. A seller lowering the stock below what is held (`need` = 0)
  leaves `stock` negative: the holds stand in Redis and PostgreSQL refuses the claims it has
  no units for.

  KEYS[1] deal    hash: total, stock, ver (stock version: +1 with every change of stock), ...

  ARGV[1] the total PostgreSQL had (the script refuses if Redis has another: it is stale)
  ARGV[2] the new total
  ARGV[3] "1": the difference must come out of available stock (refused if it cannot); "0": not

  Reply: { code, available, version }
  code: OK | NOT_FOUND (no state: it is built from PostgreSQL later) | STALE (Redis has another
        total: it must be rebuilt) | SHORT (not enough units free of holds); nothing written
        unless OK
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return { 'NOT_FOUND', 0, 0 } end
local m = redis.call('HMGET', KEYS[1], 'total', 'stock', 'ver')
local stock = tonumber(m[2] or '0')
local ver = tonumber(m[3] or '0')
if tonumber(m[1] or '-1') ~= tonumber(ARGV[1]) then return { 'STALE', stock, ver } end
local delta = tonumber(ARGV[2]) - tonumber(ARGV[1])
if ARGV[3] == '1' and delta < 0 and stock + delta < 0 then return { 'SHORT', stock, ver } end
redis.call('HSET', KEYS[1], 'total', ARGV[2])
stock = redis.call('HINCRBY', KEYS[1], 'stock', delta)
ver = redis.call('HINCRBY', KEYS[1], 'ver', 1)
return { 'OK', stock, ver }
