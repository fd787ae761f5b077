-- +goose Up
-- Webhooks (internal/webhooks): the insurers' subscriptions, the outbox of
-- deliveries that the state changes of claims write in their own
-- transaction, and every attempt to deliver one. Timestamps are BIGINT Unix
-- milliseconds (UTC), as everywhere.

-- An admin's registration of a receiver URL for one insurer org and a set of
-- events (comma-separated, e.g. 'claim.paid,claim.payment_failed'). The
-- secret signs every delivery (HMAC-SHA256), so it is kept as issued: shown
-- once when created, never answered again. A deleted subscription stays, so
-- its deliveries keep their history; it only stops being active.
CREATE TABLE webhook_subscriptions (
  id         CHAR(26)      NOT NULL PRIMARY KEY,
  org        VARCHAR(64)   NOT NULL,
  url        VARCHAR(2000) NOT NULL,
  events     VARCHAR(255)  NOT NULL,
  secret     VARCHAR(64)   NOT NULL,
  active     BOOLEAN       NOT NULL,
  actor      VARCHAR(64)   NOT NULL,
  created_at BIGINT        NOT NULL,
  deleted_at BIGINT        NULL,
  KEY webhook_subscriptions_org (org, active)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The outbox: one row per (event, subscription), with the exact body every
-- attempt sends. status is pending (waiting for an attempt at
-- next_attempt_at), delivered (a 2xx came back) or failed (no attempt left:
-- dead until replayed). attempts counts every attempt ever made; tries those
-- since the delivery was queued or last replayed, which drive the backoff
-- and the dead rule. A worker claims a due delivery by setting lease_owner
-- and leased_until in one conditional UPDATE and checking the rows it
-- changed, which holds on SQLite, MariaDB and Galera alike (a Galera row
-- lock is local to its node; a written row is certified cluster-wide).
CREATE TABLE webhook_deliveries (
  id               CHAR(26)     NOT NULL PRIMARY KEY,
  subscription_id  CHAR(26)     NOT NULL,
  org              VARCHAR(64)  NOT NULL,
  event            VARCHAR(32)  NOT NULL,
  claim_id         VARCHAR(64)  NOT NULL,
  payload          MEDIUMTEXT   NOT NULL,
  status           VARCHAR(16)  NOT NULL,
  attempts         INT          NOT NULL DEFAULT 0,
  tries            INT          NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT       NOT NULL,
  lease_owner      VARCHAR(64)  NOT NULL DEFAULT '',
  leased_until     BIGINT       NOT NULL DEFAULT 0,
  last_status_code INT          NOT NULL DEFAULT 0,
  last_error       VARCHAR(255) NOT NULL DEFAULT '',
  created_at       BIGINT       NOT NULL,
  delivered_at     BIGINT       NULL,
  KEY webhook_deliveries_due (status, next_attempt_at),
  KEY webhook_deliveries_subscription (subscription_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every attempt to deliver, as it went: when, how long, the receiver's
-- status code (0 when none came back) or the error. Rows are only inserted.
CREATE TABLE webhook_attempts (
  id          CHAR(26)     NOT NULL PRIMARY KEY,
  delivery_id CHAR(26)     NOT NULL,
  at          BIGINT       NOT NULL,
  duration_ms INT          NOT NULL,
  status_code INT          NOT NULL DEFAULT 0,
  error       VARCHAR(255) NOT NULL DEFAULT '',
  outcome     VARCHAR(16)  NOT NULL,
  worker      VARCHAR(64)  NOT NULL,
  KEY webhook_attempts_delivery (delivery_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
