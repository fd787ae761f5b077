package claims_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/claims"
	"huimin/internal/apperr"
	"huimin/internal/db"
	ulid "huimin/internal/ids"
	"huimin/internal/money"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// queueClaim is a claim as the queue tests and BenchmarkQueue1M write it
// straight into the claims table (and its approvals into claim_approvals):
// what the queue reads, and plausible values for the rest of the row.
type queueClaim struct {
	ID, Plan, County, Cause, Status, Beneficiary string
	Payable                                      int64 // fen
	At                                           int64 // submitted, Unix ms
	Approvers                                    []string
}

// programmeOf is the programme of each seeded plan.
var programmeOf = map[string]string{"ZKB-2026": "ZKB", "ZFB-2026": "ZFB", "FPB-2026": "FPB", "CYB-2026": "CYB"}

// queueFacts are facts and breakdowns (format strings of a reference and an
// amount) as long as real ones, by programme, so that the rows are as wide
// as the ones a real queue reads.
var queueFacts = map[string][2]string{
	"ZKB": {`{"service_type":"inpatient","bill_ref":"NY-2026-%s","total_cost":"%[2]s","policy_scope_cost":"%[2]s","basic_insurance_paid":"0.00","critical_illness_paid":"0.00","medical_assistance_paid":"0.00"}`,
		`[{"description":"Policy-scope cost after basic insurance, critical illness insurance and medical assistance","amount":"%[2]s"},{"description":"Deductible of the year already met","amount":"0.00"},{"description":"Ratio 1.00 for rural_destitute","amount":"%[2]s"},{"description":"Annual cap 100000.00 leaves room","amount":"%[2]s"}]`},
	"ZFB": {`{"incident_ref":"YJ-2026-%s","loss_class":"house_damaged","assessed_loss":"%[2]s"}`,
		`[{"description":"Assessed loss of a damaged house","amount":"%[2]s"},{"description":"Ratio 0.50, at most 20000.00 per incident","amount":"%[2]s"},{"description":"Household annual cap leaves room","amount":"%[2]s"}]`},
	"FPB": {`{"household_income_per_capita":"4200.00","bill_ref":"NY-2026-%s","self_pay":"%[2]s"}`,
		`[{"description":"Self-paid policy-scope cost","amount":"%[2]s"},{"description":"Household income per capita 4200.00 is below the prevention line","amount":"%[2]s"},{"description":"Bracket ratios applied","amount":"%[2]s"},{"description":"Annual cap leaves room","amount":"%[2]s"}]`},
	"CYB": {`{"industry":"tea","primary_policy_no":"PICC-NY-2026-%s","premium_paid":"%[2]s","county_subsidised":true}`,
		`[{"description":"Premium paid","amount":"%[2]s"},{"description":"Subsidy ratio 0.30 with county subsidy","amount":"%[2]s"}]`},
}

// sqlExec is what insertQueueClaims writes on: a *sql.DB or a *sql.Conn.
type sqlExec interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// queueClaimRow is the placeholders of one claim row (claims.ClaimColumns).
var queueClaimRow = "(" + strings.TrimSuffix(strings.Repeat("?,", claims.ClaimColumnCount), ",") + ")"

// insertQueueClaims writes claims and their approvals with one multi-row
// INSERT each (callers pass at most a few thousand claims at a time).
func insertQueueClaims(ctx context.Context, conn sqlExec, cs []queueClaim) error {
	if len(cs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO claims (" + claims.ClaimColumns + ") VALUES ")
	args := make([]any, 0, len(cs)*claims.ClaimColumnCount)
	var approvals []any
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(queueClaimRow)
		prog := programmeOf[c.Plan]
		amount := money.String(money.FromFen(c.Payable))
		ref := c.ID[len(c.ID)-10:]
		facts, breakdown := fmt.Sprintf(queueFacts[prog][0], ref, amount), fmt.Sprintf(queueFacts[prog][1], ref, amount)
		evidence := `[{"kind":"settlement_sheet","sha256":"` + servertest.SHA(c.ID) + `","uri":"oss://claims/` + c.ID + `.pdf"}]`
		reasons := "[]"
		counted := c.Status != claims.Declined && c.Status != claims.Withdrawn
		if c.Status == claims.Rejected {
			reasons = `[{"code":"nothing_payable","message":"nothing is payable under the plan's rules (the base still counts toward the deductible)"}]`
		}
		reserved := c.Status == claims.Approved || c.Status == claims.Disbursed
		var reservedAmount int64
		if reserved {
			reservedAmount = c.Payable
		}
		service := ""
		if prog == "ZKB" {
			service = "inpatient"
		}
		args = append(args, c.ID, c.Plan, prog, "picc", "q-"+c.ID, c.Beneficiary, "self:"+c.Beneficiary, c.Beneficiary, c.County,
			time.UnixMilli(c.At).AddDate(0, 0, -10).Format("2006-01-02"), c.Cause, "NY-2026-"+ref, service, facts, evidence, c.Status,
			counted, c.Payable, c.Payable, "", c.Payable, reserved, reservedAmount, reasons, breakdown, 1, len(c.Approvers), c.At, c.At)
		for k, actor := range c.Approvers {
			approvals = append(approvals, c.ID, actor, c.At+int64(k+1)*60000)
		}
	}
	if _, err := conn.ExecContext(ctx, b.String(), args...); err != nil {
		return err
	}
	if len(approvals) == 0 {
		return nil
	}
	q := "INSERT INTO claim_approvals (claim_id, actor, at) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?),", len(approvals)/3), ",")
	_, err := conn.ExecContext(ctx, q, approvals...)
	return err
}

// queueMatches is the queue's filter recomputed in Go.
func queueMatches(f claims.QueueFilter, c queueClaim) bool {
	switch {
	case c.Status != claims.Assessed,
		f.Plan != "" && c.Plan != f.Plan,
		f.Programme != "" && programmeOf[c.Plan] != f.Programme,
		f.County != "" && c.County != f.County,
		f.Cause != "" && c.Cause != f.Cause,
		f.MinFen != nil && c.Payable < *f.MinFen,
		f.MaxFen != nil && c.Payable > *f.MaxFen:
		return false
	}
	return true
}

// queueSample is n claims of every plan, county, cause and status, with
// payables from 0.01 to 80000.00 and some assessed claims holding a first
// approval, submitted one to 3000 ms apart (so that some share a
// millisecond-close id prefix) from start.
func queueSample(n int, start time.Time) []queueClaim {
	rng := rand.New(rand.NewPCG(10, 2026))
	plans := []string{"ZKB-2026", "ZFB-2026", "FPB-2026", "CYB-2026"}
	causes := map[string][]string{"ZKB": {"medical"}, "ZFB": {"disaster"}, "FPB": {"illness", "education", "disaster", "accident"},
		"CYB": {"premium_subsidy", "loss_topup"}}
	counties := []string{"411302", "411325", "411381"}
	statuses := []string{claims.Assessed, claims.Assessed, claims.Assessed, claims.Approved, claims.Paid, claims.Rejected, claims.Declined, claims.Withdrawn}
	at := start
	out := make([]queueClaim, n)
	for i := range out {
		at = at.Add(time.Duration(1+rng.IntN(3000)) * time.Millisecond)
		plan := plans[rng.IntN(len(plans))]
		cs := causes[programmeOf[plan]]
		c := queueClaim{ID: ulid.New(at), Plan: plan, County: counties[rng.IntN(len(counties))], Cause: cs[rng.IntN(len(cs))],
			Status: statuses[rng.IntN(len(statuses))], Beneficiary: servertest.ResidentID(7000 + i), At: at.UnixMilli(),
			Payable: 1 + rng.Int64N(8_000_000)}
		switch {
		case c.Status == claims.Rejected:
			c.Payable = 0
		case c.Status == claims.Assessed && rng.IntN(4) == 0:
			c.Approvers = []string{"fin-wang"}
		case c.Status == claims.Approved || c.Status == claims.Paid:
			c.Approvers = []string{"fin-wang", "fin-li"}
		}
		out[i] = c
	}
	// Two claims on the boundaries of the amount filters below.
	out[0].Status, out[0].Payable = claims.Assessed, 100000
	out[1].Status, out[1].Payable = claims.Assessed, 5000000
	return out
}

// queueWant is what the queue should hold for f, recomputed in Go.
type queueWant struct {
	ids            []string
	total          int64
	waiting, count int
}

func wantQueue(cs []queueClaim, f claims.QueueFilter) queueWant {
	var w queueWant
	for _, c := range cs {
		if !queueMatches(f, c) {
			continue
		}
		w.ids = append(w.ids, c.ID)
		w.total += c.Payable
		if len(c.Approvers) > 0 {
			w.waiting++
		}
	}
	slices.Sort(w.ids)
	w.count = len(w.ids)
	return w
}

// readQueue pages through the queue for f, limit at a time, checking on
// every page that the figures are the whole filter's; it returns the ids in
// the order read.
func readQueue(t *testing.T, s *claims.Service, f claims.QueueFilter, limit int, want queueWant) []string {
	t.Helper()
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, len(want.ids)+2, "the pages end")
		p, err := s.Queue(context.Background(), f, after, limit)
		require.NoError(t, err)
		require.Equal(t, want.count, p.Count, "count on the page after %q", after)
		require.Equal(t, want.total, p.TotalFen, "total on the page after %q", after)
		require.Equal(t, want.waiting, p.Waiting, "waiting on the page after %q", after)
		require.LessOrEqual(t, len(p.Claims), limit)
		for _, v := range p.Claims {
			require.Equal(t, claims.Assessed, v.Status)
			got = append(got, v.ID)
		}
		if p.Next == "" {
			return got
		}
		require.Len(t, p.Claims, limit, "only the last page is short")
		require.Equal(t, p.Claims[len(p.Claims)-1].ID, p.Next, "the cursor is the page's last id")
		after = p.Next
	}
}

func fen(v int64) *int64 { return &v }

// TestQueue: the approval queue holds exactly the assessed claims of its
// filter, oldest first; pages by keyset read each once, with no gap and no
// repeat; and the count, total and number waiting for a second approver are
// the whole filter's, equal to the same figures recomputed in Go over the
// rows written.
func TestQueue(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		sample := queueSample(400, servertest.Start.Add(-30*24*time.Hour))
		// Written in an order other than the ids', so that the order read
		// comes from the query, not from the insertion.
		shuffled := slices.Clone(sample)
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for chunk := range slices.Chunk(shuffled, 150) {
			require.NoError(t, insertQueueClaims(ctx, d.SQL, chunk))
		}
		s := e.h.App.Claims

		all := wantQueue(sample, claims.QueueFilter{})
		require.Greater(t, all.count, 100, "the sample has a long queue")
		require.Positive(t, all.waiting)
		require.Less(t, all.waiting, all.count)

		for name, f := range map[string]claims.QueueFilter{
			"everything":                    {},
			"one plan":                      {Plan: "FPB-2026"},
			"a programme":                   {Programme: "CYB"},
			"a county":                      {County: "411381"},
			"a cause of one programme":      {Cause: "education"},
			"a cause of two programmes":     {Cause: "disaster"},
			"at least 1000.00 (inclusive)":  {MinFen: fen(100000)},
			"at most 50000.00 (inclusive)":  {MaxFen: fen(5000000)},
			"between 1000.00 and 50000.00":  {MinFen: fen(100000), MaxFen: fen(5000000)},
			"plan, county and amount":       {Plan: "ZKB-2026", County: "411302", MinFen: fen(200000)},
			"programme, cause and at most":  {Programme: "FPB", Cause: "illness", MaxFen: fen(4000000)},
			"a plan that does not exist":    {Plan: "ZKB-2099"},
			"minimum above maximum":         {MinFen: fen(500), MaxFen: fen(400)},
			"a county of no claim":          {County: "411330"},
			"a cause the programme lacks":   {Programme: "ZKB", Cause: "disaster"},
			"exactly the boundary amount":   {MinFen: fen(100000), MaxFen: fen(100000)},
			"everything, one claim a page":  {},
			"everything, the largest pages": {},
		} {
			t.Run(name, func(t *testing.T) {
				want := wantQueue(sample, f)
				limit := 7
				switch {
				case strings.Contains(name, "one claim a page"):
					limit = 1
				case strings.Contains(name, "largest pages"):
					limit = claims.MaxQueuePage
				}
				// Each filter is put to the test: it keeps some claims and
				// drops others, or names nothing and keeps none.
				none := strings.Contains(name, "not exist") || strings.Contains(name, "above") || strings.Contains(name, "no claim") ||
					strings.Contains(name, "lacks")
				switch {
				case none:
					require.Empty(t, want.ids)
				case strings.HasPrefix(name, "everything"):
					require.Equal(t, all.ids, want.ids)
				default:
					require.NotEmpty(t, want.ids)
					require.Less(t, want.count, all.count)
				}
				got := readQueue(t, s, f, limit, want)
				if none {
					require.Empty(t, got)
					return
				}
				require.Equal(t, want.ids, got, "every claim of the filter, once, oldest first")
			})
		}
		// The amount bounds are inclusive: the claims on them are kept.
		require.Contains(t, wantQueue(sample, claims.QueueFilter{MinFen: fen(100000), MaxFen: fen(100000)}).ids, sample[0].ID)
		require.Contains(t, wantQueue(sample, claims.QueueFilter{MaxFen: fen(5000000)}).ids, sample[1].ID)

		// A page's claims are the claims as Get renders them: approvals,
		// notice and objections included.
		p, err := s.Queue(ctx, claims.QueueFilter{}, "", 20)
		require.NoError(t, err)
		for _, v := range p.Claims {
			g, err := s.Get(ctx, "", v.ID)
			require.NoError(t, err)
			require.Equal(t, g, v)
		}

		// A limit of 0 gives the figures alone (the home page).
		p, err = s.Queue(ctx, claims.QueueFilter{}, "", 0)
		require.NoError(t, err)
		require.Empty(t, p.Claims)
		require.Empty(t, p.Next)
		require.Equal(t, all.count, p.Count)
		require.Equal(t, all.total, p.TotalFen)
		require.Equal(t, all.waiting, p.Waiting)

		// A claim filed while a clerk pages joins the end of the queue: the
		// next pages neither skip nor repeat a claim.
		first, err := s.Queue(ctx, claims.QueueFilter{}, "", 50)
		require.NoError(t, err)
		late := queueClaim{ID: ulid.New(servertest.Start), Plan: "ZKB-2026", County: "411302", Cause: "medical", Status: claims.Assessed,
			Beneficiary: servertest.ResidentID(6999), Payable: 123456, At: servertest.Start.UnixMilli()}
		require.NoError(t, insertQueueClaims(ctx, d.SQL, []queueClaim{late}))
		withLate := append(slices.Clone(sample), late)
		want := wantQueue(withLate, claims.QueueFilter{})
		seen := []string{}
		for _, v := range first.Claims {
			seen = append(seen, v.ID)
		}
		rest := readQueueAfter(t, s, first.Next, want)
		require.Equal(t, want.ids, append(seen, rest...))
		require.Equal(t, late.ID, rest[len(rest)-1])

		// Bad arguments are refused, naming the argument.
		_, err = s.Queue(ctx, claims.QueueFilter{}, "not-an-id", 10)
		requireInvalid(t, err, "after")
		_, err = s.Queue(ctx, claims.QueueFilter{}, "", claims.MaxQueuePage+1)
		requireInvalid(t, err, "limit")
		_, err = s.Queue(ctx, claims.QueueFilter{}, "", -1)
		requireInvalid(t, err, "limit")
	})
}

// readQueueAfter reads the rest of the whole queue after a cursor.
func readQueueAfter(t *testing.T, s *claims.Service, after string, want queueWant) []string {
	t.Helper()
	var got []string
	for after != "" {
		p, err := s.Queue(context.Background(), claims.QueueFilter{}, after, 50)
		require.NoError(t, err)
		require.Equal(t, want.count, p.Count)
		for _, v := range p.Claims {
			got = append(got, v.ID)
		}
		after = p.Next
	}
	return got
}

func requireInvalid(t *testing.T, err error, field string) {
	t.Helper()
	require.Equal(t, apperr.ErrValidation, apperr.KindOf(err), "%v", err)
	require.ErrorContains(t, err, field)
}

// TestQueueThroughTheAPI: a claim filed and given its first of two
// approvals through the API is in the queue with that approval, counted as
// waiting for a second approver; once the second approval is given, it
// leaves the queue and its figures.
func TestQueueThroughTheAPI(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		ctx := context.Background()
		person := e.register(t, servertest.Person{ID: servertest.ResidentID(8100), Categories: []string{"rural_destitute"}})
		big := e.file(t, zkbClaim(person, "BILL-Q-BIG", "inpatient", "60000.00", "60000.00", "0", "0", "0"))
		small := e.file(t, zkbClaim(person, "BILL-Q-SMALL", "inpatient", "900.00", "900.00", "0", "0", "0"))
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+big.ID+"/approve", map[string]any{}), http.StatusOK)

		s := e.h.App.Claims
		p, err := s.Queue(ctx, claims.QueueFilter{Programme: "ZKB"}, "", 10)
		require.NoError(t, err)
		require.Equal(t, []string{big.ID, small.ID}, []string{p.Claims[0].ID, p.Claims[1].ID})
		require.Equal(t, 2, p.Count)
		require.Equal(t, int64(6090000), p.TotalFen)
		require.Equal(t, 1, p.Waiting)
		require.Len(t, p.Claims[0].Approvals, 1)
		require.Equal(t, "fin-wang", p.Claims[0].Approvals[0].Actor)
		require.Empty(t, p.Claims[1].Approvals)

		servertest.RequireStatus(t, e.h.Post(t, "finance2", "/api/v1/claims/"+big.ID+"/approve", map[string]any{}), http.StatusOK)
		p, err = s.Queue(ctx, claims.QueueFilter{}, "", 10)
		require.NoError(t, err)
		require.Len(t, p.Claims, 1)
		require.Equal(t, small.ID, p.Claims[0].ID)
		require.Equal(t, 1, p.Count)
		require.Equal(t, int64(90000), p.TotalFen)
		require.Zero(t, p.Waiting)
	})
}
