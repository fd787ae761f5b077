-- +goose Up
-- The monthly report (DESIGN §17) counts a plan's claims submitted in a
-- month: without this index it reads every claim of the plan.
CREATE INDEX claims_plan_submitted ON claims (plan_code, submitted_at);

-- +goose Down
DROP INDEX claims_plan_submitted ON claims;
