package payouts_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"huimin/internal/db"
	"huimin/internal/mask"
	"huimin/internal/testdb"
	"huimin/payouts"
	"huimin/server/servertest"
)

// noticePlan creates a ZKB plan with a notice period of days working days
// (and a budget of 100000.00) as the administrator.
func (e *env) noticePlan(t testing.TB, days int) string {
	t.Helper()
	code := servertest.Unique("ZKB-N")
	r := e.h.Post(t, "admin", "/api/v1/plans", map[string]any{
		"code": code, "programme": "ZKB", "name": "政康保 公示 " + code,
		"coverage_start": "2026-01-01", "coverage_end": "2026-12-31", "budget": "100000.00", "notice_days": days,
	})
	servertest.RequireStatus(t, r, http.StatusCreated)
	return code
}

// noticeView is a notice answer.
type noticeView struct {
	ID         string  `json:"id"`
	Plan       string  `json:"plan"`
	CountyCode *string `json:"county_code"`
	StartsOn   string  `json:"starts_on"`
	EndsOn     string  `json:"ends_on"`
	NoticeDays int     `json:"notice_days"`
	Count      int     `json:"count"`
	Total      string  `json:"total"`
	Claims     []struct {
		ClaimID string `json:"claim_id"`
		Amount  string `json:"amount"`
	} `json:"claims"`
}

func (n noticeView) claimIDs() []string {
	out := make([]string, len(n.Claims))
	for i, c := range n.Claims {
		out[i] = c.ClaimID
	}
	return out
}

// notice posts a notice as finance and requires 201.
func (e *env) notice(t testing.TB, body map[string]any) noticeView {
	t.Helper()
	r := e.h.Post(t, "finance", "/api/v1/notices", body)
	servertest.RequireStatus(t, r, http.StatusCreated)
	var n noticeView
	r.JSON(t, &n)
	return n
}

// published is what a claim answer says of its notice and objections.
type published struct {
	Status string `json:"status"`
	Notice *struct {
		ID     string `json:"id"`
		EndsOn string `json:"ends_on"`
	} `json:"notice"`
	Objections []objectionView `json:"objections"`
}

func (e *env) published(t testing.TB, id string) published {
	t.Helper()
	r := e.h.Get(t, "finance", "/api/v1/claims/"+id)
	servertest.RequireStatus(t, r, http.StatusOK)
	var p published
	r.JSON(t, &p)
	return p
}

type objectionView struct {
	ID         string  `json:"id"`
	ClaimID    string  `json:"claim_id"`
	Status     string  `json:"status"`
	RaisedBy   string  `json:"raised_by"`
	Reason     string  `json:"reason"`
	RecordedBy string  `json:"recorded_by"`
	Note       *string `json:"note"`
	ResolvedBy *string `json:"resolved_by"`
	ResolvedAt *string `json:"resolved_at"`
}

// object records an objection to claim as token and requires 201 open.
func (e *env) object(t testing.TB, token, claim string) objectionView {
	t.Helper()
	r := e.h.Post(t, token, "/api/v1/claims/"+claim+"/objections", map[string]any{"raised_by": "村民 王某", "reason": "该户家庭收入超过标准"})
	servertest.RequireStatus(t, r, http.StatusCreated)
	var o objectionView
	r.JSON(t, &o)
	require.Equal(t, "open", o.Status)
	require.Equal(t, claim, o.ClaimID)
	return o
}

func (e *env) resolve(t testing.TB, token, objection, outcome string) *servertest.Response {
	t.Helper()
	return e.h.Post(t, token, "/api/v1/objections/"+objection+"/resolve", map[string]any{"outcome": outcome, "note": "经村委会核实"})
}

// chinaDay sets the clock to 10:00 China time of day (YYYY-MM-DD).
func (e *env) chinaDay(t testing.TB, day string) {
	t.Helper()
	d, err := time.ParseInLocation("2006-01-02 15:04", day+" 10:00", time.FixedZone("CST", 8*3600))
	require.NoError(t, err)
	e.h.Clock.Set(d)
}

// A plan with a notice period pays a claim only once it has been published
// and its notice period, counted in working days by the calendar the
// administrator loaded, is over.
func TestNoticePeriodBlocksDisbursementUntilItEnds(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		// 端午: Friday 19 June 2026 is a holiday, so five working days from
		// Monday 15 June end on Tuesday 23 June, not Monday 22.
		servertest.RequireStatus(t, e.h.Put(t, "admin", "/api/v1/calendar/2026", map[string]any{
			"holidays": []string{"2026-06-19", "2026-06-20", "2026-06-21"}, "workdays": []string{}}), http.StatusOK)
		plan := e.noticePlan(t, 5)
		a, b := e.assessed(t, plan, "1000.00"), e.assessed(t, plan, "2500.00")
		e.approved(t, a.ID)
		e.approved(t, b.ID)
		late := e.assessed(t, plan, "700.00")

		t.Run("before any notice the claim is not disbursed", func(t *testing.T) {
			before := e.snapshot(t, plan)
			er := servertest.RequireError(t, e.disburse(t, plan, a.ID), http.StatusConflict, "notice_pending")
			require.Equal(t, a.ID, er.Error.Details["claim_id"])
			require.Equal(t, before, e.snapshot(t, plan), "nothing changed")
		})

		n := e.notice(t, map[string]any{"plan": plan})
		require.Equal(t, plan, n.Plan)
		require.Nil(t, n.CountyCode, "a notice of every county")
		require.Equal(t, "2026-06-15", n.StartsOn, "today in China")
		require.Equal(t, "2026-06-23", n.EndsOn, "the fifth working day after, the holiday skipped")
		require.Equal(t, 5, n.NoticeDays)
		require.ElementsMatch(t, []string{a.ID, b.ID}, n.claimIDs())
		require.Equal(t, 2, n.Count)
		require.Equal(t, "3500.00", n.Total)
		p := e.published(t, a.ID)
		require.NotNil(t, p.Notice)
		require.Equal(t, n.ID, p.Notice.ID)
		require.Equal(t, "2026-06-23", p.Notice.EndsOn)
		require.Empty(t, p.Objections)
		require.Nil(t, e.published(t, late.ID).Notice, "an assessed claim is not published")
		require.EqualValues(t, 1, servertest.Count(t, d, "audit_log", "action = ? AND target = ?", "notice.create", n.ID))

		r := e.h.Get(t, "auditor", "/api/v1/notices/"+n.ID)
		servertest.RequireStatus(t, r, http.StatusOK)
		var again noticeView
		r.JSON(t, &again)
		require.Equal(t, n, again)

		t.Run("nothing left to publish is 409", func(t *testing.T) {
			servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/notices", map[string]any{"plan": plan}), http.StatusConflict, "invalid_state")
		})

		for _, day := range []string{"2026-06-19", "2026-06-22", "2026-06-23"} {
			t.Run("on "+day+" the notice is still up", func(t *testing.T) {
				e.chinaDay(t, day)
				before := e.snapshot(t, plan)
				er := servertest.RequireError(t, e.disburse(t, plan, a.ID, b.ID), http.StatusConflict, "notice_pending")
				require.Equal(t, min(a.ID, b.ID), er.Error.Details["claim_id"], "the first claim in id order")
				require.Equal(t, "2026-06-23", er.Error.Details["ends_on"])
				require.Equal(t, before, e.snapshot(t, plan))
			})
		}

		// A claim approved after the notice waits for a notice of its own.
		e.chinaDay(t, "2026-06-24")
		e.approved(t, late.ID)
		er := servertest.RequireError(t, e.disburse(t, plan, a.ID, late.ID), http.StatusConflict, "notice_pending")
		require.Equal(t, late.ID, er.Error.Details["claim_id"])

		batch := e.disbursed(t, plan, a.ID, b.ID)
		require.Equal(t, "3500.00", batch.Total)
		require.Equal(t, "disbursed", e.claim(t, a.ID).Status)

		second := e.notice(t, map[string]any{"plan": plan})
		require.Equal(t, []string{late.ID}, second.claimIDs())
		require.Equal(t, "2026-06-24", second.StartsOn)
		require.Equal(t, "2026-07-01", second.EndsOn)

		r = e.h.Get(t, "finance", "/api/v1/notices?plan="+plan+"&limit=1")
		servertest.RequireStatus(t, r, http.StatusOK)
		var page struct {
			Items      []noticeView `json:"items"`
			NextCursor *string      `json:"next_cursor"`
		}
		r.JSON(t, &page)
		require.Len(t, page.Items, 1)
		require.Equal(t, second.ID, page.Items[0].ID, "newest first")
		require.Equal(t, 1, page.Items[0].Count)
		require.Equal(t, "700.00", page.Items[0].Total, "summed in SQL on fen")
		require.NotNil(t, page.NextCursor)
		e.requireSound(t, plan)
	})
}

// Posting a notice: a plan without a notice period is 409; bad fields are
// 422 naming them; nothing is stored.
func TestNoticeRefusals(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		none := e.createPlan(t, planOpts{budget: "100000.00"})
		c := e.assessed(t, none, "100.00")
		e.approved(t, c.ID)
		servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/notices", map[string]any{"plan": none}), http.StatusConflict, "invalid_state")
		// Without a notice period a claim is disbursed as before.
		e.disbursed(t, none, c.ID)

		plan := e.noticePlan(t, 5)
		servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/notices", map[string]any{"plan": plan}), http.StatusConflict, "invalid_state")
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"no plan", map[string]any{}, "plan"},
			{"a county that is not one", map[string]any{"plan": plan, "county_code": "110101"}, "county_code"},
			{"a contact of spaces", map[string]any{"plan": plan, "contact": "   "}, "contact"},
			{"a contact too long", map[string]any{"plan": plan, "contact": strings.Repeat("电", 201)}, "contact"},
			{"an unknown field", map[string]any{"plan": plan, "township": "赤眉镇"}, "township"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/notices", tc.body), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, []string{tc.field}, er.FieldNames())
			})
		}
		servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/notices", map[string]any{"plan": "NOPE-2026"}), http.StatusNotFound, "not_found")
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/notices/01ARZ3NDEKTSV4RRFFQ69G5FAV"), http.StatusNotFound, "not_found")
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/notices?plan=bad%20code"), http.StatusUnprocessableEntity, "validation_failed")
		require.Zero(t, servertest.Count(t, d, "notices", "1 = 1"))
		servertest.RequireError(t, e.h.Post(t, "auditor", "/api/v1/notices", map[string]any{"plan": plan}), http.StatusForbidden, "forbidden")
	})
}

// An upheld objection revokes the claim: declined, its reservation released
// with a ledger entry, every invariant intact; the notice still lists it.
// An open objection stops the disbursement first, before the notice period.
func TestObjectionUpheldRevokesTheClaim(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.noticePlan(t, 5)
		a, b := e.assessed(t, plan, "1000.00"), e.assessed(t, plan, "2000.00")
		e.approved(t, a.ID)
		e.approved(t, b.ID)
		n := e.notice(t, map[string]any{"plan": plan})
		unpublished := e.assessed(t, plan, "300.00")
		e.approved(t, unpublished.ID)
		require.Equal(t, figures{"100000.00", "96700.00", "3300.00", "0.00", "0.00"}, e.budget(t, plan))

		o := e.object(t, "finance", a.ID)
		require.Equal(t, "村民 王某", o.RaisedBy)
		require.Equal(t, "fin-wang", o.RecordedBy)
		require.Nil(t, o.Note)
		require.Nil(t, o.ResolvedAt)
		p := e.published(t, a.ID)
		require.Len(t, p.Objections, 1)
		require.Equal(t, o.ID, p.Objections[0].ID)
		require.Equal(t, "open", p.Objections[0].Status)

		e.chinaDay(t, "2026-06-30") // the notice ended on 2026-06-22
		t.Run("an open objection refuses the batch, before any notice is looked at", func(t *testing.T) {
			uo := e.object(t, "admin", unpublished.ID)
			before := e.snapshot(t, plan)
			er := servertest.RequireError(t, e.disburse(t, plan, b.ID, a.ID), http.StatusConflict, "objection_open")
			require.Equal(t, a.ID, er.Error.Details["claim_id"])
			er = servertest.RequireError(t, e.disburse(t, plan, unpublished.ID), http.StatusConflict, "objection_open")
			require.Equal(t, unpublished.ID, er.Error.Details["claim_id"], "objection_open is checked before notice_pending")
			require.Equal(t, before, e.snapshot(t, plan))
			r := e.resolve(t, "finance", uo.ID, "dismissed")
			servertest.RequireStatus(t, r, http.StatusOK)
			er = servertest.RequireError(t, e.disburse(t, plan, unpublished.ID), http.StatusConflict, "notice_pending")
			require.Equal(t, unpublished.ID, er.Error.Details["claim_id"])
		})

		r := e.resolve(t, "admin", o.ID, "upheld")
		servertest.RequireStatus(t, r, http.StatusOK)
		var up objectionView
		r.JSON(t, &up)
		require.Equal(t, "upheld", up.Status)
		require.Equal(t, "经村委会核实", *up.Note)
		require.NotNil(t, up.ResolvedBy)
		require.NotNil(t, up.ResolvedAt)

		c := e.claim(t, a.ID)
		require.Equal(t, "declined", c.Status)
		require.Equal(t, "0.00", c.ReservedAmount)
		require.Equal(t, figures{"100000.00", "97700.00", "2300.00", "0.00", "0.00"}, e.budget(t, plan), "the reservation went back to available")
		es := e.entries(t, plan)
		last := es[len(es)-1]
		require.Equal(t, "release", last.Kind)
		require.Equal(t, a.ID, last.ClaimID)
		require.Equal(t, int64(100000), last.Amount)
		require.Equal(t, [2]string{"reserved", "available"}, [2]string{last.FromAccount, last.ToAccount})
		require.Equal(t, []string{"reserve", "reserve", "reserve", "release"}, kinds(es))
		e.requireSound(t, plan)
		p = e.published(t, a.ID)
		require.Equal(t, "upheld", p.Objections[0].Status)
		require.Equal(t, n.ID, p.Notice.ID, "the claim stays in the notice it was posted in")
		for _, action := range []string{"objection.create", "objection.resolve", "claim.revoke"} {
			require.NotZero(t, servertest.Count(t, d, "audit_log", "action = ?", action), action)
		}

		t.Run("resolving twice is 409 and changes nothing", func(t *testing.T) {
			before := e.snapshot(t, plan)
			for _, outcome := range []string{"upheld", "dismissed"} {
				servertest.RequireError(t, e.resolve(t, "finance", o.ID, outcome), http.StatusConflict, "invalid_state")
			}
			require.Equal(t, before, e.snapshot(t, plan))
		})

		t.Run("the notice keeps listing the declined claim", func(t *testing.T) {
			r := e.h.Get(t, "finance", "/api/v1/notices/"+n.ID)
			servertest.RequireStatus(t, r, http.StatusOK)
			var again noticeView
			r.JSON(t, &again)
			require.ElementsMatch(t, []string{a.ID, b.ID}, again.claimIDs())
		})

		servertest.RequireError(t, e.disburse(t, plan, a.ID), http.StatusConflict, "invalid_state")
		e.disbursed(t, plan, b.ID)
		e.requireSound(t, plan)
	})
}

// A dismissed objection changes nothing else: once the notice has ended the
// claim is disbursed.
func TestObjectionDismissedThenDisbursed(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.noticePlan(t, 3)
		a := e.assessed(t, plan, "1500.00")
		e.approved(t, a.ID)
		e.notice(t, map[string]any{"plan": plan, "county_code": "411325", "contact": "0377-65321234"})
		o := e.object(t, "admin", a.ID)
		e.chinaDay(t, "2026-06-19") // the notice ended on Thursday 18 June
		servertest.RequireError(t, e.disburse(t, plan, a.ID), http.StatusConflict, "objection_open")

		before := e.snapshot(t, plan)
		r := e.resolve(t, "finance", o.ID, "dismissed")
		servertest.RequireStatus(t, r, http.StatusOK)
		var v objectionView
		r.JSON(t, &v)
		require.Equal(t, "dismissed", v.Status)
		after := e.snapshot(t, plan)
		require.Equal(t, before.Budget, after.Budget)
		require.Equal(t, before.Claims, after.Claims, "dismissing changes no claim's money or state")
		require.Equal(t, before.Entries, after.Entries)
		servertest.RequireError(t, e.resolve(t, "admin", o.ID, "upheld"), http.StatusConflict, "invalid_state")

		batch := e.disbursed(t, plan, a.ID)
		require.Equal(t, "1500.00", batch.Total)
		servertest.RequireStatus(t, e.results(t, batch.ID, paid(a.ID, "ICBC-7001")), http.StatusOK)
		require.Equal(t, "paid", e.claim(t, a.ID).Status)
		e.requireSound(t, plan)
	})
}

// Objections are recorded on approved claims only, by finance or admin, with
// who raised them and why; bad input is 422 naming the field.
func TestObjectionRefusals(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.createPlan(t, planOpts{budget: "100000.00"})
		assessed := e.assessed(t, plan, "100.00")
		approved := e.assessed(t, plan, "200.00")
		e.approved(t, approved.ID)
		gone := e.assessed(t, plan, "300.00")
		e.approved(t, gone.ID)
		e.disbursed(t, plan, gone.ID)
		body := map[string]any{"raised_by": "王某", "reason": "重复享受"}
		for name, id := range map[string]string{"assessed": assessed.ID, "disbursed": gone.ID} {
			t.Run("a claim "+name+" is 409", func(t *testing.T) {
				servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+id+"/objections", body), http.StatusConflict, "invalid_state")
			})
		}
		for _, tc := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"nothing", map[string]any{}, []string{"raised_by", "reason"}},
			{"a reason of spaces", map[string]any{"raised_by": "王某", "reason": "  "}, []string{"reason"}},
			{"a raised_by too long", map[string]any{"raised_by": strings.Repeat("王", 101), "reason": "x"}, []string{"raised_by"}},
			{"a reason too long", map[string]any{"raised_by": "王某", "reason": strings.Repeat("异", 501)}, []string{"reason"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/"+approved.ID+"/objections", tc.body), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, tc.fields, er.FieldNames())
			})
		}
		require.Zero(t, servertest.Count(t, d, "objections", "1 = 1"), "nothing stored")
		servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/claims/01ARZ3NDEKTSV4RRFFQ69G5FAV/objections", body), http.StatusNotFound, "not_found")
		for _, token := range []string{"auditor", "insurer"} {
			servertest.RequireError(t, e.h.Post(t, token, "/api/v1/claims/"+approved.ID+"/objections", body), http.StatusForbidden, "forbidden")
		}

		o := e.object(t, "finance", approved.ID)
		for _, tc := range []struct {
			name   string
			body   map[string]any
			fields []string
		}{
			{"no outcome or note", map[string]any{}, []string{"outcome", "note"}},
			{"an outcome that is not one", map[string]any{"outcome": "withdrawn", "note": "x"}, []string{"outcome"}},
		} {
			t.Run("resolve: "+tc.name, func(t *testing.T) {
				er := servertest.RequireError(t, e.h.Post(t, "finance", "/api/v1/objections/"+o.ID+"/resolve", tc.body), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, tc.fields, er.FieldNames())
			})
		}
		require.Equal(t, "open", e.published(t, approved.ID).Objections[0].Status)
		servertest.RequireError(t, e.resolve(t, "finance", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "dismissed"), http.StatusNotFound, "not_found")

		// A claim revoked while its objection was open: upholding it later
		// has nothing left to revoke, and changes no money.
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+approved.ID+"/revoke", map[string]any{"reason": "材料有误"}), http.StatusOK)
		before := e.snapshot(t, plan)
		servertest.RequireStatus(t, e.resolve(t, "finance", o.ID, "upheld"), http.StatusOK)
		require.Equal(t, before.Budget, e.snapshot(t, plan).Budget)
		require.Equal(t, before.Entries, e.snapshot(t, plan).Entries)
		e.requireSound(t, plan)
	})
}

// registerAt puts a rural destitute person with a name and place in the
// registry through the API and returns the id.
func (e *env) registerAt(t testing.TB, name, township, village string) string {
	t.Helper()
	p := destitute(payoutAccount)
	p.Name = name
	body := p.Body()
	if township != "" {
		body["township"], body["village"] = township, village
	}
	r := e.h.Do(t, servertest.Request{Method: http.MethodPut, Path: "/api/v1/beneficiaries/" + p.ID, Token: "admin", Body: body})
	servertest.RequireStatus(t, r, http.StatusCreated)
	return p.ID
}

// The roster to post (公示名单) as XLSX and as a printable page: masked names
// and ids, the columns in order, the period and where to object above them.
func TestNoticeRoster(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.noticePlan(t, 5)
		people := []struct{ name, township, village, id string }{
			{"张三丰", "赤眉镇", "马山口村", ""}, {"李四", "城关镇", "东关社区", ""}, {"欧阳娜娜", "", "", ""},
		}
		ids := map[string]string{}
		for i := range people {
			people[i].id = e.registerAt(t, people[i].name, people[i].township, people[i].village)
			c := e.submit(t, plan, people[i].id, []string{"1000.00", "2345.60", "80.05"}[i])
			e.approved(t, c.ID)
			ids[people[i].name] = c.ID
		}
		n := e.notice(t, map[string]any{"plan": plan, "county_code": "411325", "contact": "0377-65321234（社保股）"})
		require.Equal(t, "411325", *n.CountyCode)
		// Declined after posting: still on the roster, as it was posted.
		servertest.RequireStatus(t, e.h.Post(t, "finance", "/api/v1/claims/"+ids["欧阳娜娜"]+"/revoke", map[string]any{"reason": "重复"}), http.StatusOK)

		r := e.h.Get(t, "auditor", "/api/v1/notices/"+n.ID+"?format=xlsx")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", r.Header.Get("Content-Type"))
		require.Contains(t, r.Header.Get("Content-Disposition"), "notice-"+n.ID+".xlsx")
		x, err := excelize.OpenReader(bytes.NewReader(r.Body))
		require.NoError(t, err)
		defer func() { _ = x.Close() }()
		require.Equal(t, []string{"公示名单"}, x.GetSheetList())
		rows, err := x.GetRows("公示名单")
		require.NoError(t, err)
		require.Contains(t, rows[0][0], "公示名单")
		require.Contains(t, rows[0][0], "内乡县")
		require.Equal(t, "公示期：2026-06-15 至 2026-06-22（5 个工作日）", rows[1][0])
		require.Contains(t, rows[2][0], "内乡县财政局")
		require.Contains(t, rows[2][0], "0377-65321234（社保股）")
		require.Equal(t, payouts.NoticeColumns, rows[3])
		require.Equal(t, []string{"序号", "姓名", "身份证号", "乡镇", "村", "项目", "原因", "金额"}, rows[3], "DESIGN §14's order")
		want := [][]string{
			{"1", "李*", mask.ID(people[1].id), "城关镇", "东关社区", "政康保", "医疗", "2345.60"},
			{"2", "张*丰", mask.ID(people[0].id), "赤眉镇", "马山口村", "政康保", "医疗", "1000.00"},
			{"3", "欧**娜", mask.ID(people[2].id), "", "", "政康保", "医疗", "80.05"},
		}
		for i, w := range want {
			got := append(rows[4+i], make([]string, 8)...)[:8]
			require.Equal(t, w, got, "row %d", i+1)
		}
		require.Equal(t, []string{"合计", "3 人"}, rows[7][:2])
		require.Equal(t, "3425.65", rows[7][7])
		for row := 5; row <= 8; row++ {
			typ, err := x.GetCellType("公示名单", "H"+string(rune('0'+row)))
			require.NoError(t, err)
			require.Contains(t, []excelize.CellType{excelize.CellTypeUnset, excelize.CellTypeNumber}, typ, "金额 is a number cell (row %d)", row)
			typ, err = x.GetCellType("公示名单", "C"+string(rune('0'+row)))
			require.NoError(t, err)
			if row < 8 {
				require.Contains(t, []excelize.CellType{excelize.CellTypeSharedString, excelize.CellTypeInlineString}, typ, "身份证号 is text")
			}
		}
		for _, row := range rows {
			for _, cell := range row {
				for _, p := range people {
					require.NotContains(t, cell, p.id, "no full id")
					require.NotContains(t, cell, p.name, "no full name")
				}
			}
		}

		r = e.h.Get(t, "admin", "/api/v1/notices/"+n.ID+"?format=html")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, "text/html; charset=utf-8", r.Header.Get("Content-Type"))
		page := string(r.Body)
		require.Contains(t, page, "公示期：2026-06-15 至 2026-06-22")
		require.Contains(t, page, "内乡县财政局")
		require.Contains(t, page, "@page { size: A4")
		require.Contains(t, page, "<th>序号</th><th>姓名</th><th>身份证号</th><th>乡镇</th><th>村</th><th>项目</th><th>原因</th><th>金额</th>")
		for _, masked := range []string{"李*", "张*丰", "欧**娜", mask.ID(people[0].id), "3425.65"} {
			require.Contains(t, page, masked)
		}
		for _, p := range people {
			require.NotContains(t, page, p.name, "no full name")
			require.NotContains(t, page, p.id, "no full id")
		}
		for _, external := range []string{"<link", "src=", "url(", "@import", "http://", "https://"} {
			require.NotContains(t, page, external, "no external asset")
		}
		require.EqualValues(t, 2, servertest.Count(t, d, "audit_log", "action = ? AND target = ?", "notice.roster", n.ID))
		servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/notices/"+n.ID+"?format=pdf"), http.StatusUnprocessableEntity, "validation_failed")
		servertest.RequireError(t, e.h.Get(t, "insurer", "/api/v1/notices/"+n.ID+"?format=html"), http.StatusForbidden, "forbidden")
	})
}

func TestMaskName(t *testing.T) {
	for in, want := range map[string]string{"张三": "张*", "张三丰": "张*丰", "欧阳娜娜": "欧**娜", "李": "*", "": "", "内乡县月季种植专业合作社": "内**********社"} {
		require.Equal(t, want, payouts.MaskName(in), in)
	}
}

// Two notices posted at once publish each claim once; two resolutions of
// one objection at once resolve it once, and an upheld one releases the
// reservation once.
func TestNoticesAndResolutionsRace(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan := e.noticePlan(t, 5)
		var claimIDs []string
		for range 6 {
			c := e.assessed(t, plan, "100.00")
			e.approved(t, c.ID)
			claimIDs = append(claimIDs, c.ID)
		}
		answers := servertest.AllAtOnce(4, func(int) *servertest.Response {
			return e.h.RawPost("finance", "/api/v1/notices", map[string]any{"plan": plan})
		})
		created := 0
		for _, r := range answers {
			switch r.Status {
			case http.StatusCreated:
				created++
				var n noticeView
				r.JSON(t, &n)
				require.ElementsMatch(t, claimIDs, n.claimIDs())
			case http.StatusConflict:
			default:
				t.Fatalf("answer %d: %s", r.Status, r.Body)
			}
		}
		require.Equal(t, 1, created)
		require.EqualValues(t, 6, servertest.Count(t, d, "notice_claims", "1 = 1"))

		o := e.object(t, "finance", claimIDs[0])
		resolved := servertest.AllAtOnce(4, func(i int) *servertest.Response {
			return e.h.RawPost("finance", "/api/v1/objections/"+o.ID+"/resolve", map[string]any{"outcome": "upheld", "note": "核实"})
		})
		ok := 0
		for _, r := range resolved {
			switch r.Status {
			case http.StatusOK:
				ok++
			case http.StatusConflict:
			default:
				t.Fatalf("answer %d: %s", r.Status, r.Body)
			}
		}
		require.Equal(t, 1, ok)
		require.EqualValues(t, 1, servertest.Count(t, d, "ledger_entries", "plan_code = ? AND kind = ?", plan, "release"))
		require.Equal(t, figures{"100000.00", "99500.00", "500.00", "0.00", "0.00"}, e.budget(t, plan))
		e.requireSound(t, plan)
	})
}
