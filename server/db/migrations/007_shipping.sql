-- Shipping (issue #9): the buyers' address books, the shops' shipping rates, and what each
-- order ships where (docs/shipping.md).

-- A buyer's addresses. Text arrives cleaned (common/text.ts) and checked against its country's
-- rules (server/commerce/AddressRules.ts). An order keeps its own copy of the address
-- (orders.shipping_address): deleting or changing an address never changes an order.
CREATE TABLE addresses (
  id          text PRIMARY KEY,
  user_id     text NOT NULL,
  name        text NOT NULL,
  phone       text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  line1       text NOT NULL,
  line2       text,
  district    text,
  city        text,
  state       text,
  postal_code text,
  country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_user ON addresses (user_id, created_at);

-- One row per buyer who ever saved an address: the default one, and a version that grows with
-- every change, taken under this row's lock, so the Redis copy the tap reads is never replaced
-- by an older one (server/commerce/CachedHash.ts).
CREATE TABLE address_books (
  user_id            text PRIMARY KEY,
  default_address_id text,
  version            bigint NOT NULL DEFAULT 0
);

-- What a shop charges to ship one order to a destination country (ISO 3166-1 alpha-2), or '*'
-- (every other country); nothing when the items total reaches free_above. Minor units of the
-- shop currency. A shop with no rate does not charge shipping and needs no address.
CREATE TABLE shipping_rates (
  shop_id    text NOT NULL REFERENCES shops(id),
  region     text NOT NULL CHECK (region = '*' OR region ~ '^[A-Z]{2}$'),
  amount     bigint NOT NULL CHECK (amount >= 0),
  currency   text NOT NULL,
  free_above bigint CHECK (free_above >= 0),
  PRIMARY KEY (shop_id, region)
);
-- The version of a shop's rate table (as address_books.version).
CREATE TABLE shipping_rate_versions (
  shop_id text PRIMARY KEY REFERENCES shops(id),
  version bigint NOT NULL DEFAULT 0
);

-- What an order ships where: the shipping charged (included in total_amount) and a copy of the
-- address (NULL: the shop does not ship).
ALTER TABLE orders ADD COLUMN shipping_amount bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN shipping_address jsonb;
ALTER TABLE orders ADD CONSTRAINT orders_shipping_within_total CHECK (shipping_amount >= 0 AND shipping_amount <= total_amount);
