--[[
  Turns a paying (or held) order into a sale (P|H -> S) once its payment is recorded, and
  counts it in the deal's sales stats exactly once.

  KEYS[1] orders  hash: orderId -> "state|userId|qty|expiresAt|key"
  KEYS[2] stats   hash: orders, units, gmv (minor units), buyers
  KEYS[3] sold    hash: userId -> units bought

  ARGV[1] orderId
  ARGV[2] order total, minor units of the deal currency

  Reply: { code, quantity, loan }   code: OK | DUP (already S) | RELEASED | UNKNOWN
  loan: "j:token" if the order's units are a loan from bucket j (sold: the caller settles the loan,
  give-3.lua "consume"), else "".
]]
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return { 'UNKNOWN', 0, '' } end
local loan = redis.call('HGET', KEYS[1], '~' .. ARGV[1]) or ''
local state, user, q, rest = string.match(rec, '^(%a)|([^|]*)|(%d+)|(.*)$')
if state == 'S' then return { 'DUP', tonumber(q), loan } end
if state == 'R' then return { 'RELEASED', tonumber(q), loan } end
if state == 'M' then return { 'UNKNOWN', 0, '' } end
redis.call('HSET', KEYS[1], ARGV[1], 'S|' .. user .. '|' .. q .. '|' .. rest)
redis.call('HINCRBY', KEYS[2], 'orders', 1)
redis.call('HINCRBY', KEYS[2], 'units', q)
redis.call('HINCRBY', KEYS[2], 'gmv', ARGV[2])
if redis.call('HINCRBY', KEYS[3], user, q) == tonumber(q) then
  redis.call('HINCRBY', KEYS[2], 'buyers', 1)
end
return { 'OK', tonumber(q), loan }
