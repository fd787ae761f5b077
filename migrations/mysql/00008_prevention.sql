-- +goose Up
-- Prevention and planning (DESIGN §20): medical settlement records from the
-- 医保 system, the early warnings computed from them, and an index for the
-- what-if simulation, which reads a plan's claims in submission (id) order.
-- Money is BIGINT fen; dates CHAR(10) 'YYYY-MM-DD' in China time;
-- timestamps BIGINT Unix milliseconds. Text limits (hospital 200, bill_ref
-- 64, a follow-up note 500 characters) are the prevention package's, the
-- same on SQLite.

-- One row per settled bill of a registered person; a bill is imported once
-- (the same id_number and bill_ref again is a duplicate).
CREATE TABLE medical_records (
  id                      CHAR(26)     NOT NULL PRIMARY KEY,
  id_number               VARCHAR(18)  NOT NULL,
  bill_ref                VARCHAR(64)  NOT NULL,
  settled_on              CHAR(10)     NOT NULL,
  hospital                VARCHAR(200) NOT NULL,
  service_type            VARCHAR(16)  NOT NULL,
  total_cost              BIGINT       NOT NULL,
  policy_scope_cost       BIGINT       NOT NULL,
  basic_insurance_paid    BIGINT       NOT NULL,
  critical_illness_paid   BIGINT       NOT NULL,
  medical_assistance_paid BIGINT       NOT NULL,
  self_pay                BIGINT       NOT NULL,
  imported_at             BIGINT       NOT NULL,
  UNIQUE KEY medical_records_bill (id_number, bill_ref),
  KEY medical_records_settled (settled_on, id_number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One warning per plan and cap subject (the person for ZKB, the household
-- for FPB), so that its id and its follow-up status survive every
-- recomputation. live: the subject has bills payable now; bills: what the
-- last computation found (JSON); followups: every status change (JSON).
CREATE TABLE warnings (
  id               CHAR(26)    NOT NULL PRIMARY KEY,
  plan_code        VARCHAR(40) NOT NULL,
  cap_subject      VARCHAR(64) NOT NULL,
  household_id     VARCHAR(40) NOT NULL DEFAULT '',
  county_code      CHAR(6)     NOT NULL,
  beneficiary_ids  TEXT        NOT NULL,
  bills            MEDIUMTEXT  NOT NULL,
  expected_payable BIGINT      NOT NULL,
  live             TINYINT     NOT NULL,
  status           VARCHAR(16) NOT NULL,
  followups        MEDIUMTEXT  NOT NULL,
  created_at       BIGINT      NOT NULL,
  updated_at       BIGINT      NOT NULL,
  UNIQUE KEY warnings_subject (plan_code, cap_subject),
  KEY warnings_list (plan_code, expected_payable, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX claims_plan_id ON claims (plan_code, id);

-- +goose Down
DROP INDEX claims_plan_id ON claims;
DROP TABLE warnings;
DROP TABLE medical_records;
