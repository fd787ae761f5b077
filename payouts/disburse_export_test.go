package payouts

import (
	"context"

	"huimin/internal/audit"
)

// SetDisburseChunks makes disbursements set aside hold claims and move the
// money of move claims per transaction, until restore is called, so that a
// test makes batches of many chunks with few claims.
func SetDisburseChunks(hold, move int) (restore func()) {
	h, m := holdChunk, moveChunk
	holdChunk, moveChunk = hold, move
	return func() { holdChunk, moveChunk = h, m }
}

// AfterDisburseCheck runs fn between a disbursement's check and its first
// hold, until restore is called.
func AfterDisburseCheck(fn func()) (restore func()) {
	afterDisburseCheck = fn
	return func() { afterDisburseCheck = nil }
}

// DisburseUntilCrash runs Disburse's steps as a server killed partway would
// have: the check and the batch row, then holds hold chunks (all when
// holds < 0); with moves >= 0, also the issuing step and moves move chunks.
// It returns the batch id, leaving the batch as the crash would.
func (s *Service) DisburseUntilCrash(ctx context.Context, who audit.Who, in DisburseInput, holds, moves int) (string, error) {
	batch, claimIDs, amounts, err := s.prepare(ctx, who, in, nil)
	if err != nil {
		return "", err
	}
	for i, lo := 0, 0; lo < len(claimIDs) && (holds < 0 || i < holds); i, lo = i+1, lo+holdChunk {
		if err := s.hold(ctx, batch.ID, in.Plan, claimIDs[lo:min(lo+holdChunk, len(claimIDs))], amounts); err != nil {
			return batch.ID, err
		}
	}
	if moves < 0 {
		return batch.ID, nil
	}
	if err := s.startIssuing(ctx, who, batch, len(claimIDs)); err != nil {
		return batch.ID, err
	}
	for range moves {
		if _, err := s.move(ctx, batch.ID, moveChunk); err != nil {
			return batch.ID, err
		}
	}
	return batch.ID, nil
}
