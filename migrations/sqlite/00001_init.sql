-- +goose Up
-- Huimin schema, SQLite dialect (the embedded default); the same tables
-- as the MySQL/MariaDB migration of the same number. Money is INTEGER fen;
-- timestamps are INTEGER Unix milliseconds (UTC); calendar dates are TEXT
-- 'YYYY-MM-DD' in China time, which order correctly as text.

CREATE TABLE plans (
  code                    TEXT     NOT NULL PRIMARY KEY,
  programme               TEXT     NOT NULL,
  name                    TEXT     NOT NULL,
  coverage_start          TEXT     NOT NULL,
  coverage_end            TEXT     NOT NULL,
  counties                TEXT     NOT NULL DEFAULT '',
  budget_policy           TEXT     NOT NULL,
  dual_approval_threshold INTEGER  NOT NULL,
  filing_window_days      INTEGER  NOT NULL,
  status                  TEXT     NOT NULL,
  rules_version           INTEGER  NOT NULL,
  created_at              INTEGER  NOT NULL,
  updated_at              INTEGER  NOT NULL
) STRICT;

CREATE TABLE plan_rule_versions (
  plan_code               TEXT     NOT NULL,
  version                 INTEGER  NOT NULL,
  rules                   TEXT     NOT NULL,
  actor                   TEXT     NOT NULL,
  created_at              INTEGER  NOT NULL,
  PRIMARY                 KEY      (plan_code, version)
) STRICT;

-- One row per plan: the budget figures and the head of the plan's ledger
-- chain. It is the plan's only hot row; every ledger append locks it, which
-- is what keeps seq gap-free and available >= 0.
CREATE TABLE budgets (
  plan_code               TEXT     NOT NULL PRIMARY KEY,
  funded                  INTEGER  NOT NULL DEFAULT 0,
  available               INTEGER  NOT NULL DEFAULT 0,
  reserved                INTEGER  NOT NULL DEFAULT 0,
  in_payment              INTEGER  NOT NULL DEFAULT 0,
  paid                    INTEGER  NOT NULL DEFAULT 0,
  last_seq                INTEGER  NOT NULL DEFAULT 0,
  last_hash               TEXT     NOT NULL,
  settlements             INTEGER  NOT NULL DEFAULT 0,
  updated_at              INTEGER  NOT NULL,
  CONSTRAINT              budgets_available_nonneg CHECK (available >= 0)
) STRICT;

CREATE TABLE beneficiaries (
  id_number               TEXT     NOT NULL PRIMARY KEY,
  id_type                 TEXT     NOT NULL,
  name                    TEXT     NOT NULL,
  county_code             TEXT     NOT NULL,
  household_id            TEXT     NOT NULL DEFAULT '',
  payout_account          TEXT     NOT NULL DEFAULT '',
  created_at              INTEGER  NOT NULL,
  updated_at              INTEGER  NOT NULL
) STRICT;

-- Categories and residency with their validity periods.
CREATE TABLE beneficiary_grants (
  id_number               TEXT     NOT NULL,
  kind                    TEXT     NOT NULL,
  value                   TEXT     NOT NULL,
  valid_from              TEXT     NOT NULL,
  valid_to                TEXT     NOT NULL DEFAULT '',
  PRIMARY                 KEY      (id_number, kind, value, valid_from)
) STRICT;

CREATE TABLE claims (
  id                      TEXT     NOT NULL PRIMARY KEY,
  plan_code               TEXT     NOT NULL,
  programme               TEXT     NOT NULL,
  org                     TEXT     NOT NULL,
  external_ref            TEXT     NOT NULL,
  beneficiary_id          TEXT     NOT NULL,
  household_id            TEXT     NOT NULL,
  cap_subject             TEXT     NOT NULL,
  county_code             TEXT     NOT NULL,
  event_date              TEXT     NOT NULL,
  cause                   TEXT     NOT NULL,
  reference               TEXT     NOT NULL DEFAULT '',
  service_type            TEXT     NOT NULL DEFAULT '',
  facts                   TEXT     NOT NULL,
  evidence                TEXT     NOT NULL,
  status                  TEXT     NOT NULL,
  counted                 INTEGER  NOT NULL DEFAULT 0,
  base                    INTEGER  NOT NULL DEFAULT 0,
  fact_base               INTEGER  NOT NULL DEFAULT 0,
  request_hash            TEXT     NOT NULL DEFAULT '',
  payable                 INTEGER  NOT NULL DEFAULT 0,
  reserved                INTEGER  NOT NULL DEFAULT 0,
  reserved_amount         INTEGER  NOT NULL DEFAULT 0,
  reasons                 TEXT     NOT NULL,
  breakdown               TEXT     NOT NULL,
  rules_version           INTEGER  NOT NULL,
  submitted_at            INTEGER  NOT NULL,
  updated_at              INTEGER  NOT NULL
) STRICT;

CREATE TABLE claim_approvals (
  claim_id                TEXT     NOT NULL,
  actor                   TEXT     NOT NULL,
  at                      INTEGER  NOT NULL,
  PRIMARY                 KEY      (claim_id, actor)
) STRICT;

-- Cap-subject locks: one row per (plan, cap subject), locked FOR UPDATE while
-- a claim for that subject is assessed, so two concurrent claims of one
-- household never overrun a cap together.
CREATE TABLE cap_subjects (
  plan_code               TEXT     NOT NULL,
  cap_subject             TEXT     NOT NULL,
  claims                  INTEGER  NOT NULL DEFAULT 0,
  PRIMARY                 KEY      (plan_code, cap_subject)
) STRICT;

CREATE TABLE idempotency_keys (
  org                     TEXT     NOT NULL,
  idem_key                TEXT     NOT NULL,
  request_hash            TEXT     NOT NULL,
  claim_id                TEXT     NOT NULL DEFAULT '',
  status_code             INTEGER  NOT NULL,
  response                TEXT     NOT NULL,
  created_at              INTEGER  NOT NULL,
  PRIMARY                 KEY      (org, idem_key)
) STRICT;

CREATE TABLE ledger_entries (
  plan_code               TEXT     NOT NULL,
  seq                     INTEGER  NOT NULL,
  kind                    TEXT     NOT NULL,
  claim_id                TEXT     NOT NULL DEFAULT '',
  amount                  INTEGER  NOT NULL,
  from_account            TEXT     NOT NULL,
  to_account              TEXT     NOT NULL,
  actor                   TEXT     NOT NULL,
  at                      INTEGER  NOT NULL,
  beneficiary_id          TEXT     NOT NULL DEFAULT '',
  county_code             TEXT     NOT NULL DEFAULT '',
  reference               TEXT     NOT NULL DEFAULT '',
  prev_hash               TEXT     NOT NULL,
  hash                    TEXT     NOT NULL,
  PRIMARY                 KEY      (plan_code, seq)
) STRICT;

CREATE TABLE settlements (
  plan_code               TEXT     NOT NULL,
  idx                     INTEGER  NOT NULL,
  claims                  INTEGER  NOT NULL,
  total_payable           INTEGER  NOT NULL,
  total_reserved          INTEGER  NOT NULL,
  actor                   TEXT     NOT NULL,
  at                      INTEGER  NOT NULL,
  PRIMARY                 KEY      (plan_code, idx)
) STRICT;

CREATE TABLE disbursement_batches (
  id                      TEXT     NOT NULL PRIMARY KEY,
  plan_code               TEXT     NOT NULL,
  status                  TEXT     NOT NULL,
  total                   INTEGER  NOT NULL,
  actor                   TEXT     NOT NULL,
  created_at              INTEGER  NOT NULL,
  updated_at              INTEGER  NOT NULL
) STRICT;

CREATE TABLE disbursement_items (
  batch_id                TEXT     NOT NULL,
  claim_id                TEXT     NOT NULL,
  amount                  INTEGER  NOT NULL,
  payout_account          TEXT     NOT NULL,
  status                  TEXT     NOT NULL,
  bank_reference          TEXT     NOT NULL DEFAULT '',
  reason                  TEXT     NOT NULL DEFAULT '',
  updated_at              INTEGER  NOT NULL,
  PRIMARY                 KEY      (batch_id, claim_id)
) STRICT;

CREATE TABLE audit_log (
  id                      TEXT     NOT NULL PRIMARY KEY,
  at                      INTEGER  NOT NULL,
  actor                   TEXT     NOT NULL,
  role                    TEXT     NOT NULL,
  org                     TEXT     NOT NULL DEFAULT '',
  action                  TEXT     NOT NULL,
  target                  TEXT     NOT NULL DEFAULT '',
  outcome                 TEXT     NOT NULL,
  request_id              TEXT     NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE tokens (
  id                      TEXT     NOT NULL PRIMARY KEY,
  name                    TEXT     NOT NULL,
  role                    TEXT     NOT NULL,
  org                     TEXT     NOT NULL DEFAULT '',
  hash                    TEXT     NOT NULL,
  created_at              INTEGER  NOT NULL,
  revoked_at              INTEGER  NULL
) STRICT;

CREATE INDEX beneficiaries_household ON beneficiaries (household_id);
CREATE UNIQUE INDEX claims_org_external_ref ON claims (org, external_ref);
CREATE INDEX claims_beneficiary ON claims (beneficiary_id, id);
CREATE INDEX claims_household ON claims (household_id, counted);
CREATE INDEX claims_plan_status ON claims (plan_code, status);
CREATE INDEX claims_org_list ON claims (org, id);
CREATE INDEX disbursement_plan ON disbursement_batches (plan_code, created_at);
CREATE INDEX disbursement_items_claim ON disbursement_items (claim_id);
CREATE INDEX audit_actor ON audit_log (actor, id);
CREATE INDEX audit_action ON audit_log (action, id);
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);

-- +goose Down
DROP TABLE tokens;
DROP TABLE audit_log;
DROP TABLE disbursement_items;
DROP TABLE disbursement_batches;
DROP TABLE settlements;
DROP TABLE ledger_entries;
DROP TABLE idempotency_keys;
DROP TABLE cap_subjects;
DROP TABLE claim_approvals;
DROP TABLE claims;
DROP TABLE beneficiary_grants;
DROP TABLE beneficiaries;
DROP TABLE budgets;
DROP TABLE plan_rule_versions;
DROP TABLE plans;
