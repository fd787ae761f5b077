-- +goose Up
-- Huimin schema, MySQL/MariaDB dialect (TiDB-compatible: no triggers,
-- procedures or events; application-generated ULID ids). Money is BIGINT fen;
-- timestamps are BIGINT Unix milliseconds (UTC); calendar dates are CHAR(10)
-- 'YYYY-MM-DD' in China time, which order correctly as text.

CREATE TABLE plans (
  code                    VARCHAR(40)  NOT NULL PRIMARY KEY,
  programme               VARCHAR(8)   NOT NULL,
  name                    VARCHAR(200) NOT NULL,
  coverage_start          CHAR(10)     NOT NULL,
  coverage_end            CHAR(10)     NOT NULL,
  counties                VARCHAR(255) NOT NULL DEFAULT '',
  budget_policy           VARCHAR(16)  NOT NULL,
  dual_approval_threshold BIGINT       NOT NULL,
  filing_window_days      INT          NOT NULL,
  status                  VARCHAR(16)  NOT NULL,
  rules_version           INT          NOT NULL,
  created_at              BIGINT       NOT NULL,
  updated_at              BIGINT       NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE plan_rule_versions (
  plan_code  VARCHAR(40) NOT NULL,
  version    INT         NOT NULL,
  rules      MEDIUMTEXT  NOT NULL,
  actor      VARCHAR(64) NOT NULL,
  created_at BIGINT      NOT NULL,
  PRIMARY KEY (plan_code, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per plan: the budget figures and the head of the plan's ledger
-- chain. It is the plan's only hot row; every ledger append locks it, which
-- is what keeps seq gap-free and available >= 0.
CREATE TABLE budgets (
  plan_code  VARCHAR(40) NOT NULL PRIMARY KEY,
  funded     BIGINT      NOT NULL DEFAULT 0,
  available  BIGINT      NOT NULL DEFAULT 0,
  reserved   BIGINT      NOT NULL DEFAULT 0,
  in_payment BIGINT      NOT NULL DEFAULT 0,
  paid       BIGINT      NOT NULL DEFAULT 0,
  last_seq   BIGINT      NOT NULL DEFAULT 0,
  last_hash  CHAR(64)    NOT NULL,
  settlements INT        NOT NULL DEFAULT 0,
  updated_at BIGINT      NOT NULL,
  CONSTRAINT budgets_available_nonneg CHECK (available >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE beneficiaries (
  id_number      VARCHAR(18) NOT NULL PRIMARY KEY,
  id_type        VARCHAR(16) NOT NULL,
  name           VARCHAR(64) NOT NULL,
  county_code    CHAR(6)     NOT NULL,
  household_id   VARCHAR(40) NOT NULL DEFAULT '',
  payout_account VARCHAR(32) NOT NULL DEFAULT '',
  created_at     BIGINT      NOT NULL,
  updated_at     BIGINT      NOT NULL,
  KEY beneficiaries_household (household_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Categories and residency with their validity periods.
CREATE TABLE beneficiary_grants (
  id_number  VARCHAR(18) NOT NULL,
  kind       VARCHAR(16) NOT NULL,
  value      VARCHAR(32) NOT NULL,
  valid_from CHAR(10)    NOT NULL,
  valid_to   CHAR(10)    NOT NULL DEFAULT '',
  PRIMARY KEY (id_number, kind, value, valid_from)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE claims (
  id              CHAR(26)     NOT NULL PRIMARY KEY,
  plan_code       VARCHAR(40)  NOT NULL,
  programme       VARCHAR(8)   NOT NULL,
  org             VARCHAR(64)  NOT NULL,
  external_ref    VARCHAR(128) NOT NULL,
  beneficiary_id  VARCHAR(18)  NOT NULL,
  household_id    VARCHAR(64)  NOT NULL,
  cap_subject     VARCHAR(64)  NOT NULL,
  county_code     CHAR(6)      NOT NULL,
  event_date      CHAR(10)     NOT NULL,
  cause           VARCHAR(32)  NOT NULL,
  reference       VARCHAR(64)  NOT NULL DEFAULT '',
  service_type    VARCHAR(16)  NOT NULL DEFAULT '',
  facts           TEXT         NOT NULL,
  evidence        TEXT         NOT NULL,
  status          VARCHAR(16)  NOT NULL,
  counted         TINYINT      NOT NULL DEFAULT 0,
  base            BIGINT       NOT NULL DEFAULT 0,
  fact_base       BIGINT       NOT NULL DEFAULT 0,
  request_hash    CHAR(64)     NOT NULL DEFAULT '',
  payable         BIGINT       NOT NULL DEFAULT 0,
  reserved        TINYINT      NOT NULL DEFAULT 0,
  reserved_amount BIGINT       NOT NULL DEFAULT 0,
  reasons         TEXT         NOT NULL,
  breakdown       TEXT         NOT NULL,
  rules_version   INT          NOT NULL,
  submitted_at    BIGINT       NOT NULL,
  updated_at      BIGINT       NOT NULL,
  UNIQUE KEY claims_org_external_ref (org, external_ref),
  KEY claims_beneficiary (beneficiary_id, id),
  KEY claims_household (household_id, counted),
  KEY claims_plan_status (plan_code, status),
  KEY claims_org_list (org, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE claim_approvals (
  claim_id CHAR(26)    NOT NULL,
  actor    VARCHAR(64) NOT NULL,
  at       BIGINT      NOT NULL,
  PRIMARY KEY (claim_id, actor)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Cap-subject locks: one row per (plan, cap subject), locked FOR UPDATE while
-- a claim for that subject is assessed, so two concurrent claims of one
-- household never overrun a cap together.
CREATE TABLE cap_subjects (
  plan_code   VARCHAR(40) NOT NULL,
  cap_subject VARCHAR(64) NOT NULL,
  claims      INT         NOT NULL DEFAULT 0,
  PRIMARY KEY (plan_code, cap_subject)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE idempotency_keys (
  org          VARCHAR(64)  NOT NULL,
  idem_key     VARCHAR(128) NOT NULL,
  request_hash CHAR(64)     NOT NULL,
  claim_id     CHAR(26)     NOT NULL DEFAULT '',
  status_code  INT          NOT NULL,
  response     MEDIUMTEXT   NOT NULL,
  created_at   BIGINT       NOT NULL,
  PRIMARY KEY (org, idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE ledger_entries (
  plan_code      VARCHAR(40) NOT NULL,
  seq            BIGINT      NOT NULL,
  kind           VARCHAR(16) NOT NULL,
  claim_id       VARCHAR(26) NOT NULL DEFAULT '',
  amount         BIGINT      NOT NULL,
  from_account   VARCHAR(16) NOT NULL,
  to_account     VARCHAR(16) NOT NULL,
  actor          VARCHAR(64) NOT NULL,
  at             BIGINT      NOT NULL,
  beneficiary_id VARCHAR(18) NOT NULL DEFAULT '',
  county_code    CHAR(6)     NOT NULL DEFAULT '',
  reference      VARCHAR(128) NOT NULL DEFAULT '',
  prev_hash      CHAR(64)    NOT NULL,
  hash           CHAR(64)    NOT NULL,
  PRIMARY KEY (plan_code, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE settlements (
  plan_code      VARCHAR(40) NOT NULL,
  idx            INT         NOT NULL,
  claims         INT         NOT NULL,
  total_payable  BIGINT      NOT NULL,
  total_reserved BIGINT      NOT NULL,
  actor          VARCHAR(64) NOT NULL,
  at             BIGINT      NOT NULL,
  PRIMARY KEY (plan_code, idx)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE disbursement_batches (
  id         CHAR(26)    NOT NULL PRIMARY KEY,
  plan_code  VARCHAR(40) NOT NULL,
  status     VARCHAR(16) NOT NULL,
  total      BIGINT      NOT NULL,
  actor      VARCHAR(64) NOT NULL,
  created_at BIGINT      NOT NULL,
  updated_at BIGINT      NOT NULL,
  KEY disbursement_plan (plan_code, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE disbursement_items (
  batch_id       CHAR(26)     NOT NULL,
  claim_id       CHAR(26)     NOT NULL,
  amount         BIGINT       NOT NULL,
  payout_account VARCHAR(32)  NOT NULL,
  status         VARCHAR(16)  NOT NULL,
  bank_reference VARCHAR(128) NOT NULL DEFAULT '',
  reason         VARCHAR(255) NOT NULL DEFAULT '',
  updated_at     BIGINT       NOT NULL,
  PRIMARY KEY (batch_id, claim_id),
  KEY disbursement_items_claim (claim_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_log (
  id         CHAR(26)     NOT NULL PRIMARY KEY,
  at         BIGINT       NOT NULL,
  actor      VARCHAR(64)  NOT NULL,
  role       VARCHAR(16)  NOT NULL,
  org        VARCHAR(64)  NOT NULL DEFAULT '',
  action     VARCHAR(64)  NOT NULL,
  target     VARCHAR(128) NOT NULL DEFAULT '',
  outcome    VARCHAR(64)  NOT NULL,
  request_id VARCHAR(64)  NOT NULL DEFAULT '',
  KEY audit_actor (actor, id),
  KEY audit_action (action, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE tokens (
  id         CHAR(26)    NOT NULL PRIMARY KEY,
  name       VARCHAR(64) NOT NULL,
  role       VARCHAR(16) NOT NULL,
  org        VARCHAR(64) NOT NULL DEFAULT '',
  hash       CHAR(64)    NOT NULL,
  created_at BIGINT      NOT NULL,
  revoked_at BIGINT      NULL,
  UNIQUE KEY tokens_hash (hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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
