-- +goose Up
-- Public notice (公示) and objections (异议), DESIGN §14, and the working-day
-- calendar the notice period is counted in.

-- A plan's notice period in working days (0–30). Existing plans get 0: no
-- notice, so their disbursements go on as before; the seed gives ZFB-2026
-- and FPB-2026 5 only on a fresh database.
ALTER TABLE plans ADD COLUMN notice_days INT NOT NULL DEFAULT 0;

-- The official schedule's corrections to Monday–Friday, per year: a
-- holiday is a day off (a weekday or not), a workday an adjusted working
-- weekend day (调休). A PUT of a year replaces its rows. Owned by policies.
CREATE TABLE calendar_days (
  day        CHAR(10)    NOT NULL PRIMARY KEY,
  year       INT         NOT NULL,
  kind       VARCHAR(8)  NOT NULL,
  KEY calendar_days_year (year)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A notice as it was posted: the plan, the county ('' for every county),
-- the period and where to object. Owned by claims, with its claims and the
-- objections.
CREATE TABLE notices (
  id          CHAR(26)     NOT NULL PRIMARY KEY,
  plan_code   VARCHAR(40)  NOT NULL,
  county_code VARCHAR(6)   NOT NULL DEFAULT '',
  starts_on   CHAR(10)     NOT NULL,
  ends_on     CHAR(10)     NOT NULL,
  notice_days INT          NOT NULL,
  contact     VARCHAR(200) NOT NULL DEFAULT '',
  actor       VARCHAR(64)  NOT NULL,
  created_at  BIGINT       NOT NULL,
  KEY notices_plan (plan_code, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The claims a notice lists, with the amount it showed. A claim is in at
-- most one notice: the primary key is the claim.
CREATE TABLE notice_claims (
  claim_id  CHAR(26) NOT NULL PRIMARY KEY,
  notice_id CHAR(26) NOT NULL,
  amount    BIGINT   NOT NULL,
  KEY notice_claims_notice (notice_id, claim_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Objections to a claim: who raised it and why, who recorded it, and how it
-- was resolved (status open, upheld or dismissed).
CREATE TABLE objections (
  id          CHAR(26)     NOT NULL PRIMARY KEY,
  claim_id    CHAR(26)     NOT NULL,
  status      VARCHAR(16)  NOT NULL,
  raised_by   VARCHAR(100) NOT NULL,
  reason      VARCHAR(500) NOT NULL,
  actor       VARCHAR(64)  NOT NULL,
  at          BIGINT       NOT NULL,
  note        VARCHAR(500) NOT NULL DEFAULT '',
  resolved_by VARCHAR(64)  NOT NULL DEFAULT '',
  resolved_at BIGINT       NOT NULL DEFAULT 0,
  KEY objections_claim (claim_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- +goose Down
DROP TABLE objections;
DROP TABLE notice_claims;
DROP TABLE notices;
DROP TABLE calendar_days;
ALTER TABLE plans DROP COLUMN notice_days;
