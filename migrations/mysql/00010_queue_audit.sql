-- +goose Up
-- The approval queue (待审批, claims.Service.Queue) and a claim's audit
-- history (the console's claim page), on 1,000,000 claims.
--
-- claims_status replaces claims_plan_status (plan_code, status), so the
-- claims table keeps as many secondary indexes as before. The queue reads
-- the assessed claims oldest first with a keyset (status = 'assessed' AND
-- id > ? ORDER BY id LIMIT n) and counts and sums the whole filter: only an
-- index that starts with status and then orders by id hands them over in
-- order. With the columns the queue filters on after those two (payable,
-- plan, programme, county, cause) it covers the figures: they are read
-- from about 50,000 index entries for a queue of that size, not from as
-- many rows, which alone took longer than the 300 ms a page may; and a
-- filtered page passes over the claims it does not match without reading
-- their rows. reserved, last, covers the statements the old index served,
-- which filter on the plan and the status together and read the claims in
-- id order (ApprovedUnreserved, Publishable): from the index alone they
-- are faster than through the old one, where without it MariaDB chose to
-- read the whole table. None of these columns changes once a claim is
-- filed except status and reserved, which change together except when a
-- pro-rata settlement reserves approved claims, so the index is written
-- when the one it replaces was, plus at settlements. InnoDB stores the
-- primary key in every secondary index; naming id second puts it there
-- once, in the order the queue needs.
--
-- audit_target (target, id) is the audit log's only new index: the claim
-- page lists the records whose target is the claim id (claim.submit,
-- claim.approve, claim.decline, claim.revoke, claim.withdraw), newest
-- first, without reading the whole log. The log is append-only: the index
-- gains one entry per record and is never updated.
-- approvals counts the approvals a claim has been given (claims.Touch of a
-- first approval and MarkApproved of the last add one, in the statement that
-- already writes the row), so that the queue's number waiting for a second
-- approver is read from claims_status alone: an EXISTS probe of
-- claim_approvals for each of 50,000 assessed claims was most of an
-- unfiltered view's time. Claims approved before it are counted from their
-- approval rows.
ALTER TABLE claims ADD COLUMN approvals INT NOT NULL DEFAULT 0;
UPDATE claims SET approvals = (SELECT COUNT(*) FROM claim_approvals a WHERE a.claim_id = claims.id)
  WHERE EXISTS (SELECT 1 FROM claim_approvals a WHERE a.claim_id = claims.id);
ALTER TABLE claims DROP INDEX claims_plan_status,
  ADD INDEX claims_status (status, id, payable, plan_code, programme, county_code, cause, reserved, approvals);
CREATE INDEX audit_target ON audit_log (target, id);

-- +goose Down
DROP INDEX audit_target ON audit_log;
ALTER TABLE claims DROP INDEX claims_status, ADD INDEX claims_plan_status (plan_code, status);
ALTER TABLE claims DROP COLUMN approvals;
