package payouts_test

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// The monthly report (统计报表, DESIGN §17), through the real router on both
// databases.

// reportView is the report answer.
type reportView struct {
	Plan  string      `json:"plan"`
	Month string      `json:"month"`
	Rows  []reportRow `json:"rows"`
	Total reportRow   `json:"total"`
}

type reportRow struct {
	CountyCode       string           `json:"county_code"`
	Township         *string          `json:"township"`
	Received         int64            `json:"received"`
	Rejected         int64            `json:"rejected"`
	RejectedByReason map[string]int64 `json:"rejected_by_reason"`
	Approved         int64            `json:"approved"`
	ApprovedAmount   string           `json:"approved_amount"`
	Paid             int64            `json:"paid"`
	PaidAmount       string           `json:"paid_amount"`
	HouseholdsPaid   int64            `json:"households_paid"`
}

// reportScene is a plan with June and July claims in two counties: a
// household of two paid in June and July, a claim of another county that
// failed at the bank, rejections with one and with three reasons, and two
// claims filed either side of midnight of 30 June in China.
type reportScene struct {
	e       *env
	plan    string
	a, b, c claimView
}

// person registers someone in county, in household (optional), of category.
func (e *env) person(t *testing.T, county, household, township, category string) string {
	t.Helper()
	p := servertest.Person{ID: servertest.NewPersonID(), Name: "王桂兰", County: county, Household: household,
		Payout: payoutAccount, Categories: []string{category}, ValidFrom: "2026-01-01"}
	body := p.Body()
	if township != "" {
		body["township"] = township
	}
	servertest.RequireStatus(t, e.h.Put(t, "admin", "/api/v1/beneficiaries/"+p.ID, body), http.StatusCreated)
	return p.ID
}

// rejectedClaim files a ZKB claim that fails eligibility; without evidence
// when bare, with an event date before the plan's cover when early.
func (e *env) rejectedClaim(t *testing.T, plan, beneficiary string, early, bare bool) {
	t.Helper()
	ref := servertest.Unique("BILL")
	body := map[string]any{
		"plan": plan, "external_ref": servertest.Unique("picc-zkb"), "beneficiary_id": beneficiary,
		"event_date": "2026-05-01", "cause": "medical",
		"facts": map[string]any{
			"service_type": "inpatient", "bill_ref": ref, "total_cost": "500.00", "policy_scope_cost": "500.00",
			"basic_insurance_paid": "0", "critical_illness_paid": "0", "medical_assistance_paid": "0",
		},
		"evidence": []map[string]any{{"kind": "settlement_sheet", "sha256": servertest.SHA(ref)}},
	}
	if early {
		body["event_date"] = "2025-12-31"
	}
	if bare {
		body["evidence"] = []map[string]any{}
	}
	r := e.h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: "insurer", Body: body,
		Header: map[string]string{"Idempotency-Key": servertest.Unique("key")}})
	servertest.RequireStatus(t, r, http.StatusCreated)
	require.Equal(t, "rejected", r.Map(t)["status"], "body: %s", r.Body)
}

func newReportScene(t *testing.T, d *db.DB) *reportScene {
	t.Helper()
	e := newEnv(t, d)
	s := &reportScene{e: e, plan: e.createPlan(t, planOpts{})}
	clock := e.h.Clock
	hh := servertest.Unique("HH")
	wife := e.person(t, "411325", hh, "赤眉镇", "rural_destitute")
	husband := e.person(t, "411325", hh, "赤眉镇", "rural_destitute")
	other := e.person(t, "411302", "", "", "rural_destitute")
	atRisk := e.person(t, "411325", "", "夏馆镇", "marginal_at_risk")
	atRisk2 := e.person(t, "411302", "", "", "marginal_at_risk")

	// June, China time.
	clock.Set(time.Date(2026, 6, 10, 2, 0, 0, 0, time.UTC))
	s.a = e.submit(t, s.plan, wife, "1000.00")
	s.b = e.submit(t, s.plan, husband, "2000.00")
	s.c = e.submit(t, s.plan, other, "3000.00")
	e.rejectedClaim(t, s.plan, atRisk, true, true) // three reasons
	e.rejectedClaim(t, s.plan, atRisk2, false, false)
	for _, id := range []string{s.a.ID, s.b.ID, s.c.ID} {
		e.approved(t, id)
	}
	batch := e.disbursed(t, s.plan, s.a.ID, s.b.ID, s.c.ID)
	clock.Set(time.Date(2026, 6, 25, 2, 0, 0, 0, time.UTC))
	servertest.RequireStatus(t, e.results(t, batch.ID, paid(s.a.ID, "BANK-1"), failed(s.c.ID, "账户已销户")), http.StatusOK)
	// 23:59:59.999 on 30 June in China: still June.
	clock.Set(time.Date(2026, 6, 30, 15, 59, 59, 999e6, time.UTC))
	e.submit(t, s.plan, e.person(t, "411302", "", "", "rural_destitute"), "400.00")
	// 00:30 on 1 July in China (16:30 on 30 June UTC): July. B is paid then.
	clock.Set(time.Date(2026, 6, 30, 16, 30, 0, 0, time.UTC))
	e.submit(t, s.plan, e.person(t, "411325", "", "", "rural_destitute"), "500.00")
	servertest.RequireStatus(t, e.results(t, batch.ID, paid(s.b.ID, "BANK-2")), http.StatusOK)
	return s
}

func (s *reportScene) report(t *testing.T, query string) reportView {
	t.Helper()
	r := s.e.h.Get(t, "auditor", "/api/v1/reports/monthly?plan="+s.plan+"&"+query)
	servertest.RequireStatus(t, r, http.StatusOK)
	var v reportView
	r.JSON(t, &v)
	return v
}

// ledgerPaid sums the plan's pay entries dated in [from, to) straight from
// the ledger table: what the report's payments must equal.
func (s *reportScene) ledgerPaid(t *testing.T, from, to time.Time) (count, fen int64) {
	t.Helper()
	var got struct{ N, Fen int64 }
	require.NoError(t, s.e.d.Table("ledger_entries").Select("COUNT(*) AS n, COALESCE(SUM(amount), 0) AS fen").
		Where("plan_code = ? AND kind = ? AND at >= ? AND at < ?", s.plan, "pay", from.UnixMilli(), to.UnixMilli()).Scan(&got).Error)
	return got.N, got.Fen
}

func TestMonthlyReport(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		s := newReportScene(t, d)
		china := time.FixedZone("CST", 8*3600)
		june, july, august := time.Date(2026, 6, 1, 0, 0, 0, 0, china), time.Date(2026, 7, 1, 0, 0, 0, 0, china), time.Date(2026, 8, 1, 0, 0, 0, 0, china)

		r := s.report(t, "month=2026-06")
		require.Equal(t, s.plan, r.Plan)
		require.Equal(t, "2026-06", r.Month)
		require.Equal(t, []reportRow{
			{CountyCode: "411302", Received: 3, Rejected: 1, RejectedByReason: map[string]int64{"not_covered_category": 1},
				Approved: 1, ApprovedAmount: "3000.00", Paid: 0, PaidAmount: "0.00", HouseholdsPaid: 0},
			{CountyCode: "411325", Received: 3, Rejected: 1, Approved: 2, ApprovedAmount: "3000.00", Paid: 1, PaidAmount: "1000.00", HouseholdsPaid: 1,
				RejectedByReason: map[string]int64{"outside_coverage_period": 1, "not_covered_category": 1, "evidence_missing": 1}},
		}, r.Rows, "the failed claim is approved again with its reservation; the claim of 23:59:59.999 is June's")
		require.Equal(t, reportRow{Received: 6, Rejected: 2, Approved: 3, ApprovedAmount: "6000.00", Paid: 1, PaidAmount: "1000.00", HouseholdsPaid: 1,
			RejectedByReason: map[string]int64{"outside_coverage_period": 1, "not_covered_category": 2, "evidence_missing": 1}}, r.Total)
		n, fen := s.ledgerPaid(t, june, july)
		require.Equal(t, n, r.Total.Paid, "the report's payments are the ledger's")
		require.Equal(t, fen, fenOf(t, r.Total.PaidAmount))

		// July: the claim filed at 00:30 on 1 July, and the husband's
		// payment: his household was reached in June already, and counts
		// again in July's report.
		r = s.report(t, "month=2026-07")
		require.Equal(t, []reportRow{
			{CountyCode: "411325", Received: 1, RejectedByReason: map[string]int64{}, ApprovedAmount: "0.00",
				Paid: 1, PaidAmount: "2000.00", HouseholdsPaid: 1},
		}, r.Rows)
		n, fen = s.ledgerPaid(t, july, august)
		require.Equal(t, int64(1), n)
		require.Equal(t, n, r.Total.Paid)
		require.Equal(t, fen, fenOf(t, r.Total.PaidAmount))

		// A month with nothing: no rows, a zero total.
		r = s.report(t, "month=2026-09")
		require.Empty(t, r.Rows)
		require.Equal(t, reportRow{RejectedByReason: map[string]int64{}, ApprovedAmount: "0.00", PaidAmount: "0.00"}, r.Total)
	})
}

func TestMonthlyReportByTownship(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		s := newReportScene(t, d)
		r := s.report(t, "month=2026-06&by=township")
		type place struct{ county, township string }
		got := map[place]reportRow{}
		for _, row := range r.Rows {
			require.NotNil(t, row.Township, "rows by township name it, \"\" when unknown")
			got[place{row.CountyCode, *row.Township}] = row
		}
		require.Len(t, got, 3)
		require.Equal(t, reportRow{CountyCode: "411325", Township: ptr("赤眉镇"), Received: 2, RejectedByReason: map[string]int64{},
			Approved: 2, ApprovedAmount: "3000.00", Paid: 1, PaidAmount: "1000.00", HouseholdsPaid: 1}, got[place{"411325", "赤眉镇"}])
		require.Equal(t, int64(1), got[place{"411325", "夏馆镇"}].Rejected)
		require.Equal(t, int64(3), got[place{"411302", ""}].Received)
		byCounty := s.report(t, "month=2026-06")
		require.Equal(t, byCounty.Total, r.Total, "the same claims and payments, regrouped")
	})
}

func ptr[T any](v T) *T { return &v }

func TestMonthlyReportXLSX(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		s := newReportScene(t, d)
		r := s.e.h.Get(t, "finance", "/api/v1/reports/monthly?plan="+s.plan+"&month=2026-06&format=xlsx")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", r.Header.Get("Content-Type"))
		require.Contains(t, r.Header.Get("Content-Disposition"), "report-"+s.plan+"-2026-06.xlsx")
		x, err := excelize.OpenReader(bytes.NewReader(r.Body))
		require.NoError(t, err)
		defer x.Close()
		sheet := x.GetSheetName(0)
		require.Equal(t, "统计报表", sheet)
		rows, err := x.GetRows(sheet)
		require.NoError(t, err)
		require.Equal(t, []string{"区县", "区县名称", "受理件数", "不予受理件数",
			"不予受理：不在保障期内", "不予受理：不属于保障对象类别", "不予受理：缺少证明材料",
			"审批通过件数", "审批金额（元）", "发放笔数", "发放金额（元）", "受益户数"}, rows[0],
			"one column per reason that occurs, in DESIGN §6's order, named in Chinese")
		require.Equal(t, []string{"411302", "宛城区", "3", "1", "0", "1", "0", "1", "3000.00", "0", "0.00", "0"}, rows[1])
		require.Equal(t, []string{"411325", "内乡县", "3", "1", "1", "1", "1", "2", "3000.00", "1", "1000.00", "1"}, rows[2])
		require.Equal(t, []string{"合计", "", "6", "2", "1", "2", "1", "3", "6000.00", "1", "1000.00", "1"}, rows[3])
		require.Len(t, rows, 4)

		for _, cell := range []string{"C2", "D3", "F4", "H2", "J3", "L4"} {
			v, err := x.GetCellValue(sheet, cell, excelize.Options{RawCellValue: true})
			require.NoError(t, err)
			requireNumberCell(t, x, sheet, cell, v, 1)
		}
		requireNumberCell(t, x, sheet, "I4", "6000.00", 2)
		requireNumberCell(t, x, sheet, "K3", "1000.00", 2)
		typ, err := x.GetCellType(sheet, "A2")
		require.NoError(t, err)
		require.Equal(t, excelize.CellTypeInlineString, typ, "a county code is text")
		require.NoError(t, x.SetCellFormula(sheet, "N1", "SUM(I2:I3)"))
		sum, err := x.CalcCellValue(sheet, "N1")
		require.NoError(t, err)
		require.Equal(t, "6000", sum, "the amounts add up to the total")

		panes, err := x.GetPanes(sheet)
		require.NoError(t, err)
		require.True(t, panes.Freeze)
		require.Equal(t, 1, panes.YSplit)
		for _, cell := range []string{"A1", "A4"} {
			id, err := x.GetCellStyle(sheet, cell)
			require.NoError(t, err)
			st, err := x.GetStyle(id)
			require.NoError(t, err)
			require.True(t, st.Font != nil && st.Font.Bold, "%s is bold", cell)
		}

		audits := s.e.h.Get(t, "auditor", "/api/v1/audit?action=report.export")
		servertest.RequireStatus(t, audits, http.StatusOK)
		items := audits.Map(t)["items"].([]any)
		require.Len(t, items, 1)
		require.Equal(t, s.plan+" 2026-06", items[0].(map[string]any)["target"])

		// By township, a 乡镇 column after the county's name.
		r = s.e.h.Get(t, "admin", "/api/v1/reports/monthly?plan="+s.plan+"&month=2026-06&format=xlsx&by=township")
		servertest.RequireStatus(t, r, http.StatusOK)
		x2, err := excelize.OpenReader(bytes.NewReader(r.Body))
		require.NoError(t, err)
		defer x2.Close()
		rows, err = x2.GetRows("统计报表")
		require.NoError(t, err)
		require.Equal(t, []string{"区县", "区县名称", "乡镇", "受理件数"}, rows[0][:4])
		require.Equal(t, "合计", rows[len(rows)-1][0])
	})
}

func TestMonthlyReportRefusals(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		get := func(token, query string) *servertest.Response {
			return e.h.Get(t, token, "/api/v1/reports/monthly?"+query)
		}
		for _, tc := range []struct {
			query  string
			fields []string
		}{
			{"plan=ZKB-2026", []string{"month"}},
			{"plan=ZKB-2026&month=2026-13", []string{"month"}},
			{"plan=ZKB-2026&month=2026-6", []string{"month"}},
			{"plan=ZKB-2026&month=2026-06-01", []string{"month"}},
			{"plan=ZKB-2026&month=2026-06&format=csv&by=village", []string{"format", "by"}},
			{"month=2026-06", []string{"plan"}},
			{"plan=%20&month=junk", []string{"month", "plan"}},
		} {
			er := servertest.RequireError(t, get("auditor", tc.query), http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, tc.fields, er.FieldNames(), tc.query)
		}
		servertest.RequireError(t, get("finance", "plan=NOPE-2026&month=2026-06"), http.StatusNotFound, "not_found")
		servertest.RequireError(t, get("finance", "plan=ZKB-2026%20&month=2026-06"), http.StatusNotFound, "not_found")
		servertest.RequireError(t, get("insurer", "plan=ZKB-2026&month=2026-06"), http.StatusForbidden, "forbidden")
		servertest.RequireStatus(t, get("admin", "plan=ZKB-2026&month=2026-06"), http.StatusOK)
	})
}
