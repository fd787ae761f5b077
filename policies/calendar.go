package policies

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"huimin/internal/apperr"
	"huimin/internal/civil"
)

// The working-day calendar of DESIGN §14: Monday to Friday, corrected for
// each year by the official schedule (国务院办公厅关于部分节假日安排的通知) —
// its holidays, and the weekend days worked instead (调休). A notice
// period is counted in these working days.

// Kinds of calendar correction.
const (
	CalendarHoliday = "holiday" // a day off, whatever the weekday
	CalendarWorkday = "workday" // a Saturday or Sunday worked (调休)
)

// MaxCalendarDays bounds each list of one year's corrections.
const MaxCalendarDays = 366

// Calendar is Monday to Friday corrected by holidays and adjusted working
// days. The zero value is plain Monday to Friday.
type Calendar struct {
	holidays map[civil.Date]bool
	workdays map[civil.Date]bool
}

// NewCalendar returns the calendar with these corrections.
func NewCalendar(holidays, workdays []civil.Date) Calendar {
	c := Calendar{holidays: map[civil.Date]bool{}, workdays: map[civil.Date]bool{}}
	for _, d := range holidays {
		c.holidays[d] = true
	}
	for _, d := range workdays {
		c.workdays[d] = true
	}
	return c
}

// IsWorkingDay reports whether d is a working day: a listed holiday is not,
// a listed working day is, and otherwise Monday to Friday are.
func (c Calendar) IsWorkingDay(d civil.Date) bool {
	switch {
	case c.holidays[d]:
		return false
	case c.workdays[d]:
		return true
	}
	return !isWeekend(d)
}

func isWeekend(d civil.Date) bool {
	wd := d.Time().Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

// AddWorkingDays returns the n-th working day after start (start itself for
// n = 0), looking no further than limit: the calendar is only known up to
// there, and ok is false when the n-th working day lies beyond it.
func (c Calendar) AddWorkingDays(start civil.Date, n int, limit civil.Date) (d civil.Date, ok bool) {
	d = start
	for left := n; left > 0; {
		d = d.AddDays(1)
		if d > limit {
			return "", false
		}
		if c.IsWorkingDay(d) {
			left--
		}
	}
	return d, true
}

// CalendarInput is the body of PUT /api/v1/calendar/{year}: the year's
// holidays and adjusted working weekend days, both required (an empty list
// is fine); the PUT replaces the year's lists.
type CalendarInput struct {
	Holidays *[]string `json:"holidays"`
	Workdays *[]string `json:"workdays"`
}

// CalendarYear is one year's corrections, as stored and answered.
type CalendarYear struct {
	Year     int          `json:"year"`
	Holidays []civil.Date `json:"holidays"`
	Workdays []civil.Date `json:"workdays"`
}

// ParseCalendarYear reads the {year} of the calendar's path: a year the
// dates of this API can name (1900 to 2200).
func ParseCalendarYear(s string) (int, error) {
	y, err := strconv.Atoi(s)
	if err != nil || y < 1900 || y > 2200 || strconv.Itoa(y) != s {
		return 0, apperr.Invalid("year", "must be a year from 1900 to 2200, got %q", s)
	}
	return y, nil
}

// ToYear checks the lists for year and returns them sorted, or every bad
// entry by its path (holidays[2]): a date that is not YYYY-MM-DD or not in
// year, one listed twice or in both lists, and a working day that is not a
// Saturday or Sunday (Monday to Friday already are).
func (in CalendarInput) ToYear(year int) (CalendarYear, apperr.Fields) {
	var f apperr.Fields
	out := CalendarYear{Year: year, Holidays: []civil.Date{}, Workdays: []civil.Date{}}
	prefix := fmt.Sprintf("%04d-", year)
	seen := map[civil.Date]string{}
	read := func(field string, list *[]string, dst *[]civil.Date, check func(civil.Date) string) {
		if list == nil {
			f.Add(field, "is required (an empty list when there is none)")
			return
		}
		if len(*list) > MaxCalendarDays {
			f.Add(field, "at most %d dates", MaxCalendarDays)
			return
		}
		for i, s := range *list {
			p := apperr.Join(field, indexPath(i))
			d, err := civil.Parse(s)
			switch {
			case err != nil:
				f.Add(p, "%v", err)
				continue
			case string(d[:5]) != prefix:
				f.Add(p, "must be a date in %d, the year of this calendar", year)
				continue
			case seen[d] == field:
				f.Add(p, "listed twice")
				continue
			case seen[d] != "":
				f.Add(p, "is also listed in %s", seen[d])
				continue
			}
			if msg := check(d); msg != "" {
				f.Add(p, "%s", msg)
				continue
			}
			seen[d] = field
			*dst = append(*dst, d)
		}
		slices.Sort(*dst)
	}
	read("holidays", in.Holidays, &out.Holidays, func(civil.Date) string { return "" })
	read("workdays", in.Workdays, &out.Workdays, func(d civil.Date) string {
		if !isWeekend(d) {
			return "is a " + d.Time().Weekday().String() + ", already a working day: list only the Saturdays and Sundays worked (调休)"
		}
		return ""
	})
	return out, f
}
