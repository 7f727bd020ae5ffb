-- Shop-owned price floors and affiliate plans (docs/security.md).
-- A creator sells another shop's product only through an open plan of that shop; the plan
-- sets the commission and the lowest deal price. The deal records the plan it was made under,
-- and its own commission_bps is the only rate settlement applies.

-- The lowest price a deal on the product may have (minor units, product currency); NULL = none.
ALTER TABLE products ADD COLUMN min_price bigint CHECK (min_price >= 0);

CREATE TABLE affiliate_plans (
  id             text PRIMARY KEY,
  shop_id        text NOT NULL REFERENCES shops(id),
  product_id     text NOT NULL REFERENCES products(id),
  -- NULL: open to every creator.
  creator_id     text,
  commission_bps integer NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
  -- Lowest deal price under this plan (minor units, product currency).
  min_deal_price bigint NOT NULL CHECK (min_deal_price >= 0),
  status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  closed_at      timestamptz
);
CREATE INDEX affiliate_plans_product ON affiliate_plans (product_id, status);
CREATE INDEX affiliate_plans_creator ON affiliate_plans (creator_id, status);
CREATE INDEX affiliate_plans_shop ON affiliate_plans (shop_id);

ALTER TABLE deals ADD COLUMN plan_id text REFERENCES affiliate_plans(id);

-- Rates set outside the shop (per creator / product / deal by ops) are gone: a deal's
-- commission comes only from the plan it was made under.
DROP TABLE affiliate_rates;
