-- HTTP `Idempotency-Key` answers (docs/http-api.md), written only by server/http/PgIdempotencyStore.ts.
-- One row per (caller, key): while the first request runs, `lease` names it and `locked_until`
-- bounds it (a request that died leaves a lease that lapses); once it answered, the answer is
-- stored and replayed to every retry with the same fingerprint until `expires_at` (24 h).
CREATE TABLE idempotency_keys (
  scope            text NOT NULL,           -- the caller: the token's user id ('' without a token)
  key              text NOT NULL,           -- the Idempotency-Key header, 1-255 printable ASCII
  fingerprint      text NOT NULL,           -- SHA-256 of method, path, sorted query and canonical body
  lease            text,                    -- the running request's id; null once answered
  locked_until     timestamptz,             -- while running: after this another request may take over
  response_status  integer,                 -- null while running
  response_headers jsonb,
  response_body    text,                    -- the JSON text as sent (null: no body)
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  PRIMARY KEY (scope, key),
  CHECK ((lease IS NULL) = (response_status IS NOT NULL))
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
