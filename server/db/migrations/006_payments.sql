-- Asynchronous payment steps (docs/payments.md): a confirmation creates a payment at the
-- provider; when the buyer must act (hosted page, 3-D Secure, BNPL approval) the order stays
-- `pending` (its units claimed) until a signed provider notification says how it ended, or
-- until the step's deadline passes (units released, PAYMENT_EXPIRED).
-- server/commerce/PaymentAttempts.ts is the only module that reads or writes these two tables.

-- One payment attempt per order (its key is the order's payment key, `pay.<orderId>`).
CREATE TABLE payment_attempts (
  order_id     text PRIMARY KEY,
  payment_key  text NOT NULL UNIQUE,
  provider     text NOT NULL,
  buyer_id     text NOT NULL,
  method       text NOT NULL,
  instalments  integer,
  -- pending: the provider's answer or the buyer's step awaited; captured / declined: final
  -- (settlement records it); expired: the deadline passed and the units were released.
  status       text NOT NULL CHECK (status IN ('pending', 'captured', 'declined', 'expired')),
  -- What the buyer does next: none (decided at once), redirect, approval; NULL while creating.
  action       text CHECK (action IN ('none', 'redirect', 'approval')),
  url          text,
  reference    text,
  reason       text,
  -- The buyer asked to save the method for one-tap buys (saved when the capture is recorded).
  save_method  boolean NOT NULL DEFAULT false,
  -- The settle job of the order (what settlement needs to record the outcome or release the units).
  job          jsonb NOT NULL,
  -- The units are held until expires_at; a "pending" notification moves it, never past limit_at.
  expires_at   timestamptz NOT NULL,
  limit_at     timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (expires_at <= limit_at)
);
CREATE INDEX payment_attempts_buyer ON payment_attempts (buyer_id);

-- Provider notifications processed, by the provider's own id: a replay is answered, not applied.
CREATE TABLE payment_notifications (
  provider    text NOT NULL,
  id          text NOT NULL,
  payment_key text NOT NULL,
  type        text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, id)
);

-- The sandbox provider's hosted steps (its own records, like sandbox_payments): the page a buyer
-- opens from a redirect or an approval link. The id in the page's URL is the capability.
CREATE TABLE sandbox_sessions (
  id          text PRIMARY KEY,
  payment_key text NOT NULL UNIQUE,
  method      text NOT NULL,
  instalments integer,
  amount      bigint NOT NULL CHECK (amount >= 0),
  currency    text NOT NULL,
  -- open (waiting for the buyer), challenge (3-D Secure), captured, declined, canceled
  status      text NOT NULL,
  reference   text,
  reason      text,
  return_url  text,
  -- The "pending" notification was sent (once, when the buyer first opened the step).
  pending_sent boolean NOT NULL DEFAULT false,
  expires_at  timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
