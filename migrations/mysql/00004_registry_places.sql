-- +goose Up
-- The registry's optional place fields (DESIGN §4): 乡镇, 村 and 开户行, which
-- the 公示 and 发放清册 rosters print. Lengths are characters of utf8mb4, the
-- limits policies.Beneficiary.Validate enforces and docs/openapi.yaml states
-- (township and village 64, bank_name 128). Existing rows get '' (unknown).
ALTER TABLE beneficiaries
  ADD COLUMN township  VARCHAR(64)  NOT NULL DEFAULT '',
  ADD COLUMN village   VARCHAR(64)  NOT NULL DEFAULT '',
  ADD COLUMN bank_name VARCHAR(128) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE beneficiaries
  DROP COLUMN township,
  DROP COLUMN village,
  DROP COLUMN bank_name;
