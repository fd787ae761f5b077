package ledger

import (
	"context"

	"gorm.io/gorm"
)

// Payments is what a plan's pay entries dated in a period come to, for one
// county (and one beneficiary, when asked per beneficiary): the ledger half
// of the monthly report (DESIGN §17). PaidAmount is fen.
type Payments struct {
	CountyCode    string
	BeneficiaryID string // only per beneficiary
	Paid          int64  // pay entries
	PaidAmount    int64
}

// ReportPayments sums the pay entries of plan dated in [from, to) (Unix
// milliseconds) per county, or per county and beneficiary when
// perBeneficiary, in tx, by SQL aggregates on fen. Rows come in county
// (then beneficiary) order.
func ReportPayments(ctx context.Context, tx *gorm.DB, plan string, from, to int64, perBeneficiary bool) ([]Payments, error) {
	group, beneficiary := "county_code", "'' AS beneficiary_id"
	if perBeneficiary {
		group, beneficiary = "county_code, beneficiary_id", "beneficiary_id"
	}
	var out []Payments
	err := tx.WithContext(ctx).Raw(`SELECT county_code, `+beneficiary+`, COUNT(*) AS paid, COALESCE(SUM(amount), 0) AS paid_amount
		FROM ledger_entries WHERE plan_code = ? AND kind = ? AND at >= ? AND at < ?
		GROUP BY `+group+` ORDER BY `+group, plan, Pay, from, to).Scan(&out).Error
	return out, err
}

// PaidClaim is the claim a pay entry paid, with the entry's county and
// beneficiary.
type PaidClaim struct {
	CountyCode    string
	BeneficiaryID string
	ClaimID       string
}

// ReportPaidClaims calls fn for each pay entry of plan dated in [from, to),
// in tx, as the rows stream by: the report counts the households they reached.
func ReportPaidClaims(ctx context.Context, tx *gorm.DB, plan string, from, to int64, fn func(PaidClaim) error) error {
	rows, err := tx.WithContext(ctx).Raw(`SELECT county_code, beneficiary_id, claim_id FROM ledger_entries
		WHERE plan_code = ? AND kind = ? AND at >= ? AND at < ?`, plan, Pay, from, to).Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p PaidClaim
		if err := rows.Scan(&p.CountyCode, &p.BeneficiaryID, &p.ClaimID); err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}
