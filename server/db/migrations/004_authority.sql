-- PostgreSQL is the durable authority for a deal's stock and for purchase idempotency;
-- Redis is the fast path (see docs/flash-sales.md, "Who decides").
--
-- deals.sold_units counts the units of the deal's orders that are `pending` (claimed, payment
-- in flight) or `paid`. An order is claimed (inserted as `pending`, units added here) before
-- any payment is captured, so the CHECK below is the last word on overselling, whatever
-- Redis remembers. Orders that fail give their units back in the same statement.
ALTER TABLE deals ADD COLUMN sold_units integer NOT NULL DEFAULT 0;
ALTER TABLE deals ADD CONSTRAINT deals_sold_within_stock CHECK (sold_units >= 0 AND sold_units <= total_stock);
-- The epoch of the Redis state last built from this row (a Redis hash with another epoch is stale).
ALTER TABLE deals ADD COLUMN redis_epoch text;
-- Set once the deal's unsold units went back to the product (the close phase), so that
-- units released later (a payment failing after the close) go back to the product too.
ALTER TABLE deals ADD COLUMN closed_at timestamptz;

-- Orders: `pending` (claimed, capture in flight), `paid`, `declined`, `expired`, `failed`
-- (fail_code says why: SOLD_OUT, DEAL_ENDED, PAYMENT_UNAVAILABLE), `refunded`.
ALTER TABLE orders ADD COLUMN quantity integer;
ALTER TABLE orders ADD COLUMN fail_code text;
-- The provider idempotency key of the order's capture, derived from (deal, buyer, idempotency key).
ALTER TABLE orders ADD COLUMN payment_key text;
CREATE UNIQUE INDEX orders_payment_key ON orders (payment_key) WHERE payment_key IS NOT NULL;
-- An order is written twice (claimed, then paid or failed): room on each page lets the second write be a
-- HOT update (no index touched: `status` is in no index; deal lookups use the (deal, buyer, key) index).
ALTER TABLE orders SET (fillfactor = 80);
CREATE INDEX deals_open ON deals (status) WHERE status <> 'closed';

-- Voids and refunds of captures that could not become an order (see SettlementWorker).
CREATE TABLE payment_voids (
  payment_key  text PRIMARY KEY,
  order_id     text NOT NULL,
  provider     text NOT NULL,
  provider_ref text NOT NULL,
  amount       bigint NOT NULL,
  currency     text NOT NULL,
  reason       text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
