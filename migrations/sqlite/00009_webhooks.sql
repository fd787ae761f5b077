-- +goose Up
-- Webhooks (internal/webhooks), SQLite dialect: the same tables as the
-- MySQL/MariaDB migration of the same number, which explains each. Timestamps
-- are INTEGER Unix milliseconds (UTC); active is 0 or 1.

CREATE TABLE webhook_subscriptions (
  id         TEXT    NOT NULL PRIMARY KEY,
  org        TEXT    NOT NULL,
  url        TEXT    NOT NULL,
  events     TEXT    NOT NULL,
  secret     TEXT    NOT NULL,
  active     INTEGER NOT NULL,
  actor      TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER NULL
) STRICT;
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (org, active);

CREATE TABLE webhook_deliveries (
  id               TEXT    NOT NULL PRIMARY KEY,
  subscription_id  TEXT    NOT NULL,
  org              TEXT    NOT NULL,
  event            TEXT    NOT NULL,
  claim_id         TEXT    NOT NULL,
  payload          TEXT    NOT NULL,
  status           TEXT    NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  tries            INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  lease_owner      TEXT    NOT NULL DEFAULT '',
  leased_until     INTEGER NOT NULL DEFAULT 0,
  last_status_code INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT    NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  delivered_at     INTEGER NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);

CREATE TABLE webhook_attempts (
  id          TEXT    NOT NULL PRIMARY KEY,
  delivery_id TEXT    NOT NULL,
  at          INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  status_code INTEGER NOT NULL DEFAULT 0,
  error       TEXT    NOT NULL DEFAULT '',
  outcome     TEXT    NOT NULL,
  worker      TEXT    NOT NULL
) STRICT;
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
