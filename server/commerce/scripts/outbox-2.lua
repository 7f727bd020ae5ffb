--[[
  Records a held order's settle job in its deal's outbox, only while the order is still held
  (H): the path for a hold made without its job (a retried tap, a buyer whose saved method was
  looked up after the hold). The outbox is moved to the settlement queue by OutboxMover.

  KEYS[1] orders  hash: <orderId> -> "state|userId|qty|expiresAt|key"
  KEYS[2] outbox  hash: orderId -> settle job (JSON)

  ARGV[1] orderId
  ARGV[2] settle job

  Reply: the order's state ("" if unknown); the job was recorded if and only if it is "H"
]]
local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return '' end
local state = string.sub(rec, 1, 1)
if state == 'H' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return state
