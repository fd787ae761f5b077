package policies

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"huimin/internal/auth"
	"huimin/internal/web"
)

// CalendarRoutes mounts the working-day calendar of DESIGN §14 on the
// /api/v1 group: the administrator loads a year's official schedule; finance
// and auditors read it, as they read the notice periods counted in it.
func (s *Plans) CalendarRoutes(g *echo.Group) {
	g.PUT("/calendar/:year", s.putCalendar, auth.Require(auth.Admin))
	g.GET("/calendar/:year", s.getCalendar, auth.Require(auth.Admin, auth.Finance, auth.Auditor))
}

func (s *Plans) putCalendar(c echo.Context) error {
	year, err := ParseCalendarYear(c.Param("year"))
	if err != nil {
		return err
	}
	var in CalendarInput
	if err := web.Bind(c, &in); err != nil {
		return err
	}
	cy, err := s.PutCalendar(c.Request().Context(), auth.Who(c), year, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cy)
}

func (s *Plans) getCalendar(c echo.Context) error {
	year, err := ParseCalendarYear(c.Param("year"))
	if err != nil {
		return err
	}
	cy, err := s.CalendarOf(c.Request().Context(), year)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, cy)
}
