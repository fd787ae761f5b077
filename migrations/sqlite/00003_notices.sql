-- +goose Up
-- Public notice (公示) and objections (异议), DESIGN §14, and the working-day
-- calendar the notice period is counted in; the same tables as the
-- MySQL/MariaDB migration of the same number. Text limits (contact 200,
-- raised_by 100, reason and note 500 characters) are the services', as on
-- MariaDB.

-- A plan's notice period in working days (0–30). Existing plans get 0.
ALTER TABLE plans ADD COLUMN notice_days INTEGER NOT NULL DEFAULT 0;

-- The official schedule's corrections to Monday–Friday, per year.
CREATE TABLE calendar_days (
  day                     TEXT     NOT NULL PRIMARY KEY,
  year                    INTEGER  NOT NULL,
  kind                    TEXT     NOT NULL
) STRICT;
CREATE INDEX calendar_days_year ON calendar_days (year);

CREATE TABLE notices (
  id                      TEXT     NOT NULL PRIMARY KEY,
  plan_code               TEXT     NOT NULL,
  county_code             TEXT     NOT NULL DEFAULT '',
  starts_on               TEXT     NOT NULL,
  ends_on                 TEXT     NOT NULL,
  notice_days             INTEGER  NOT NULL,
  contact                 TEXT     NOT NULL DEFAULT '',
  actor                   TEXT     NOT NULL,
  created_at              INTEGER  NOT NULL
) STRICT;
CREATE INDEX notices_plan ON notices (plan_code, id);

-- A claim is in at most one notice: the primary key is the claim.
CREATE TABLE notice_claims (
  claim_id                TEXT     NOT NULL PRIMARY KEY,
  notice_id               TEXT     NOT NULL,
  amount                  INTEGER  NOT NULL
) STRICT;
CREATE INDEX notice_claims_notice ON notice_claims (notice_id, claim_id);

CREATE TABLE objections (
  id                      TEXT     NOT NULL PRIMARY KEY,
  claim_id                TEXT     NOT NULL,
  status                  TEXT     NOT NULL,
  raised_by               TEXT     NOT NULL,
  reason                  TEXT     NOT NULL,
  actor                   TEXT     NOT NULL,
  at                      INTEGER  NOT NULL,
  note                    TEXT     NOT NULL DEFAULT '',
  resolved_by             TEXT     NOT NULL DEFAULT '',
  resolved_at             INTEGER  NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX objections_claim ON objections (claim_id, status);

-- +goose Down
DROP TABLE objections;
DROP TABLE notice_claims;
DROP TABLE notices;
DROP TABLE calendar_days;
ALTER TABLE plans DROP COLUMN notice_days;
