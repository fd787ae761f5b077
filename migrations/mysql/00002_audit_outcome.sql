-- +goose Up
-- audit_log.outcome is a one-line summary of what a request did. 64
-- characters were too few for a funding record, "<amount>: <reason>" with a
-- reason of up to 200 characters: MariaDB refused the insert (Error 1406,
-- data too long) and the top-up failed with it. 255 holds the longest
-- funding record whole (a 15-character amount, ": " and 200 characters);
-- internal/audit shortens any longer summary to 255 characters ending in
-- "…", on both databases, so no writer can overflow the column again.
-- SQLite has no counterpart: its TEXT columns have no length to widen, and
-- the 255 there is internal/audit's alone.
ALTER TABLE audit_log MODIFY outcome VARCHAR(255) NOT NULL;

-- +goose Down
-- Outcomes written since the Up no longer fit 64 characters; they are
-- shortened the way internal/audit shortens, rather than refused.
UPDATE audit_log SET outcome = CONCAT(LEFT(outcome, 63), '…') WHERE CHAR_LENGTH(outcome) > 64;
ALTER TABLE audit_log MODIFY outcome VARCHAR(64) NOT NULL;
