package policies_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/civil"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server/servertest"
)

func dates(ss ...string) []civil.Date {
	out := make([]civil.Date, len(ss))
	for i, s := range ss {
		out[i] = civil.Date(s)
	}
	return out
}

// The 2026 holiday schedule: the holidays and the weekend days worked
// instead (调休).
var (
	holidays2026 = []string{
		"2026-01-01", "2026-01-02", "2026-01-03",
		"2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
		"2026-04-04", "2026-04-05", "2026-04-06",
		"2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
		"2026-06-19", "2026-06-20", "2026-06-21",
		"2026-09-25", "2026-09-26", "2026-09-27",
		"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",
	}
	workdays2026 = []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"}
)

func TestWorkingDays(t *testing.T) {
	official := policies.NewCalendar(dates(holidays2026...), dates(workdays2026...))
	for _, tc := range []struct {
		name     string
		cal      policies.Calendar
		start    string
		n        int
		want     string
		knownTil string // the calendar's limit; default far away
	}{
		{"five working days from a Monday end on the next Monday", policies.Calendar{}, "2026-06-15", 5, "2026-06-22", ""},
		{"a Friday's next working day is Monday", policies.Calendar{}, "2026-06-12", 1, "2026-06-15", ""},
		{"zero working days is the day itself", policies.Calendar{}, "2026-06-13", 0, "2026-06-13", ""},
		{"the Dragon Boat holiday on Friday 19 June moves the end to Tuesday", official, "2026-06-15", 5, "2026-06-23", ""},
		{"the Spring Festival week is skipped and Saturday 28 February is worked", official, "2026-02-12", 3, "2026-02-24", ""},
		{"Saturday 14 February is a working day", official, "2026-02-13", 1, "2026-02-14", ""},
		{"National Day: 1–7 October off, Saturday 10 October worked", official, "2026-09-30", 4, "2026-10-12", ""},
		{"Sunday 20 September is worked before Mid-Autumn", official, "2026-09-18", 1, "2026-09-20", ""},
		{"beyond what the calendar knows there is no answer", policies.Calendar{}, "2026-06-15", 5, "", "2026-06-19"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit := civil.Date(tc.knownTil)
			if limit == "" {
				limit = "2100-01-01"
			}
			got, ok := tc.cal.AddWorkingDays(civil.Date(tc.start), tc.n, limit)
			require.Equal(t, tc.want != "", ok)
			require.Equal(t, civil.Date(tc.want), got)
		})
	}
	require.False(t, official.IsWorkingDay("2026-10-01"))
	require.True(t, official.IsWorkingDay("2026-10-10"))
	require.True(t, official.IsWorkingDay("2026-06-18"))
	require.False(t, official.IsWorkingDay("2026-06-13"))
}

func TestCalendarInputNamesEveryBadDate(t *testing.T) {
	list := func(ss ...string) *[]string { return &ss }
	for _, tc := range []struct {
		name   string
		in     policies.CalendarInput
		fields []string
	}{
		{"both lists are required", policies.CalendarInput{}, []string{"holidays", "workdays"}},
		{"a date of another year", policies.CalendarInput{Holidays: list("2026-10-01", "2027-01-01"), Workdays: list()}, []string{"holidays[1]"}},
		{"not a date", policies.CalendarInput{Holidays: list("2026-02-30"), Workdays: list("10/10/2026")}, []string{"holidays[0]", "workdays[0]"}},
		{"a date listed twice", policies.CalendarInput{Holidays: list("2026-10-01", "2026-10-01"), Workdays: list()}, []string{"holidays[1]"}},
		{"a date in both lists", policies.CalendarInput{Holidays: list("2026-10-10"), Workdays: list("2026-10-10")}, []string{"workdays[0]"}},
		{"a weekday as an adjusted working day", policies.CalendarInput{Holidays: list(), Workdays: list("2026-10-09")}, []string{"workdays[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, f := tc.in.ToYear(2026)
			var got []string
			for _, e := range f {
				got = append(got, e.Field)
			}
			require.Equal(t, tc.fields, got)
		})
	}
	cy, f := policies.CalendarInput{Holidays: list("2026-10-02", "2026-10-01"), Workdays: list("2026-10-10")}.ToYear(2026)
	require.Empty(t, f)
	require.Equal(t, dates("2026-10-01", "2026-10-02"), cy.Holidays, "sorted")
}

type calendarView struct {
	Year     int      `json:"year"`
	Holidays []string `json:"holidays"`
	Workdays []string `json:"workdays"`
}

// The administrator loads a year's schedule; a PUT replaces it; bad dates are
// 422 naming the entry and change nothing; the working days a notice counts
// follow what is stored.
func TestCalendarIsLoadedPerYear(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		ctx := context.Background()
		get := func(t *testing.T, year string) calendarView {
			t.Helper()
			r := h.Get(t, "finance", "/api/v1/calendar/"+year)
			servertest.RequireStatus(t, r, http.StatusOK)
			var v calendarView
			r.JSON(t, &v)
			return v
		}
		require.Equal(t, calendarView{Year: 2026, Holidays: []string{}, Workdays: []string{}}, get(t, "2026"), "nothing loaded")
		end, err := policies.AddWorkingDays(ctx, d.DB, "2026-06-15", 5)
		require.NoError(t, err)
		require.Equal(t, civil.Date("2026-06-22"), end, "Monday to Friday")

		r := h.Put(t, "admin", "/api/v1/calendar/2026", map[string]any{"holidays": holidays2026, "workdays": workdays2026})
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Equal(t, calendarView{Year: 2026, Holidays: holidays2026, Workdays: workdays2026}, get(t, "2026"))
		end, err = policies.AddWorkingDays(ctx, d.DB, "2026-06-15", 5)
		require.NoError(t, err)
		require.Equal(t, civil.Date("2026-06-23"), end, "端午 on Friday 19 June")
		end, err = policies.AddWorkingDays(ctx, d.DB, "2026-12-30", 30)
		require.NoError(t, err)
		require.Equal(t, civil.Date("2027-02-10"), end, "into a year with nothing loaded: Monday to Friday")

		// A PUT replaces the year's lists, and leaves other years alone.
		servertest.RequireStatus(t, h.Put(t, "admin", "/api/v1/calendar/2027", map[string]any{"holidays": []string{"2027-01-01"}, "workdays": []string{}}), http.StatusOK)
		servertest.RequireStatus(t, h.Put(t, "admin", "/api/v1/calendar/2026", map[string]any{"holidays": []string{"2026-10-01"}, "workdays": []string{}}), http.StatusOK)
		require.Equal(t, calendarView{Year: 2026, Holidays: []string{"2026-10-01"}, Workdays: []string{}}, get(t, "2026"))
		require.Equal(t, []string{"2027-01-01"}, get(t, "2027").Holidays)
		end, err = policies.AddWorkingDays(ctx, d.DB, "2026-06-15", 5)
		require.NoError(t, err)
		require.Equal(t, civil.Date("2026-06-22"), end, "the 端午 holiday is no longer loaded")

		before := servertest.Count(t, d, "calendar_days", "1 = 1")
		for _, tc := range []struct {
			name, year string
			body       map[string]any
			field      string
		}{
			{"a date outside the year", "2026", map[string]any{"holidays": []string{"2026-10-02", "2025-12-31"}, "workdays": []string{}}, "holidays[1]"},
			{"a weekday worked", "2026", map[string]any{"holidays": []string{}, "workdays": []string{"2026-10-09"}}, "workdays[0]"},
			{"a list left out", "2026", map[string]any{"holidays": []string{"2026-10-02"}}, "workdays"},
			{"a year that is not one", "26", map[string]any{"holidays": []string{}, "workdays": []string{}}, "year"},
			{"a year out of range", "3000", map[string]any{"holidays": []string{}, "workdays": []string{}}, "year"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := servertest.RequireError(t, h.Put(t, "admin", "/api/v1/calendar/"+tc.year, tc.body), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, []string{tc.field}, e.FieldNames())
			})
		}
		require.Equal(t, before, servertest.Count(t, d, "calendar_days", "1 = 1"), "nothing stored")
		require.Equal(t, []string{"2026-10-01"}, get(t, "2026").Holidays)
		require.EqualValues(t, 3, servertest.Count(t, d, "audit_log", "action = ?", "calendar.put"), "every PUT that changed the calendar is audited")
		servertest.RequireError(t, h.Put(t, "finance", "/api/v1/calendar/2026", map[string]any{"holidays": []string{}, "workdays": []string{}}), http.StatusForbidden, "forbidden")
	})
}

// A plan's notice period: 0 unless given, 0 to 30 working days; the seeded
// ZFB-2026 and FPB-2026 publish for 5.
func TestPlanNoticeDays(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		days := func(t *testing.T, code string) int {
			t.Helper()
			r := h.Get(t, "insurer", "/api/v1/plans/"+code)
			servertest.RequireStatus(t, r, http.StatusOK)
			var p struct {
				NoticeDays *int `json:"notice_days"`
			}
			r.JSON(t, &p)
			require.NotNil(t, p.NoticeDays, "every plan answers notice_days")
			return *p.NoticeDays
		}
		for code, want := range map[string]int{"ZKB-2026": 0, "ZFB-2026": 5, "FPB-2026": 5, "CYB-2026": 0} {
			require.Equal(t, want, days(t, code), code)
		}
		plan := func(code string, noticeDays any) map[string]any {
			b := map[string]any{"code": code, "programme": "FPB", "name": "防贫保 测试", "coverage_start": "2026-01-01",
				"coverage_end": "2026-12-31", "budget": "1000.00"}
			if noticeDays != nil {
				b["notice_days"] = noticeDays
			}
			return b
		}
		servertest.RequireStatus(t, h.Post(t, "admin", "/api/v1/plans", plan("FPB-N0", nil)), http.StatusCreated)
		require.Equal(t, 0, days(t, "FPB-N0"), "absent at creation means 0")
		r := h.Post(t, "admin", "/api/v1/plans", plan("FPB-N7", 7))
		servertest.RequireStatus(t, r, http.StatusCreated)
		require.EqualValues(t, 7, r.Map(t)["notice_days"])
		servertest.RequireStatus(t, h.Post(t, "admin", "/api/v1/plans", plan("FPB-N30", 30)), http.StatusCreated)
		for _, bad := range []any{31, -1, "5", 2.5} {
			e := servertest.RequireError(t, h.Post(t, "admin", "/api/v1/plans", plan("FPB-BAD", bad)), http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{"notice_days"}, e.FieldNames(), "notice_days %v", bad)
		}
		require.Zero(t, servertest.Count(t, d, "plans", "code = ?", "FPB-BAD"), "nothing stored")
	})
}
