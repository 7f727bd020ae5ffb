-- Merchant webhooks (docs/webhooks.md): a shop's endpoints, the outbox of events, the
-- deliveries of each event to each subscribed endpoint, and every attempt of each delivery.

-- Where a shop's events go. The secret signs deliveries (HMAC-SHA256, shown once at creation);
-- a deleted endpoint keeps its row for the deliveries that name it.
CREATE TABLE webhook_endpoints (
  id          text PRIMARY KEY,
  shop_id     text NOT NULL REFERENCES shops (id),
  url         text NOT NULL,
  secret      text NOT NULL,
  events      text[] NOT NULL,
  enabled     boolean NOT NULL DEFAULT true,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  deleted_at  timestamptz
);
CREATE INDEX webhook_endpoints_shop ON webhook_endpoints (shop_id) WHERE deleted_at IS NULL;

-- The outbox: recorded where an order or a deal changes (only when the shop has an endpoint for
-- the type), once per dedup key ('<type>:<subject>'), so a job that runs again records nothing new.
-- dispatched_at: the relay has created its deliveries.
CREATE TABLE webhook_events (
  id            text PRIMARY KEY,
  dedup_key     text NOT NULL UNIQUE,
  shop_id       text NOT NULL,
  type          text NOT NULL,
  data          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  dispatched_at timestamptz
);
CREATE INDEX webhook_events_undispatched ON webhook_events (created_at) WHERE dispatched_at IS NULL;
CREATE INDEX webhook_events_created ON webhook_events (created_at);

-- One event to one endpoint: `pending` (waiting for its first attempt, or replayed), `retrying`
-- (an attempt failed; the next is at next_attempt_at), `succeeded` (a 2xx), `failed` (out of
-- attempts, or the endpoint is gone). replays: how often ops replayed it (each replay is a new job).
CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,
  event_id         text NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id),
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  replays          integer NOT NULL DEFAULT 0,
  queued_at        timestamptz,
  next_attempt_at  timestamptz,
  last_status_code integer,
  last_error       text,
  last_attempt_at  timestamptz,
  delivered_at     timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, created_at DESC);
CREATE INDEX webhook_deliveries_active ON webhook_deliveries (created_at) WHERE status IN ('pending', 'retrying');

-- Every attempt: when, how long, the receiver's status code or the error, the start of its answer.
CREATE TABLE webhook_attempts (
  delivery_id text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL,
  status_code integer,
  error       text,
  response    text,
  PRIMARY KEY (delivery_id, attempt)
);
