-- Money rules on the server: return-shipping rate table, buyer region on orders, refund
-- amounts consistent and capped, the sandbox refunds linked to the capture they refund.

-- What a shop reimburses for a return, per destination region (ISO 3166-1 alpha-2) or '*'
-- (the shop's default). Amount in minor units of the shop currency.
CREATE TABLE return_shipping_rates (
  shop_id    text NOT NULL REFERENCES shops(id),
  region     text NOT NULL CHECK (region = '*' OR region ~ '^[A-Z]{2}$'),
  amount     bigint NOT NULL CHECK (amount >= 0),
  currency   text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (shop_id, region)
);

-- Where the buyer is (ISO alpha-2); NULL = unknown, the shop's default return rate applies.
ALTER TABLE orders ADD COLUMN buyer_region text;

-- A refund never goes negative and its total is its parts.
ALTER TABLE refunds ADD COLUMN capped boolean NOT NULL DEFAULT false;
ALTER TABLE refunds ADD COLUMN failure_reason text;
ALTER TABLE refunds ADD CONSTRAINT refunds_amounts
  CHECK (item_refund >= 0 AND shipping_reimbursed >= 0 AND total = item_refund + shipping_reimbursed);

-- The sandbox provider checks refunds against their capture, as a PSP does.
ALTER TABLE sandbox_payments ADD COLUMN capture_ref text;
CREATE INDEX sandbox_payments_capture_ref ON sandbox_payments (capture_ref) WHERE capture_ref IS NOT NULL;
CREATE INDEX sandbox_payments_captured ON sandbox_payments (ref) WHERE kind = 'capture' AND status = 'captured';
