package claims

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"huimin/internal/ids"
)

// Intake is what a plan's claims submitted in a period come to, for one
// county (and one beneficiary, when asked per beneficiary): the claims half
// of the monthly report (DESIGN §17). Amounts are fen.
type Intake struct {
	CountyCode    string // "" for claims of a beneficiary the registry did not know
	BeneficiaryID string // only per beneficiary
	Received      int64
	Rejected      int64
	// RejectedByReason counts each rejected claim once under each of its
	// reasons.
	RejectedByReason map[string]int64
	// Approved counts the claims approved, disbursed or paid, and
	// ApprovedAmount sums the money reserved for them (reserved_amount,
	// which a claim keeps through disbursement and payment; 0 for a pro-rata
	// claim not yet settled).
	Approved       int64
	ApprovedAmount int64
}

// intakeKey groups Intake rows.
type intakeKey struct{ county, beneficiary string }

// ReportIntake sums the claims of plan submitted in [from, to) (Unix
// milliseconds), per county, or per county and beneficiary when
// perBeneficiary, in tx: counts and amounts by SQL aggregates on fen; the
// rejection reasons, a JSON list per claim, are read for the rejected claims
// only and counted as they stream by. Rows come in county (then
// beneficiary) order.
//
// The period is found on the index claims_plan_id (plan_code, id): a claim's
// id is a ULID of the instant it was submitted (the same instant as
// submitted_at), so the ids of [from, to) are [Floor(from), Floor(to)). The
// submitted_at condition stays, so the answer is the same if it ever were
// not.
func ReportIntake(ctx context.Context, tx *gorm.DB, plan string, from, to int64, perBeneficiary bool) ([]Intake, error) {
	idFrom, idTo := ids.Floor(time.UnixMilli(from)), ids.Floor(time.UnixMilli(to))
	group := "county_code"
	if perBeneficiary {
		group = "county_code, beneficiary_id"
	}
	var sums []struct {
		CountyCode     string
		BeneficiaryID  string
		Received       int64
		Rejected       int64
		Approved       int64
		ApprovedAmount int64
	}
	beneficiary := "'' AS beneficiary_id"
	if perBeneficiary {
		beneficiary = "beneficiary_id"
	}
	err := tx.WithContext(ctx).Raw(`SELECT county_code, `+beneficiary+`,
		COUNT(*) AS received,
		COALESCE(SUM(CASE WHEN status = ? THEN 1 ELSE 0 END), 0) AS rejected,
		COALESCE(SUM(CASE WHEN status IN ? THEN 1 ELSE 0 END), 0) AS approved,
		COALESCE(SUM(CASE WHEN status IN ? THEN reserved_amount ELSE 0 END), 0) AS approved_amount
		FROM claims WHERE plan_code = ? AND id >= ? AND id < ? AND submitted_at >= ? AND submitted_at < ?
		GROUP BY `+group+` ORDER BY `+group,
		Rejected, approvedStatuses, approvedStatuses, plan, idFrom, idTo, from, to).Scan(&sums).Error
	if err != nil {
		return nil, err
	}
	out := make([]Intake, len(sums))
	index := make(map[intakeKey]int, len(sums))
	for i, s := range sums {
		out[i] = Intake{
			CountyCode: s.CountyCode, BeneficiaryID: s.BeneficiaryID, Received: s.Received, Rejected: s.Rejected,
			RejectedByReason: map[string]int64{}, Approved: s.Approved, ApprovedAmount: s.ApprovedAmount,
		}
		index[intakeKey{s.CountyCode, s.BeneficiaryID}] = i
	}

	rows, err := tx.WithContext(ctx).Raw(`SELECT county_code, beneficiary_id, reasons FROM claims
		WHERE plan_code = ? AND id >= ? AND id < ? AND submitted_at >= ? AND submitted_at < ? AND status = ?`,
		plan, idFrom, idTo, from, to, Rejected).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var reasons []Reason
	for rows.Next() {
		var county, beneficiaryID, raw string
		if err := rows.Scan(&county, &beneficiaryID, &raw); err != nil {
			return nil, err
		}
		if !perBeneficiary {
			beneficiaryID = ""
		}
		i, ok := index[intakeKey{county, beneficiaryID}]
		if !ok {
			continue // submitted between the two statements' snapshots: not in a transaction
		}
		reasons = reasons[:0]
		if err := json.Unmarshal([]byte(raw), &reasons); err != nil {
			return nil, err
		}
		for _, r := range reasons {
			out[i].RejectedByReason[r.Code]++
		}
	}
	return out, rows.Err()
}

// approvedStatuses are the statuses the report counts as approved.
var approvedStatuses = []string{Approved, Disbursed, Paid}

// claimsChunk bounds the ids of one IN list.
const claimsChunk = 1000

// Households returns the cap household (household_id, or "self:" and the id
// of a person without one) of each claim of ids on record, in tx.
func Households(ctx context.Context, tx *gorm.DB, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for start := 0; start < len(ids); start += claimsChunk {
		var recs []struct{ ID, HouseholdID string }
		if err := tx.WithContext(ctx).Raw(`SELECT id, household_id FROM claims WHERE id IN ?`,
			ids[start:min(start+claimsChunk, len(ids))]).Scan(&recs).Error; err != nil {
			return nil, err
		}
		for _, r := range recs {
			out[r.ID] = r.HouseholdID
		}
	}
	return out, nil
}
