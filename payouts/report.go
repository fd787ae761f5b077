package payouts

import (
	"cmp"
	"context"
	"io"
	"slices"
	"time"

	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/civil"
	"huimin/internal/i18n"
	"huimin/internal/money"
	"huimin/ledger"
	"huimin/policies"
)

// The monthly report (统计报表, DESIGN §17): per plan and month, per county
// — or per county and township — the claims received, rejected (by reason)
// and approved, and the payments made and households they reached.

// Report groupings: by county (the default), or by county and township.
const (
	ByCounty   = "county"
	ByTownship = "township"
)

// MonthlyReport is the answer of GET /api/v1/reports/monthly.
type MonthlyReport struct {
	Plan  string        `json:"plan"`
	Month string        `json:"month"`
	Rows  []ReportRow   `json:"rows"`
	Total ReportFigures `json:"total"`
}

// ReportRow is one county's figures; per township, one township's of a
// county ("" when the registry has no township for the beneficiary).
type ReportRow struct {
	CountyCode string  `json:"county_code"`
	Township   *string `json:"township,omitempty"`
	ReportFigures
}

// ReportFigures are the counts and amounts of DESIGN §17. received,
// rejected and approved count claims submitted in the month (China time);
// paid, paid_amount and households_paid count pay ledger entries dated in
// the month, households being distinct cap-subject households.
type ReportFigures struct {
	Received         int64            `json:"received"`
	Rejected         int64            `json:"rejected"`
	RejectedByReason map[string]int64 `json:"rejected_by_reason"`
	Approved         int64            `json:"approved"`
	ApprovedAmount   money.Amount     `json:"approved_amount"`
	Paid             int64            `json:"paid"`
	PaidAmount       money.Amount     `json:"paid_amount"`
	HouseholdsPaid   int64            `json:"households_paid"`
}

// figures accumulates one row in fen.
type figures struct {
	received, rejected, approved, approvedFen int64
	paid, paidFen                             int64
	byReason                                  map[string]int64
	households                                map[string]struct{}
}

func (f *figures) figures() ReportFigures {
	return ReportFigures{
		Received: f.received, Rejected: f.rejected, RejectedByReason: f.byReason,
		Approved: f.approved, ApprovedAmount: money.Fen(f.approvedFen),
		Paid: f.paid, PaidAmount: money.Fen(f.paidFen), HouseholdsPaid: int64(len(f.households)),
	}
}

// reportKey is a row's place: its county, and its township per township.
type reportKey struct{ county, township string }

// ReportMonth returns the first instant of month ("2026-07") in China and
// of the month after, as Unix milliseconds; ok is false for a text that is
// not a month YYYY-MM of years 1900 to 2200.
func ReportMonth(month string) (from, to int64, ok bool) {
	t, err := time.ParseInLocation("2006-01", month, civil.Shanghai)
	if err != nil || t.Format("2006-01") != month || t.Year() < 1900 || t.Year() > 2200 {
		return 0, 0, false
	}
	return t.UnixMilli(), t.AddDate(0, 1, 0).UnixMilli(), true
}

// MonthlyReport computes the report of plan for month (YYYY-MM) grouped by
// by (ByCounty or ByTownship), from one snapshot of the database: 404 for
// an unknown plan. Counts and amounts are SQL aggregates on fen (claims and
// ledger each sum their own table); only the distinct households and, per
// township, the regrouping by the registry's township are done here, on
// integers. Counties (or townships) with nothing are left out; the total
// sums the rows.
func (s *Service) MonthlyReport(ctx context.Context, plan, month, by string) (MonthlyReport, error) {
	from, to, ok := ReportMonth(month)
	if !ok {
		return MonthlyReport{}, invalidMonth()
	}
	perBeneficiary := by == ByTownship
	rows := map[reportKey]*figures{}
	err := s.db.ReadSnapshot(ctx, func(tx *gorm.DB) error {
		if _, err := policies.LoadPlan(ctx, tx, plan, false); err != nil {
			return err
		}
		intake, err := claims.ReportIntake(ctx, tx, plan, from, to, perBeneficiary)
		if err != nil {
			return err
		}
		payments, err := ledger.ReportPayments(ctx, tx, plan, from, to, perBeneficiary)
		if err != nil {
			return err
		}
		var paidClaims []ledger.PaidClaim
		if err := ledger.ReportPaidClaims(ctx, tx, plan, from, to, func(p ledger.PaidClaim) error {
			paidClaims = append(paidClaims, p)
			return nil
		}); err != nil {
			return err
		}
		ids := make([]string, len(paidClaims))
		for i, p := range paidClaims {
			ids[i] = p.ClaimID
		}
		households, err := claims.Households(ctx, tx, ids)
		if err != nil {
			return err
		}
		township := func(string) string { return "" }
		if perBeneficiary {
			var people []string
			for _, in := range intake {
				people = append(people, in.BeneficiaryID)
			}
			for _, p := range payments {
				people = append(people, p.BeneficiaryID)
			}
			entries, err := policies.LoadRegistryEntries(ctx, tx, people)
			if err != nil {
				return err
			}
			township = func(id string) string { return entries[id].Township }
		}
		row := func(county, beneficiary string) *figures {
			k := reportKey{county, township(beneficiary)}
			f, ok := rows[k]
			if !ok {
				f = &figures{byReason: map[string]int64{}, households: map[string]struct{}{}}
				rows[k] = f
			}
			return f
		}
		for _, in := range intake {
			f := row(in.CountyCode, in.BeneficiaryID)
			f.received += in.Received
			f.rejected += in.Rejected
			f.approved += in.Approved
			f.approvedFen += in.ApprovedAmount
			for code, n := range in.RejectedByReason {
				f.byReason[code] += n
			}
		}
		for _, p := range payments {
			f := row(p.CountyCode, p.BeneficiaryID)
			f.paid += p.Paid
			f.paidFen += p.PaidAmount
		}
		for _, p := range paidClaims {
			if h, ok := households[p.ClaimID]; ok {
				row(p.CountyCode, p.BeneficiaryID).households[h] = struct{}{}
			}
		}
		return nil
	})
	if err != nil {
		return MonthlyReport{}, err
	}

	keys := make([]reportKey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b reportKey) int {
		return cmp.Or(cmp.Compare(a.county, b.county), cmp.Compare(a.township, b.township))
	})
	out := MonthlyReport{Plan: plan, Month: month, Rows: make([]ReportRow, len(keys))}
	total := figures{byReason: map[string]int64{}}
	households := int64(0)
	for i, k := range keys {
		f := rows[k]
		out.Rows[i] = ReportRow{CountyCode: k.county, ReportFigures: f.figures()}
		if perBeneficiary {
			t := k.township
			out.Rows[i].Township = &t
		}
		total.received += f.received
		total.rejected += f.rejected
		total.approved += f.approved
		total.approvedFen += f.approvedFen
		total.paid += f.paid
		total.paidFen += f.paidFen
		households += int64(len(f.households))
		for code, n := range f.byReason {
			total.byReason[code] += n
		}
	}
	out.Total = total.figures()
	out.Total.HouseholdsPaid = households // the total sums the rows
	return out, nil
}

// reportReasons are the reason codes in DESIGN §6's order: the order of the
// spreadsheet's rejection columns.
var reportReasons = []string{
	claims.ReasonUnknownBeneficiary, claims.ReasonOutsideCoverage, claims.ReasonLateSubmission, claims.ReasonOutsidePlanArea,
	claims.ReasonNotCoveredCategory, claims.ReasonResidencyNotEligible, claims.ReasonCauseNotCovered, claims.ReasonAbovePreventionLine,
	claims.ReasonIndustryNotCovered, claims.ReasonEvidenceMissing, claims.ReasonDuplicateClaim, claims.ReasonAlreadyCompensated,
	claims.ReasonNothingPayable, claims.ReasonAnnualCapReached,
}

// WriteXLSX writes the report as a workbook for people (DESIGN §16): Chinese
// headers, a bold header row that stays in view, counts as integers and
// amounts as numbers shown with two decimals, one column per rejection
// reason that occurs (named in Chinese), and a bold totals row (合计).
func (r MonthlyReport) WriteXLSX(w io.Writer) error {
	perTownship := len(r.Rows) > 0 && r.Rows[0].Township != nil
	var reasons []string
	for _, code := range reportReasons {
		if r.Total.RejectedByReason[code] > 0 {
			reasons = append(reasons, code)
		}
	}
	// A reason code this list does not know (a newer one) still gets its
	// column, after the known ones.
	var extra []string
	for code := range r.Total.RejectedByReason {
		if !slices.Contains(reportReasons, code) {
			extra = append(extra, code)
		}
	}
	slices.Sort(extra)
	reasons = append(reasons, extra...)

	cols := []ledger.SheetColumn{{Header: "区县", Width: 10}, {Header: "区县名称", Width: 10}}
	if perTownship {
		cols = append(cols, ledger.SheetColumn{Header: "乡镇", Width: 14})
	}
	cols = append(cols, ledger.SheetColumn{Header: "受理件数", Width: 10}, ledger.SheetColumn{Header: "不予受理件数", Width: 13})
	for _, code := range reasons {
		cols = append(cols, ledger.SheetColumn{Header: "不予受理：" + i18n.Name(i18n.Chinese, "reason", code), Width: 22})
	}
	cols = append(cols,
		ledger.SheetColumn{Header: "审批通过件数", Width: 13}, ledger.SheetColumn{Header: "审批金额（元）", Width: 16},
		ledger.SheetColumn{Header: "发放笔数", Width: 10}, ledger.SheetColumn{Header: "发放金额（元）", Width: 16},
		ledger.SheetColumn{Header: "受益户数", Width: 10})
	sheet, err := ledger.NewSheet("统计报表", cols)
	if err != nil {
		return err
	}
	defer sheet.Close()

	cells := func(lead []any, f ReportFigures) []any {
		out := append(lead, f.Received, f.Rejected)
		for _, code := range reasons {
			out = append(out, f.RejectedByReason[code])
		}
		return append(out, f.Approved, ledger.SheetAmount(f.ApprovedAmount.Fen()),
			f.Paid, ledger.SheetAmount(f.PaidAmount.Fen()), f.HouseholdsPaid)
	}
	for _, row := range r.Rows {
		name := i18n.Name(i18n.Chinese, "county", row.CountyCode)
		if row.CountyCode == "" {
			name = "（受益人不在库）"
		}
		lead := []any{row.CountyCode, name}
		if perTownship {
			lead = append(lead, *row.Township)
		}
		if err := sheet.Row(cells(lead, row.ReportFigures)...); err != nil {
			return err
		}
	}
	lead := []any{"合计", nil}
	if perTownship {
		lead = append(lead, nil)
	}
	if err := sheet.BoldRow(cells(lead, r.Total)...); err != nil {
		return err
	}
	_, err = sheet.WriteTo(w)
	return err
}
