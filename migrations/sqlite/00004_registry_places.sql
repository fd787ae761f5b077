-- +goose Up
-- The registry's optional place fields (DESIGN §4): 乡镇, 村 and 开户行, which
-- the 公示 and 发放清册 rosters print. SQLite's TEXT has no length; the limits
-- (township and village 64 characters, bank_name 128) are
-- policies.Beneficiary.Validate's, as on MariaDB. Existing rows get ''.
ALTER TABLE beneficiaries ADD COLUMN township  TEXT NOT NULL DEFAULT '';
ALTER TABLE beneficiaries ADD COLUMN village   TEXT NOT NULL DEFAULT '';
ALTER TABLE beneficiaries ADD COLUMN bank_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE beneficiaries DROP COLUMN bank_name;
ALTER TABLE beneficiaries DROP COLUMN village;
ALTER TABLE beneficiaries DROP COLUMN township;
