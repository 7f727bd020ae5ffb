-- Catalog, deals, orders, payments, instalments, affiliate ledger, refunds, FX.
-- Money is always (bigint minor units, ISO 4217 code).

CREATE TABLE shops (
  id            text PRIMARY KEY,
  owner_user_id text NOT NULL,
  name          text NOT NULL,
  currency      text NOT NULL,
  country       text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id           text PRIMARY KEY,
  shop_id      text NOT NULL REFERENCES shops(id),
  titles       jsonb NOT NULL,
  images       jsonb NOT NULL DEFAULT '[]',
  price_amount bigint NOT NULL CHECK (price_amount >= 0),
  currency     text NOT NULL,
  stock        integer NOT NULL CHECK (stock >= 0),
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_shop ON products (shop_id);

CREATE TABLE showcase (
  room_id    text NOT NULL,
  product_id text NOT NULL REFERENCES products(id),
  position   integer NOT NULL,
  PRIMARY KEY (room_id, product_id)
);

CREATE TABLE deals (
  id              text PRIMARY KEY,
  room_id         text NOT NULL,
  product_id      text NOT NULL REFERENCES products(id),
  shop_id         text NOT NULL REFERENCES shops(id),
  price_amount    bigint NOT NULL CHECK (price_amount >= 0),
  currency        text NOT NULL,
  total_stock     integer NOT NULL CHECK (total_stock > 0),
  per_buyer_limit integer NOT NULL CHECK (per_buyer_limit > 0),
  countdown_s     integer NOT NULL,
  duration_s      integer NOT NULL,
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz NOT NULL,
  allowed_regions jsonb NOT NULL DEFAULT '[]',
  blocked_regions jsonb NOT NULL DEFAULT '[]',
  commission_bps  integer CHECK (commission_bps BETWEEN 0 AND 10000),
  creator_id      text NOT NULL,
  status          text NOT NULL DEFAULT 'active',
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deals_room ON deals (room_id);

CREATE TABLE payment_methods (
  user_id    text PRIMARY KEY,
  method     text NOT NULL,
  token      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buyer_prefs (
  user_id        text PRIMARY KEY,
  hide_in_ticker boolean NOT NULL DEFAULT false
);

CREATE TABLE orders (
  id               text PRIMARY KEY,
  deal_id          text NOT NULL,
  room_id          text NOT NULL,
  buyer_id         text NOT NULL,
  shop_id          text NOT NULL,
  idempotency_key  text NOT NULL,
  status           text NOT NULL,
  total_amount     bigint NOT NULL CHECK (total_amount >= 0),
  currency         text NOT NULL,
  display_amount   bigint,
  display_currency text,
  fx_rate          text,
  fx_as_of         timestamptz,
  payment_method   text,
  instalment_count integer,
  created_at       timestamptz NOT NULL DEFAULT now(),
  paid_at          timestamptz,
  UNIQUE (deal_id, buyer_id, idempotency_key)
);
CREATE INDEX orders_room ON orders (room_id);
CREATE INDEX orders_buyer ON orders (buyer_id);

CREATE TABLE order_lines (
  order_id    text NOT NULL REFERENCES orders(id),
  line_no     integer NOT NULL,
  product_id  text NOT NULL,
  quantity    integer NOT NULL CHECK (quantity > 0),
  unit_amount bigint NOT NULL CHECK (unit_amount >= 0),
  currency    text NOT NULL,
  PRIMARY KEY (order_id, line_no)
);

CREATE TABLE payments (
  order_id     text PRIMARY KEY REFERENCES orders(id),
  provider     text NOT NULL,
  provider_ref text NOT NULL,
  method       text NOT NULL,
  status       text NOT NULL,
  amount       bigint NOT NULL,
  currency     text NOT NULL,
  captured_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE instalments (
  order_id text NOT NULL REFERENCES orders(id),
  seq      integer NOT NULL,
  amount   bigint NOT NULL CHECK (amount >= 0),
  currency text NOT NULL,
  due_at   timestamptz NOT NULL,
  status   text NOT NULL DEFAULT 'scheduled',
  PRIMARY KEY (order_id, seq)
);

-- Affiliate commission rates: the most specific scope wins (deal > product > creator).
CREATE TABLE affiliate_rates (
  creator_id text NOT NULL,
  scope      text NOT NULL CHECK (scope IN ('creator', 'product', 'deal')),
  scope_id   text NOT NULL,
  rate_bps   integer NOT NULL CHECK (rate_bps BETWEEN 0 AND 10000),
  PRIMARY KEY (creator_id, scope, scope_id)
);

-- One ledger row per order: pending -> credited (after the return window) or cancelled;
-- credited -> clawed_back on refund.
CREATE TABLE commissions (
  order_id       text PRIMARY KEY REFERENCES orders(id),
  creator_id     text NOT NULL,
  rate_bps       integer NOT NULL,
  amount         bigint NOT NULL,
  currency       text NOT NULL,
  status         text NOT NULL,
  credit_after   timestamptz NOT NULL,
  credited_at    timestamptz,
  clawed_back_at timestamptz
);

CREATE TABLE refunds (
  order_id            text PRIMARY KEY REFERENCES orders(id),
  reason              text NOT NULL,
  rule                text NOT NULL,
  return_required     boolean NOT NULL,
  item_refund         bigint NOT NULL,
  shipping_reimbursed bigint NOT NULL,
  total               bigint NOT NULL,
  currency            text NOT NULL,
  status              text NOT NULL,
  provider_ref        text,
  created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fx_rates (
  base  text NOT NULL,
  quote text NOT NULL,
  rate  numeric NOT NULL CHECK (rate > 0),
  as_of timestamptz NOT NULL,
  PRIMARY KEY (base, quote)
);

-- The sandbox payment provider's own ledger (stands in for the PSP's records).
CREATE TABLE sandbox_payments (
  idempotency_key text PRIMARY KEY,
  kind            text NOT NULL,
  status          text NOT NULL,
  ref             text NOT NULL,
  amount          bigint NOT NULL,
  currency        text NOT NULL,
  method          text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
