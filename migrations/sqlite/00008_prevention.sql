-- +goose Up
-- Prevention and planning (DESIGN §20): medical settlement records, the
-- early warnings computed from them, and an index for the what-if
-- simulation; the same tables as the MySQL/MariaDB migration of the same
-- number. Text limits (hospital 200, bill_ref 64, a follow-up note 500
-- characters) are the prevention package's, as on MariaDB.

CREATE TABLE medical_records (
  id                      TEXT     NOT NULL PRIMARY KEY,
  id_number               TEXT     NOT NULL,
  bill_ref                TEXT     NOT NULL,
  settled_on              TEXT     NOT NULL,
  hospital                TEXT     NOT NULL,
  service_type            TEXT     NOT NULL,
  total_cost              INTEGER  NOT NULL,
  policy_scope_cost       INTEGER  NOT NULL,
  basic_insurance_paid    INTEGER  NOT NULL,
  critical_illness_paid   INTEGER  NOT NULL,
  medical_assistance_paid INTEGER  NOT NULL,
  self_pay                INTEGER  NOT NULL,
  imported_at             INTEGER  NOT NULL
) STRICT;
CREATE UNIQUE INDEX medical_records_bill ON medical_records (id_number, bill_ref);
CREATE INDEX medical_records_settled ON medical_records (settled_on, id_number);

CREATE TABLE warnings (
  id               TEXT     NOT NULL PRIMARY KEY,
  plan_code        TEXT     NOT NULL,
  cap_subject      TEXT     NOT NULL,
  household_id     TEXT     NOT NULL DEFAULT '',
  county_code      TEXT     NOT NULL,
  beneficiary_ids  TEXT     NOT NULL,
  bills            TEXT     NOT NULL,
  expected_payable INTEGER  NOT NULL,
  live             INTEGER  NOT NULL,
  status           TEXT     NOT NULL,
  followups        TEXT     NOT NULL,
  created_at       INTEGER  NOT NULL,
  updated_at       INTEGER  NOT NULL
) STRICT;
CREATE UNIQUE INDEX warnings_subject ON warnings (plan_code, cap_subject);
CREATE INDEX warnings_list ON warnings (plan_code, expected_payable, id);

CREATE INDEX claims_plan_id ON claims (plan_code, id);

-- +goose Down
DROP INDEX claims_plan_id;
DROP TABLE warnings;
DROP TABLE medical_records;
