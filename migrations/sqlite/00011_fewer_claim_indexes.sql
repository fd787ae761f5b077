-- +goose Up
-- One secondary index of claims less to keep up on every claim filed: the
-- monthly report finds a period's claims on claims_plan_id (plan_code, id)
-- of 00008 by id range (an id is a ULID of its submission instant), so
-- claims_plan_submitted (plan_code, submitted_at) of 00007 serves nothing.
DROP INDEX claims_plan_submitted;

-- +goose Down
CREATE INDEX claims_plan_submitted ON claims (plan_code, submitted_at);
