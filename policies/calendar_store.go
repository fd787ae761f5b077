package policies

import (
	"context"
	"fmt"
	"strconv"

	"gorm.io/gorm"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/civil"
	"huimin/internal/db"
)

// calendarDayRecord is one correction of the working-day calendar.
type calendarDayRecord struct {
	Day  string `gorm:"primaryKey"`
	Year int
	Kind string
}

func (calendarDayRecord) TableName() string { return "calendar_days" }

// PutCalendar replaces a year's holidays and adjusted working days, audited
// in the same transaction. Notices already posted keep the end date they
// were given.
func (s *Plans) PutCalendar(ctx context.Context, who audit.Who, year int, in CalendarInput) (CalendarYear, error) {
	cy, f := in.ToYear(year)
	if err := f.Err(); err != nil {
		return CalendarYear{}, err
	}
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.WithContext(ctx).Where("year = ?", year).Delete(&calendarDayRecord{}).Error; err != nil {
			return err
		}
		rows := make([]calendarDayRecord, 0, len(cy.Holidays)+len(cy.Workdays))
		for _, d := range cy.Holidays {
			rows = append(rows, calendarDayRecord{Day: string(d), Year: year, Kind: CalendarHoliday})
		}
		for _, d := range cy.Workdays {
			rows = append(rows, calendarDayRecord{Day: string(d), Year: year, Kind: CalendarWorkday})
		}
		if len(rows) > 0 {
			if err := tx.WithContext(ctx).CreateInBatches(rows, 200).Error; err != nil {
				return err
			}
		}
		return audit.Write(ctx, tx, now, who, "calendar.put", strconv.Itoa(year),
			fmt.Sprintf("%d holidays, %d workdays", len(cy.Holidays), len(cy.Workdays)))
	})
	return cy, err
}

// CalendarOf returns a year's corrections (empty lists when none are loaded).
func (s *Plans) CalendarOf(ctx context.Context, year int) (CalendarYear, error) {
	var rows []calendarDayRecord
	if err := s.db.WithContext(ctx).Where("year = ?", year).Order("day").Find(&rows).Error; err != nil {
		return CalendarYear{}, db.Translate(err)
	}
	cy := CalendarYear{Year: year, Holidays: []civil.Date{}, Workdays: []civil.Date{}}
	for _, r := range rows {
		if r.Kind == CalendarHoliday {
			cy.Holidays = append(cy.Holidays, civil.Date(r.Day))
		} else {
			cy.Workdays = append(cy.Workdays, civil.Date(r.Day))
		}
	}
	return cy, nil
}

// loadCalendar reads the corrections of the days in [from, to].
func loadCalendar(ctx context.Context, tx *gorm.DB, from, to civil.Date) (Calendar, error) {
	var rows []calendarDayRecord
	if err := tx.WithContext(ctx).Where("day >= ? AND day <= ?", string(from), string(to)).Find(&rows).Error; err != nil {
		return Calendar{}, err
	}
	var holidays, workdays []civil.Date
	for _, r := range rows {
		if r.Kind == CalendarHoliday {
			holidays = append(holidays, civil.Date(r.Day))
		} else {
			workdays = append(workdays, civil.Date(r.Day))
		}
	}
	return NewCalendar(holidays, workdays), nil
}

// AddWorkingDays returns the n-th working day after start by the calendar
// stored in tx. It reads the corrections of a window of days after start,
// wide enough for n working days around the longest official holiday, and
// widens it in the rare case it is not (a year the administrator made
// mostly holidays).
func AddWorkingDays(ctx context.Context, tx *gorm.DB, start civil.Date, n int) (civil.Date, error) {
	span := 2*n + 30
	for range 8 {
		limit := start.AddDays(span)
		c, err := loadCalendar(ctx, tx, start.AddDays(1), limit)
		if err != nil {
			return "", err
		}
		if d, ok := c.AddWorkingDays(start, n, limit); ok {
			return d, nil
		}
		span *= 2
	}
	return "", apperr.New(apperr.ErrInvalidState, "the calendar has fewer than %d working days in the years after %s", n, start)
}
