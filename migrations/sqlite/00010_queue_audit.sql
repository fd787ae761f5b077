-- +goose Up
-- The approval queue (待审批, claims.Service.Queue) and a claim's audit
-- history (the console's claim page); the same indexes as the
-- MySQL/MariaDB migration of the same number, which says why:
-- claims_status replaces claims_plan_status (plan_code, status), so that
-- the queue reads the assessed claims in id order with a keyset and counts
-- and sums them from the index alone (and the plan-and-status reads of the
-- old index are covered too), and the claims table keeps as many
-- secondary indexes as before; audit_target (target, id) lists one claim's
-- audit records.
-- approvals counts the approvals a claim has been given (claims.Touch of a
-- first approval and MarkApproved of the last add one, in the statement that
-- already writes the row), so that the queue's number waiting for a second
-- approver is read from claims_status alone: an EXISTS probe of
-- claim_approvals for each of 50,000 assessed claims was most of an
-- unfiltered view's time. Claims approved before it are counted from their
-- approval rows.
ALTER TABLE claims ADD COLUMN approvals INTEGER NOT NULL DEFAULT 0;
UPDATE claims SET approvals = (SELECT COUNT(*) FROM claim_approvals a WHERE a.claim_id = claims.id)
  WHERE EXISTS (SELECT 1 FROM claim_approvals a WHERE a.claim_id = claims.id);
CREATE INDEX claims_status ON claims (status, id, payable, plan_code, programme, county_code, cause, reserved, approvals);
DROP INDEX claims_plan_status;
CREATE INDEX audit_target ON audit_log (target, id);

-- +goose Down
DROP INDEX audit_target;
CREATE INDEX claims_plan_status ON claims (plan_code, status);
DROP INDEX claims_status;
ALTER TABLE claims DROP COLUMN approvals;
